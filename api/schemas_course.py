"""Request and response models of the treatment-course routes (calendars, courses, pause,
resume and stop), each with an example; a course's sessions are in :mod:`api.schemas_session`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from api.schemas import RecordDate, RecordName, example_config

from api.schemas import COURSE_EXAMPLE_ID as _ID
from api.schemas import COURSE_EXAMPLE_TIME as _TS


Arm = Literal["active", "sham", "open"]


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
