"""The bundled example head: Colin27 as a scanner would store it (not in MNI already)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from navsvc import templates
from navsvc.coords import rotation_deg_to_matrix


def example_head_affine_change() -> np.ndarray:
    """World-space rigid motion applied to Colin27 for the example: 12° pitch, 5° roll, shifted."""
    motion = np.eye(4)
    motion[:3, :3] = rotation_deg_to_matrix(12.0, 5.0, -4.0)
    motion[:3, 3] = [3.0, -18.0, 25.0]
    return motion


def write_example_head(path: Path) -> Path:
    """Write Colin27 with its voxels reordered to LIA and its head tilted as in a scanner.

    The voxel data are only permuted and flipped (no interpolation); the affine carries
    the reordering and a rigid head motion, as a scanner's header would, in both the sform
    and the qform with code 1 (scanner anatomical), as DICOM converters write them.
    """
    src = nib.load(str(templates.require(templates.COLIN_HEAD)))
    target_ornt = nib.orientations.axcodes2ornt(("L", "I", "A"))
    transform = nib.orientations.ornt_transform(nib.orientations.io_orientation(src.affine), target_ornt)
    reoriented = src.as_reoriented(transform)
    affine = example_head_affine_change() @ reoriented.affine
    out = nib.Nifti1Image(np.asanyarray(reoriented.dataobj), affine)
    out.header.set_data_dtype(src.get_data_dtype())
    out.set_sform(affine, code=1)
    out.set_qform(affine, code=1)
    nib.save(out, str(path))
    return path
