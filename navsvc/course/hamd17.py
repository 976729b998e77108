"""HAMD-17 (17-item Hamilton Depression Rating Scale): validation, total, band, outcome.

Item ranges, severity bands and outcome rules as listed in docs/DESIGN.md §8 (Hamilton 1960;
bands are the common clinical cut-offs). Item 16 (loss of weight) is rated by one method
only, A (history) or B (measured weight change), and the method is recorded with the score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from navsvc.errors import InputError, shown_value

#: item number -> (name, highest score); every item starts at 0
ITEMS: dict[int, tuple[str, int]] = {
    1: ("depressed mood", 4),
    2: ("feelings of guilt", 4),
    3: ("suicide", 4),
    4: ("insomnia: early in the night", 2),
    5: ("insomnia: middle of the night", 2),
    6: ("insomnia: early hours of the morning", 2),
    7: ("work and activities", 4),
    8: ("retardation", 4),
    9: ("agitation", 4),
    10: ("anxiety psychic", 4),
    11: ("anxiety somatic", 4),
    12: ("somatic symptoms gastro-intestinal", 2),
    13: ("general somatic symptoms", 2),
    14: ("genital symptoms", 2),
    15: ("hypochondriasis", 4),
    16: ("loss of weight", 2),
    17: ("insight", 2),
}
MAX_TOTAL = sum(top for _, top in ITEMS.values())  # 52
ITEM16_METHODS = ("A", "B")
#: (lowest total, band); a total belongs to the last band whose lowest total it reaches
SEVERITY_BANDS = ((0, "none"), (8, "mild"), (14, "moderate"), (19, "severe"), (23, "very severe"))
RESPONSE_REDUCTION = 0.5   # response: total fell by at least 50% from baseline
REMISSION_MAX_TOTAL = 7    # remission: total of 7 or less
SUICIDE_ITEM = 3
SUICIDE_ALERT_MIN = 3      # item 3 at 3 or 4 is a safety signal a clinician must see at once


class HamdItemError(InputError):
    """An item is missing, unknown or outside its range; ``item`` names it (None: item16 method)."""

    def __init__(self, message: str, item: int | str | None):
        super().__init__(message)
        self.item = item


def item_range_text(item: int) -> str:
    """Return ``'item 4 (insomnia: early in the night), 0-2'``."""
    name, top = ITEMS[item]
    return f"item {item} ({name}), 0-{top}"


def validate_items(items: Mapping[str | int, object], item16_method: str | None) -> dict[int, int]:
    """Check the 17 item scores and the item-16 method; return ``{item number: score}``.

    Parameters
    ----------
    items : mapping
        Item number (int or its string, e.g. ``"1"``) to score.
    item16_method : str
        ``"A"`` (history) or ``"B"`` (measured weight).

    Raises
    ------
    HamdItemError
        Naming the first offending item and its range.
    """
    scores: dict[int, int] = {}
    for key, value in items.items():
        try:
            number = int(key)
        except (TypeError, ValueError):
            raise HamdItemError(f"unknown item {shown_value(key)}; items are numbered 1-17", key) from None
        if number not in ITEMS or str(key).strip() != str(number):
            raise HamdItemError(f"unknown item {shown_value(key)}; items are numbered 1-17", key)
        if number in scores:
            raise HamdItemError(f"item {number} is given twice", number)
        # bool is an int subclass in Python; a rating of `true` is a client mistake.
        top = ITEMS[number][1]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            raise HamdItemError(f"{item_range_text(number)}: got {shown_value(value)}", number)
        scores[number] = value
    for number in ITEMS:
        if number not in scores:
            raise HamdItemError(f"{item_range_text(number)}: missing", number)
    if item16_method not in ITEM16_METHODS:
        raise HamdItemError(f"item16_method must be 'A' (history) or 'B' (measured weight); "
                            f"got {shown_value(item16_method)}", None)
    return dict(sorted(scores.items()))


def severity(total: int) -> str:
    """Return the severity band of a HAMD-17 total (0-52)."""
    if not 0 <= total <= MAX_TOTAL:
        raise InputError(f"a HAMD-17 total lies in 0-{MAX_TOTAL}; got {total}")
    band = SEVERITY_BANDS[0][1]
    for lowest, name in SEVERITY_BANDS:
        if total >= lowest:
            band = name
    return band


@dataclass(frozen=True)
class HamdScore:
    """A scored HAMD-17 rating.

    ``change_from_baseline``, ``percent_change`` and ``response`` are None when no baseline
    total is given, and ``percent_change`` and ``response`` also when the baseline total is
    0. ``remission`` (a total of at most 7) needs no baseline; the service reports no
    outcome at all for the baseline rating itself, taken before any session.
    """

    total: int
    severity: str
    change_from_baseline: int | None
    percent_change: float | None
    response: bool | None
    remission: bool | None
    suicide_alert: bool


def outcome(total: int, baseline_total: int | None
            ) -> tuple[int | None, float | None, bool | None, bool | None]:
    """Return ``(change, percent change, response, remission)`` of ``total`` against baseline
    (remission, a total of at most 7, needs none).

    Parameters
    ----------
    total : int
        The rating's HAMD-17 total (0-52).
    baseline_total : int or None
        The course's baseline total; None when there is none.

    Returns
    -------
    change : int or None
        ``total - baseline_total`` (negative when the total fell); None without a baseline.
    percent_change : float or None
        The change in % of the baseline, rounded to 0.1; None without a baseline or when it
        is 0.
    response : bool or None
        Whether the total fell by at least 50 % of the baseline; None without a baseline or
        when it is 0.
    remission : bool
        Whether the total is 7 or less.
    """
    remission = total <= REMISSION_MAX_TOTAL
    if baseline_total is None:
        return None, None, None, remission
    change = total - baseline_total
    if baseline_total == 0:
        return change, None, None, remission
    percent = 100.0 * change / baseline_total
    # Compare the reduction itself, not the rounded percentage: 50% exactly is a response.
    response = (baseline_total - total) >= RESPONSE_REDUCTION * baseline_total
    return change, round(percent, 1), response, remission


def score(items: Mapping[str | int, object], item16_method: str | None,
          baseline_total: int | None = None) -> HamdScore:
    """Validate and score a rating; compare with ``baseline_total`` when given.

    Parameters
    ----------
    items : mapping
        Item number (int or its string, e.g. ``"1"``) to score, all 17 items
        (:func:`validate_items` raises :class:`HamdItemError` otherwise).
    item16_method : str
        ``"A"`` (history) or ``"B"`` (measured weight).
    baseline_total : int, optional
        The course's baseline total, for the change, response and remission fields.

    Returns
    -------
    HamdScore
        Total, severity band, outcome against the baseline (:func:`outcome`) and the
        suicide alert (item 3 scored 3 or 4).
    """
    scores = validate_items(items, item16_method)
    total = sum(scores.values())
    change, percent, response, remission = outcome(total, baseline_total)
    return HamdScore(total=total, severity=severity(total), change_from_baseline=change,
                     percent_change=percent, response=response, remission=remission,
                     suicide_alert=scores[SUICIDE_ITEM] >= SUICIDE_ALERT_MIN)
