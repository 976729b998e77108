"""Pre-course TMS safety screening and the clinician-override rule.

The questions follow the standard screening questionnaire of Rossi et al. (2009, Clin
Neurophysiol 120:2008-2039, section 7.5) as updated by Rossi et al. (2011, Clin Neurophysiol
122:1686: the spinal-surgery question dropped, the metal question widened to the spine), and
the IFCN expert guidelines (Rossi et al. 2021, Clin Neurophysiol 132:269-306).

Those sources say a "yes" to the risk questions is not in itself an absolute contraindication:
the responsible physician weighs risk against benefit. Rossi 2009 names one absolute
contraindication: metallic hardware close to the coil (cochlear implants, implanted
stimulators or pumps). So here every "yes" to a ``contraindication`` item blocks the course
until a clinician documents an override that names that item; ``absolute`` items are marked
so the override is a deliberate act. ``information`` items (current medication, earlier TMS
or MRI) are recorded for the physician and never block: nearly every patient referred for
depression takes medication.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from navsvc.errors import InputError, shown_value

Kind = Literal["absolute", "contraindication", "information"]


@dataclass(frozen=True)
class ScreeningItem:
    """One question of the screening questionnaire."""

    key: str
    question: str
    kind: Kind


ITEMS: tuple[ScreeningItem, ...] = (
    ScreeningItem("epilepsy_or_seizure", "Do you have epilepsy or have you ever had a convulsion "
                  "or a seizure?", "contraindication"),
    ScreeningItem("syncope", "Have you ever had a fainting spell or syncope?", "contraindication"),
    ScreeningItem("head_trauma", "Have you ever had a head trauma diagnosed as a concussion or "
                  "with loss of consciousness?", "contraindication"),
    ScreeningItem("hearing_problems", "Do you have any hearing problems or ringing in your ears?",
                  "contraindication"),
    ScreeningItem("pregnancy", "Are you pregnant or is there any chance that you might be?",
                  "contraindication"),
    ScreeningItem("metal_in_head_or_spine", "Do you have metal in the brain, skull or spine "
                  "(splinters, fragments, clips; titanium excepted)?", "absolute"),
    ScreeningItem("cochlear_implant", "Do you have cochlear implants?", "absolute"),
    ScreeningItem("implanted_neurostimulator", "Do you have an implanted neurostimulator (DBS, "
                  "epidural or subdural electrodes, VNS)?", "absolute"),
    ScreeningItem("cardiac_pacemaker", "Do you have a cardiac pacemaker or intracardiac lines?",
                  "contraindication"),
    ScreeningItem("medication_pump", "Do you have a medication infusion device?", "absolute"),
    ScreeningItem("ventricular_shunt", "Do you have a ventricular or spinal shunt (derivation)?",
                  "contraindication"),
    ScreeningItem("current_medication", "Are you taking any medications? (list them)",
                  "information"),
    ScreeningItem("previous_tms", "Did you ever undergo TMS in the past? If so, were there any "
                  "problems?", "information"),
    ScreeningItem("previous_mri", "Did you ever undergo MRI in the past? If so, were there any "
                  "problems?", "information"),
)
ITEMS_BY_KEY = {item.key: item for item in ITEMS}


def validate_answers(answers: Mapping[str, object]) -> dict[str, bool]:
    """Check that every item is answered yes (True) or no (False) and none is unknown.

    Raises
    ------
    InputError
        Naming the first unknown, unanswered or non-boolean item.
    """
    unknown = sorted(set(answers) - set(ITEMS_BY_KEY))
    if unknown:
        raise InputError(f"unknown screening item {shown_value(unknown[0])}; items are "
                         f"{', '.join(ITEMS_BY_KEY)}")
    checked: dict[str, bool] = {}
    for item in ITEMS:
        if item.key not in answers:
            raise InputError(f"screening item {item.key!r} ({item.question}) is not answered")
        value = answers[item.key]
        if not isinstance(value, bool):
            raise InputError(f"screening item {item.key!r} must be answered true or false; "
                             f"got {shown_value(value)}")
        checked[item.key] = value
    return checked


def positive_contraindications(answers: Mapping[str, bool]) -> list[str]:
    """Return the keys of the blocking items (``absolute`` or ``contraindication``) answered yes."""
    return [item.key for item in ITEMS
            if item.kind != "information" and answers.get(item.key) is True]


@dataclass(frozen=True)
class ScreeningDecision:
    """Whether a course may start, and why not."""

    cleared: bool
    blocking_items: tuple[str, ...]
    overridden_items: tuple[str, ...]
    reason: str


def decide(answers: Mapping[str, bool] | None,
           overridden_items: Iterable[str] = ()) -> ScreeningDecision:
    """Apply the rule: a course may start when every "yes" to a blocking item is overridden.

    Parameters
    ----------
    answers : mapping or None
        Validated answers; None when no screening was recorded (the course cannot start).
    overridden_items : iterable of str
        Items a clinician's documented override covers.
    """
    overridden = tuple(sorted(set(overridden_items)))
    if answers is None:
        return ScreeningDecision(False, (), overridden, "no safety screening is recorded")
    blocking = tuple(k for k in positive_contraindications(answers) if k not in overridden)
    if blocking:
        return ScreeningDecision(False, blocking, overridden,
                                 "contraindication answered yes without a clinician override: "
                                 + ", ".join(blocking))
    return ScreeningDecision(True, (), overridden, "cleared")


def check_override(answers: Mapping[str, bool], items: Iterable[str], reason: str) -> list[str]:
    """Validate a clinician override: it names positive blocking items and gives a reason.

    Parameters
    ----------
    answers : mapping of str to bool
        The recorded screening answers (:func:`validate_answers`).
    items : iterable of str
        Keys of the items the override covers (repeats are dropped).
    reason : str
        The clinician's documented reason; must not be blank.

    Returns
    -------
    list of str
        The overridden item keys.

    Raises
    ------
    InputError
        The reason is blank, no item is named, or an item is unknown or not a blocking item
        answered yes.
    """
    items = list(dict.fromkeys(items))
    if not reason or not reason.strip():
        raise InputError("an override needs the clinician's documented reason")
    if not items:
        raise InputError("an override must name the items it covers")
    positive = set(positive_contraindications(answers))
    for key in items:
        if key not in ITEMS_BY_KEY:
            raise InputError(f"unknown screening item {shown_value(key)}")
        if key not in positive:
            raise InputError(f"screening item {shown_value(key)} is not a contraindication answered yes; "
                             "nothing to override")
    return items
