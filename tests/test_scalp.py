"""navsvc.anatomy.scalp on the real Colin27 head (2 mm working grid, as the pipeline uses)."""

from __future__ import annotations

import itertools

import nibabel as nib
import numpy as np
import pytest
import trimesh
from scipy import ndimage
from scipy.spatial import cKDTree
from skimage import filters

from navsvc import templates
from navsvc.anatomy import scalp as scalp_module
from navsvc.anatomy.scalp import head_mask, scale_free_otsu, scalp_surface
from navsvc.errors import InputError, PipelineError
from navsvc.grid import WorkingImage, resample_to_working_grid, resample_voxels_linear
from navsvc.io import load_t1
from navsvc.testing import heads

#: scalp points to probe, as directions from the head centre: vertex, front, back, left, right, F3-like
PROBE_DIRECTIONS = np.array([[0, 0, 1], [0, 1, 0.2], [0, -1, 0.2], [-1, 0, 0.3], [1, 0, 0.3], [-0.55, 0.67, 0.5]], float)


@pytest.fixture(scope="module")
def colin_fine():
    return resample_to_working_grid(load_t1(templates.COLIN_HEAD))


@pytest.fixture(scope="module")
def colin_grid(colin_fine):
    return colin_fine.downsampled(2)


@pytest.fixture(scope="module")
def scalp(colin_grid):
    return scalp_surface(colin_grid)


@pytest.fixture(scope="module")
def mirrored():
    """Colin27 mirrored left-right about x = 0 (its midsagittal plane), and its scalp."""
    img = heads.mirror_left_right(heads.load_colin27(), 0.0).image
    fine = resample_to_working_grid(heads.as_loaded_t1(img))
    return fine, scalp_surface(fine.downsampled(2))


def scalp_points(scalp) -> np.ndarray:
    """Scalp points in the PROBE_DIRECTIONS from the head centre (ray casts)."""
    centre = scalp.centre_ras_mm
    dirs = PROBE_DIRECTIONS / np.linalg.norm(PROBE_DIRECTIONS, axis=1, keepdims=True)
    far = centre + 200.0 * dirs
    return np.array([scalp.nearest_point(p) for p in far])


def test_scalp_mesh_is_a_closed_outward_oriented_head(scalp):
    mesh = scalp.mesh
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert mesh.volume > 0  # normals point outwards
    assert 2.5e6 < mesh.volume < 7.0e6  # an adult head, mm^3
    extent = mesh.bounds[1] - mesh.bounds[0]
    assert np.all(extent > 140.0) and np.all(extent < 260.0)
    assert mesh.contains([scalp.centre_ras_mm])[0]


def test_head_mask_is_one_filled_piece(colin_grid, scalp):
    mask = scalp.head_mask
    assert mask.shape == colin_grid.data.shape
    _, n = ndimage.label(mask)
    assert n == 1
    assert np.array_equal(ndimage.binary_fill_holes(mask), mask)
    assert np.array_equal(head_mask(colin_grid), mask)  # deterministic


def test_nearest_point_lies_on_the_surface_and_is_nearest(scalp):
    mesh = scalp.mesh
    rng = np.random.default_rng(0)
    centre = scalp.centre_ras_mm
    dirs = rng.normal(size=(15, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    points = np.vstack([centre + 150.0 * dirs, centre + 40.0 * dirs])  # outside and inside the head
    on = np.array([scalp.nearest_point(p) for p in points])
    _, gap_to_surface, _ = trimesh.proximity.closest_point(mesh, on)
    assert np.max(gap_to_surface) < 1e-6
    gaps = np.linalg.norm(points - on, axis=1)
    nearest_vertex = cKDTree(mesh.vertices).query(points)[0]
    assert np.all(gaps <= nearest_vertex + 1e-9)  # no vertex is nearer
    assert np.all(gaps >= nearest_vertex - 2.5)  # and it is on a triangle next to the nearest vertex
    assert np.allclose(scalp.nearest_point(on[0]), on[0])


def test_nearest_point_equals_trimesh_exhaustive_search(scalp):
    """The local triangle search gives trimesh's closest point (its R-tree search over all
    triangles), for points far outside, near and deep inside the head."""
    rng = np.random.default_rng(3)
    dirs = rng.normal(size=(60, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    radii = rng.uniform(5.0, 160.0, size=(60, 1))
    points = scalp.centre_ras_mm + radii * dirs
    expected, _, _ = trimesh.proximity.closest_point(scalp.mesh, points)
    got = np.array([scalp.nearest_point(p) for p in points])
    assert np.abs(np.linalg.norm(got - points, axis=1) - np.linalg.norm(expected - points, axis=1)).max() < 1e-9
    assert np.abs(got - expected).max() < 1e-6


def test_entry_moves_with_the_target_and_no_more(scalp):
    """Over the DLPFC and motor cortex (F3-like, left, vertex probes), the scalp point
    nearest a 15 mm deep target is well conditioned: a 1 mm shift of the target moves it
    about 1 mm (a sphere of radius R over a target at depth d gives R / (R - d); measured
    medians 1.0-1.4 mm), and the triangulated 2 mm-grid skin never makes it jump by more
    than 3 mm (measured up to 2.4 mm over F3). On the forehead midline, where the brow
    makes the scalp concave, it moves up to 5 mm: no rTMS target lies under it."""
    rng = np.random.default_rng(7)
    probes = scalp_points(scalp)[[0, 3, 5]]  # vertex, left, F3-like
    for scalp_point in probes:
        target = scalp_point + 15.0 * scalp.inward_normal(scalp_point)
        entry = scalp.nearest_point(target)
        shifts = rng.normal(size=(100, 3))
        shifts /= np.linalg.norm(shifts, axis=1, keepdims=True)
        moved = np.array([np.linalg.norm(scalp.nearest_point(target + s) - entry) for s in shifts])
        assert np.median(moved) < 1.5 and moved.max() < 3.0, (np.median(moved), moved.max())


def test_inward_normal_points_into_the_head(scalp):
    mesh = scalp.mesh
    for point in scalp_points(scalp):
        normal = scalp.inward_normal(point)
        assert np.isclose(np.linalg.norm(normal), 1.0)
        inside, outside = mesh.contains([point + 5.0 * normal, point - 5.0 * normal])
        assert inside and not outside
        assert normal @ (scalp.centre_ras_mm - point) > 0
        # close to the local surface normal (the patch plane smooths bumps only)
        _, _, face = trimesh.proximity.closest_point(mesh, [point])
        assert normal @ -mesh.face_normals[face[0]] > 0.8


def test_inward_normal_far_from_any_scalp_is_a_pipeline_error(scalp):
    with pytest.raises(PipelineError, match="too little scalp"):
        scalp.inward_normal(scalp.centre_ras_mm)  # the head's centre: no scalp within the coil's radius


def test_scalp_is_left_right_roughly_symmetric_about_the_midline(scalp):
    # Colin27 is MNI-aligned: left and right temples lie at about equal |x|
    left, right = scalp_points(scalp)[3], scalp_points(scalp)[4]
    assert left[0] < -60.0 and right[0] > 60.0
    assert abs(left[0] + right[0]) < 8.0


def test_scalp_of_a_mirrored_grid_is_exactly_the_mirror_image(colin_grid, scalp):
    """scalp_surface has no hidden left-right asymmetry: on the mirrored 2 mm grid the
    mask is the mirrored mask and the mesh the mirrored mesh."""
    end_x = colin_grid.origin_ras_mm[0] + colin_grid.spacing_mm * (colin_grid.data.shape[0] - 1)
    origin = colin_grid.origin_ras_mm.copy()
    origin[0] = -end_x
    flipped = WorkingImage(np.ascontiguousarray(colin_grid.data[::-1]), origin, colin_grid.spacing_mm)
    scalp_m = scalp_surface(flipped)
    assert np.array_equal(scalp_m.head_mask, scalp.head_mask[::-1])
    mirror = np.array([-1.0, 1.0, 1.0])
    _, distances, _ = trimesh.proximity.closest_point(scalp.mesh, scalp_m.mesh.vertices[::5] * mirror)
    # marching cubes splits ambiguous cells one way, so the mirrored triangulation (and
    # its smoothing) differs slightly: measured median 0.01 mm, 99th percentile 0.19 mm
    assert np.median(distances) < 0.03 and np.percentile(distances, 99) < 0.3 and np.max(distances) < 0.7
    assert np.isclose(scalp_m.mesh.volume, scalp.mesh.volume, rtol=1e-4)


def test_scalp_of_a_mirrored_head_is_the_mirror_image(colin_fine, scalp, mirrored):
    fine_m, scalp_m = mirrored
    # the 1 mm working grid of the mirrored head is the mirrored grid, voxel for voxel
    end = colin_fine.origin_ras_mm + colin_fine.spacing_mm * (np.asarray(colin_fine.data.shape) - 1)
    assert fine_m.data.shape == colin_fine.data.shape
    assert np.isclose(fine_m.origin_ras_mm[0], -end[0])
    assert np.allclose(fine_m.origin_ras_mm[1:], colin_fine.origin_ras_mm[1:])
    assert np.allclose(fine_m.data, colin_fine.data[::-1], atol=1e-3)
    # (its 2 mm copy may be offset by 1 mm: block averaging drops an odd last slice)
    # the scalp surfaces coincide after mirroring, to a fraction of the 2 mm voxel
    mirror = np.array([-1.0, 1.0, 1.0])
    _, distances, _ = trimesh.proximity.closest_point(scalp.mesh, scalp_m.mesh.vertices[::10] * mirror)
    # (the largest gaps, at ear and nose tips, come from the 1 mm lattice offset of the 2 mm grids)
    assert np.median(distances) < 0.2 and np.percentile(distances, 99) < 1.0 and np.max(distances) < 1.5
    assert np.isclose(scalp_m.mesh.volume, scalp.mesh.volume, rtol=0.01)
    # a left-hemisphere point on the original is a right-hemisphere point on the mirror
    left = scalp_points(scalp)[5]
    assert left[0] < 0
    mirrored_point = scalp_m.nearest_point(left * mirror)
    assert mirrored_point[0] > 0 and np.linalg.norm(mirrored_point - left * mirror) < 0.5
    assert scalp_m.inward_normal(mirrored_point) @ (scalp.inward_normal(left) * mirror) > np.cos(np.radians(3.0))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_median_vote_equals_the_median_filter(seed):
    from navsvc.anatomy.scalp import median3_above

    rng = np.random.default_rng(seed)
    data = ndimage.gaussian_filter(rng.normal(size=(41, 50, 37)), 1.0) + 0.3 * rng.normal(size=(41, 50, 37))
    expected = ndimage.median_filter(data, size=3) > 0.05
    assert 0.2 < expected.mean() < 0.8
    assert np.array_equal(median3_above(data, 0.05), expected)


@pytest.mark.parametrize("volume", ["blank", "one bright voxel"])
def test_an_image_with_no_head_is_refused_not_crashed(volume):
    # one voxel at 1e30 in Colin27 emptied the head mask and ended in marching cubes'
    # ValueError (exit 1); loading now clips such voxels, and this guard stays for the rest
    data = np.zeros((40, 40, 40), dtype=np.float32)
    if volume == "one bright voxel":
        data[20, 20, 20] = 1e30
    with pytest.raises(InputError, match="no head was found"):
        scalp_surface(WorkingImage(data, np.zeros(3), 2.0))


@pytest.mark.parametrize("exponent", [-100, -70, -20, 20, 42, 100])
def test_the_head_mask_does_not_depend_on_the_intensity_scale(colin_grid, exponent):
    """Colin27 scaled by 2**exponent (exact in float32) gets the same Otsu level and mask.

    skimage's Otsu squared count-weighted means in float32: Colin27 scaled by 2**42 or
    2**-70 got another threshold, and its plan an entry 1.6 mm away.
    """
    data = colin_grid.data.astype(np.float32)
    positive = data[data > 0]
    assert scale_free_otsu(positive) == filters.threshold_otsu(positive)  # unscaled: the same bit for bit
    scaled = np.ldexp(data, exponent).astype(np.float32)
    assert np.array_equal(np.ldexp(scaled, -exponent), data)  # the scaling lost nothing
    assert scale_free_otsu(scaled[scaled > 0]) == np.ldexp(scale_free_otsu(positive), exponent)
    assert np.array_equal(head_mask(colin_grid.with_data(scaled)), head_mask(colin_grid))


def _ellipsoid(grid: WorkingImage, radii_mm) -> np.ndarray:
    ijk = np.indices(grid.data.shape, dtype=np.float64)
    xyz = [grid.origin_ras_mm[a] + grid.spacing_mm * ijk[a] for a in range(3)]
    return sum((c / r) ** 2 for c, r in zip(xyz, radii_mm)) <= 1.0


def _detached_head(bridge: float, beside: bool = False) -> WorkingImage:
    """A synthetic head on a 2 mm grid: a brain (white matter 100, grey matter 60), a scalp
    shell (100) 14-20 mm outside it, open below, dark skull between, and a floor of intensity
    ``bridge`` (the skull base's muscle) joining the two from below. ``beside``: a bright 0.7 L box stands beside the head as well."""
    grid = WorkingImage(np.zeros((120, 130, 120), np.float32), np.array([-120.0, -130.0, -120.0]), 2.0)
    ijk = np.indices(grid.data.shape)
    z_mm = grid.origin_ras_mm[2] + 2.0 * ijk[2]
    shell = _ellipsoid(grid, (86, 101, 81)) & ~_ellipsoid(grid, (80, 95, 75)) & (z_mm > -40)
    data = np.where(_ellipsoid(grid, (62, 78, 58)), 60.0, 0.0)  # grey matter
    data[_ellipsoid(grid, (48, 64, 44)) | shell] = 100.0  # white matter, scalp fat
    floor = _ellipsoid(grid, (84, 99, 79)) & ~_ellipsoid(grid, (62, 78, 58)) & (z_mm > -44) & (z_mm < -36)
    data[floor & (data == 0)] = bridge
    if beside:
        data[108:118, 40:100, 40:60] = 100.0
    return grid.with_data(data.astype(np.float32))


def test_a_scalp_joined_to_the_brain_only_by_dim_tissue_is_joined(monkeypatch):
    # the floor (12) is dimmer than the head threshold (half Otsu: 30) and its half (15):
    # the threshold is halved twice, and the mask is the whole head
    head = _detached_head(bridge=12.0)
    mask = head_mask(head)
    z_mm = head.origin_ras_mm[2] + head.spacing_mm * np.indices(mask.shape)[2]
    outer = _ellipsoid(head, (86, 101, 81)) & (z_mm > -44)  # the head above its floor
    assert np.count_nonzero(mask ^ outer) < 0.05 * np.count_nonzero(outer)
    assert mask[_ellipsoid(head, (84, 99, 79)) & (z_mm > -35)].mean() > 0.99  # the skull between is filled
    monkeypatch.setattr(scalp_module, "MAX_THRESHOLD_HALVINGS", 1)
    with pytest.raises(InputError, match="scalp in this image is apart from the brain"):
        head_mask(head)


def test_a_scalp_apart_from_the_brain_is_refused_not_put_on_the_brain():
    with pytest.raises(InputError, match="apart from the brain.*T1-weighted.*without fat suppression"):
        scalp_surface(_detached_head(bridge=2.0))


def test_an_object_beside_the_head_does_not_lower_the_head_threshold(monkeypatch):
    # a bottle beside a brain-only image does not enclose it: the mask is the brain alone,
    # and no halving took place (with none allowed, the same mask)
    brain_only = _detached_head(bridge=0.0)
    brain_only.data[~_ellipsoid(brain_only, (62, 78, 58))] = 0.0
    with_box = _detached_head(bridge=0.0, beside=True)
    with_box.data[~_ellipsoid(with_box, (62, 78, 58)) & (with_box.data > 0) & (np.indices(with_box.data.shape)[0] < 100)] = 0.0
    mask = head_mask(with_box)
    assert np.array_equal(mask, head_mask(brain_only))
    monkeypatch.setattr(scalp_module, "MAX_THRESHOLD_HALVINGS", 0)
    assert np.array_equal(head_mask(with_box), mask)


def test_colin27_with_dark_skin_and_muscle_gets_its_scalp_not_its_brain(colin_grid, monkeypatch):
    """Colin27's intensities raised to the power 2.5 (skin 0.37 -> 0.08 of the scalp fat):
    the brain and the scalp fat fall apart above the head threshold. The mask still holds the
    brain, and reaches the scalp fat above it."""
    dark_skin = colin_grid.with_data(heads.raise_to_power(colin_grid.to_nifti(), 2.5).image.get_fdata(dtype=np.float32))
    mask = head_mask(dark_skin)
    brain_nii = nib.load(str(templates.COLIN_BRAIN_MASK))
    brain = resample_voxels_linear(np.asanyarray(brain_nii.dataobj).astype(np.float32),
                                   np.linalg.inv(brain_nii.affine) @ colin_grid.affine, colin_grid.data.shape) > 0.5
    assert mask[brain].mean() > 0.99
    gap_mm = ndimage.distance_transform_edt(~brain, sampling=colin_grid.spacing_mm)
    above = np.argwhere(brain.any(axis=(0, 1)))[-1, 0]
    column = mask[:, :, above + 1:].any(axis=(0, 1))
    assert column.sum() * colin_grid.spacing_mm >= 8.0  # at least 8 mm of scalp above the brain's top
    assert gap_mm[mask].max() > 8.0
    monkeypatch.setattr(scalp_module, "MAX_THRESHOLD_HALVINGS", 0)
    with pytest.raises(InputError, match="apart from the brain"):
        head_mask(dark_skin)


def test_a_piece_encloses_the_brain_when_it_reaches_past_five_of_its_six_sides():
    """Every combination of the six sides of a cube (the brain) that a box reaches past: the
    scalp opens at the neck (or the field of view cuts it), so five sides enclose; four, as
    of an object beside the head or a band around it, do not."""
    inner = np.zeros((60, 60, 60), bool)
    inner[20:40, 20:40, 20:40] = True
    for past in itertools.product([False, True], repeat=6):
        lo = [19 if past[2 * axis] else 20 for axis in range(3)]  # past by one voxel
        hi = [41 if past[2 * axis + 1] else 40 for axis in range(3)]  # exclusive, as the cube's 40
        piece = np.zeros_like(inner)
        piece[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = True
        assert scalp_module._encloses(piece, inner) == (sum(past) >= 5), past


def _cage_around_a_cube(cage_voxels: int) -> np.ndarray:
    """A cube of 20^3 voxels (the largest piece) inside a wire cage, the twelve edges of a
    box around it, grown to exactly ``cage_voxels`` voxels by a fin on one edge."""
    above = np.zeros((60, 60, 60), bool)
    above[20:40, 20:40, 20:40] = True
    cage = np.zeros_like(above)
    for axis in range(3):
        first, second = (a for a in range(3) if a != axis)
        for at_first, at_second in itertools.product((5, 54), repeat=2):
            edge = [slice(None)] * 3
            edge[axis], edge[first], edge[second] = slice(5, 55), at_first, at_second
            cage[tuple(edge)] = True
    fin = np.zeros_like(cage)
    fin[5:55, 6:30, 5:7] = True  # under the cube, beside the x edge at y = z = 5
    fin &= ~cage
    extra = cage_voxels - int(cage.sum())
    assert 0 <= extra <= fin.sum()
    cage.flat[np.flatnonzero(fin)[:extra]] = True
    assert int(cage.sum()) == cage_voxels and ndimage.label(cage)[1] == 1
    return above | cage


@pytest.mark.parametrize("spacing_mm", [2.0, 2.5])
def test_only_a_piece_of_20_ml_or_more_counts_as_enclosing_the_brain(spacing_mm):
    """A thin cage around the head (a coil's frame, say) is not a scalp: a piece enclosing
    the brain counts from 20 mL (2500 voxels of 2 mm, 1280 of 2.5 mm), not one voxel less."""
    limit_voxels = int(round(scalp_module.ENCLOSING_PIECE_MIN_ML * 1000.0 / spacing_mm**3))
    assert limit_voxels == {2.0: 2500, 2.5: 1280}[spacing_mm]
    assert scalp_module._largest_piece(_cage_around_a_cube(limit_voxels), spacing_mm)[1]
    assert not scalp_module._largest_piece(_cage_around_a_cube(limit_voxels - 1), spacing_mm)[1]


@pytest.mark.parametrize("spacing_mm", [1.0, 2.0])
def test_the_head_mask_closes_gaps_narrower_than_its_4_mm_ball_on_any_grid(spacing_mm):
    """A ball head with a vertical groove cut into its side: a 4 mm groove is closed over,
    a 12 mm one stays open, on 1 mm and 2 mm grids alike (the ball's radius is in mm)."""
    n = int(round(160 / spacing_mm))
    origin = np.full(3, -80.0)
    x, y, z = (origin[a] + spacing_mm * ijk for a, ijk in enumerate(np.indices((n, n, n))))
    ball = x**2 + y**2 + z**2 <= 60.0**2
    deep_part = (x > 45.0) & (x < 55.0) & (np.abs(z) < 20.0)
    for width_mm, closed in ((4.0, True), (12.0, False)):
        groove = (np.abs(y) <= width_mm / 2) & (x > 45.0)
        mask = head_mask(WorkingImage(np.where(ball & ~groove, 100.0, 0.0).astype(np.float32), origin, spacing_mm))
        filled = mask[groove & deep_part].mean()
        assert filled > 0.85 if closed else filled < 0.25, (width_mm, filled)
