"""The images of the registration stages on its 2 mm grid: the patient's (block means of
the working grid) and the templates' (prepared once, then read from a cache keyed on what
makes them)."""

from __future__ import annotations

import os

import numpy as np

from navsvc import templates
from navsvc.antspy import ants
from navsvc.derived_cache import cache_folder, entry_key
from navsvc.grid import WorkingImage

#: working resolution of the registration, mm
REGISTRATION_SPACING_MM = 2.0
#: margin around the template brain of the brain stage's fixed image, 2 mm voxels (covers
#: the fixed mask, dilated by 2 voxels, with room to spare; not at the inferior face, where
#: the mask reaches the template's last slice, the brainstem)
FIXED_BRAIN_MARGIN_VOXELS = 4


def _downsample(image: ants.ANTsImage) -> ants.ANTsImage:
    # smooth before decimating so that 1 mm detail does not alias into the 2 mm grid
    smoothed = ants.smooth_image(image, sigma=0.5 * REGISTRATION_SPACING_MM, sigma_in_physical_coordinates=True)
    return ants.resample_image(smoothed, (REGISTRATION_SPACING_MM,) * 3, use_voxels=False, interp_type=0)


def normalise(image: ants.ANTsImage, mask: np.ndarray | None = None) -> ants.ANTsImage:
    """Intensities divided by their 99th percentile and clipped to 0…1.5.

    Parameters
    ----------
    image : ants.ANTsImage
        Image to scale.
    mask : numpy.ndarray of bool, optional
        Voxels whose 99th percentile sets the scale (the brain); without it, every voxel
        above zero.

    Returns
    -------
    ants.ANTsImage
        Float32 image on the same grid, so that the fixed and moving images of a stage
        meet on one intensity scale whatever the scanner's units.
    """
    values = image.numpy()
    ref = values[mask] if mask is not None else values[values > 0]
    scale = float(np.percentile(ref, 99.0)) or 1.0
    return image.new_image_like(np.clip(values / scale, 0, 1.5).astype(np.float32))


def index_box(mask: np.ndarray, margin_voxels: int, shape) -> tuple[list[int], list[int]]:
    """Index bounds (lo, hi) of the bounding box of ``mask`` plus a margin, within ``shape``.

    Parameters
    ----------
    mask : numpy.ndarray of bool
        The voxels to enclose; at least one must be set.
    margin_voxels : int
        Voxels added on every side of the box, before clipping to ``shape``.
    shape : sequence of int
        The shape of the array the box indexes.

    Returns
    -------
    tuple of (list of int, list of int)
        ``lo`` (first index, inclusive) and ``hi`` (last index + 1, exclusive) per axis, as
        slice bounds and as :func:`ants.crop_indices` takes them.
    """
    inside = np.argwhere(mask)
    lo = np.maximum(inside.min(axis=0) - margin_voxels, 0)
    hi = np.minimum(inside.max(axis=0) + margin_voxels + 1, np.array(shape))
    return lo.tolist(), hi.tolist()


def _brain_box(image: ants.ANTsImage, mask: ants.ANTsImage, margin_voxels: int) -> ants.ANTsImage:
    """``image`` cropped to the bounding box of ``mask`` plus a margin (same physical space)."""
    return ants.crop_indices(image, *index_box(mask.numpy() > 0, margin_voxels, image.shape))


def _prepare_fixed() -> tuple[ants.ANTsImage, ants.ANTsImage, ants.ANTsImage]:
    colin = normalise(_downsample(ants.image_read(str(templates.require(templates.COLIN_HEAD)))))
    icbm = _downsample(ants.image_read(str(templates.require(templates.ICBM_T1))))
    icbm_mask = icbm.new_image_like((icbm.numpy() > 0.05 * icbm.max()).astype(np.float32))
    # The brain stage runs on the template's brain box: SyN's fields cover only that box
    # (0.6 instead of 1.1 million 2 mm voxels, SyN about 1.8x faster, mapped brain points
    # within 0.2 mm of the uncropped run).
    icbm, icbm_mask = (_brain_box(image, icbm_mask, FIXED_BRAIN_MARGIN_VOXELS) for image in (icbm, icbm_mask))
    return colin, normalise(icbm, icbm_mask.numpy() > 0), icbm_mask


def fixed_cache_key() -> str:
    """Name of the cache entry of the 2 mm fixed images (:func:`navsvc.derived_cache.entry_key`)."""
    return entry_key("fixed", (templates.COLIN_HEAD, templates.ICBM_T1),
                     (_prepare_fixed, _downsample, normalise, index_box, _brain_box),
                     f"{REGISTRATION_SPACING_MM} {FIXED_BRAIN_MARGIN_VOXELS} ants {ants.__version__}")


def load_fixed_images() -> tuple[ants.ANTsImage, ants.ANTsImage, ants.ANTsImage]:
    """The 2 mm fixed images, from the cache when it holds them for these exact sources."""
    folder = cache_folder(fixed_cache_key())
    names = ("colin27_head.nii.gz", "icbm_t1.nii.gz", "icbm_mask.nii.gz")
    if all((folder / n).exists() for n in names):
        return tuple(ants.image_read(str(folder / n)) for n in names)
    images = _prepare_fixed()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for image, name in zip(images, names):
            tmp = folder / f".{os.getpid()}-{name}"
            ants.image_write(image, str(tmp))
            os.replace(tmp, folder / name)  # atomic: concurrent workers never read half a file
    except OSError:
        pass  # a read-only cache only costs time
    return images


def registration_grid_image(native: WorkingImage) -> ants.ANTsImage:
    """The patient on the 2 mm registration grid: block means of the working grid (which
    anti-alias as well as smoothing then decimating, at a fraction of the cost), normalised.

    Parameters
    ----------
    native : WorkingImage
        The T1 on a working grid whose spacing divides 2 mm.

    Returns
    -------
    ants.ANTsImage
        The moving image of the registration stages.
    """
    factor = REGISTRATION_SPACING_MM / native.spacing_mm
    if factor < 1 or abs(factor - round(factor)) > 1e-6:
        raise ValueError(f"working grid of {native.spacing_mm} mm does not divide {REGISTRATION_SPACING_MM} mm")
    coarse = native if round(factor) == 1 else native.downsampled(int(round(factor)))
    return normalise(coarse.to_ants())
