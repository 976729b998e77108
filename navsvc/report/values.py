"""Reading values out of a plan document and formatting them for display, escaped.

A plan shown in the report may come from an older or hand-edited file: every reader here
returns None (and every formatter a dash) for a missing or malformed value instead of
raising.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

#: shown in place of a missing or unusable value
MISSING = "—"


def esc(value) -> str:
    """Escape any value for HTML text or attribute context; None becomes a dash."""
    if value is None:
        return MISSING
    return html.escape(str(value), quote=True)


def lookup(mapping, *keys):
    """``mapping[k0][k1]...`` or None when any level is missing or not a mapping."""
    current = mapping
    for key in keys:
        if not isinstance(current, Mapping) or key not in current:
            return None
        current = current[key]
    return current


def vector3(value) -> list[float] | None:
    """A 3-vector of finite floats from a plan value, or None."""
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 3:
        return None
    try:
        floats = [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    return floats if all(math.isfinite(v) for v in floats) else None


def fmt_number(value, digits: int = 1, unit: str = "") -> str:
    """A number with ``digits`` decimals and an optional unit, escaped; a dash when missing.

    Parameters
    ----------
    value : object
        A number or numeric text. Anything else (None, other text, a boolean, a
        non-finite number) gives a dash: a malformed value is not shown as if measured.
    digits : int
        Decimals shown.
    unit : str
        Appended right after the number, so it carries its own space (" mm").

    Returns
    -------
    str
        HTML-escaped text.
    """
    if isinstance(value, bool):
        return MISSING
    try:
        number = float(value)
    except (TypeError, ValueError):
        return MISSING
    if not math.isfinite(number):
        return MISSING
    return esc(f"{fixed_decimals(number, digits)}{unit}")


def fmt_value(value) -> str:
    """Any plan value for display, escaped: numbers to 4 significant digits, lists joined."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, bool):
        return esc("yes" if value else "no")
    if isinstance(value, (int, float)):
        return esc(f"{value:.4g}")
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ", ".join(fmt_value(v) for v in value) if value else MISSING
    return esc(value)


def fmt_vector(value, digits: int = 1) -> str:
    """``(x, y, z)`` with fixed decimals, escaped; a dash when missing.

    Parameters
    ----------
    value : object
        A plan value; anything but a sequence of three finite numbers
        (:func:`vector3`) gives a dash.
    digits : int
        Decimals shown for each coordinate.

    Returns
    -------
    str
        HTML-escaped text.
    """
    vector = vector3(value)
    if vector is None:
        return MISSING
    return esc("(" + ", ".join(fixed_decimals(v, digits) for v in vector) + ")")


def fixed_decimals(number: float, digits: int) -> str:
    """Fixed-point text without a negative zero ("-0.0").

    Parameters
    ----------
    number : float
        A finite number.
    digits : int
        Decimals shown.

    Returns
    -------
    str
        Not escaped.
    """
    rounded = round(number, digits)
    return f"{(rounded if rounded != 0 else 0.0):.{digits}f}"


def lps_from_ras(value) -> list[float] | None:
    """LPS coordinates (x and y negated) of a RAS point, or None."""
    vector = vector3(value)
    return None if vector is None else [-vector[0], -vector[1], vector[2]]


def intensity_words(plan: Mapping) -> str | None:
    """How evenly the image is lit (``registration.intensity``), in words; None for a plan
    made before schema 1.7.0 or with a malformed block."""
    intensity = lookup(plan, "registration", "intensity")
    spread, uneven_from = lookup(intensity, "bias_field_spread"), lookup(intensity, "uneven_from")
    corrected = lookup(intensity, "uneven_corrected")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (spread, uneven_from)) \
            or not isinstance(corrected, bool):
        return None
    if corrected:
        return (f"uneven: the bias field spans a factor of {spread:.2f} (from {uneven_from:.2f} on), "
                "corrected more strongly before registration")
    return f"even: the bias field spans a factor of {spread:.2f}"


def scalp_rise_cautions(plan: Mapping) -> list[str]:
    """The plan's cautions that the scalp rises above its smooth shape near the entry point
    or the motor hand knob's scalp point (``scalp_rise``, schema 1.8.0); none for an older
    plan or a malformed block."""
    blocks = (lookup(plan, "entry", "scalp_rise"), lookup(plan, "landmarks", "points", "m1_hand_knob", "scalp_rise"))
    return [caution for caution in (lookup(block, "caution") for block in blocks)
            if isinstance(caution, str) and caution]


def scalp_rise_words(plan: Mapping) -> str | None:
    """The scalp's rise at the entry point and the motor hand knob's scalp point, in words;
    None for a plan made before schema 1.8.0 or with a malformed block."""
    entry = lookup(plan, "entry", "scalp_rise")
    m1 = lookup(plan, "landmarks", "points", "m1_hand_knob", "scalp_rise")
    values = (lookup(entry, "rise_mm"), lookup(m1, "rise_mm"), lookup(entry, "caution_from_mm"),
              lookup(entry, "patch_radius_mm"))
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return None
    return (f"entry {values[0]:.1f} mm, motor hand knob {values[1]:.1f} mm, within {values[3]:g} mm "
            f"(cautioned from {values[2]:.1f} mm)")


def _fluid_blocks(plan: Mapping) -> tuple:
    return lookup(plan, "target", "fluid"), lookup(plan, "landmarks", "points", "m1_hand_knob", "fluid")


def fluid_words(plan: Mapping) -> str | None:
    """The widest fluid where the brain should be near the target and the motor hand knob,
    in words; None for a plan made before schema 1.12.0 or with a malformed block."""
    target, m1 = _fluid_blocks(plan)
    values = (lookup(target, "widest_mm"), lookup(m1, "widest_mm"), lookup(target, "caution_from_mm"))
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return None
    return f"target {values[0]:.1f} mm, motor hand knob {values[1]:.1f} mm wide (cautioned from {values[2]:g} mm)"


def plan_cautions(plan: Mapping) -> list[str]:
    """Every caution an accepted plan carries, as stored: the registration's
    (``registration.head_orientation.caution``, schema 1.9.0, then
    ``registration.quality.caution``), the fluid's near the target and the motor hand knob
    (``fluid``, schema 1.12.0), then the scalp rise's (:func:`scalp_rise_cautions`)."""
    stored = [lookup(plan, "registration", "head_orientation", "caution"),
              lookup(plan, "registration", "quality", "caution")]
    stored += [lookup(block, "caution") for block in _fluid_blocks(plan)]
    return [caution for caution in stored if isinstance(caution, str) and caution] + scalp_rise_cautions(plan)
