"""NIfTI files written byte by byte for the bad-input corpus: headers that say what no
valid image would (absurd dimensions, no data behind them) and gzip streams that expand
far beyond their size."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np


def zero_gzip_members(n_bytes: int) -> bytes:
    """Gzip members that decompress to ``n_bytes`` zero bytes (built in O(compressed size)).

    A gzip file may hold several concatenated members and readers decompress them as
    one stream (RFC 1952 §2.2), so one compressed 16 MiB block is repeated.
    """
    block = 16 * 2**20
    member = gzip.compress(bytes(block), compresslevel=9, mtime=0)
    full, rest = divmod(n_bytes, block)
    tail = gzip.compress(bytes(rest), compresslevel=9, mtime=0) if rest else b""
    return member * full + tail


def nifti1_header(shape, dtype=np.uint8, zooms=(1.0, 1.0, 1.0), affine=None) -> nib.Nifti1Header:
    hdr = nib.Nifti1Header()
    hdr.set_data_dtype(dtype)
    hdr.set_data_shape(shape)
    hdr.set_zooms(tuple(zooms) + (1.0,) * (len(shape) - 3) if len(shape) >= 3 else zooms[: len(shape)])
    if affine is not None:
        hdr.set_sform(affine, code=1)
        hdr.set_qform(affine, code=1)
    return hdr


def raw_nifti2(path: Path, dims: tuple[int, ...], payload: bytes = b"", voxel_mm: float = 1.0) -> Path:
    """A single-file NIfTI-2 whose ``dim`` field says ``dims`` (no validity checks)."""
    hdr = nib.Nifti2Header()
    hdr.set_data_dtype(np.uint8)
    hdr["dim"][0] = len(dims)
    hdr["dim"][1 : len(dims) + 1] = dims
    hdr["pixdim"][1:4] = voxel_mm
    hdr["vox_offset"] = 544
    hdr.set_sform(np.diag([voxel_mm, voxel_mm, voxel_mm, 1.0]), code=1)
    path.write_bytes(hdr.binaryblock + b"\0" * 4 + payload)
    return path


def header_only_nifti1(path: Path, hdr: nib.Nifti1Header, payload: bytes) -> Path:
    hdr["vox_offset"] = 352
    raw = hdr.binaryblock + b"\0" * 4 + payload
    if path.name.endswith(".gz"):
        raw = gzip.compress(raw, compresslevel=1, mtime=0)
    path.write_bytes(raw)
    return path
