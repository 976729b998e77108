"""Request and response models of the treatment-course routes, each with an example."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from api.schemas import RecordDate, RecordDateTime, RecordName, UtcDateTime, example_config

_ID = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
_TS = "2025-03-03T09:00:00Z"


Arm = Literal["active", "sham", "open"]
SideEffect = Literal["headache", "scalp_pain", "syncope", "seizure", "other"]


_example = example_config


class CalendarIn(BaseModel):
    """A clinic calendar: working weekdays (0 = Monday ... 6 = Sunday) and closure dates."""

    model_config = _example({"name": "main-clinic", "working_weekdays": [0, 1, 2, 3, 4],
                             "closures": ["2025-04-18", "2025-04-21"]}, extra="forbid")
    name: RecordName = Field(description="Unique name of the calendar (409 when it is taken).")
    working_weekdays: list[int] = Field(
        default=[0, 1, 2, 3, 4], min_length=1, max_length=7,
        description="Weekdays the clinic treats patients on, 0 = Monday ... 6 = Sunday (stored "
                    "sorted, without repeats); default Monday to Friday.")
    closures: list[RecordDate] = Field(default_factory=list, max_length=2000,
                                       description="Days the clinic is closed although they fall on "
                                                   "a working weekday (holidays).")


class CalendarPatch(BaseModel):
    """A change of a calendar; planned sessions of running courses move to fit it."""

    model_config = _example({"add_closures": ["2025-04-18", "2025-04-21"]}, extra="forbid")
    working_weekdays: list[int] | None = Field(
        default=None, min_length=1, max_length=7,
        description="New working weekdays (0 = Monday ... 6 = Sunday), replacing the stored "
                    "ones; null keeps them.")
    closures: list[RecordDate] | None = Field(
        default=None, max_length=2000,
        description="Every closure (replaces the list): two changes made from the same earlier "
                    "read lose one's; prefer `add_closures`/`remove_closures`.")
    add_closures: list[RecordDate] = Field(default_factory=list, max_length=2000,
                                           description="Closures to add to the stored ones.")
    remove_closures: list[RecordDate] = Field(default_factory=list, max_length=2000,
                                              description="Closures to remove from the stored ones.")

    @model_validator(mode="after")
    def _one_way(self) -> CalendarPatch:
        if self.closures is not None and (self.add_closures or self.remove_closures):
            raise ValueError("give closures (the whole list) or add_closures/remove_closures, not both")
        if set(self.add_closures) & set(self.remove_closures):
            raise ValueError("a day is both in add_closures and in remove_closures")
        return self


class CalendarOut(CalendarIn):
    """A stored clinic calendar."""

    model_config = _example({"id": _ID, "name": "main-clinic", "working_weekdays": [0, 1, 2, 3, 4],
                             "closures": ["2025-04-18"], "moved_sessions": 0,
                             "links": {"self": f"/api/v1/calendars/{_ID}"}})
    closures: list[date] = Field(default_factory=list, description="As stored (checked on input only).")
    name: str = Field(description="As stored (checked on input only).")
    id: str = Field(description="ID of the calendar, set by the server; name it in a course's "
                                "`calendar_id`.")
    moved_sessions: int = Field(0, description="In the answer to a change (PATCH): the planned sessions "
                                "it moved; 0 in every other answer.")
    links: dict[str, str] = Field(description="`self`: this calendar.")


class CourseCreate(BaseModel):
    """A new treatment course on an approved plan."""

    model_config = _example({"plan_id": _ID, "protocol": "standard_10hz",
                             "start_date": "2025-03-03", "arm": "active"}, extra="forbid")
    plan_id: str = Field(description="An approved plan of this patient.")
    protocol: str = Field("standard_10hz", description="standard_10hz, itbs, accelerated, "
                          "or 'custom' with custom_protocol.")
    custom_protocol: dict[str, Any] | None = Field(
        None, description="Protocol parameters (see navsvc.course.protocols.Protocol) when "
                          "protocol is 'custom'.")
    start_date: RecordDate = Field(description="First day the course may start: sessions are "
                                   "laid out from the first clinic day on or after it.")
    arm: Arm = Field(description="Trial arm; hidden from blinded tokens.")
    calendar_id: str | None = Field(None, description="A stored clinic calendar; default "
                                    "Monday-Friday without closures.")
    calendar: CalendarIn | None = Field(None, description="Or a new calendar, stored with "
                                        "the course.")

    @model_validator(mode="after")
    def _one_calendar(self) -> CourseCreate:
        if self.calendar_id is not None and self.calendar is not None:
            raise ValueError("give calendar_id or calendar, not both")
        return self


class ScreeningStatus(BaseModel):
    """Whether the safety screening lets the course start."""

    model_config = _example({"cleared": False, "blocking_items": ["syncope"],
                             "reason": "contraindication answered yes without a clinician "
                                       "override: syncope"})
    cleared: bool = Field(description="True when the screening lets sessions be logged: one is "
                          "recorded and every blocking item answered yes is covered by a clinician "
                          "override.")
    reason: str = Field(description="'cleared', or why not (no screening recorded, or the blocking "
                        "items answered yes without an override).")
    blocking_items: list[str] = Field(
        description="Keys of the blocking screening items (absolute or contraindication) answered "
                    "yes without an override; empty when cleared or when no screening is recorded.")


class CourseOut(BaseModel):
    """A treatment course. ``arm`` is null for blinded tokens (``arm_hidden`` is then true)."""

    model_config = _example({
        "id": _ID, "patient_id": _ID, "plan_id": _ID, "protocol_name": "standard_10hz",
        "protocol": {"name": "standard_10hz", "pulses_per_session": 3000,
                     "session_duration_min": 37.5},
        "arm": "active", "arm_hidden": False, "start_date": "2025-03-03", "calendar_id": None,
        "status": "active", "paused_from": None, "status_note": None, "status_changed_at": None,
        "screening": {"cleared": False, "reason": "no safety screening is recorded",
                      "blocking_items": []},
        "open_alerts": 0, "created_at": _TS, "created_by": "dr-smith",
        "links": {"self": f"/api/v1/courses/{_ID}",
                  **{name: f"/api/v1/courses/{_ID}/{name}"
                     for name in ("sessions", "assessments", "screening", "alerts", "summary")},
                  "summary_png": f"/api/v1/courses/{_ID}/summary.png",
                  "summary_csv": f"/api/v1/courses/{_ID}/summary.csv", "plan": f"/api/v1/plans/{_ID}"}})
    id: str = Field(description="ID of the course, set by the server.")
    patient_id: str = Field(description="The patient the course treats.")
    plan_id: str = Field(description="The plan the course was created on (approved then).")
    protocol_name: str = Field(description="The protocol's name: a preset's (standard_10hz, itbs, "
                               "accelerated) or the one given in the custom parameters.")
    protocol: dict = Field(description="The protocol's parameters, fixed when the course was created "
                           "(a preset changed later does not change them), with the derived "
                           "`session_duration_min` (minutes).")
    arm: Arm | None = Field(description="Trial arm; null for blinded tokens.")
    arm_hidden: bool = Field(description="True when the caller's token is blinded and `arm` is "
                             "withheld.")
    start_date: date = Field(description="The start date given when the course was created; "
                             "sessions were laid out from the first clinic day on or after it.")
    calendar_id: str | None = Field(description="The course's clinic calendar; null: Monday-Friday "
                                    "without closures.")
    status: Literal["active", "paused", "stopped"] = Field(
        description="`active`, `paused` (since `paused_from`) or `stopped`.")
    paused_from: date | None = Field(description="First day the current pause holds; null unless "
                                     "the course is paused.")
    status_note: str | None = Field(description="The note given with the current pause or with the "
                                    "stop; null otherwise (a resume clears it).")
    status_changed_at: datetime | None = Field(
        None, description="When the course was last paused, resumed or stopped; a session given "
                          "before a pause or stop was entered can still be logged, one given "
                          "during a pause cannot (also after the resume).")
    screening: ScreeningStatus = Field(description="Whether the safety screening lets sessions be "
                                       "logged.")
    open_alerts: int = Field(description="Number of the course's alerts not yet acknowledged by a "
                             "clinician (every kind).")
    created_at: datetime = Field(description="When the course was created, UTC (set by the server).")
    created_by: str = Field(description="Name of the token that created the course.")
    links: dict[str, str] = Field(description="`self`, `sessions`, `assessments`, `screening`, "
                                  "`alerts`, `summary`, `summary_png`, `summary_csv` and `plan`.")


class CourseList(BaseModel):
    """The courses of a patient, oldest first."""

    model_config = _example({"items": []})
    items: list[CourseOut] = Field(description="Every course of the patient, oldest first.")


class PauseIn(BaseModel):
    """Pause a course from a date (default today, or the start of a course not started yet);
    planned sessions from then on are held.
    A session given before the pause was entered can still be logged."""

    model_config = _example({"from_date": "2025-03-12", "note": "patient unwell"}, extra="forbid")
    from_date: RecordDate | None = Field(
        None, description="First day the pause holds: planned sessions from this day on wait for the "
                          "resume. Default today (clinic day), or the start date of a course not "
                          "started yet; not before the course's start (422).")
    note: str | None = Field(None, max_length=2000, description="Why the course is paused; shown as "
                             "the course's `status_note` until it is resumed or stopped.")


class ResumeIn(BaseModel):
    """Resume a paused course: held sessions move to clinic days from ``resume_on``."""

    model_config = _example({"resume_on": "2025-03-19"}, extra="forbid")
    resume_on: RecordDate | None = Field(None, description="Default today (not before the pause's "
                                                       "first day or the course's start).")


class StopIn(BaseModel):
    """Stop a course: every planned session becomes cancelled. A session given before the
    stop was entered can still be logged, and is then done."""

    model_config = _example({"note": "withdrew consent"}, extra="forbid")
    note: str = Field(min_length=1, max_length=2000, description="Why the course is stopped; shown "
                      "as the course's `status_note`.")


class DeviationOut(BaseModel):
    """Navigation deviation of the delivered coil pose(s) from the plan."""

    model_config = _example({"source": "brainsight", "n_poses": 75,
                             "mean": {"centre_distance_mm": 1.8, "axis_to_target_mm": 1.2,
                                      "tilt_deg": 2.5, "twist_abs_deg": 3.1},
                             "worst": {"centre_distance_mm": 4.2, "axis_to_target_mm": 3.0,
                                       "tilt_deg": 6.0, "twist_abs_deg": 9.5},
                             "n_left_out": 7,
                             "left_out": [{"reason": "target, not a delivered pose (the file "
                                                     "has delivered poses)", "n_poses": 2},
                                          {"reason": "associated with target 'M1 hotspot', not "
                                                     "with the plan's coil target 'P-0001 "
                                                     "fox2012 coil'", "n_poses": 5}]})
    source: str = Field(description="'matrix' or the pose file's format.")
    n_poses: int = Field(description="Poses compared with the plan's coil pose.")
    mean: dict[str, float | None] = Field(
        description="Mean over the compared poses, rounded to 0.01: `centre_distance_mm` (planned "
                    "to delivered coil centre, mm), `axis_to_target_mm` (target to the delivered "
                    "coil axis, mm), `tilt_deg` (between the coil normals, degrees) and "
                    "`twist_abs_deg` (handle rotation, absolute, degrees); null when undefined.")
    worst: dict[str, float | None] = Field(
        description="Largest value of each `mean` metric over the compared poses.")
    n_left_out: int = Field(0, description="Poses of the file not compared (logs before "
                                           "this field was kept say 0).")
    left_out: list[dict[str, str | int]] = Field(
        default_factory=list,
        description="Why poses were not compared, with counts: the file's targets, samples "
                    "associated with another target than the plan's coil target (e.g. "
                    "motor-threshold samples at M1), samples of another day in a file "
                    "spanning several days.")


class PoseFileIn(BaseModel):
    """A navigator's pose file (Localite XML, Brainsight text, ...), as text or base64."""

    model_config = _example({"text": "<?xml version=\"1.0\"?><TriggerMarkerList ...>"},
                            extra="forbid")
    text: str | None = Field(None, max_length=64 * 1024 * 1024,
                             description="The file's content as text; give this or `base64`.")
    base64: str | None = Field(None, max_length=90 * 1024 * 1024,
                               description="The file's bytes, base64-encoded (for binary files such "
                                           "as a SimNIBS zip or MAT-file); give this or `text`.")

    @model_validator(mode="after")
    def _one(self) -> PoseFileIn:
        if (self.text is None) == (self.base64 is None):
            raise ValueError("give exactly one of text or base64")
        return self


class DeliveryIn(BaseModel):
    """The log of one delivered session. Send an ``Idempotency-Key`` header to retry safely."""

    model_config = _example({
        "performed_at": "2025-03-03T09:40:00Z", "operator": "tech-anna", "rmt_pct_mso": 52,
        "pct_of_mt": 120, "pulses_delivered": 3000, "trains_delivered": 75,
        "pose_matrix": [[-0.5681, 0.554, 0.6086, -42.26], [0.2053, 0.8115, -0.5471, 35.87],
                        [-0.7969, -0.1858, -0.5748, 80.28], [0, 0, 0, 1]],
        "side_effects": ["headache"], "notes": "mild headache, resolved"}, extra="forbid",
        allow_inf_nan=False)  # NaN was refused as "less than or equal to 100"
    performed_at: RecordDateTime = Field(
        description="When the session was given, with its time zone; not in the future (more than "
                    "5 minutes ahead: 422). The session is logged on the clinic day of this time.")
    operator: str = Field(min_length=1, max_length=200, description="Who gave the session.")
    rmt_pct_mso: float = Field(ge=1, le=100, description="Resting motor threshold, %MSO.")
    pct_of_mt: float = Field(ge=1, le=200, description="Intensity, % of motor threshold.")
    pulses_delivered: int = Field(ge=0, le=20000, description="Pulses given; fewer than the "
                                  "protocol's per session make the session `incomplete`, else `done`.")
    trains_delivered: int | None = Field(None, ge=0, le=2000, description="Trains given (optional).")
    pose_matrix: list[list[float]] | None = Field(
        None, description="Delivered coil pose, 4x4 SimNIBS convention, RAS mm.")
    pose_file: PoseFileIn | None = Field(
        None, description="Or the navigator's pose file, whose coil poses are compared with the "
                          "plan (in a file spanning several days, those of the session's clinic day).")
    side_effects: list[SideEffect] = Field(
        default_factory=list, max_length=10,
        description="Side effects observed; `seizure` raises an alert that blocks further sessions "
                    "until a clinician acknowledges it.")
    notes: str | None = Field(None, max_length=4000, description="Free-text notes on the session.")

    @model_validator(mode="after")
    def _one_pose(self) -> DeliveryIn:
        if self.pose_matrix is not None and self.pose_file is not None:
            raise ValueError("give pose_matrix or pose_file, not both")
        return self


class RaisedAlert(BaseModel):
    """A safety alert a delivery log raised."""

    id: str = Field(description="ID of the alert.")
    kind: str = Field(description="`seizure`, `dose_above_protocol`, or `rating_timing` (the log makes a baseline or week rating taken earlier no longer that timepoint's)")
    detail: str = Field(description="The alert's message, naming the session.")
    acknowledged: bool = Field(description="whether a clinician has acknowledged it "
                               "(POST /alerts/{id}/acknowledgement)")


class DeliveryOut(BaseModel):
    """A logged delivery with its dose and navigation deviation."""

    model_config = _example({
        "id": _ID, "session_id": _ID, "session_index": 1, "session_state": "done",
        "performed_at": "2025-03-03T09:40:00Z", "operator": "tech-anna", "rmt_pct_mso": 52.0,
        "pct_of_mt": 120.0, "dose": {"rmt_pct_mso": 52.0, "pct_of_mt": 120.0, "intensity_pct_mso": 62.4,
                                     "mt_offset_pct_mso": 6.0, "adjusted_mt_pct_mso": 58.0,
                                     "adjusted_intensity_pct_mso": 69.6, "exceeds_max_output": False,
                                     "adjustment_withheld": None, "depth_adjusted": False,
                                     "given_intensity_pct_mso": 62.4},
        "pulses_delivered": 3000, "pulses_planned": 3000, "trains_delivered": 75,
        "deviation": {"source": "matrix", "n_poses": 1,
                      "mean": {"centre_distance_mm": 2.1, "axis_to_target_mm": 1.4,
                               "tilt_deg": 3.0, "twist_abs_deg": 4.5},
                      "worst": {"centre_distance_mm": 2.1, "axis_to_target_mm": 1.4,
                                "tilt_deg": 3.0, "twist_abs_deg": 4.5}},
        "side_effects": [], "notes": None, "alerts": [], "clinical_hidden": False,
        "created_at": _TS, "created_by": "ws-room-2",
        "links": {"session": f"/api/v1/sessions/{_ID}", "course": f"/api/v1/courses/{_ID}"}})
    id: str = Field(description="ID of the delivery log, set by the server.")
    session_id: str = Field(description="The session logged.")
    session_index: int = Field(description="The session's number within the course.")
    session_state: str = Field(description="The session's state: `done` (the protocol's pulses "
                               "given) or `incomplete` (fewer).")
    performed_at: UtcDateTime = Field(description="When the session was given, UTC (whatever offset "
                                      "the log was sent with).")
    operator: str = Field(description="Who gave the session.")
    rmt_pct_mso: float = Field(description="Resting motor threshold as logged, %MSO.")
    pct_of_mt: float = Field(description="Intensity as logged, % of motor threshold.")
    dose: dict = Field(
        description="Intensities computed from the log, %MSO: `intensity_pct_mso` (from the measured "
                    "threshold), `adjusted_mt_pct_mso` and `adjusted_intensity_pct_mso` (after the "
                    "plan's scalp-to-cortex depth offset `mt_offset_pct_mso`; null without one or "
                    "when `adjustment_withheld` says why not), `given_intensity_pct_mso` (what the "
                    "session gave: the adjusted one when `depth_adjusted`), `exceeds_max_output`.")
    pulses_delivered: int = Field(description="Pulses given, as logged.")
    pulses_planned: int = Field(description="The protocol's pulses per session.")
    trains_delivered: int | None = Field(description="Trains given, as logged; null when not logged.")
    deviation: DeviationOut | None = Field(description="Deviation of the delivered pose(s) from the "
                                           "plan; null when the log has no pose.")
    side_effects: list[str] = Field(description="Side effects as logged; empty for navigator tokens.")
    notes: str | None = Field(description="Notes as logged; null for navigator tokens.")
    alerts: list[RaisedAlert] = Field(
        default_factory=list, description="Safety alerts this log raised: a seizure among the "
        "side effects, or an intensity above the protocol's % of motor threshold; each stays "
        "open until a clinician acknowledges it. Empty for navigator tokens.")
    clinical_hidden: bool = Field(False, description="True for navigator tokens, which get "
                                  "the log without its side effects, notes and alerts.")
    created_at: datetime = Field(description="When the log was recorded, UTC (set by the server).")
    created_by: str = Field(description="Name of the token that recorded the log.")
    links: dict[str, str] = Field(description="`session` and `course`.")


class SessionOut(BaseModel):
    """A scheduled session and, once logged, its delivery."""

    model_config = _example({"id": _ID, "course_id": _ID, "index": 1, "date": "2025-03-03",
                             "slot": 0, "offset_minutes": 0, "state": "planned",
                             "replaces_index": None, "missed_by": None, "missed_at": None,
                             "missed_reason": None, "delivery": None,
                             "links": {"self": f"/api/v1/sessions/{_ID}",
                                       "delivery": f"/api/v1/sessions/{_ID}/delivery",
                                       "missed": f"/api/v1/sessions/{_ID}/missed",
                                       "course_sessions": f"/api/v1/courses/{_ID}/sessions"}})
    id: str = Field(description="ID of the session.")
    course_id: str = Field(description="The session's course.")
    index: int = Field(description="Number of the session within the course, from 1; never reused "
                       "(a replacement gets a new one).")
    # Annotated: a default (the Field) named `date` would hide the type `date` from the annotation
    date: Annotated[date, Field(description="Clinic day the session is scheduled on; a delivered "
                                            "session keeps it when given on another day.")]
    slot: int = Field(description="Position within the day (0 = first); above 0 only for protocols "
                      "with several sessions a day.")
    offset_minutes: int = Field(description="Earliest start after the day's first session, minutes "
                                "(`slot` times the protocol's minimum interval).")
    state: Literal["planned", "done", "incomplete", "missed", "cancelled"] = Field(
        description="`planned`: to be given; `done`: the protocol's pulses given; `incomplete`: "
                    "fewer; `missed`: kept on record and replaced; `cancelled`: the course was stopped.")
    replaces_index: int | None = Field(description="Index of the missed session this one replaces; "
                                       "null otherwise.")
    missed_by: str | None = Field(description="Name of the token that marked the session "
                                  "missed; null unless it is missed.")
    missed_at: datetime | None = Field(description="When it was marked missed (UTC); null "
                                       "unless it is missed.")
    missed_reason: str | None = Field(description="The reason given when it was marked missed; "
                                      "null when none was given (also for sessions marked missed "
                                      "before migration 0008, which did not store reasons) and for "
                                      "navigator tokens.")
    delivery: DeliveryOut | None = Field(description="The delivery log; null until one is logged.")
    links: dict[str, str] = Field(description="`self`, `course_sessions` and, while the session is "
                                  "planned, `delivery` (log it) and `missed` (mark it missed).")


class FollowUpOut(BaseModel):
    """A HAMD-17 timepoint of a course with its status."""

    model_config = _example({"timepoint": "week1", "after_session_index": 5,
                             "due_on": "2025-03-07", "status": "due"})
    timepoint: str = Field(description="`baseline`, or `week1`, `week2`, ...")
    after_session_index: int | None = Field(
        description="Index of the session closing the treatment week, whose delivery makes the "
                    "rating due; null for baseline (due before the first session).")
    due_on: date | None = Field(
        description="Day it fell or falls due: the day the closing session was given, or its "
                    "scheduled day while planned; for baseline the first session's day (null "
                    "when the course has no planned or delivered session).")
    status: Literal["done", "due", "overdue", "missed", "upcoming", "not_obtained"] = Field(
        description="A week's rating is `overdue` from the day the next session is scheduled (or "
                    "more than 3 calendar days after its closing session was given, when that comes "
                    "first) and `missed` once the next session was given without it: it can no "
                    "longer be taken as the week's. `not_obtained`: a clinician "
                    "recorded that it will not be rated (`/courses/{id}/ratings-not-obtained`); a "
                    "rating taken after all makes it `done`.")


class SessionList(BaseModel):
    """The sessions of a course in index order, with the HAMD-17 timepoints."""

    model_config = _example({"items": [], "followups": []})
    items: list[SessionOut] = Field(description="Every session of the course (missed, cancelled "
                                    "and replacements too), in index order.")
    followups: list[FollowUpOut] = Field(description="The HAMD-17 timepoints with their status "
                                         "today (clinic day): baseline, then week1, week2, ...")


class MissedIn(BaseModel):
    """Mark a planned session missed; a replacement is scheduled on the next free clinic day."""

    model_config = _example({"reason": "patient did not attend"}, extra="forbid")
    reason: str | None = Field(None, max_length=2000, description="Why the session was missed "
                               "(optional); stored with the session as `missed_reason`.")
