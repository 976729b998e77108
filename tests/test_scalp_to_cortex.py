"""Scalp-to-cortex distance: measured to where the line to the target enters grey matter."""

from __future__ import annotations

import numpy as np
import pytest

from navsvc.anatomy.tissue import LocalTissue
from navsvc.grid import WorkingImage
from navsvc.target.individualize import scalp_to_cortex_mm

#: grey matter fills voxel centres x = 12..15 mm of the slab below (1 mm voxels)
GM_FIRST_X_MM, GM_LAST_X_MM = 12, 15


def grey_matter_slab(origin_ras_mm=(0.0, 0.0, 0.0), last_x_mm: int = GM_LAST_X_MM,
                     first_y_mm: int = 0) -> LocalTissue:
    """A box whose grey matter is the slab GM_FIRST_X_MM <= x <= ``last_x_mm`` (voxel
    centres, mm from the origin; CSF before it, white matter after), where y >=
    ``first_y_mm``: trilinear sampling puts its surface at x = 11.5 mm."""
    shape = (40, 16, 12)
    x = np.arange(shape[0])[:, None, None] * np.ones(shape)
    y = np.arange(shape[1])[None, :, None] * np.ones(shape)
    gm = ((x >= GM_FIRST_X_MM) & (x <= last_x_mm) & (y >= first_y_mm)).astype(float)
    wm = ((x > last_x_mm) & (y >= first_y_mm)).astype(float)
    posterior = np.stack([1.0 - gm - wm, gm, wm])
    grid = WorkingImage(np.zeros(shape, np.float32), np.asarray(origin_ras_mm, float), 1.0)
    return LocalTissue(grid, posterior, template_brain=gm + wm, fluid_intensity=posterior[0] > 0.5)


def test_distance_ends_at_the_grey_matter_surface_not_at_the_target():
    tissue = grey_matter_slab()
    scalp, target = np.array([0.0, 5.0, 5.0]), np.array([13.5, 5.0, 5.0])
    assert scalp_to_cortex_mm(scalp, target, tissue) == pytest.approx(11.5, abs=0.01)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_oblique_line_crosses_the_surface_where_geometry_says(sign):
    # Shifting the slab and reversing the direction of travel must not change the answer:
    # a sign error in the ray or the crossing shows here.
    tissue = grey_matter_slab(origin_ras_mm=(-20.0, -3.0, 4.0))
    surface_x = -20.0 + 11.5
    scalp = np.array([-20.0, 2.5, 6.0])
    target = np.array([-20.0 + 13.5, 2.5 + sign * 4.0, 6.0 + 3.0])
    fraction = (surface_x - scalp[0]) / (target[0] - scalp[0])
    expected = fraction * np.linalg.norm(target - scalp)
    assert scalp_to_cortex_mm(scalp, target, tissue) == pytest.approx(expected, abs=0.01)


def test_no_grey_matter_before_the_target_gives_the_target_distance():
    tissue = grey_matter_slab()
    scalp, target = np.array([0.0, 5.0, 5.0]), np.array([9.0, 5.0, 5.0])
    assert scalp_to_cortex_mm(scalp, target, tissue) == pytest.approx(9.0)


def test_grey_matter_half_a_millimetre_below_the_scalp_point_is_half_a_millimetre_deep():
    tissue = grey_matter_slab()
    assert scalp_to_cortex_mm([11.0, 5.0, 5.0], [13.5, 5.0, 5.0], tissue) == pytest.approx(0.5, abs=0.01)


def test_scalp_point_inside_grey_matter_gives_zero():
    tissue = grey_matter_slab()
    assert scalp_to_cortex_mm([13.0, 5.0, 5.0], [15.0, 5.0, 5.0], tissue) == 0.0
