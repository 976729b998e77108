"""Protocol presets, custom parameters, dose arithmetic and the screening rule."""

import pytest

from navsvc.course.dose import above_protocol_reason, compute_dose, over_output_reason, plan_mt_offset
from navsvc.course.protocols import PRESETS, custom_protocol, get_protocol
from navsvc.course.screening import (
    ITEMS,
    check_override,
    decide,
    positive_contraindications,
    validate_answers,
)
from navsvc.errors import InputError


def test_standard_10hz_preset():
    p = get_protocol("standard_10hz")
    assert (p.frequency_hz, p.train_duration_s, p.inter_train_interval_s, p.n_trains) == (10, 4, 26, 75)
    assert p.pulses_per_session == 3000 and p.intensity_pct_rmt == 120
    assert p.session_duration_min == pytest.approx(37.5)
    assert (p.n_sessions, p.sessions_per_week, p.sessions_per_day) == (15, 5, 1)
    assert "O'Reardon" in p.citation and "62(11):1208" in p.citation


def test_presets_keep_the_rules_new_protocols_must_keep():
    for preset in PRESETS.values():
        assert custom_protocol(preset.model_dump()) == preset


def test_itbs_and_accelerated_presets():
    itbs = get_protocol("itbs")
    assert itbs.pulses_per_session == 600 and itbs.intensity_pct_rmt == 120
    assert 3 <= itbs.session_duration_min <= 3.5
    assert "Blumberger" in itbs.citation and "commonly cited" in itbs.citation
    acc = get_protocol("accelerated")
    assert (acc.sessions_per_day, acc.n_sessions, acc.min_interval_minutes) == (10, 50, 60)
    assert acc.pulses_per_session == 1800 and acc.intensity_pct_rmt == 90 and acc.depth_adjusted
    assert acc.session_duration_min == pytest.approx(10)
    assert "Cole" in acc.citation
    assert all(p.citation for p in PRESETS.values())
    assert PRESETS["itbs"].summary()["session_duration_min"] == pytest.approx(3.33)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(InputError, match="standard_10hz, itbs, accelerated"):
        get_protocol("5hz")


#: a custom 1 Hz protocol (6 trains of 60 pulses, 6 min) that each bound below is moved from
ONE_HZ = {"name": "1hz_right", "pattern": "rtms", "frequency_hz": 1, "train_duration_s": 60,
          "inter_train_interval_s": 0, "n_trains": 6, "pulses_per_session": 360, "intensity_pct_rmt": 110}

def test_custom_protocol_validated():
    params = ONE_HZ
    p = custom_protocol(params)
    assert p.citation == "custom parameters" and p.n_sessions == 15
    with pytest.raises(InputError, match="pulses_per_session 3000 does not match"):
        custom_protocol({**params, "pulses_per_session": 3000})
    with pytest.raises(InputError, match="intensity_pct_rmt"):
        custom_protocol({**params, "intensity_pct_rmt": 400})
    with pytest.raises(InputError, match="frequency_hz"):
        custom_protocol({**params, "frequency_hz": None})
    with pytest.raises(InputError, match="min_interval_minutes"):
        custom_protocol({**params, "sessions_per_day": 3})
    with pytest.raises(InputError, match="colour"):
        custom_protocol({**params, "colour": "red"})
    # sessions of 6 min cannot start 5 min apart (the interval runs from start to start)
    with pytest.raises(InputError, match="min_interval_minutes 5 is shorter than a session"):
        custom_protocol({**params, "sessions_per_day": 3, "min_interval_minutes": 5})
    assert custom_protocol({**params, "sessions_per_day": 3, "min_interval_minutes": 6}).sessions_per_day == 3
    # 20 sessions a day 24 h apart were accepted, laid out over 19 days as "one day"
    with pytest.raises(InputError, match="20 sessions a day, 1440 min apart, take 456.1 h: more than a day"):
        custom_protocol({**params, "sessions_per_day": 20, "sessions_per_week": 20, "min_interval_minutes": 1440})
    with pytest.raises(InputError, match="intensity_pct_rmt: Input should be a finite number"):
        custom_protocol({**params, "intensity_pct_rmt": float("nan")})


def test_theta_burst_presets_are_50_hz_triplets_at_5_hz():
    for name in ("itbs", "accelerated"):
        p = get_protocol(name)
        assert (p.pattern, p.burst_frequency_hz, p.pulses_per_burst, p.intra_burst_frequency_hz) == (
            "theta_burst", 5.0, 3, 50.0)
        assert (p.train_duration_s, p.inter_train_interval_s) == (2.0, 8.0)
    assert (get_protocol("itbs").n_trains, get_protocol("accelerated").n_trains) == (20, 60)
    assert get_protocol("accelerated").sessions_per_week == 50


#: the custom-protocol bounds: (changes at the bound, accepted; changes past it, refused)
BOUNDS = [
    ({"intensity_pct_rmt": 150}, {"intensity_pct_rmt": 150.01}),
    ({"intensity_pct_rmt": 0.01}, {"intensity_pct_rmt": 0}),
    ({"frequency_hz": 50, "train_duration_s": 1.2}, {"frequency_hz": 50.01, "train_duration_s": 1.2}),
    ({"train_duration_s": 60}, {"train_duration_s": 61, "pulses_per_session": 366}),
    ({"inter_train_interval_s": 600}, {"inter_train_interval_s": 600.01}),
    ({"train_duration_s": 1, "n_trains": 1000, "pulses_per_session": 1000},
     {"train_duration_s": 1, "n_trains": 1001, "pulses_per_session": 1001}),
    ({"frequency_hz": 10, "train_duration_s": 10, "n_trains": 100, "pulses_per_session": 10000},
     {"frequency_hz": 10, "train_duration_s": 10, "n_trains": 100, "pulses_per_session": 10001}),
    ({"pulses_per_session": 361}, {"pulses_per_session": 362}),  # rounding of the trains: 1 pulse
    ({"n_sessions": 200}, {"n_sessions": 201}),
    ({"n_sessions": 1}, {"n_sessions": 0}),
    ({"sessions_per_week": 100}, {"sessions_per_week": 101}),
    ({"sessions_per_week": 1}, {"sessions_per_week": 0}),
    ({"sessions_per_day": 2, "min_interval_minutes": 1434}, {"sessions_per_day": 2, "min_interval_minutes": 1435}),
    ({"sessions_per_day": 20, "sessions_per_week": 20, "min_interval_minutes": 6},
     {"sessions_per_day": 21, "sessions_per_week": 21, "min_interval_minutes": 6}),
    ({"sessions_per_day": 1}, {"sessions_per_day": 2}),  # a second session a day needs an interval
    ({"n_trains": 1, "pulses_per_session": 60}, {"n_trains": 0, "pulses_per_session": 0}),
    ({"train_duration_s": 1, "n_trains": 1, "pulses_per_session": 1},
     {"train_duration_s": 1, "n_trains": 1, "pulses_per_session": 0}),
    ({"train_duration_s": 1, "n_trains": 1, "pulses_per_session": 1, "sessions_per_day": 2, "min_interval_minutes": 1},
     {"train_duration_s": 1, "n_trains": 1, "pulses_per_session": 1, "sessions_per_day": 2, "min_interval_minutes": 0}),
    ({"name": "n" * 64}, {"name": "n" * 65}),
    ({"citation": "c" * 500}, {"citation": "c" * 501}),
]


@pytest.mark.parametrize("accepted, refused", BOUNDS)
def test_custom_protocol_bounds_accept_the_bound_and_refuse_past_it(accepted, refused):
    assert custom_protocol({**ONE_HZ, **accepted}).model_dump()["name"] == accepted.get("name", "1hz_right")
    with pytest.raises(InputError, match="custom protocol"):
        custom_protocol({**ONE_HZ, **refused})


@pytest.mark.parametrize("field, bound, past", [("pulses_per_burst", 10, 11),
                                                ("intra_burst_frequency_hz", 100, 100.01),
                                                ("burst_frequency_hz", 20, 20.01)])
def test_theta_burst_bounds(field, bound, past):
    # 2 pulses at 100 Hz take 20 ms: they fit 20 bursts a second; 10 pulses at 100 Hz at 5 Hz
    base = {"name": "tbs", "pattern": "theta_burst", "burst_frequency_hz": 5, "pulses_per_burst": 2,
            "intra_burst_frequency_hz": 100, "train_duration_s": 2, "inter_train_interval_s": 8,
            "n_trains": 10, "intensity_pct_rmt": 100}
    changed = {**base, field: bound}
    changed["pulses_per_session"] = round(changed["burst_frequency_hz"] * changed["pulses_per_burst"] * 2 * 10)
    assert getattr(custom_protocol(changed), field) == bound
    with pytest.raises(InputError, match=field):
        custom_protocol({**changed, field: past})


def test_a_protocol_states_its_pattern_and_what_the_pattern_needs():
    without_pattern = {k: v for k, v in ONE_HZ.items() if k != "pattern"}
    with pytest.raises(InputError) as err:
        custom_protocol(without_pattern)
    assert str(err.value) == "custom protocol: pattern: Field required"
    with pytest.raises(InputError) as err:
        custom_protocol({**ONE_HZ, "frequency_hz": None})
    assert str(err.value) == "custom protocol: protocol: Value error, an rtms protocol needs frequency_hz"
    itbs = get_protocol("itbs").model_dump()
    with pytest.raises(InputError) as err:
        custom_protocol({**itbs, "name": "x", "burst_frequency_hz": None, "intra_burst_frequency_hz": None})
    assert str(err.value) == ("custom protocol: protocol: Value error, a theta_burst protocol needs "
                              "burst_frequency_hz, intra_burst_frequency_hz")


def test_a_custom_protocol_is_not_depth_adjusted_unless_it_says_so():
    # a depth-adjusted protocol gives the plan's adjusted intensity, up to 2.8 %MSO a mm more
    assert custom_protocol(ONE_HZ).depth_adjusted is False
    assert custom_protocol({**ONE_HZ, "depth_adjusted": True}).depth_adjusted is True


def test_a_burst_as_long_as_the_burst_period_is_refused():
    # 4 pulses at 20 Hz take 200 ms, the whole period of 5 Hz bursts
    itbs = get_protocol("itbs").model_dump()
    with pytest.raises(InputError, match="bursts would run into each other"):
        custom_protocol({**itbs, "name": "x", "pulses_per_burst": 4, "intra_burst_frequency_hz": 20.0,
                         "pulses_per_session": 800})


def test_theta_bursts_must_fit_between_burst_starts():
    itbs = get_protocol("itbs").model_dump()
    # 10 pulses at 20 Hz take 500 ms: they cannot repeat every 200 ms (5 Hz); was accepted
    overlapping = {**itbs, "name": "x", "pulses_per_burst": 10, "intra_burst_frequency_hz": 20.0,
                   "pulses_per_session": 2000}
    with pytest.raises(InputError, match="bursts would run into each other"):
        custom_protocol(overlapping)
    assert custom_protocol({**itbs, "name": "ctbs_like"}).pulses_per_burst == 3


def test_dose_and_stokes_adjustment():
    d = compute_dose(50, 120)
    assert d.intensity_pct_mso == 60 and d.adjusted_intensity_pct_mso is None
    d = compute_dose(50, 120, mt_offset_pct_mso=6.0)  # 2 mm deeper at ~3 %MSO/mm
    assert d.adjusted_mt_pct_mso == 56 and d.adjusted_intensity_pct_mso == pytest.approx(67.2)
    assert not d.exceeds_max_output
    assert compute_dose(85, 120).exceeds_max_output
    assert compute_dose(80, 120, -5.0).adjusted_intensity_pct_mso == 90
    assert compute_dose(80, 120, -5.0).adjustment_withheld is None


def test_the_dose_records_the_intensity_given_and_flags_only_that():
    # 10 Hz at 120 % of an 80 %MSO threshold gives 96 %MSO; the plan's +8.4 %MSO depth offset
    # (106.1 %MSO adjusted) is not given under a protocol that is not depth-adjusted. The
    # dose said "above maximum output" for it, and recorded no intensity as the one given.
    plain = compute_dose(80, 120, mt_offset_pct_mso=8.4)
    assert (plain.given_intensity_pct_mso, plain.adjusted_intensity_pct_mso) == (96.0, 106.1)
    assert not plain.exceeds_max_output and over_output_reason(plain) is None
    adjusted = compute_dose(80, 120, mt_offset_pct_mso=8.4, depth_adjusted=True)
    assert adjusted.given_intensity_pct_mso == 106.1 and adjusted.exceeds_max_output
    assert "106.1 %MSO, more than the stimulator's maximum output" in over_output_reason(adjusted)
    withheld = compute_dose(40, 120, mt_offset_pct_mso=-45.0, depth_adjusted=True)
    assert withheld.given_intensity_pct_mso == 48.0  # the adjustment is withheld: the measured dose


def test_a_depth_offset_that_would_take_the_threshold_to_nothing_is_not_applied():
    # a plan's offset can reach -75 %MSO (2.8 %MSO/mm over the 8-35 mm plausible depths)
    d = compute_dose(40, 120, mt_offset_pct_mso=-45.0)
    assert d.adjusted_mt_pct_mso is None and d.adjusted_intensity_pct_mso is None
    assert d.adjustment_withheld == (
        "the plan's depth offset (-45.0 %MSO) would take the motor threshold to -5.0 %MSO: "
        "not applied; check the plan's scalp-to-cortex distances")
    assert d.intensity_pct_mso == 48 and not d.exceeds_max_output  # the measured dose stands
    with pytest.raises(InputError) as err:
        compute_dose(0, 120)
    assert str(err.value) == "resting motor threshold must be 1-100 %MSO; got 0"
    with pytest.raises(InputError) as err:
        compute_dose(50, 500)
    assert str(err.value) == "intensity must be 1-200 % of the motor threshold; got 500"


def test_the_dose_limits_are_inclusive():
    # the stimulator's full output can be given; so can the rule's bounds themselves
    full = compute_dose(100, 100)
    assert full.given_intensity_pct_mso == 100.0 and not full.exceeds_max_output
    assert compute_dose(1, 1).intensity_pct_mso == 0.0 and compute_dose(50, 200).intensity_pct_mso == 100.0
    threshold_of_one = compute_dose(40, 120, mt_offset_pct_mso=-39.0)  # adjusted threshold 1 %MSO
    assert threshold_of_one.adjusted_mt_pct_mso == 1.0 and threshold_of_one.adjustment_withheld is None
    for rmt, pct in ((0.99, 120), (100.01, 100), (50, 0.99), (50, 200.01)):
        with pytest.raises(InputError):
            compute_dose(rmt, pct)


def test_dose_values_are_rounded_to_a_tenth_of_a_percent():
    dose = compute_dose(47.3, 110, mt_offset_pct_mso=2.345)  # 52.03, adjusted 49.645 -> 54.61
    assert (dose.intensity_pct_mso, dose.adjusted_mt_pct_mso, dose.adjusted_intensity_pct_mso) == (52.0, 49.6, 54.6)


def test_over_output_says_depth_adjusted_only_when_the_adjusted_dose_is_given():
    measured = compute_dose(90, 120)
    assert over_output_reason(measured) == (
        "120 % of a 90 %MSO motor threshold is 108.0 %MSO, more than the stimulator's maximum "
        "output (100 %MSO): log the intensity actually given")
    adjusted = compute_dose(80, 120, mt_offset_pct_mso=8.4, depth_adjusted=True)
    assert "motor threshold (depth-adjusted) is 106.1 %MSO" in over_output_reason(adjusted)


def test_only_an_intensity_above_the_protocols_needs_review():
    assert above_protocol_reason(120, 120) is None and above_protocol_reason(100, 120) is None
    assert above_protocol_reason(121, 120) == (
        "intensity 121 % of motor threshold is above the protocol's 120 %: a clinician should review this session")


def test_plan_mt_offset():
    assert plan_mt_offset({"dose": {"mt_offset_pct_mso": 4.5}}) == 4.5
    assert plan_mt_offset({"dose": {}}) is None
    assert plan_mt_offset({}) is None
    assert plan_mt_offset({"dose": {"mt_offset_pct_mso": "x"}}) is None
    for not_finite in (float("nan"), float("inf"), float("-inf")):  # a NaN dose would pass every limit check
        assert plan_mt_offset({"dose": {"mt_offset_pct_mso": not_finite}}) is None


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


def test_each_preset_is_stored_under_its_own_name():
    assert {key: preset.name for key, preset in PRESETS.items()} == {
        "standard_10hz": "standard_10hz", "itbs": "itbs", "accelerated": "accelerated"}


def test_each_refusal_of_a_custom_protocol_says_in_full_what_is_wrong():
    def refusal(changes):
        with pytest.raises(InputError) as err:
            custom_protocol({**ONE_HZ, **changes})
        return str(err.value).removeprefix("custom protocol: protocol: Value error, ")

    assert refusal({"pulses_per_session": 3000}) == (
        "pulses_per_session 3000 does not match the trains (6 trains x 60 pulses = 360)")
    assert refusal({"sessions_per_day": 3}) == "more than one session a day needs min_interval_minutes"
    assert refusal({"sessions_per_day": 6, "sessions_per_week": 5, "min_interval_minutes": 10}) == (
        "sessions_per_day cannot exceed sessions_per_week")
    assert refusal({"sessions_per_day": 3, "min_interval_minutes": 5}) == (
        "min_interval_minutes 5 is shorter than a session (6 min): it counts from one session's start to the next's")
    itbs = get_protocol("itbs").model_dump()
    with pytest.raises(InputError) as err:
        custom_protocol({**itbs, "name": "x", "pulses_per_burst": 4, "intra_burst_frequency_hz": 16.0,
                         "pulses_per_session": 800})
    assert str(err.value) == (
        "custom protocol: protocol: Value error, a burst of 4 pulses at 16 Hz takes 250 ms, not less than the "
        "200 ms from one burst's start to the next's at burst_frequency_hz 5: the bursts would run into each other")
    with pytest.raises(InputError) as err:
        get_protocol("5hz")
    assert str(err.value) == ("unknown protocol '5hz'; presets are standard_10hz, itbs, accelerated "
                              "(or give custom parameters)")


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
