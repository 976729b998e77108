"""Request and response models of ratings, alerts and the clinic views; the safety screening's
are in :mod:`api.schemas_screening`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictInt

from api.schemas import RecordDateTime, UtcDateTime, example_config
from api.schemas import COURSE_EXAMPLE_ID as _ID
from api.schemas import COURSE_EXAMPLE_TIME as _TS
from api.schemas_session import FollowUpOut

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
    rater: str = Field(min_length=1, max_length=200, description="Who rated the patient, as the client "
                       "names them (kept as given; not the token's name).")
    rated_at: RecordDateTime = Field(description="When the rating was taken: ISO 8601 with its zone; "
                                     "not in the future. A baseline comes before the first session "
                                     "given, a weekN rating after the session closing week N and "
                                     "not after the next session given.")
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
    id: str = Field(description="The rating's id, set by the server.")
    course_id: str = Field(description="The course rated.")
    timepoint: str = Field(description="baseline, week1, week2 ... or extra.")
    rater: str = Field(description="Who rated the patient, as the client gave it.")
    rated_at: UtcDateTime = Field(description="When the rating was taken, UTC (whatever offset the "
                                  "rating or amendment was sent with).")
    items: dict[str, int] = Field(description="Item number ('1'..'17') -> score: all 17.")
    item16_method: str = Field(description="A (history) or B (measured weight).")
    total: int = Field(description="0-52.")
    severity: str = Field(description="none 0-7, mild 8-13, moderate 14-18, severe 19-22, "
                                      "very severe >= 23.")
    baseline_total: int | None = Field(description="The total of the course's baseline rating; null "
                                                   "without one, and for the baseline itself.")
    change_from_baseline: int | None = Field(description="Total minus the baseline total (negative: "
                                                         "improved); null without a baseline, and for the "
                                                         "baseline itself.")
    percent_change: float | None = Field(description="The change in % of the baseline total, rounded to "
                                         "0.1; null without a baseline, when it is 0, and for the "
                                         "baseline itself.")
    response: bool | None = Field(description=">= 50% reduction from baseline.")
    remission: bool | None = Field(description="Total <= 7 (with or without a baseline); null for the "
                                   "baseline rating itself, taken before any session.")
    suicide_alert: bool = Field(description="Item 3 (suicide) >= 3.")
    alert_id: str | None = Field(description="The suicide-item alert this write raised (or, for an "
                                 "amendment, added the new score to); null otherwise and when read.")
    created_at: datetime = Field(description="When the server first recorded the rating (UTC).")
    version: int = Field(description="1 as recorded, one more per amendment (give it when amending).")
    amended_at: datetime | None = Field(description="When the latest amendment was recorded.")
    amended_by: str | None = Field(description="Token name of the clinician who amended it last; null if "
                                               "never amended.")
    links: dict[str, str] = Field(description="course (the course), versions (every version of the "
                                              "rating) and amend (post an amendment).")


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
    version: int = Field(description="The version's number: 1 as first recorded, one more per "
                                     "amendment.")
    timepoint: str = Field(description="baseline, week1, week2 ... or extra, in this version.")
    rater: str = Field(description="Who rated the patient, in this version.")
    rated_at: datetime = Field(description="When the rating was taken, in this version (UTC).")
    items: dict[str, int] = Field(description="Item number ('1'..'17') -> score, in this "
                                              "version.")
    item16_method: str = Field(description="A (history) or B (measured weight), in this version.")
    total: int = Field(description="The version's HAMD-17 total, 0-52.")
    recorded_at: datetime = Field(description="When this version was recorded: the rating, or the "
                                              "amendment that made it (UTC).")
    recorded_by: str = Field(description="Token name of who recorded this version.")
    replaced_at: datetime | None = Field(description="Null for the current version.")
    replaced_by: str | None = Field(description="Token name of the clinician whose amendment "
                                                "replaced it; null for the current version.")
    reason: str | None = Field(description="Why this version was replaced.")


class AssessmentVersionList(BaseModel):
    """Every version of a rating, oldest first; the last is the current one."""

    model_config = _example({"items": []})
    items: list[AssessmentVersionOut] = Field(description="The versions, oldest first.")


class NotObtainedIn(BaseModel):
    """A baseline or week rating that will not be taken, and why."""

    model_config = _example({"timepoint": "week3", "reason": "course stopped after session 11: "
                             "patient moved away"}, extra="forbid")
    timepoint: str = Field(pattern=r"^(baseline|week[1-9][0-9]{0,2})$", description="baseline, week1 ...")
    reason: str = Field(min_length=1, max_length=2000, description="Why the rating will not be taken.")


class NotObtainedOut(BaseModel):
    """A rating recorded as not obtained, and its withdrawal if it was withdrawn."""

    model_config = _example({"id": _ID, "course_id": _ID, "timepoint": "week3",
                             "reason": "course stopped after session 11: patient moved away",
                             "recorded_at": _TS, "recorded_by": "dr-ito", "withdrawn_at": None,
                             "withdrawn_by": None, "withdrawal_reason": None,
                             "links": {"withdraw": f"/api/v1/courses/{_ID}/ratings-not-obtained/{_ID}/withdrawal"}})
    id: str = Field(description="The record's id, set by the server.")
    course_id: str = Field(description="The course.")
    timepoint: str = Field(description="baseline, week1, week2 ...")
    reason: str = Field(description="Why the rating will not be taken.")
    recorded_at: datetime = Field(description="When the server recorded it (UTC).")
    recorded_by: str = Field(description="Token name of the clinician who recorded it.")
    withdrawn_at: datetime | None = Field(description="Set once withdrawn: the timepoint is due again.")
    withdrawn_by: str | None = Field(description="Token name of the clinician who withdrew it; "
                                                 "null unless withdrawn.")
    withdrawal_reason: str | None = Field(description="Why it was withdrawn; null unless "
                                                      "withdrawn.")
    links: dict[str, str] = Field(description="withdraw (post its withdrawal), while not withdrawn; "
                                              "empty once withdrawn.")


class WithdrawalIn(BaseModel):
    """Why a record is withdrawn."""

    model_config = _example({"reason": "recorded for the wrong week"}, extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, description="Why the record is withdrawn.")


class NotObtainedList(BaseModel):
    """The ratings of a course recorded as not obtained, in the order recorded."""

    model_config = _example({"items": []})
    items: list[NotObtainedOut] = Field(description="The records, withdrawn ones included.")


class AssessmentList(BaseModel):
    """The ratings of a course in the order they were rated."""

    model_config = _example({"items": []})
    items: list[AssessmentOut] = Field(description="The ratings, each scored against the course's "
                                                   "baseline.")


class AlertOut(BaseModel):
    """A safety alert; open until a clinician acknowledges it."""

    model_config = _example({"id": _ID, "course_id": _ID, "kind": "suicide_item",
                             "detail": "HAMD-17 item 3 (suicide) scored 3 at week1",
                             "source_id": _ID, "created_at": _TS, "acknowledged_by": None,
                             "acknowledged_at": None, "acknowledgement_note": None,
                             "links": {"course": f"/api/v1/courses/{_ID}",
                                       "acknowledge": f"/api/v1/alerts/{_ID}/acknowledgement"}})
    id: str = Field(description="The alert's id, set by the server.")
    course_id: str = Field(description="The course it concerns.")
    kind: Literal["suicide_item", "seizure", "dose_above_protocol", "rating_timing"] = Field(
        description="suicide_item: HAMD-17 item 3 rated (or amended up to) 3 or more; seizure: a seizure "
                    "logged with a session (no further session until acknowledged); "
                    "dose_above_protocol: a session given above the protocol's intensity; "
                    "rating_timing: a session log made a baseline or week rating no longer that "
                    "timepoint's.")
    detail: str = Field(description="What happened, in words, set by the server.")
    source_id: str | None = Field(description="The record that raised it: the rating for "
                                              "suicide_item, the session's delivery log for the "
                                              "other kinds.")
    created_at: datetime = Field(description="When it was raised (UTC).")
    acknowledged_by: str | None = Field(description="Token name of the clinician who "
                                                    "acknowledged it; null while open.")
    acknowledged_at: datetime | None = Field(description="When it was acknowledged (UTC); "
                                                         "null while open.")
    acknowledgement_note: str | None = Field(description="What the clinician did, as noted "
                                                         "when acknowledging; null while open.")
    links: dict[str, str] = Field(description="course (the course) and, while the alert is open, "
                                              "acknowledge (post the acknowledgement).")


class AlertList(BaseModel):
    """A course's alerts, newest first."""

    model_config = _example({"items": []})
    items: list[AlertOut] = Field(description="Every alert of the course, newest first.")


class AlertPage(BaseModel):
    """A page of alerts across courses, newest first."""

    model_config = _example({"items": [], "limit": 100, "offset": 0})
    items: list[AlertOut] = Field(description="The alerts on this page, newest first; a full page "
                                              "(`limit` items) means there may be more.")
    limit: int = Field(description="Page size asked for.")
    offset: int = Field(description="Number of alerts skipped before this page.")


class AcknowledgementIn(BaseModel):
    """A clinician's acknowledgement of an alert (what was done)."""

    model_config = _example({"note": "Seen the patient; safety plan in place."}, extra="forbid")
    note: str = Field(min_length=1, max_length=4000, description="What was done about the alert.")


class TrajectoryPoint(BaseModel):
    """One rating on the HAMD-17 trajectory."""

    model_config = _example({"timepoint": "week2", "rated_at": "2025-03-14T15:00:00Z",
                             "total": 14, "severity": "moderate", "change_from_baseline": -14,
                             "percent_change": -50.0, "response": True, "remission": False})
    timepoint: str = Field(description="baseline, week1, week2 ... or extra.")
    rated_at: datetime = Field(description="When the rating was taken (UTC).")
    total: int = Field(description="HAMD-17 total, 0-52.")
    severity: str = Field(description="none 0-7, mild 8-13, moderate 14-18, severe 19-22, "
                                      "very severe >= 23.")
    change_from_baseline: int | None = Field(description="Total minus the baseline total; null "
                                                         "without a baseline, and for the baseline itself.")
    percent_change: float | None = Field(description="The change in % of the baseline total, rounded to "
                                         "0.1; null without a baseline, when it is 0, and for the "
                                         "baseline itself.")
    response: bool | None = Field(description=">= 50% reduction from baseline; null without a "
                                              "baseline, when it is 0, and for the baseline itself.")
    remission: bool | None = Field(description="Total <= 7; null for the baseline rating itself.")


class CourseSummary(BaseModel):
    """What a clinician reviews: adherence, dose, navigation accuracy, ratings, alerts."""

    model_config = _example({
        "course_id": _ID, "arm": None, "arm_hidden": True, "status": "active",
        "sessions": {"planned_total": 15, "done": 15, "incomplete": 0, "missed": 1,
                     "cancelled": 0, "remaining": 0},
        "adherence": 0.94, "cumulative_pulses": 45000,
        "deviation": {"mean": {"centre_distance_mm": 2.0}, "worst": {"centre_distance_mm": 4.1}},
        "trajectory": [], "response": True, "remission": False, "open_alerts": [],
        "followups": [], "outcome_timepoint": "week3",
        "links": {"self": f"/api/v1/courses/{_ID}/summary", "png": f"/api/v1/courses/{_ID}/summary.png",
                  "csv": f"/api/v1/courses/{_ID}/summary.csv", "course": f"/api/v1/courses/{_ID}"}})
    course_id: str = Field(description="The course.")
    arm: str | None = Field(description="Trial arm (active, sham or open); null for blinded "
                                        "tokens.")
    arm_hidden: bool = Field(description="True when the arm is hidden from this (blinded) token.")
    status: str = Field(description="The course's status: active, paused or stopped.")
    sessions: dict[str, int] = Field(description="planned_total (the protocol's sessions) and the "
                                                 "number of sessions done, incomplete, missed, cancelled and "
                                                 "remaining (still planned).")
    adherence: float | None = Field(description="Delivered / (delivered + missed) sessions.")
    cumulative_pulses: int = Field(description="Pulses delivered, summed over the logged sessions.")
    deviation: dict[str, dict[str, float | None]] = Field(
        description="Navigation deviation over the logged sessions: mean (of the per-session means) "
                    "and worst (of the per-session worsts) of centre_distance_mm and "
                    "axis_to_target_mm (mm), tilt_deg and twist_abs_deg (degrees); null where no "
                    "session has it.")
    trajectory: list[TrajectoryPoint] = Field(description="Every rating of the course, in the order "
                                                          "rated.")
    response: bool | None = Field(description="Of the latest week rating (weekN; an `extra` "
                                  "rating never stands for the course's outcome).")
    remission: bool | None = Field(description="Of the same rating as `response`.")
    outcome_timepoint: str | None = Field(None, description="The week rating `response` and "
                                          "`remission` come from; null before any.")
    open_alerts: list[AlertOut] = Field(description="The course's unacknowledged alerts, oldest first.")
    followups: list[FollowUpOut] = Field(description="The HAMD-17 timepoints with their status today "
                                                     "(the clinic's day).")
    links: dict[str, str] = Field(description="self (this summary), png (the trajectory plot), csv "
                                              "(the course log) and course (the course).")


class ScheduleItem(BaseModel):
    """One session on the day's list."""

    model_config = _example({"session_id": _ID, "course_id": _ID, "patient_id": _ID,
                             "patient_external_id": "MRN-0042", "index": 4, "slot": 0,
                             "offset_minutes": 0, "state": "planned",
                             "scheduled_date": "2025-03-06", "given_at": None,
                             "protocol_name": "standard_10hz", "course_status": "active"})
    session_id: str = Field(description="The session.")
    course_id: str = Field(description="The session's course.")
    patient_id: str = Field(description="The course's patient.")
    patient_external_id: str = Field(description="The patient's MRN or study ID.")
    index: int = Field(description="The session's number within its course (from 1; never "
                                   "reused).")
    slot: int = Field(description="Position within its day (0 = first); more than 0 only for "
                                  "accelerated protocols (several sessions a day).")
    offset_minutes: int = Field(description="Earliest start, in minutes after the day's first "
                                            "session.")
    state: str = Field(description="planned, done, incomplete or missed (cancelled sessions are "
                                   "not listed).")
    scheduled_date: date = Field(description="The day the session was scheduled on. A "
                                 "delivered session is listed on the day it was given, "
                                 "which may be another.")
    given_at: datetime | None = Field(None, description="When a delivered session was given "
                                      "(its log's performed_at, UTC); null otherwise.")
    protocol_name: str = Field(description="The course's protocol.")
    course_status: str = Field(description="active, paused or stopped.")


class Schedule(BaseModel):
    """The sessions of one day across patients, in slot order."""

    model_config = _example({"date": "2025-03-03", "items": []})
    date: Annotated[date, Field(description="The clinic day listed (default today).")]
    items: list[ScheduleItem] = Field(description="The day's sessions.")


class DueItem(BaseModel):
    """A HAMD-17 rating that is due, overdue, or missed (a week's rating not taken before
    the next session was given: a clinician records it as not obtained)."""

    model_config = _example({"course_id": _ID, "patient_id": _ID,
                             "patient_external_id": "MRN-0042", "timepoint": "week1",
                             "after_session_index": 5, "due_on": "2025-03-07",
                             "status": "overdue"})
    course_id: str = Field(description="The course.")
    patient_id: str = Field(description="The course's patient.")
    patient_external_id: str = Field(description="The patient's MRN or study ID.")
    timepoint: str = Field(description="baseline, week1, week2 ...")
    after_session_index: int | None = Field(description="The session whose delivery closes the week "
                                                        "and makes its rating due; null for baseline.")
    due_on: date | None = Field(description="The day it fell due: for a week, the clinic day its "
                                            "closing session was given; for baseline, the first session's "
                                            "scheduled day (null without sessions).")
    status: Literal["due", "overdue", "missed"] = Field(
        description="overdue: a baseline once the first session was given or its day passed; a week's "
                    "from the day the next session is scheduled, or more than 3 days after its closing "
                    "session was given. "
                    "missed: the next session was given without the week's rating.")


class DueList(BaseModel):
    """Ratings due, overdue or missed across courses: missed first, then overdue."""

    model_config = _example({"date": "2025-03-07", "items": []})
    date: Annotated[date, Field(description="The clinic day the statuses are taken on (default today).")]
    items: list[DueItem] = Field(description="The ratings, missed first, then overdue, then due.")
