"""Named target strategies: MNI coordinates (ICBM 152 space, mm) with their sources.

Coordinates from docs/DESIGN.md §4. "MNI" differs between templates by a few mm; navsvc
registers to ICBM 2009a symmetric and treats these coordinates as given in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from navsvc.errors import InputError


@dataclass(frozen=True)
class Strategy:
    """A named target: where (MNI mm) and who says so."""

    name: str
    mni_mm: tuple[float, float, float]
    citation: str


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("fox2012", (-38.0, 44.0, 26.0),
                 "Fox et al. 2012 Biol Psychiatry 72:595 (sgACC-anticorrelation optimum), "
                 "as quoted by Mir-Moghtadaei et al. 2015 Brain Stimul 8:965"),
        Strategy("ba46", (-44.0, 40.0, 29.0),
                 "BA46 average, as used in the NIH contarg README (Cash et al. 2022)"),
        Strategy("ba9", (-36.0, 39.0, 43.0),
                 "BA9 average, as used in the NIH contarg README (Cash et al. 2022)"),
        Strategy("fivecm_avg", (-41.0, 16.0, 54.0),
                 "average 5-cm-rule site, as used in the NIH contarg README (Cash et al. 2022)"),
        Strategy("f3_avg", (-37.0, 26.0, 49.0),
                 "average Beam F3 site, as used in the NIH contarg README (Cash et al. 2022)"),
        # 5.8 mm outside the ICBM 2009a brain (GM + WM below 0.05 there): plans individualize it from
        # there, and refuse it (exit 2) on a head whose cortex it maps more than 10 mm from
        Strategy("fitzgerald2009", (-46.0, 45.0, 38.0),
                 "Fitzgerald et al. 2009 BA46/9 junction, as quoted (MNI) in public SimNIBS "
                 "scripts; original coordinate space not verified"),
    )
}

DEFAULT_STRATEGY = "fox2012"

#: left M1 hand knob, used for the 5-cm rule and the motor-threshold depth. A commonly
#: used MNI coordinate of the precentral "hand knob" (anatomy: Yousry et al. 1997
#: Brain 120:141); the exact figure is not verified against a primary source.
M1_HAND_KNOB_MNI_MM = (-37.0, -21.0, 58.0)
M1_HAND_KNOB_CITATION = (
    "left precentral hand knob (Yousry et al. 1997 Brain 120:141); MNI (-37, -21, 58) is a "
    "commonly used coordinate, not verified against a primary source"
)


def get_strategy(name: str) -> Strategy:
    """Return the named strategy or raise :class:`InputError` listing the valid names."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise InputError(
            f"unknown strategy '{name}'; choose one of {', '.join(STRATEGIES)} "
            "or give --mni X Y Z / --native X Y Z"
        ) from None
