"""navsvc.landmarks.beam: the Beam F3 formula against numbers worked out by hand."""

from __future__ import annotations

import math

import pytest

from navsvc.landmarks.beam import beam_distances


def test_reference_head_360_360_570():
    # TT = NI = 360 mm, HC = 570 mm (the Beam F3 calculator's example head)
    d = beam_distances(tragus_tragus=360.0, nasion_inion=360.0, head_circumference=570.0)
    assert d.x_from_fpz == pytest.approx(65.85, abs=0.01)
    assert d.y_from_cz == pytest.approx(95.00, abs=0.01)


def test_second_head_worked_by_hand():
    """TT = 340 mm, NI = 370 mm, HC = 560 mm, each step written out (4 decimals).

    R2 = 0.4 * 340 = 136, R1 = 0.4 * 370 = 148
    sin 324° = -0.5878, sin 298° = -0.8829, cos 298° = 0.4695
    A = (136 * -0.5878 + 74) / 136 = (-79.9388 + 74) / 136 = -0.0437
    B = 148 * -0.8829 / (148 * 0.4695 - 68) = -130.6762 / 1.4818 = -88.19
    x = (148 - 136 * B) / 2 / (A - B) = (148 + 11993.6) / 2 / 88.14 = 68.87
    y = A x - 74 = -3.0 - 74 = -77.01
    r = sqrt(68.87² + 77.01²) = 103.31; θ = atan(-77.01 / 68.87) = -48.19°
    Y = 0.91 r = 94.02 mm; X = (560 / 4) (90 - 48.19) / 90 = 140 * 0.4645 = 65.04 mm
    """
    d = beam_distances(tragus_tragus=340.0, nasion_inion=370.0, head_circumference=560.0)
    assert d.x_from_fpz == pytest.approx(65.04, abs=0.02)
    assert d.y_from_cz == pytest.approx(94.02, abs=0.02)


def test_small_head_worked_by_hand():
    """TT = 320 mm, NI = 340 mm, HC = 540 mm.

    R2 = 128, R1 = 136; A = (128 * -0.58779 + 68) / 128 = (-75.237 + 68) / 128 = -0.056538
    B = 136 * -0.88295 / (136 * 0.46947 - 64) = -120.081 / -0.15187 = 790.7
    x = (136 - 128 B) / 2 / (A - B) ≈ 128 / 2 = 64.0 (B dominates: the line is nearly vertical)
      exactly: (136 - 101209.6) / 2 / (-790.75) = 63.91
    y = A x - 68 = -3.613 - 68 = -71.61
    r = sqrt(63.91² + 71.61²) = 95.98; θ = atan(-71.61 / 63.91) = -48.253°
    Y = 0.91 r = 87.34 mm; X = 135 (90 - 48.253) / 90 = 135 * 0.46385 = 62.62 mm
    """
    d = beam_distances(tragus_tragus=320.0, nasion_inion=340.0, head_circumference=540.0)
    assert d.x_from_fpz == pytest.approx(62.62, abs=0.02)
    assert d.y_from_cz == pytest.approx(87.34, abs=0.02)


def test_the_point_is_the_intersection_of_the_two_construction_lines():
    """Rebuild the flat-map point (x, y) from X and Y and check it lies on both lines
    of the construction: through (0, -R1/2) and (R2, R2 sin 324°); through (R2/2, 0)
    and (R1 cos 298°, R1 sin 298°)."""
    tt, ni, hc = 350.0, 365.0, 575.0
    d = beam_distances(tt, ni, hc)
    r2, r1 = 0.4 * tt, 0.4 * ni
    r = d.y_from_cz / 0.91
    theta = math.radians(90.0 * d.x_from_fpz / (hc / 4) - 90.0)
    x, y = r * math.cos(theta), r * math.sin(theta)

    def collinear(p, q, s):
        return (q[0] - p[0]) * (s[1] - p[1]) - (q[1] - p[1]) * (s[0] - p[0])

    line1 = ((0.0, -r1 / 2), (r2, r2 * math.sin(math.radians(324.0))))
    line2 = ((r2 / 2, 0.0), (r1 * math.cos(math.radians(298.0)), r1 * math.sin(math.radians(298.0))))
    assert collinear(*line1, (x, y)) == pytest.approx(0.0, abs=1e-6 * r2 * r2)
    assert collinear(*line2, (x, y)) == pytest.approx(0.0, abs=1e-6 * r2 * r2)


def test_units_scale_and_circumference_only_moves_x():
    mm = beam_distances(360.0, 360.0, 570.0)
    cm = beam_distances(36.0, 36.0, 57.0)
    assert cm.x_from_fpz * 10 == pytest.approx(mm.x_from_fpz)
    assert cm.y_from_cz * 10 == pytest.approx(mm.y_from_cz)
    bigger = beam_distances(360.0, 360.0, 600.0)
    assert bigger.y_from_cz == pytest.approx(mm.y_from_cz)
    assert bigger.x_from_fpz == pytest.approx(mm.x_from_fpz * 600.0 / 570.0)
