"""Request and response models of a course's sessions: delivery logs with their navigation
deviation, missed sessions and the follow-ups they are due with, each with an example."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from api.schemas import COURSE_EXAMPLE_ID as _ID
from api.schemas import COURSE_EXAMPLE_TIME as _TS
from api.schemas import RecordDateTime, UtcDateTime, example_config
from navsvc.course.calendar import SESSION_STATES
from navsvc.course.followup import FOLLOWUP_STATUSES

SideEffect = Literal["headache", "scalp_pain", "syncope", "seizure", "other"]


_example = example_config


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
    state: Literal[SESSION_STATES] = Field(
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
    status: Literal[FOLLOWUP_STATUSES] = Field(
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
