"""Where a NIfTI header says the image lies: its spatial unit, its two voxel-to-world
transforms (sform and qform) and the world they name. A header that leaves left and
right, or the millimetre, open to interpretation is refused here."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from navsvc.coords import voxel_to_world
from navsvc.errors import InputError
from navsvc.io import limits

#: what every orientation refusal asks for: a converter that writes both transforms (dcm2niix does)
REEXPORT_ADVICE = "convert the T1 again from its DICOM series (e.g. with dcm2niix) or upload the DICOM series as a .zip"


def check_spatial_units(img: nib.Nifti1Image, name: str) -> None:
    """Raise :class:`InputError` if the header measures space in metres or micrometres.

    The NIfTI-1 ``xyzt_units`` field names the unit of the voxel sizes and the affine
    (``nifti1.h``: unknown, metre, mm or micron; unknown means mm by convention). nibabel
    ignores it, ITK (and so ANTs and the tools built on it) scales by it: a 1 mm voxel in
    a header that says "metre" is 1 mm here and 1000 mm there, so the navigator would
    show the plan's coordinates somewhere else entirely.

    Parameters
    ----------
    img : nibabel.Nifti1Image or nibabel.Nifti2Image
        The image, header loaded.
    name : str
        The file name, for the message.

    Raises
    ------
    InputError
        If the spatial unit is metre or micron.
    """
    unit = img.header.get_xyzt_units()[0]
    if unit in ("meter", "micron"):
        named = {"meter": "metres", "micron": "micrometres"}[unit]
        raise InputError(
            f"{name}'s header measures space in {named} (xyzt_units), not mm: programs disagree on "
            f"its size (some ignore the unit, ITK-based ones scale by it), so coordinates would "
            f"not mean the same point everywhere: {REEXPORT_ADVICE}"
        )


def check_orientation(img: nib.Nifti1Image, name: str) -> None:
    """Raise :class:`InputError` unless the header says, unambiguously, where left is.

    A NIfTI header holds two voxel-to-world transforms, the sform and the qform, each valid
    only when its code is non-zero (NIfTI-1 standard, ``nifti1.h``, "methods 2 and 3").
    With both codes 0 the file has no orientation: nibabel then assumes the Analyze
    convention (x flipped), other programs assume none, and left and right cannot be told
    apart, as no registration can tell a brain from its mirror image. With both set,
    nibabel (and so navsvc) uses the sform while other programs read the qform: they must
    agree, or the patient's "RAS" coordinates mean different points to navsvc and to the
    navigator. And ITK (so ANTs and the tools built on it) takes the voxel size from
    ``pixdim`` and only the rotation from the sform, where nibabel takes the sform whole:
    an sform in use must scale its voxels as ``pixdim`` says.

    Parameters
    ----------
    img : nibabel.Nifti1Image or nibabel.Nifti2Image
        The image, header loaded.
    name : str
        The file name, for the message.

    Raises
    ------
    InputError
        If neither transform is set; if both are and they mirror each other or place a
        corner of the field of view more than
        :data:`~navsvc.io.limits.MAX_SFORM_QFORM_DISAGREEMENT_MM` apart; or if the sform is
        set and, rescaled to the ``pixdim`` voxel sizes, moves a corner that far.
    """
    header = img.header
    sform_code, qform_code = int(header["sform_code"]), int(header["qform_code"])
    if sform_code == 0 and qform_code == 0:
        raise InputError(
            f"{name} has no orientation in its header (sform_code and qform_code are 0), so left and "
            f"right cannot be told apart: {REEXPORT_ADVICE}"
        )
    if sform_code != 0:
        _require_sform_scaled_as_pixdim(img, name)
    if sform_code == 0 or qform_code == 0:
        return
    sform, qform = header.get_sform(), header.get_qform()
    if np.sign(np.linalg.det(sform[:3, :3])) != np.sign(np.linalg.det(qform[:3, :3])):
        raise InputError(
            f"{name}'s header holds two orientations that mirror each other (the sform and the qform "
            f"swap left and right), so programs reading different ones put the target in different "
            f"hemispheres: {REEXPORT_ADVICE}"
        )
    apart_mm = _corners_apart_mm(sform, qform, img.shape)
    if apart_mm > limits.MAX_SFORM_QFORM_DISAGREEMENT_MM:
        raise InputError(
            f"{name}'s header holds two orientations (sform and qform) that place the image up to "
            f"{apart_mm:.1f} mm apart, so programs reading different ones would put the target in "
            f"different places: {REEXPORT_ADVICE}"
        )


def _require_sform_scaled_as_pixdim(img: nib.Nifti1Image, name: str) -> None:
    sform = img.header.get_sform()
    sform_voxel_mm = np.linalg.norm(sform[:3, :3], axis=0)
    pixdim_mm = np.asarray(img.header["pixdim"][1:4], float)
    as_itk_reads_it = sform.copy()
    as_itk_reads_it[:3, :3] = sform[:3, :3] / sform_voxel_mm * pixdim_mm
    apart_mm = _corners_apart_mm(sform, as_itk_reads_it, img.shape)
    if apart_mm > limits.MAX_SFORM_QFORM_DISAGREEMENT_MM:
        raise InputError(
            f"{name}'s header gives voxel sizes (pixdim) of {np.round(pixdim_mm, 3).tolist()} mm and an sform "
            f"with voxels of {np.round(sform_voxel_mm, 3).tolist()} mm, so programs taking the size from "
            f"one or the other (nibabel the sform, ITK-based ones pixdim) place the image up to "
            f"{apart_mm:.1f} mm apart: {REEXPORT_ADVICE}"
        )


def _corners_apart_mm(affine_a: np.ndarray, affine_b: np.ndarray, shape) -> float:
    """The largest distance between where two voxel-to-world affines put a corner voxel of ``shape``, mm."""
    last = np.asarray(shape[:3]) - 1
    corners_ijk = np.array([[i, j, k] for i in (0, last[0]) for j in (0, last[1]) for k in (0, last[2])], float)
    return float(np.max(np.linalg.norm(voxel_to_world(affine_a, corners_ijk) - voxel_to_world(affine_b, corners_ijk),
                                       axis=1)))


def world_space(img: nib.Nifti1Image) -> str:
    """The kind of world the image's affine maps to, as its header codes it (nibabel's label
    of the sform code when set, else of the qform code: ``scanner``, ``aligned``,
    ``talairach``, ``mni``, ``template``; NIfTI-1 ``nifti1.h``, NIFTI_XFORM_*)."""
    header = img.header
    label = str(header.get_value_label("sform_code" if int(header["sform_code"]) > 0 else "qform_code"))
    return label if label in WORLD_SPACES else "unknown"  # nibabel: '<unknown code 9>'


#: the worlds a NIfTI header can name (NIFTI_XFORM_* codes 1-5 of nifti1.h), as nibabel labels them
WORLD_SPACES = ("scanner", "aligned", "talairach", "mni", "template")
