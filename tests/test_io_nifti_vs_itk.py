"""A NIfTI navsvc accepts is placed in the world where ITK places it.

navsvc reads NIfTI with nibabel; ITK-based tools (ANTs, and navigators and viewers built on
ITK) read the same file with nifti1_io. The two differ where a header is ambiguous (two
transforms that disagree, a qfac other than +-1, an sform not scaled as pixdim, a unit other
than mm), which navsvc refuses (``test_io_raw_header``, ``test_io_orientation_header``). Here every accepted kind of header,
as writers produce them, is read by both: the world position of voxel corners from
:func:`navsvc.io.load_t1` equals ITK's (LPS turned to RAS).
"""

from __future__ import annotations

import itertools

import nibabel as nib
import numpy as np
import pytest

from corpus.make_bad_images import colin27
from navsvc.antspy import ants
from navsvc.coords import lps_to_ras, rotation_deg_to_matrix, voxel_to_world
from navsvc.errors import InputError
from navsvc.io import load_t1

HEAD = colin27(2)
CORNERS_IJK = np.array(list(itertools.product(*[(0, n - 1) for n in HEAD.shape])), float)

AFFINES = {
    "RAS": HEAD.affine,
    "LPI (left-handed)": np.diag([-1.0, -1.0, -1.0, 1.0]) @ HEAD.affine,
    "oblique 1.4x1.6x1.8": np.vstack([rotation_deg_to_matrix(12.0, -20.0, 35.0) @ HEAD.affine[:3]
                                      @ np.diag([0.7, 0.8, 0.9, 1.0]), [0, 0, 0, 1]]),
}
FORMS = ("sform only", "qform only", "both", "sform only, code 4 (MNI)")
#: ITK (as ANTsPy builds it) reads no NIfTI-2: "Could not create ImageIO object"
FILES = ("nifti1", "nifti1 big-endian", "nifti1 .nii.gz")


def _write(path, affine, forms: str, file: str):
    img = nib.Nifti1Image(np.asanyarray(HEAD.dataobj).astype(np.int16), affine)  # pixdim from the affine
    sform_code = {"qform only": 0, "sform only, code 4 (MNI)": 4}.get(forms, 1)
    img.set_sform(affine if sform_code else None, code=sform_code)
    img.set_qform(affine if forms in ("qform only", "both") else None, code=1 if forms in ("qform only", "both") else 0)
    if file == "nifti1 big-endian":
        img = nib.Nifti1Image(img.dataobj, None, img.header.as_byteswapped(">"))
    nib.save(img, str(path))
    return path


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize("forms", FORMS)
@pytest.mark.parametrize("affine_name", AFFINES)
def test_accepted_headers_put_the_corners_where_itk_does(tmp_path, affine_name, forms, file):
    path = _write(tmp_path / ("t1.nii.gz" if file.endswith(".gz") else "t1.nii"), AFFINES[affine_name], forms, file)
    loaded = load_t1(path)
    itk = ants.image_read(str(path))
    itk_ras = lps_to_ras(np.array([ants.transform_index_to_physical_point(itk, tuple(int(v) for v in ijk))
                                   for ijk in CORNERS_IJK]))
    np.testing.assert_allclose(voxel_to_world(loaded.affine, CORNERS_IJK), itk_ras, atol=1e-3)
    # and the image itself is the same, voxel for voxel, up to loading's shift of the air to zero
    assert np.corrcoef(loaded.data.ravel(), itk.numpy().ravel())[0, 1] > 0.9999


def test_a_pixdim_the_sform_does_not_scale_by_is_refused_where_itk_reads_another_size(tmp_path):
    """ITK takes the voxel size from pixdim and the rotation from the sform; nibabel the sform
    whole. A header whose sform is set after its pixdim (a common way to edit one) is refused,
    and ITK does read it at another size."""
    img = nib.Nifti1Image(np.asanyarray(HEAD.dataobj).astype(np.int16), None)  # pixdim 1 mm
    img.set_sform(HEAD.affine, code=1)  # 2 mm voxels
    img.set_qform(None, code=0)
    path = tmp_path / "t1.nii"
    nib.save(img, str(path))
    with pytest.raises(InputError, match=r"gives voxel sizes \(pixdim\) of \[1.0, 1.0, 1.0\] mm and an sform with "
                                         r"voxels of \[2.0, 2.0, 2.0\] mm"):
        load_t1(path)
    itk = ants.image_read(str(path))
    assert itk.spacing == (1.0, 1.0, 1.0)
