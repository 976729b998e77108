"""Bright markers at known world points of Colin27, and how to find them again.

Shared by the tests of ``navsvc.testing.heads``: a marker is a bright 3x3x3 cube put at a
known world point of the real Colin27 head; after a transformation its world centroid in
the new image (found in the difference between the transformed marked and unmarked heads)
must agree with the transformation's point map within ``MARKER_TOLERANCE_MM``.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
from scipy import ndimage

from navsvc.coords import voxel_to_world
from navsvc.testing import heads

#: marker positions in Colin27 world (RAS mm): left frontal, right parietal, near the vertex
MARKERS_RAS_MM = np.array([[-40.0, 30.0, 30.0], [50.0, -30.0, 10.0], [5.0, -60.0, 55.0]])
#: intensity above every Colin27 voxel (max 254) and below every marker voxel (>= 5 x 178 added)
MARKER_THRESHOLD = 400.0
#: agreement between a marker's centroid and the point map, mm
MARKER_TOLERANCE_MM = 0.5


def colin_in_memory() -> nib.Nifti1Image:
    """Colin27 with its data read into memory once."""
    img = heads.load_colin27()
    return nib.Nifti1Image(np.asarray(img.dataobj), img.affine)


def with_markers(colin: nib.Nifti1Image) -> tuple[nib.Nifti1Image, np.ndarray]:
    """Colin27 with the three markers (float32) and the markers' exact world centres."""
    img, centres = colin, []
    assert np.asarray(colin.dataobj).max() < MARKER_THRESHOLD < 5.0 * heads.robust_max(np.asarray(colin.dataobj))
    for point in MARKERS_RAS_MM:
        img, centre = heads.add_marker(img, point)
        centres.append(centre)
    return img, np.array(centres)


def marker_centroids_ras_mm(marked_img, plain_img, expected_ras_mm) -> np.ndarray:
    """World centroids of the markers in ``marked_img - plain_img`` (same grid), nearest-first.

    Each connected blob of the difference is a marker; the blob nearest each expected
    point is returned (N, 3).
    """
    assert marked_img.shape == plain_img.shape
    assert np.allclose(marked_img.affine, plain_img.affine)
    diff = np.asarray(marked_img.dataobj, np.float64) - np.asarray(plain_img.dataobj, np.float64)
    labels, n = ndimage.label(diff > 0.02 * diff.max())
    assert n >= len(expected_ras_mm), f"found {n} marker blobs"
    centroids = []
    for lab in range(1, n + 1):
        weights = np.where(labels == lab, diff, 0.0)
        centroids.append(heads.weighted_centroid_ras_mm(weights, marked_img.affine, min_fraction=0.0))
    centroids = np.array(centroids)
    nearest = [int(np.argmin(np.linalg.norm(centroids - p, axis=1))) for p in np.atleast_2d(expected_ras_mm)]
    return centroids[nearest]


def bright_blob_centroids_ras_mm(img, expected_ras_mm) -> np.ndarray:
    """World centroids of the voxels brighter than any head tissue (markers only), nearest each expected point."""
    data = np.asarray(img.dataobj)
    ijk = np.argwhere(data > MARKER_THRESHOLD)
    world = voxel_to_world(img.affine, ijk)
    found = []
    for point in np.atleast_2d(expected_ras_mm):
        blob = world[np.linalg.norm(world - point, axis=1) < 5.0]
        assert len(blob) == 27
        found.append(blob.mean(axis=0))
    return np.array(found)


def assert_maps_are_inverse(head: heads.TransformedHead, points_ras_mm, tol_mm=1e-6):
    there = head.original_to_new(points_ras_mm)
    back = head.new_to_original(there)
    assert np.max(np.linalg.norm(back - points_ras_mm, axis=1)) < tol_mm
