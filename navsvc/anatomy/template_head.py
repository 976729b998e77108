"""Colin27's head outline, as a signed distance map that other checks carry into the patient.

The registration's head affine (:meth:`navsvc.registration_maps.HeadAlignment.native_to_colin`)
places Colin27's head over the patient's. How far a patient point lies outside or inside
that head tells air that is surely air (the noise measurement) from scalp that lies deep
inside where a head should be (a removed face).
"""

from __future__ import annotations

from functools import lru_cache

import nibabel as nib
import numpy as np
import scipy
from scipy import ndimage

from navsvc import templates
from navsvc.derived_cache import cached_arrays, entry_key
from navsvc.sampling import MappedImage, same_points

#: Colin27's head: voxels above this fraction of its 99th percentile (its air is 0)
COLIN_HEAD_FRACTION = 0.1
#: spacing of the Colin27 grid the distances are computed on, voxels of the 1 mm template
COLIN_STRIDE = 2


def _computed_head_distance_map() -> dict[str, np.ndarray]:
    colin = nib.load(str(templates.require(templates.COLIN_HEAD)))
    coarse = colin.slicer[::COLIN_STRIDE, ::COLIN_STRIDE, ::COLIN_STRIDE]
    data = np.asanyarray(coarse.dataobj).astype(np.float32)
    head = data > COLIN_HEAD_FRACTION * np.percentile(data, 99)
    head = ndimage.binary_fill_holes(ndimage.binary_closing(head, iterations=2))
    spacing = np.sqrt((coarse.affine[:3, :3] ** 2).sum(axis=0))
    outside = ndimage.distance_transform_edt(~head, sampling=spacing)
    inside = ndimage.distance_transform_edt(head, sampling=spacing)
    return {"distance_mm": (outside - inside).astype(np.float32), "affine": np.asarray(coarse.affine, dtype=float)}


@lru_cache(maxsize=1)
def colin_head_distance_map() -> tuple[np.ndarray, np.ndarray]:
    """Colin27's signed head distance map (mm, positive outside) on its 2 mm grid, and that
    grid's affine; read from the engine cache, computed and stored there the first time."""
    # computed once per machine: 0.66 s a process (the hole filling and two distance
    # transforms), against a few milliseconds to read
    key = entry_key("colin27-head-distance", (templates.COLIN_HEAD,), (_computed_head_distance_map,),
                    f"{COLIN_HEAD_FRACTION} {COLIN_STRIDE} scipy {scipy.__version__} nibabel {nib.__version__}")
    arrays = cached_arrays(key, _computed_head_distance_map)
    return arrays["distance_mm"], arrays["affine"]


def colin_head_distance_mm(points_colin_mm) -> np.ndarray:
    """Distance from Colin27's head surface, mm: positive outside the head, negative inside.

    Parameters
    ----------
    points_colin_mm : array-like, shape (N, 3)
        Points in Colin27's space (RAS mm), e.g. patient points carried by the head affine.

    Returns
    -------
    numpy.ndarray, shape (N,)
        Nearest-voxel values of the map on Colin27's 2 mm grid; 0 outside its field of view
        (neither air nor head can be told there).
    """
    distance, affine = colin_head_distance_map()
    return MappedImage(distance, affine, same_points, order=0)(np.asarray(points_colin_mm, dtype=float))
