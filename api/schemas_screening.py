"""Request and response models of a course's TMS safety screening: the questionnaire, the
patient's answers and a clinician's override, each with an example."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas import COURSE_EXAMPLE_ID as _ID
from api.schemas import COURSE_EXAMPLE_TIME as _TS
from api.schemas import example_config
from api.schemas_course import ScreeningStatus

_example = example_config


class ScreeningQuestion(BaseModel):
    """One item of the TMS safety questionnaire."""

    model_config = _example({"key": "cochlear_implant", "question": "Do you have cochlear "
                             "implants?", "kind": "absolute"})
    key: str = Field(description="The item's key in the screening's answers.")
    question: str = Field(description="The question asked of the patient.")
    kind: Literal["absolute", "contraindication", "information"] = Field(
        description="absolute and contraindication: a yes blocks the course until a clinician "
                    "overrides it (absolute: an absolute contraindication per Rossi et al. 2009); "
                    "information: recorded only, never blocks.")


class Questionnaire(BaseModel):
    """The TMS safety questionnaire (Rossi et al. 2009/2011; IFCN 2021)."""

    model_config = _example({"source": "Rossi et al. 2009, 2011", "items": [
        {"key": "epilepsy_or_seizure", "question": "Do you have epilepsy ...?",
         "kind": "contraindication"}]})
    source: str = Field(description="The publications the questions follow.")
    items: list[ScreeningQuestion] = Field(description="The questions, each to be answered.")


class ScreeningIn(BaseModel):
    """Answers to every item of the questionnaire (true = yes)."""

    model_config = _example({"answers": {"epilepsy_or_seizure": False, "syncope": False},
                             "notes": "sertraline 100 mg"}, extra="forbid")
    answers: dict[str, Any] = Field(description="Item key -> true (yes) or false (no), for every "
                                                "questionnaire item and no other key.")
    notes: str | None = Field(None, max_length=4000, description="Free-text notes kept with the "
                                                                 "screening.")


class OverrideIn(BaseModel):
    """A clinician's documented override of contraindications answered yes."""

    model_config = _example({"items": ["syncope"], "reason": "Single vasovagal episode in "
                             "2010; benefit outweighs risk."}, extra="forbid")
    items: list[str] = Field(min_length=1, max_length=20, description="Keys of the absolute or "
                             "contraindication items answered yes that the override covers.")
    reason: str = Field(min_length=1, max_length=4000, description="The clinician's documented "
                        "reason (why the benefit outweighs the risk).")


class ScreeningOut(BaseModel):
    """A course's safety screening, with the decision."""

    model_config = _example({
        "course_id": _ID, "answers": {"syncope": True}, "notes": None, "screened_at": _TS,
        "screened_by": "ws-room-2", "status": {"cleared": True, "reason": "cleared",
                                               "blocking_items": []},
        "override_items": ["syncope"], "override_reason": "benefit outweighs risk",
        "override_by": "dr-smith", "override_at": _TS})
    course_id: str = Field(description="The course screened.")
    answers: dict[str, bool] = Field(description="Item key -> true (yes) or false (no).")
    notes: str | None = Field(description="The screening's free-text notes; null if none.")
    screened_at: datetime = Field(description="When the screening was recorded (UTC).")
    screened_by: str = Field(description="Token name of who recorded the screening.")
    status: ScreeningStatus = Field(description="Whether the course may start, as of now.")
    override_items: list[str] = Field(description="Keys of the items overridden since this screening "
                                                  "(all overrides together); empty if none.")
    override_reason: str | None = Field(description="The latest override's reason; null if "
                                                    "none.")
    override_by: str | None = Field(description="Token name of the clinician of the latest "
                                                "override; null if none.")
    override_at: datetime | None = Field(description="When the latest override was recorded "
                                                     "(UTC); null if none.")
