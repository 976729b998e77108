"""The QC report's slice figure (navsvc.report.slices) on a synthetic head: each view shows
the head the way its labels say, the points where they lie, and a true 10 mm scale bar."""

from __future__ import annotations

import io

import matplotlib.image
import nibabel as nib
import numpy as np
import pytest

from navsvc.report import slices
from navsvc.report.document import ReportInputs
from navsvc.report.slices import render_target_slices
from report_head import HEAD_RADIUS_MM, TARGET_RAS_MM, grid_affine, synthetic_inputs, world_mm


@pytest.fixture(scope="module")
def inputs() -> ReportInputs:
    return synthetic_inputs()


def test_axial_slice_shows_patients_left_on_the_left(inputs):
    """Neurological display: the bright (patient's left, x < 0) half must be on the image's left."""
    png = render_target_slices(inputs.t1_img, inputs.dlpfc_mask, (-38.0, 0.0, 0.0), dpi=40)
    image = matplotlib.image.imread(io.BytesIO(png))[..., :3].mean(axis=-1)
    height, width = image.shape
    top_row = image[int(0.2 * height):int(0.5 * height)]
    axial = top_row[:, int(0.67 * width):]  # third column: the axial slice
    coronal = top_row[:, int(0.35 * width):int(0.65 * width)]
    for panel in (axial, coronal):
        columns = panel.shape[1]
        left = panel[:, int(0.2 * columns):int(0.45 * columns)].mean()
        right = panel[:, int(0.55 * columns):int(0.8 * columns)].mean()
        assert left > right + 0.1, (left, right)


def _panels(image: np.ndarray, rows: tuple[float, float]) -> dict[str, np.ndarray]:
    """One row of the slice figure's panels, by view name; ``rows`` in fractions of its height."""
    height, width = image.shape[:2]
    row = image[int(rows[0] * height):int(rows[1] * height)]
    return {"sagittal": row[:, int(0.02 * width):int(0.33 * width)],
            "coronal": row[:, int(0.35 * width):int(0.65 * width)],
            "axial": row[:, int(0.67 * width):int(0.98 * width)]}


def _brighter_side(panel: np.ndarray) -> set[str]:
    rows, columns = panel.shape
    middle_rows, middle_columns = slice(int(0.3 * rows), int(0.7 * rows)), slice(int(0.3 * columns), int(0.7 * columns))
    means = {"left": panel[middle_rows, int(0.2 * columns):int(0.45 * columns)].mean(),
             "right": panel[middle_rows, int(0.55 * columns):int(0.8 * columns)].mean(),
             "top": panel[int(0.2 * rows):int(0.45 * rows), middle_columns].mean(),
             "bottom": panel[int(0.55 * rows):int(0.8 * rows), middle_columns].mean()}
    return {side for side, opposite in (("left", "right"), ("right", "left"), ("top", "bottom"), ("bottom", "top"))
            if means[side] > means[opposite] + 0.1}


@pytest.mark.parametrize("bright_half, shown", [
    # the labels: sagittal seen from the patient's left (nose to the left), coronal seen from
    # behind, axial seen from above with the nose up; left and right as in the axial test
    ((0, -1), {"coronal": {"left"}, "axial": {"left"}}),
    ((1, 1), {"sagittal": {"left"}, "axial": {"top"}}),
    ((2, 1), {"sagittal": {"top"}, "coronal": {"top"}}),
])
def test_each_slice_shows_each_half_of_the_head_where_its_labels_say(inputs, bright_half, shown):
    axis, sign = bright_half
    world = world_mm()
    radius = np.linalg.norm(world, axis=-1)
    t1 = np.where(radius < HEAD_RADIUS_MM - 15, np.where(sign * world[..., axis] > 0, 200.0, 60.0), 0.0)
    png = render_target_slices(nib.Nifti1Image(t1.astype(np.float32), grid_affine()), inputs.dlpfc_mask,
                               (-38.0, 0.0, 0.0) if axis == 0 else (-38.0, -10.0, -10.0), dpi=40)
    panels = _panels(matplotlib.image.imread(io.BytesIO(png))[..., :3].mean(axis=-1), (0.12, 0.5))
    for view in ("sagittal", "coronal", "axial"):
        assert _brighter_side(panels[view]) == shown.get(view, set()), view


def _centre_of_colour(panel_rgb: np.ndarray, hex_colour: str) -> np.ndarray:
    """(column, row) of the panel's pixels of one colour, relative to the panel's centre, in
    fractions of its width and height (right and up positive)."""
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    hits = np.argwhere(np.all(np.abs(panel_rgb - rgb) < 0.12, axis=-1))
    assert len(hits) > 3, hex_colour
    rows, columns = panel_rgb.shape[:2]
    row, column = hits.mean(axis=0)
    return np.array([column / columns - 0.5, 0.5 - row / rows])


def test_the_target_entry_mapped_point_and_region_are_drawn_where_they_lie_in_each_slice(inputs):
    target = np.array(TARGET_RAS_MM)
    entry = target / np.linalg.norm(target) * HEAD_RADIUS_MM
    png = render_target_slices(inputs.t1_img, inputs.dlpfc_mask, target, entry_ras_mm=entry,
                               mapped_target_ras_mm=target + [2.0, -3.0, 3.0], dpi=60)
    image = matplotlib.image.imread(io.BytesIO(png))[..., :3]
    # (right, up) on the screen in RAS mm: sagittal seen from the left (anterior to the left),
    # coronal from behind, axial from above (anterior up)
    x, y, z = target
    on_screen_mm = {"sagittal": (-y, z), "coronal": (x, z), "axial": (x, y)}
    for view, panel in _panels(image, (0.12, 0.5)).items():
        drawn = _centre_of_colour(panel, slices.TARGET_COLOUR)
        expected = np.array(on_screen_mm[view])
        assert np.all(np.sign(drawn) == np.sign(expected)), (view, drawn, expected)
        # the two offsets in the proportion of the coordinates (the panels show the head at one scale)
        assert abs(np.arctan2(*drawn[::-1]) - np.arctan2(*expected[::-1])) < np.radians(12), (view, drawn, expected)
        entry_drawn = _centre_of_colour(panel, slices.ENTRY_COLOUR)
        assert np.linalg.norm(entry_drawn) > np.linalg.norm(drawn), view  # the scalp lies outside the cortex
        # the mapped point lies 5 mm from the target, the region is a ball round it: both drawn next to it
        for near in (slices.MAPPED_COLOUR, slices.DLPFC_COLOUR):
            assert np.linalg.norm(_centre_of_colour(panel, near) - drawn) < 0.05, (view, near)
    for view, panel in _panels(image, (0.58, 0.9)).items():  # the zoomed slices, centred on the target
        assert np.linalg.norm(_centre_of_colour(panel, slices.TARGET_COLOUR)) < 0.05, view


def _runs_of_true(values: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(start, run) of each run of True in a 1-D boolean array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], values.astype(int), [0]])))
    return [(int(start), values[start:stop]) for start, stop in zip(edges[::2], edges[1::2])]


def test_the_zoomed_slices_scale_bar_is_ten_millimetres_long(inputs):
    png = render_target_slices(inputs.t1_img, inputs.dlpfc_mask, np.array(TARGET_RAS_MM), dpi=60)
    image = matplotlib.image.imread(io.BytesIO(png))[..., :3].mean(axis=-1)
    for view, panel in _panels(image, (0.55, 0.95)).items():
        dark = np.argwhere(panel < 0.5)  # the slice's black air and its frame (the page is white)
        (top, left), (bottom, right) = dark.min(axis=0), dark.max(axis=0)
        axes = panel[top:bottom + 1, left:right + 1]
        rows, columns = axes.shape
        corner = axes[int(0.8 * rows):, :int(0.4 * columns)]  # the white bar lies bottom left, over air here
        runs = [(len(run), row, start) for row, values in enumerate(corner > 0.97)
                for start, run in _runs_of_true(values)]
        length, row, start = max(runs)
        # its length in pixels, its anti-aliased ends (over black air) counted by their grey level
        bar_px = corner[row, max(start - 2, 0):start + length + 2].sum()
        # the zoomed view spans 2 x slices.ZOOM_HALF_WIDTH_MM across its width
        assert abs(bar_px / columns - 10.0 / (2 * slices.ZOOM_HALF_WIDTH_MM)) < 0.006, (view, bar_px, columns)
