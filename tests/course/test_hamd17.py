"""HAMD-17: every item's range, totals, bands, response and remission, the suicide alert."""

import pytest

from navsvc.course import hamd17
from navsvc.course.hamd17 import HamdItemError, ITEMS, outcome, score, severity, validate_items

ITEM_MAX = {1: 4, 2: 4, 3: 4, 4: 2, 5: 2, 6: 2, 7: 4, 8: 4, 9: 4, 10: 4, 11: 4, 12: 2, 13: 2,
            14: 2, 15: 4, 16: 2, 17: 2}


def _items(**overrides):
    items = {str(n): 0 for n in range(1, 18)}
    items.update({k.lstrip("i"): v for k, v in overrides.items()})
    return items


def test_item_ranges_match_the_design():
    assert {n: top for n, (_, top) in ITEMS.items()} == ITEM_MAX
    assert hamd17.MAX_TOTAL == 52


@pytest.mark.parametrize("item", range(1, 18))
def test_every_item_accepts_its_whole_range(item):
    for value in range(ITEM_MAX[item] + 1):
        assert validate_items(_items(**{f"i{item}": value}), "A")[item] == value


@pytest.mark.parametrize("item", range(1, 18))
@pytest.mark.parametrize("side", ["above", "below"])
def test_every_item_rejects_out_of_range_naming_item_and_range(item, side):
    bad = ITEM_MAX[item] + 1 if side == "above" else -1
    with pytest.raises(HamdItemError) as err:
        validate_items(_items(**{f"i{item}": bad}), "A")
    assert err.value.item == item
    assert f"item {item} (" in str(err.value) and f"0-{ITEM_MAX[item]}" in str(err.value)


@pytest.mark.parametrize("item", range(1, 18))
def test_missing_item_is_named(item):
    items = _items()
    del items[str(item)]
    with pytest.raises(HamdItemError, match=f"item {item} .*0-{ITEM_MAX[item]}: missing"):
        validate_items(items, "B")


@pytest.mark.parametrize("value", [True, 1.5, "2", None])
def test_non_integer_scores_are_rejected(value):
    with pytest.raises(HamdItemError, match="item 1 "):
        validate_items(_items(i1=value), "A")


@pytest.mark.parametrize("key", ["18", "0", "16b", "x", " 1"])
def test_unknown_items_are_rejected(key):
    items = _items()
    items[key] = 0
    with pytest.raises(HamdItemError, match="items are numbered 1-17|given twice"):
        validate_items(items, "A")


def test_integer_keys_and_item16_method():
    assert len(validate_items({n: 0 for n in range(1, 18)}, "B")) == 17
    for method in (None, "C", "a"):
        with pytest.raises(HamdItemError, match="item16_method"):
            validate_items(_items(), method)


def test_maximum_total_and_bands():
    top = {str(n): m for n, m in ITEM_MAX.items()}
    assert score(top, "A").total == 52
    assert [severity(t) for t in (0, 7, 8, 13, 14, 18, 19, 22, 23, 52)] == [
        "none", "none", "mild", "mild", "moderate", "moderate", "severe", "severe",
        "very severe", "very severe"]
    with pytest.raises(Exception):
        severity(53)


@pytest.mark.parametrize("baseline,total,response,remission", [
    (24, 12, True, False),   # exactly 50%: a response
    (24, 13, False, False),
    (25, 12, True, False),   # 52% reduction
    (25, 13, False, False),  # 48%
    (14, 7, True, True),
    (10, 8, False, False),
    (6, 7, False, True),     # remission does not need a response
    (20, 25, False, False),  # worse
])
def test_response_and_remission_arithmetic(baseline, total, response, remission):
    change, percent, resp, remit = outcome(total, baseline)
    assert change == total - baseline
    assert percent == pytest.approx(100 * (total - baseline) / baseline, abs=0.05)
    assert percent == round(percent, 1)  # reported to one decimal (24 -> 13: -45.8 %)
    assert (resp, remit) == (response, remission)


def test_no_baseline_gives_no_change_but_remission_and_zero_baseline_has_no_response():
    # remission is a total of at most 7: it needs no baseline (it was null without one)
    assert outcome(10, None) == (None, None, None, False)
    assert outcome(7, None) == (None, None, None, True)
    assert outcome(3, 0) == (3, None, None, True)


def test_score_with_baseline_and_suicide_alert():
    rating = score(_items(i1=2, i3=3, i7=2), "A", baseline_total=20)
    assert rating.total == 7 and rating.severity == "none"
    assert rating.change_from_baseline == -13 and rating.percent_change == -65.0
    assert rating.response is True and rating.remission is True
    assert rating.suicide_alert is True
    assert score(_items(i3=2), "A").suicide_alert is False



# The names a rater reads in a refusal (docs/DESIGN.md §8, Hamilton 1960's headings)
ITEM_NAMES = {1: "depressed mood", 2: "feelings of guilt", 3: "suicide",
              4: "insomnia: early in the night", 5: "insomnia: middle of the night",
              6: "insomnia: early hours of the morning", 7: "work and activities",
              8: "retardation", 9: "agitation", 10: "anxiety psychic", 11: "anxiety somatic",
              12: "somatic symptoms gastro-intestinal", 13: "general somatic symptoms",
              14: "genital symptoms", 15: "hypochondriasis", 16: "loss of weight", 17: "insight"}


@pytest.mark.parametrize("item", range(1, 18))
def test_a_refusal_names_the_item_and_its_range(item):
    with pytest.raises(HamdItemError) as err:
        validate_items(_items(**{f"i{item}": ITEM_MAX[item] + 1}), "A")
    assert str(err.value) == f"item {item} ({ITEM_NAMES[item]}), 0-{ITEM_MAX[item]}: got {ITEM_MAX[item] + 1}"


def test_each_refusal_says_what_is_wrong_in_full():
    def message(items, method="A"):
        with pytest.raises(HamdItemError) as err:
            validate_items(items, method)
        return str(err.value), err.value.item

    assert message({**_items(), "x": 0}) == ("unknown item 'x'; items are numbered 1-17", "x")
    assert message({**_items(), "18": 0}) == ("unknown item '18'; items are numbered 1-17", "18")
    assert message({**_items(), 1: 0}) == ("item 1 is given twice", 1)
    missing = _items()
    del missing["4"]
    assert message(missing) == ("item 4 (insomnia: early in the night), 0-2: missing", 4)
    assert message(_items(), "C") == (
        "item16_method must be 'A' (history) or 'B' (measured weight); got 'C'", None)
    with pytest.raises(Exception) as err:
        severity(-1)
    assert str(err.value) == "a HAMD-17 total lies in 0-52; got -1"
