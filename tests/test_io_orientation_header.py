"""What a NIfTI header says about where the image lies (:mod:`navsvc.io.nifti_orientation`),
checked on in-memory headers: the sform and qform codes, how far apart the two transforms
put the field of view (at every corner, not only at the origin), whether one mirrors the
other, the spatial unit, and the world the header names."""

from __future__ import annotations

import itertools

import nibabel as nib
import numpy as np
import pytest

from navsvc.coords import rotation_deg_to_matrix, voxel_to_world
from navsvc.errors import InputError
from navsvc.io import limits
from navsvc.io.nifti_orientation import check_orientation, check_spatial_units, world_space

SHAPE = (160, 200, 180)
#: an axis-aligned 1 mm RAS affine: its qform quaternion is exact, so distances are too
AXIS_ALIGNED = np.array([[1.0, 0, 0, -80], [0, 1, 0, -100], [0, 0, 1, -90], [0, 0, 0, 1]])


class _HeaderOnly:
    """What the checks read of an image: its header and shape (no data)."""

    def __init__(self, header: nib.Nifti1Header):
        self.header = header
        self.shape = tuple(int(n) for n in header.get_data_shape())


def _image(sform, qform, sform_code: int = 1, qform_code: int = 1) -> _HeaderOnly:
    header = nib.Nifti1Header()
    header.set_data_shape(SHAPE)
    header.set_sform(sform, code=sform_code)
    header.set_qform(qform, code=qform_code)
    return _HeaderOnly(header)


def _turned_about_voxel_zero(affine: np.ndarray, degrees: float, axis: int) -> np.ndarray:
    """``affine`` turned about world axis ``axis`` (0, 1, 2: x, y, z) through the world point
    of voxel (0, 0, 0), which stays put."""
    turn = np.eye(4)
    turn[:3, :3] = rotation_deg_to_matrix(*[degrees if a == axis else 0.0 for a in range(3)])
    origin = affine[:3, 3]
    to_origin, back = np.eye(4), np.eye(4)
    to_origin[:3, 3], back[:3, 3] = -origin, origin
    return back @ turn @ to_origin @ affine


def _farthest_corner_mm(img) -> float:
    """The largest distance between where the stored sform and qform put a corner (by brute force)."""
    corners = np.array(list(itertools.product(*[(0, n - 1) for n in SHAPE])), float)
    return float(np.max(np.linalg.norm(voxel_to_world(img.header.get_sform(), corners)
                                       - voxel_to_world(img.header.get_qform(), corners), axis=1)))


@pytest.mark.parametrize("axis", [0, 1, 2], ids=["about x", "about y", "about z"])
@pytest.mark.parametrize("degrees, accepted", [(0.1, True), (0.2, False), (0.5, False)])
def test_forms_turned_apart_are_measured_at_the_farthest_corner(degrees, accepted, axis):
    """The two transforms agree at voxel 0 and part at the far corners (by 0.42-0.47, 0.84-0.93
    and 2.1-2.3 mm): the limit applies to the largest distance over all eight corners, which
    the message gives."""
    img = _image(AXIS_ALIGNED, _turned_about_voxel_zero(AXIS_ALIGNED, degrees, axis))
    apart_mm = _farthest_corner_mm(img)
    assert (apart_mm <= limits.MAX_SFORM_QFORM_DISAGREEMENT_MM) == accepted
    if accepted:
        check_orientation(img, "t1.nii.gz")
    else:
        with pytest.raises(InputError, match=rf"place the image up to {apart_mm:.1f} mm apart"):
            check_orientation(img, "t1.nii.gz")


@pytest.mark.parametrize("shift_mm, accepted", [(0.5, True), (0.52, False)])
def test_the_agreement_limit_is_inclusive(shift_mm, accepted):
    qform = AXIS_ALIGNED.copy()
    qform[1, 3] += shift_mm
    img = _image(AXIS_ALIGNED, qform)
    assert _farthest_corner_mm(img) == pytest.approx(shift_mm, abs=1e-4)  # float32 offsets
    if accepted:
        check_orientation(img, "t1.nii.gz")
    else:
        with pytest.raises(InputError, match="0.5 mm apart"):
            check_orientation(img, "t1.nii.gz")


def test_a_qform_that_mirrors_the_sform_is_refused_and_two_mirrored_forms_are_not():
    flip = np.diag([-1.0, 1.0, 1.0, 1.0])
    las = flip @ AXIS_ALIGNED  # x runs right to left: a left-handed voxel grid, as many scanners write
    with pytest.raises(InputError, match="mirror each other"):
        check_orientation(_image(AXIS_ALIGNED, las), "t1.nii.gz")
    with pytest.raises(InputError, match="mirror each other"):
        check_orientation(_image(las, AXIS_ALIGNED), "t1.nii.gz")
    check_orientation(_image(las, las), "t1.nii.gz")  # both left-handed: they agree


@pytest.mark.parametrize("sform_code, qform_code", [(1, 0), (0, 1), (2, 0), (0, 2)])
def test_a_form_whose_code_is_zero_is_ignored(sform_code, qform_code):
    """Only a form with a non-zero code is valid (nifti1.h): the other one's matrix, however far
    off or mirrored, is not compared."""
    mirrored_far = np.diag([-1.0, 1.0, 1.0, 1.0]) @ AXIS_ALIGNED
    mirrored_far[:3, 3] += 50.0
    check_orientation(_image(AXIS_ALIGNED if sform_code else mirrored_far,
                             AXIS_ALIGNED if qform_code else mirrored_far, sform_code, qform_code), "t1.nii.gz")


def test_no_form_at_all_is_refused():
    with pytest.raises(InputError, match=r"^t1\.nii\.gz has no orientation in its header"):
        check_orientation(_image(AXIS_ALIGNED, AXIS_ALIGNED, 0, 0), "t1.nii.gz")


@pytest.mark.parametrize("unit, refused", [("unknown", None), ("mm", None), ("meter", "metres"),
                                           ("micron", "micrometres")])
def test_only_millimetres_or_no_unit_are_accepted(unit, refused):
    img = _image(AXIS_ALIGNED, AXIS_ALIGNED)
    img.header.set_xyzt_units(xyz=unit, t="sec")
    if refused is None:
        check_spatial_units(img, "t1.nii.gz")
    else:
        with pytest.raises(InputError, match=rf"^t1\.nii\.gz's header measures space in {refused} \(xyzt_units\)"):
            check_spatial_units(img, "t1.nii.gz")


@pytest.mark.parametrize("sform_code, qform_code, world", [
    (3, 1, "talairach"),  # the sform's code names the world when set
    (0, 3, "talairach"),  # else the qform's
    (1, 4, "scanner"),
    (0, 0, "unknown"),
])
def test_the_world_is_named_by_the_form_in_use(sform_code, qform_code, world):
    assert world_space(_image(AXIS_ALIGNED, AXIS_ALIGNED, sform_code, qform_code)) == world


def test_a_code_outside_the_standard_is_an_unknown_world():
    img = _image(AXIS_ALIGNED, AXIS_ALIGNED)
    img.header["sform_code"] = 9
    assert world_space(img) == "unknown"


@pytest.mark.parametrize("pixdim_y_mm, accepted", [(1.0025, True), (1.003, False), (2.0, False), (0.5, False)])
def test_an_sform_must_scale_voxels_as_pixdim_says(pixdim_y_mm, accepted):
    """ITK takes the voxel size from pixdim (and the rotation from the sform): a pixdim 0.25 %
    off moves the far corner 0.50 mm (199 voxels along y), 0.3 % moves it 0.60 mm."""
    for qform_code in (0, 1):
        img = _image(AXIS_ALIGNED, AXIS_ALIGNED, qform_code=qform_code)
        img.header["pixdim"][2] = pixdim_y_mm
        if accepted:
            check_orientation(img, "t1.nii.gz")
            continue
        with pytest.raises(InputError, match=rf"gives voxel sizes \(pixdim\) of \[1.0, {pixdim_y_mm}, 1.0\] mm and an "
                                             rf"sform with voxels of \[1.0, 1.0, 1.0\] mm, .* up to "
                                             rf"{199 * abs(pixdim_y_mm - 1):.1f} mm apart"):
            check_orientation(img, "t1.nii.gz")


def test_a_qform_alone_is_scaled_by_pixdim_in_every_reader():
    img = _image(None, AXIS_ALIGNED, sform_code=0)
    img.header["pixdim"][1:4] = (1.2, 0.9, 2.0)
    check_orientation(img, "t1.nii.gz")
