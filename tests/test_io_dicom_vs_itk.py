"""DICOM geometry read by navsvc agrees with ITK's own reading of each file (GDCM).

navsvc converts a series with dicom2nifti and checks the slice order itself
(``navsvc.io.dicom_volumes``); the other tests compare the result with the image the
series was written from. Here the reference is independent of both: ITK reads single
files of the series (ImagePositionPatient, ImageOrientationPatient, PixelSpacing, in LPS),
and every pixel it reads must land on a voxel centre of navsvc's volume (RAS) that holds
the same image. Non-square pixels catch a row/column swap of PixelSpacing; oblique and
reversed stacks catch a slice axis taken the wrong way.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from corpus.dicom_series import reorient, write_dicom_series
from corpus.make_bad_images import colin27
from navsvc.antspy import ants
from navsvc.coords import lps_to_ras, rotation_deg_to_matrix
from navsvc.io import load_t1

#: every how many files of a series ITK reads (a series has 91-109)
FILE_STEP = 9


def _series_image(kind: str) -> nib.Nifti1Image:
    """Colin27 at 2 mm on the grid a series of ``kind`` is written from."""
    head = colin27(2)
    data = np.asanyarray(head.dataobj)
    if kind == "non-square pixels":  # 1.6 x 2.4 mm pixels, 2 mm slices: the head stretched, on purpose
        return nib.Nifti1Image(data, head.affine @ np.diag([0.8, 1.2, 1.0, 1.0]))
    if kind == "oblique":
        turn = rotation_deg_to_matrix(15.0, -10.0, 5.0)
        return nib.Nifti1Image(data, np.vstack([turn @ head.affine[:3], [0, 0, 0, 1]]))
    if kind == "reversed stack":
        return reorient(head, ("L", "P", "I"))
    return head


@pytest.mark.parametrize("kind, orientation", [
    ("axial", "axial"), ("coronal", "coronal"), ("sagittal", "sagittal"),
    ("non-square pixels", "axial"), ("non-square pixels", "sagittal"),
    ("oblique", None), ("reversed stack", None),
])
def test_each_file_is_where_itk_reads_it(tmp_path, kind, orientation):
    image = _series_image(kind)
    paths = write_dicom_series(image, tmp_path / "series", orientation=orientation)
    loaded = load_t1(tmp_path / "series")
    to_voxel = np.linalg.inv(loaded.affine)
    compared = 0
    for path in paths[::FILE_STEP]:
        itk = ants.image_read(str(path), dimension=3)
        pixels = itk.numpy()[:, :, 0]
        index = np.indices(pixels.shape).reshape(2, -1).T
        lps_mm = np.asarray(itk.origin) + (np.asarray(itk.spacing)[:2] * index) @ np.asarray(itk.direction)[:, :2].T
        voxel = nib.affines.apply_affine(to_voxel, lps_to_ras(lps_mm))
        nearest = np.rint(voxel)
        assert np.abs(voxel - nearest).max() < 1e-3, path.name  # on a voxel centre
        assert np.all((nearest >= 0) & (nearest < np.array(loaded.shape))), path.name
        ours = loaded.data[tuple(nearest.astype(int).T)]
        if pixels.std() > 0:  # loading moves the air to zero: the same image up to an offset
            assert np.corrcoef(ours, pixels.ravel())[0, 1] > 0.9999, path.name
            compared += 1
    assert compared >= len(paths[::FILE_STEP]) - 2
