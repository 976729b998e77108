"""Request and response models of ratings, alerts, screening and the clinic views."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, StrictInt

from api.schemas import RecordDateTime, example_config
from api.schemas_course import FollowUpOut, ScreeningStatus

_ID = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
_TS = "2025-03-03T09:00:00Z"
_ITEMS = {str(n): v for n, v in enumerate([3, 2, 1, 2, 1, 1, 3, 2, 1, 2, 2, 1, 1, 1, 1, 0, 1], 1)}


_example = example_config

#: a rating's timepoint: baseline, weekN or extra
#: up to week 999: a protocol may have 200 sessions at one a week (week100 could not be rated)
_TIMEPOINT = r"^(baseline|week[1-9][0-9]{0,2}|extra)$"


class AssessmentIn(BaseModel):
    """A HAMD-17 rating: the 17 item scores by item number and the item-16 method.

    Each item is checked against its own range (items 4-6, 12-14, 16, 17: 0-2; the others
    0-4); a missing or out-of-range item is a 422 naming the item and its range.
    """

    model_config = _example({"timepoint": "baseline", "rater": "rater-lee",
                             "rated_at": "2025-03-01T10:00:00Z", "items": _ITEMS,
                             "item16_method": "A"}, extra="forbid")
    timepoint: str = Field(pattern=_TIMEPOINT,
                           description="baseline, week1, week2, week3 ... or extra (dated by "
                                       "rated_at): an additional rating that never counts as a "
                                       "baseline or week rating, which stay due.")
    rater: str = Field(min_length=1, max_length=200)
    rated_at: RecordDateTime
    items: dict[str, Any] = Field(description="Item number ('1'..'17') -> score.")
    item16_method: str | None = Field(None, description="A (history) or B (measured weight).")


class AssessmentOut(BaseModel):
    """A scored rating; outcome fields are null until a baseline exists (and for it)."""

    model_config = _example({
        "id": _ID, "course_id": _ID, "timepoint": "week3", "rater": "rater-lee",
        "rated_at": "2025-03-21T15:00:00Z", "items": _ITEMS, "item16_method": "A",
        "total": 11, "severity": "mild", "baseline_total": 26, "change_from_baseline": -15,
        "percent_change": -57.7, "response": True, "remission": False, "suicide_alert": False,
        "alert_id": None, "created_at": _TS, "version": 1, "amended_at": None, "amended_by": None,
        "links": {"course": f"/api/v1/courses/{_ID}", "versions": f"/api/v1/assessments/{_ID}/versions",
                  "amend": f"/api/v1/assessments/{_ID}/amendments"}})
    id: str
    course_id: str
    timepoint: str
    rater: str
    rated_at: datetime
    items: dict[str, int]
    item16_method: str
    total: int = Field(description="0-52.")
    severity: str = Field(description="none 0-7, mild 8-13, moderate 14-18, severe 19-22, "
                                      "very severe >= 23.")
    baseline_total: int | None
    change_from_baseline: int | None
    percent_change: float | None
    response: bool | None = Field(description=">= 50% reduction from baseline.")
    remission: bool | None = Field(description="Total <= 7 (with or without a baseline); null for the "
                                   "baseline rating itself, taken before any session.")
    suicide_alert: bool = Field(description="Item 3 (suicide) >= 3.")
    alert_id: str | None
    created_at: datetime
    version: int = Field(description="1 as recorded, one more per amendment (give it when amending).")
    amended_at: datetime | None = Field(description="When the latest amendment was recorded.")
    amended_by: str | None
    links: dict[str, str]


class AmendmentIn(BaseModel):
    """A correction of a rating: its 17 items as they should read, the version it corrects
    and why; the other fields stay unless given. Every item is checked as when rating."""

    model_config = _example({"version": 1, "reason": "item 9 transcribed from the wrong row of "
                             "the paper form", "items": _ITEMS, "item16_method": "A"},
                            extra="forbid")
    version: StrictInt = Field(ge=1, description="The version read (409 if the rating changed since).")
    reason: str = Field(min_length=1, max_length=2000, description="Why it is amended.")
    items: dict[str, Any] = Field(description="Item number ('1'..'17') -> score: all 17.")
    item16_method: str | None = Field(None, description="A (history) or B (measured weight). "
                                                        "Default: unchanged.")
    timepoint: str | None = Field(None, pattern=_TIMEPOINT, description="Default: unchanged; `extra` "
                                  "re-files a baseline or week rating not taken when that timepoint is.")
    rater: str | None = Field(None, min_length=1, max_length=200, description="Default: unchanged.")
    rated_at: RecordDateTime | None = Field(None, description="Default: unchanged.")


class AssessmentVersionOut(BaseModel):
    """One version of a rating: its values and who recorded them; for a replaced version
    also who replaced it, when and why."""

    model_config = _example({"version": 1, "timepoint": "week1", "rater": "rater-lee", "rated_at": _TS,
                             "items": _ITEMS,
                             "item16_method": "A", "total": 11, "recorded_at": _TS,
                             "recorded_by": "tech-kim", "replaced_at": "2025-03-04T08:00:00Z",
                             "replaced_by": "dr-ito", "reason": "item 9 transcribed from the wrong row"})
    version: int
    timepoint: str
    rater: str
    rated_at: datetime
    items: dict[str, int]
    item16_method: str
    total: int
    recorded_at: datetime
    recorded_by: str
    replaced_at: datetime | None = Field(description="Null for the current version.")
    replaced_by: str | None
    reason: str | None = Field(description="Why this version was replaced.")


class AssessmentVersionList(BaseModel):
    """Every version of a rating, oldest first; the last is the current one."""

    model_config = _example({"items": []})
    items: list[AssessmentVersionOut]


class NotObtainedIn(BaseModel):
    """A baseline or week rating that will not be taken, and why."""

    model_config = _example({"timepoint": "week3", "reason": "course stopped after session 11: "
                             "patient moved away"}, extra="forbid")
    timepoint: str = Field(pattern=r"^(baseline|week[1-9][0-9]{0,2})$", description="baseline, week1 ...")
    reason: str = Field(min_length=1, max_length=2000)


class NotObtainedOut(BaseModel):
    """A rating recorded as not obtained, and its withdrawal if it was withdrawn."""

    model_config = _example({"id": _ID, "course_id": _ID, "timepoint": "week3",
                             "reason": "course stopped after session 11: patient moved away",
                             "recorded_at": _TS, "recorded_by": "dr-ito", "withdrawn_at": None,
                             "withdrawn_by": None, "withdrawal_reason": None,
                             "links": {"withdraw": f"/api/v1/courses/{_ID}/ratings-not-obtained/{_ID}/withdrawal"}})
    id: str
    course_id: str
    timepoint: str
    reason: str
    recorded_at: datetime
    recorded_by: str
    withdrawn_at: datetime | None = Field(description="Set once withdrawn: the timepoint is due again.")
    withdrawn_by: str | None
    withdrawal_reason: str | None
    links: dict[str, str]


class WithdrawalIn(BaseModel):
    """Why a record is withdrawn."""

    model_config = _example({"reason": "recorded for the wrong week"}, extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class NotObtainedList(BaseModel):
    """The ratings of a course recorded as not obtained, in the order recorded."""

    model_config = _example({"items": []})
    items: list[NotObtainedOut]


class AssessmentList(BaseModel):
    """The ratings of a course in the order they were rated."""

    model_config = _example({"items": []})
    items: list[AssessmentOut]


class AlertOut(BaseModel):
    """A safety alert; open until a clinician acknowledges it."""

    model_config = _example({"id": _ID, "course_id": _ID, "kind": "suicide_item",
                             "detail": "HAMD-17 item 3 (suicide) scored 3 at week1",
                             "source_id": _ID, "created_at": _TS, "acknowledged_by": None,
                             "acknowledged_at": None, "acknowledgement_note": None,
                             "links": {"acknowledge": f"/api/v1/alerts/{_ID}/acknowledgement"}})
    id: str
    course_id: str
    kind: Literal["suicide_item", "seizure", "dose_above_protocol", "rating_timing"]
    detail: str
    source_id: str | None
    created_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    acknowledgement_note: str | None
    links: dict[str, str]


class AlertList(BaseModel):
    """Alerts, newest first."""

    model_config = _example({"items": []})
    items: list[AlertOut]


class AcknowledgementIn(BaseModel):
    """A clinician's acknowledgement of an alert (what was done)."""

    model_config = _example({"note": "Seen the patient; safety plan in place."}, extra="forbid")
    note: str = Field(min_length=1, max_length=4000)


class ScreeningQuestion(BaseModel):
    """One item of the TMS safety questionnaire."""

    model_config = _example({"key": "cochlear_implant", "question": "Do you have cochlear "
                             "implants?", "kind": "absolute"})
    key: str
    question: str
    kind: Literal["absolute", "contraindication", "information"]


class Questionnaire(BaseModel):
    """The TMS safety questionnaire (Rossi et al. 2009/2011; IFCN 2021)."""

    model_config = _example({"source": "Rossi et al. 2009, 2011", "items": [
        {"key": "epilepsy_or_seizure", "question": "Do you have epilepsy ...?",
         "kind": "contraindication"}]})
    source: str
    items: list[ScreeningQuestion]


class ScreeningIn(BaseModel):
    """Answers to every item of the questionnaire (true = yes)."""

    model_config = _example({"answers": {"epilepsy_or_seizure": False, "syncope": False},
                             "notes": "sertraline 100 mg"}, extra="forbid")
    answers: dict[str, Any]
    notes: str | None = Field(None, max_length=4000)


class OverrideIn(BaseModel):
    """A clinician's documented override of contraindications answered yes."""

    model_config = _example({"items": ["syncope"], "reason": "Single vasovagal episode in "
                             "2010; benefit outweighs risk."}, extra="forbid")
    items: list[str] = Field(min_length=1, max_length=20)
    reason: str = Field(min_length=1, max_length=4000)


class ScreeningOut(BaseModel):
    """A course's safety screening, with the decision."""

    model_config = _example({
        "course_id": _ID, "answers": {"syncope": True}, "notes": None, "screened_at": _TS,
        "screened_by": "ws-room-2", "status": {"cleared": True, "reason": "cleared",
                                               "blocking_items": []},
        "override_items": ["syncope"], "override_reason": "benefit outweighs risk",
        "override_by": "dr-smith", "override_at": _TS})
    course_id: str
    answers: dict[str, bool]
    notes: str | None
    screened_at: datetime
    screened_by: str
    status: ScreeningStatus
    override_items: list[str]
    override_reason: str | None
    override_by: str | None
    override_at: datetime | None


class TrajectoryPoint(BaseModel):
    """One rating on the HAMD-17 trajectory."""

    model_config = _example({"timepoint": "week2", "rated_at": "2025-03-14T15:00:00Z",
                             "total": 14, "severity": "moderate", "change_from_baseline": -14,
                             "percent_change": -50.0, "response": True, "remission": False})
    timepoint: str
    rated_at: datetime
    total: int
    severity: str
    change_from_baseline: int | None
    percent_change: float | None
    response: bool | None
    remission: bool | None


class CourseSummary(BaseModel):
    """What a clinician reviews: adherence, dose, navigation accuracy, ratings, alerts."""

    model_config = _example({
        "course_id": _ID, "arm": None, "arm_hidden": True, "status": "active",
        "sessions": {"planned_total": 15, "done": 15, "incomplete": 0, "missed": 1,
                     "cancelled": 0, "remaining": 0},
        "adherence": 0.94, "cumulative_pulses": 45000,
        "deviation": {"mean": {"centre_distance_mm": 2.0}, "worst": {"centre_distance_mm": 4.1}},
        "trajectory": [], "response": True, "remission": False, "open_alerts": [],
        "followups": [], "links": {"png": f"/api/v1/courses/{_ID}/summary.png"}})
    course_id: str
    arm: str | None
    arm_hidden: bool
    status: str
    sessions: dict[str, int]
    adherence: float | None = Field(description="Delivered / (delivered + missed) sessions.")
    cumulative_pulses: int
    deviation: dict[str, dict[str, float | None]]
    trajectory: list[TrajectoryPoint]
    response: bool | None = Field(description="Of the latest week rating (weekN; an `extra` "
                                  "rating never stands for the course's outcome).")
    remission: bool | None = Field(description="Of the same rating as `response`.")
    outcome_timepoint: str | None = Field(None, description="The week rating `response` and "
                                          "`remission` come from; null before any.")
    open_alerts: list[AlertOut]
    followups: list[FollowUpOut]
    links: dict[str, str]


class ScheduleItem(BaseModel):
    """One session on the day's list."""

    model_config = _example({"session_id": _ID, "course_id": _ID, "patient_id": _ID,
                             "patient_external_id": "MRN-0042", "index": 4, "slot": 0,
                             "offset_minutes": 0, "state": "planned",
                             "scheduled_date": "2025-03-06", "given_at": None,
                             "protocol_name": "standard_10hz", "course_status": "active"})
    session_id: str
    course_id: str
    patient_id: str
    patient_external_id: str
    index: int
    slot: int
    offset_minutes: int
    state: str
    scheduled_date: date = Field(description="The day the session was scheduled on. A "
                                 "delivered session is listed on the day it was given, "
                                 "which may be another.")
    given_at: datetime | None = Field(None, description="When a delivered session was given "
                                      "(its log's performed_at, UTC); null otherwise.")
    protocol_name: str
    course_status: str


class Schedule(BaseModel):
    """The sessions of one day across patients, in slot order."""

    model_config = _example({"date": "2025-03-03", "items": []})
    date: date
    items: list[ScheduleItem]


class DueItem(BaseModel):
    """A HAMD-17 rating that is due, overdue, or missed (a week's rating not taken before
    the next session was given: a clinician records it as not obtained)."""

    model_config = _example({"course_id": _ID, "patient_id": _ID,
                             "patient_external_id": "MRN-0042", "timepoint": "week1",
                             "after_session_index": 5, "due_on": "2025-03-07",
                             "status": "overdue"})
    course_id: str
    patient_id: str
    patient_external_id: str
    timepoint: str
    after_session_index: int | None
    due_on: date | None
    status: Literal["due", "overdue", "missed"]


class DueList(BaseModel):
    """Ratings due, overdue or missed across courses: missed first, then overdue."""

    model_config = _example({"date": "2025-03-07", "items": []})
    date: date
    items: list[DueItem]
