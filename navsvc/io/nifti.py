"""Read a NIfTI T1 safely: header first, then the data block it promises."""

from __future__ import annotations

import gzip
import logging
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from navsvc.errors import InputError, shown_text
from navsvc.io import limits
from navsvc.io.nifti_names import is_gzip_file
from navsvc.io.nifti_orientation import REEXPORT_ADVICE, check_orientation, check_spatial_units


# nibabel reports each header problem it finds or fixes on stderr, through a handler of its own
# (nibabel.imageglobals); the InputError raised here says what is wrong, once, in one line.
# The reports go to Python logging alone: a worker's log keeps them, a command line shows none.
for _handler in [h for h in nib.imageglobals.logger.handlers if type(h) is logging.StreamHandler]:
    nib.imageglobals.logger.removeHandler(_handler)
nib.imageglobals.logger.addHandler(logging.NullHandler())


def read_nifti_header(path: Path, name: str | None = None) -> nib.Nifti1Image:
    """Open ``path`` (header read, data not yet) and check what the header promises; the file
    stays open while the returned image lives (see :func:`read_nifti_data`).

    Parameters
    ----------
    path : Path
        A ``.nii`` or ``.nii.gz`` file, named for how its bytes are stored (nibabel
        decompresses a ``.gz`` name only: see
        :func:`navsvc.io.nifti_names.named_for_its_content`).
    name : str, optional
        The file name messages show (default: ``path``'s).

    Returns
    -------
    nibabel.Nifti1Image
        The lazily loaded image; its data has not been read.

    Raises
    ------
    InputError
        If the file is not a NIfTI image or its header describes something that
        cannot be a head T1 (dimensions, voxel size, field of view, memory).
    """
    name = path.name if name is None else name
    if path.stat().st_size == 0:
        raise InputError(f"{name} is empty (0 bytes): upload the T1 file again")
    check_raw_header(path, name)
    try:
        # the file stays open while the image lives: read_nifti_data reads it slab by slab,
        # each from where the last one ended (reopened, a .gz would decompress from the start)
        img = nib.load(str(path), keep_file_open=True)
    except (nib.filebasedimages.ImageFileError, nib.spatialimages.HeaderDataError,
            EOFError, OSError, zlib.error, ValueError) as exc:
        raise InputError(
            f"{name} is not a readable NIfTI image ({type(exc).__name__}: {shown_text(exc, 120)}): "
            "export the T1 as .nii/.nii.gz or upload the DICOM series as a .zip"
        ) from None
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise InputError(f"{name} is a {type(img).__name__}, not NIfTI: convert it to .nii.gz")
    check_header(img, name)
    return img


@dataclass(frozen=True)
class _Layout:
    """Where the fields checked before parsing sit in a NIfTI header (nifti1.h, nifti2.h)."""

    size: int  # sizeof_hdr, the first field
    magic_at: int
    magic: bytes  # single-file magic (a .hdr/.img pair has ni1 / ni2)
    dim_at: int
    dim_code: str
    pixdim_at: int
    pixdim_code: str
    vox_offset_at: int
    vox_offset_code: str
    qform_code_at: int
    qform_code_code: str


_LAYOUTS = (
    _Layout(348, 344, b"n+1\0", 40, "h", 76, "f", 108, "f", 252, "h"),
    _Layout(540, 4, b"n+2\0", 16, "q", 104, "d", 168, "q", 344, "i"),
)


def check_raw_header(path: Path, name: str | None = None) -> None:
    """Check the raw header bytes before nibabel parses the file (gzip-compressed or not,
    whatever its name says; ``name``: the file name messages show, default ``path``'s).

    nibabel is not given a file until these hold:

    * it is a single-file NIfTI-1 or NIfTI-2 (``.nii``/``.nii.gz``), either byte order;
    * ``vox_offset`` leaves at most :data:`limits.MAX_HEADER_EXTENSION_BYTES` for header
      extensions. nibabel reads every extension into memory while opening the file,
      before any of our checks, so a few kB of ``.nii.gz`` could otherwise make it
      allocate gigabytes; and a huge ``vox_offset`` makes the data reader decompress
      everything up to it;
    * the spatial ``pixdim`` are positive and finite. nibabel silently replaces
      negative ones by their absolute value and zeros by 1 on load; a negative
      ``pixdim`` is the old Analyze left/right-flip convention, so refuse rather than
      guess which side is left;
    * a qform in use (``qform_code`` not 0) has a ``qfac`` (``pixdim[0]``) that every
      reader takes the same way. nifti1_io, and so ITK and the tools built on it, take
      any negative value as -1 (nifti1.h: "qfac = (pixdim[0] < 0) ? -1 : 1"); nibabel
      resets any value but +-1 to +1 on load. A negative value other than -1 would
      mirror the slice axis between navsvc and a navigator.

    Parameters
    ----------
    path : Path
        The file to check, a gzip stream or plain bytes.
    name : str, optional
        The file name messages show (default: ``path``'s).

    Raises
    ------
    InputError
        If any of these fails; the message names the field.
    """
    name = path.name if name is None else name
    opener = gzip.open if is_gzip_file(path) else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read(544)
    except (EOFError, OSError, zlib.error):
        raw = b""
    for layout in _LAYOUTS:
        for order in "<>":
            if len(raw) < layout.size + 4 or struct.unpack_from(order + "i", raw)[0] != layout.size:
                continue
            if raw[layout.magic_at : layout.magic_at + 4] != layout.magic:
                continue
            _check_raw_fields(name, raw, layout, order)
            return
    raise InputError(
        f"{name} is not a readable NIfTI image (no single-file NIfTI-1/NIfTI-2 header): "
        "export the T1 as .nii/.nii.gz or upload the DICOM series as a .zip"
    )


def _check_raw_fields(name: str, raw: bytes, layout: _Layout, order: str) -> None:
    dim = struct.unpack_from(f"{order}8{layout.dim_code}", raw, layout.dim_at)
    pixdim = struct.unpack_from(f"{order}8{layout.pixdim_code}", raw, layout.pixdim_at)
    vox_offset = float(struct.unpack_from(order + layout.vox_offset_code, raw, layout.vox_offset_at)[0])
    if not math.isfinite(vox_offset) or vox_offset - (layout.size + 4) > limits.MAX_HEADER_EXTENSION_BYTES:
        raise InputError(
            f"{name} declares {vox_offset:,.0f} bytes of header and extensions before its image "
            f"data (limit {limits.MAX_HEADER_EXTENSION_BYTES + layout.size + 4:,}): the header is "
            "corrupt; export the T1 again as .nii/.nii.gz"
        )
    qform_code = struct.unpack_from(order + layout.qform_code_code, raw, layout.qform_code_at)[0]
    if qform_code != 0 and pixdim[0] < 0 and pixdim[0] != -1:
        raise InputError(
            f"{name} declares a qform with qfac (pixdim[0]) {pixdim[0]:g}, which programs read differently "
            f"(ITK-based ones as -1, nibabel as +1), so they would mirror its slices: {REEXPORT_ADVICE}"
        )
    spatial = [float(v) for v in pixdim[1 : 1 + min(3, max(0, int(dim[0])))]]
    if any(not math.isfinite(v) or v <= 0 for v in spatial):
        raise InputError(
            f"{name} declares voxel sizes (pixdim) {spatial}: each must be a positive number of "
            "mm; a negative one may hide a left/right flip. Export the T1 again as NIfTI"
        )


def check_header(img: nib.Nifti1Image, name: str) -> None:
    """Raise :class:`InputError` if the header cannot describe a single head T1 volume.

    Parameters
    ----------
    img : nibabel.Nifti1Image or nibabel.Nifti2Image
        The image, header loaded (its data are not read).
    name : str
        The file name, for the message.

    Raises
    ------
    InputError
        A dimension that is not positive, a 2-D image, more than one volume, more than
        :data:`limits.MAX_VOXELS` voxels, a non-scalar voxel type, a singular or non-finite
        affine, voxel sizes or a field of view (mm) outside the limits; and the refusals of
        :func:`~navsvc.io.nifti_orientation.check_spatial_units` and
        :func:`~navsvc.io.nifti_orientation.check_orientation`.
    """
    shape = tuple(int(n) for n in img.header.get_data_shape())
    if any(n <= 0 for n in shape):
        raise InputError(f"{name} declares dimensions {shape}: every dimension must be positive")
    if len(shape) < 3 or min(shape[:3]) == 1:
        raise InputError(f"{name} is a 2-D image {shape}: a 3-D T1 volume of the whole head is needed")
    # math.prod on Python ints: numpy's int64 product wraps (2**32 * 2**32 == 0)
    if len(shape) > 3 and math.prod(shape[3:]) > 1:
        raise InputError(
            f"{name} holds {math.prod(shape[3:]):,} volumes {shape}: upload a single 3-D T1 volume"
        )
    n_voxels = math.prod(shape[:3])
    if n_voxels > limits.MAX_VOXELS:
        raise InputError(
            f"{name} declares {shape[:3]} = {n_voxels:,} voxels, more than a head T1 needs "
            f"(limit {limits.MAX_VOXELS:,}): check the file or downsample it"
        )
    dtype = img.header.get_data_dtype()
    if dtype.kind not in "iuf" or dtype.fields is not None:
        raise InputError(f"{name} stores {dtype} voxels: a scalar (integer or float) T1 is needed")
    affine = img.affine
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-9:
        raise InputError(
            f"{name} has an invalid (singular or non-finite) voxel-to-world affine: its position "
            "in the scanner is unknown; export the T1 again from the scanner or PACS"
        )
    # to 0.001 mm: headers store float32, so a 3 mm voxel may read 3.0000001
    voxel_mm = np.round(np.sqrt((affine[:3, :3] ** 2).sum(axis=0)), 3)
    if np.any(voxel_mm < limits.MIN_VOXEL_MM) or np.any(voxel_mm > limits.MAX_VOXEL_MM):
        raise InputError(
            f"{name} has voxel sizes {np.round(voxel_mm, 3).tolist()} mm; accepted "
            f"{limits.MIN_VOXEL_MM}-{limits.MAX_VOXEL_MM} mm: use a structural T1 (about 1 mm)"
        )
    fov_mm = voxel_mm * np.asarray(shape[:3])
    if np.any(fov_mm < limits.MIN_FOV_MM) or np.any(fov_mm > limits.MAX_FOV_MM):
        raise InputError(
            f"{name} covers {np.round(fov_mm).tolist()} mm; every axis must hold a whole head "
            f"({limits.MIN_FOV_MM:.0f}-{limits.MAX_FOV_MM:.0f} mm): use a whole-head T1"
        )
    check_spatial_units(img, name)
    check_orientation(img, name)


def read_nifti_data(img: nib.Nifti1Image, name: str) -> np.ndarray:
    """Read the data block as a 3-D float32 array, refusing truncated or non-finite data.

    The block is read in slabs of :data:`limits.SLAB_VOXELS` voxels along the third axis,
    so a float64 volume at the voxel limit takes its 1 GiB as float32 and one slab, not
    the whole block twice over (4.3 GB before).

    Parameters
    ----------
    img : nibabel.Nifti1Image or nibabel.Nifti2Image
        The image :func:`read_nifti_header` returned (file still open), header checked: 3-D,
        or 4-D and more with a single volume.
    name : str
        The file name, for the message.

    Returns
    -------
    numpy.ndarray, shape (i, j, k), float32
        The voxel values with the header's scaling applied (Fortran order).

    Raises
    ------
    InputError
        The data block is truncated or corrupt, holds NaN or Inf voxels, or is constant.
    """
    shape = img.shape[:3]
    single_volume = (0,) * (len(img.shape) - 3)  # a 4-D image has one volume (header check)
    per_slab = max(1, limits.SLAB_VOXELS // (shape[0] * shape[1]))
    data = np.empty(shape, dtype=np.float32, order="F")
    bad = 0
    try:
        for k in range(0, shape[2], per_slab):
            slab = data[:, :, k:k + per_slab]
            slab[...] = img.dataobj[(slice(None), slice(None), slice(k, k + per_slab), *single_volume)]
            bad += slab.size - int(np.count_nonzero(np.isfinite(slab)))
    except (EOFError, OSError, zlib.error, gzip.BadGzipFile, ValueError) as exc:
        raise InputError(
            f"{name} is truncated or corrupt: its data block could not be read "
            f"({type(exc).__name__}); copy the file again from the scanner or PACS"
        ) from None
    if bad:
        raise InputError(f"{name} contains {bad:,} NaN/Inf voxels: re-export the T1 from the scanner")
    if float(data.max()) == float(data.min()):
        raise InputError(f"{name} is constant (every voxel = {float(data.min()):g}): it holds no image")
    return data


def check_gzip_stream(path: Path, img: nib.Nifti1Image, name: str | None = None) -> None:
    """Check that a ``.nii.gz`` gzip stream ends correctly (CRC, length, nothing but gzip after it).

    nibabel stops reading at the end of the data block, so a wrong CRC, a cut-off
    gzip trailer or bytes after the stream would go unnoticed until the whole file
    is copied. Reading is streamed; a stream that goes on more than
    :data:`limits.MAX_TRAILING_BYTES` past the data block the (already checked) header
    declares is refused there, so every accepted file had its CRC checked and no bomb
    appended to an image is ever inflated. Files that are not gzip streams are left alone.

    Parameters
    ----------
    path : Path
        The file ``img`` was loaded from.
    img : nibabel.Nifti1Image
        Its image, header checked by :func:`read_nifti_header`.
    name : str, optional
        The file name messages show (default: ``path``'s).

    Raises
    ------
    InputError
        If the gzip stream is damaged, truncated, or goes on too far past the data.
    """
    name = path.name if name is None else name
    if not is_gzip_file(path):
        return
    header = img.header
    # a single-file NIfTI's data start at vox_offset, never before the header's own end
    # (headers written by nibabel may say vox_offset 0 for "right after the header")
    data_start = max(int(header.get_data_offset()), int(header.single_vox_offset))
    data_end = data_start + data_block_bytes(header)
    limit = data_end + limits.MAX_TRAILING_BYTES
    read = 0
    try:
        with gzip.open(path, "rb") as handle:
            while read <= limit and (chunk := handle.read(1 << 20)):
                read += len(chunk)
    except (EOFError, OSError, zlib.error) as exc:
        raise damaged_gzip_error(name, exc) from None
    if read > limit:
        raise InputError(
            f"{name} goes on for more than {limits.MAX_TRAILING_BYTES // 2**20} MiB after its image "
            "data; no NIfTI writer puts anything there: export the T1 again"
        )


def data_block_bytes(header) -> int:
    """Length of the voxel data a NIfTI header declares, bytes."""
    return math.prod(int(n) for n in header.get_data_shape()) * header.get_data_dtype().itemsize


def damaged_gzip_error(name: str, exc: Exception) -> InputError:
    """The refusal of a ``.nii.gz`` whose gzip stream is damaged or cut off.

    Parameters
    ----------
    name : str
        File name shown to the user.
    exc : Exception
        What gzip or zlib raised (only its type is shown).

    Returns
    -------
    InputError
    """
    return InputError(
        f"{name} is damaged or truncated: the end of its gzip stream is missing or corrupt "
        f"({type(exc).__name__}); copy or export the file again from the scanner or PACS"
    )
