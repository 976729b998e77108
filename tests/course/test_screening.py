"""The TMS safety screening: its questions, what blocks a course, and the clinician's override."""

import pytest

from navsvc.course.screening import ITEMS, check_override, decide, positive_contraindications, validate_answers
from navsvc.errors import InputError


def _no():
    return {item.key: False for item in ITEMS}


def test_screening_all_no_clears():
    answers = validate_answers(_no())
    assert decide(answers).cleared
    assert not decide(None).cleared


def test_screening_validation_names_the_item():
    answers = _no()
    del answers["pregnancy"]
    with pytest.raises(InputError, match="'pregnancy'.*not answered"):
        validate_answers(answers)
    with pytest.raises(InputError, match="unknown screening item 'tattoo'"):
        validate_answers({**_no(), "tattoo": True})
    with pytest.raises(InputError, match="true or false"):
        validate_answers({**_no(), "syncope": "yes"})


def test_which_screening_answers_block_is_pinned_item_by_item():
    # the parametrized tests below take each item's kind from the code; this list does not,
    # so an item turned into "information" (never blocking) cannot pass unnoticed
    kinds = {item.key: item.kind for item in ITEMS}
    assert kinds == {
        "epilepsy_or_seizure": "contraindication", "syncope": "contraindication",
        "head_trauma": "contraindication", "hearing_problems": "contraindication",
        "pregnancy": "contraindication", "metal_in_head_or_spine": "absolute",
        "cochlear_implant": "absolute", "implanted_neurostimulator": "absolute",
        "cardiac_pacemaker": "contraindication", "medication_pump": "absolute",
        "ventricular_shunt": "contraindication", "current_medication": "information",
        "previous_tms": "information", "previous_mri": "information"}
    assert positive_contraindications(dict.fromkeys(kinds, True)) == [k for k, v in kinds.items() if v != "information"]


@pytest.mark.parametrize("item", [i for i in ITEMS if i.kind != "information"],
                         ids=lambda i: i.key)
def test_every_contraindication_blocks_until_overridden(item):
    answers = validate_answers({**_no(), item.key: True})
    decision = decide(answers)
    assert not decision.cleared and decision.blocking_items == (item.key,)
    items = check_override(answers, [item.key], "benefit outweighs risk; discussed with patient")
    assert decide(answers, items).cleared


@pytest.mark.parametrize("item", [i for i in ITEMS if i.kind == "information"],
                         ids=lambda i: i.key)
def test_information_items_never_block(item):
    answers = validate_answers({**_no(), item.key: True})
    assert decide(answers).cleared and positive_contraindications(answers) == []


def test_override_rules():
    answers = validate_answers({**_no(), "epilepsy_or_seizure": True, "cochlear_implant": True})
    assert not decide(answers, ["epilepsy_or_seizure"]).cleared
    with pytest.raises(InputError, match="reason"):
        check_override(answers, ["epilepsy_or_seizure"], "  ")
    with pytest.raises(InputError, match="not a contraindication answered yes"):
        check_override(answers, ["pregnancy"], "r")
    with pytest.raises(InputError, match="must name"):
        check_override(answers, [], "r")
    assert decide(answers, check_override(answers, ["epilepsy_or_seizure", "cochlear_implant"], "r")).cleared


def test_the_questions_are_worded_as_the_screening_questionnaire_asks_them():
    # Rossi et al. 2011 (Clin Neurophysiol 122:1686), in the order a patient answers them; the
    # wording is what the clinic reads out, so a change must be a deliberate one
    assert [(item.key, item.question) for item in ITEMS] == [
        ("epilepsy_or_seizure", "Do you have epilepsy or have you ever had a convulsion or a seizure?"),
        ("syncope", "Have you ever had a fainting spell or syncope?"),
        ("head_trauma", "Have you ever had a head trauma diagnosed as a concussion or with loss of consciousness?"),
        ("hearing_problems", "Do you have any hearing problems or ringing in your ears?"),
        ("pregnancy", "Are you pregnant or is there any chance that you might be?"),
        ("metal_in_head_or_spine",
         "Do you have metal in the brain, skull or spine (splinters, fragments, clips; titanium excepted)?"),
        ("cochlear_implant", "Do you have cochlear implants?"),
        ("implanted_neurostimulator",
         "Do you have an implanted neurostimulator (DBS, epidural or subdural electrodes, VNS)?"),
        ("cardiac_pacemaker", "Do you have a cardiac pacemaker or intracardiac lines?"),
        ("medication_pump", "Do you have a medication infusion device?"),
        ("ventricular_shunt", "Do you have a ventricular or spinal shunt (derivation)?"),
        ("current_medication", "Are you taking any medications? (list them)"),
        ("previous_tms", "Did you ever undergo TMS in the past? If so, were there any problems?"),
        ("previous_mri", "Did you ever undergo MRI in the past? If so, were there any problems?")]


def test_screening_refusals_and_decisions_say_in_full_what_is_wrong():
    def refusal(answers):
        with pytest.raises(InputError) as err:
            validate_answers(answers)
        return str(err.value)

    missing = _no()
    del missing["pregnancy"]
    assert refusal(missing) == ("screening item 'pregnancy' (Are you pregnant or is there any chance that "
                                "you might be?) is not answered")
    assert refusal({**_no(), "tattoo": True}) == (
        "unknown screening item 'tattoo'; items are " + ", ".join(item.key for item in ITEMS))
    assert refusal({**_no(), "syncope": "yes"}) == "screening item 'syncope' must be answered true or false; got 'yes'"
    assert decide(None).reason == "no safety screening is recorded"
    answers = validate_answers({**_no(), "syncope": True, "cochlear_implant": True})
    assert decide(answers).reason == (
        "contraindication answered yes without a clinician override: syncope, cochlear_implant")
    assert decide(answers, ["syncope", "cochlear_implant"]).reason == "cleared"


def test_each_refusal_of_an_override_says_in_full_what_is_wrong():
    answers = validate_answers({**_no(), "syncope": True})

    def refusal(items, reason="benefit outweighs risk"):
        with pytest.raises(InputError) as err:
            check_override(answers, items, reason)
        return str(err.value)

    assert refusal(["syncope"], " ") == "an override needs the clinician's documented reason"
    assert refusal([]) == "an override must name the items it covers"
    assert refusal(["tattoo"]) == "unknown screening item 'tattoo'"
    assert refusal(["pregnancy"]) == (
        "screening item 'pregnancy' is not a contraindication answered yes; nothing to override")
