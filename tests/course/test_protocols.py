"""Protocol presets and custom parameters: the rules every protocol keeps, bound by bound."""

import pytest

from navsvc.course.protocols import PRESETS, custom_protocol, get_protocol
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
                                                ("pulses_per_burst", 2, 1),  # one pulse is not a burst
                                                ("intra_burst_frequency_hz", 100, 100.01),
                                                ("burst_frequency_hz", 20, 20.01)])
def test_theta_burst_bounds(field, bound, past):
    # 2 pulses at 100 Hz take 20 ms: they fit 20 bursts a second; 10 pulses at 100 Hz at 5 Hz
    base = {"name": "tbs", "pattern": "theta_burst", "burst_frequency_hz": 5, "pulses_per_burst": 2,
            "intra_burst_frequency_hz": 100, "train_duration_s": 2, "inter_train_interval_s": 8,
            "n_trains": 10, "intensity_pct_rmt": 100}
    def with_pulses(value):
        changed = {**base, field: value}
        return changed | {"pulses_per_session": round(changed["burst_frequency_hz"] * changed["pulses_per_burst"] * 20)}

    assert getattr(custom_protocol(with_pulses(bound)), field) == bound
    with pytest.raises(InputError, match=field):
        custom_protocol(with_pulses(past))


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
