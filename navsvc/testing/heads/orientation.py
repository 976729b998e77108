"""Voxel order only: the 48 axis permutations and flips, the head unmoved in world space."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import nibabel as nib
import numpy as np
from nibabel.orientations import apply_orientation, inv_ornt_aff

from navsvc.testing.heads.base import TransformedHead, _identity_map, _new_image, image_data


def all_orientations() -> Iterator[tuple[tuple[int, int, int], tuple[bool, bool, bool]]]:
    """The 48 voxel-axis permutations and flips, as ``(perm, flips)`` (identity first).

    See :func:`reorient` for their meaning.
    """
    for perm in itertools.permutations(range(3)):
        for flips in itertools.product((False, True), repeat=3):
            yield tuple(perm), tuple(flips)


def orientation_label(perm, flips) -> str:
    """Short id of an orientation, e.g. ``'p201-f010'`` (for test ids).

    Parameters
    ----------
    perm : sequence of 3 int
        Voxel-axis permutation, as :func:`reorient` takes it.
    flips : sequence of 3 bool
        Voxel-axis flips, as :func:`reorient` takes them.

    Returns
    -------
    str
        ``"p"``, the permutation's digits, ``"-f"``, one ``0``/``1`` per flip.
    """
    return "p" + "".join(str(int(p)) for p in perm) + "-f" + "".join(str(int(bool(f))) for f in flips)


def reorient(img: nib.Nifti1Image, perm, flips) -> TransformedHead:
    """Permute and flip the voxel array, updating the affine so the head stays put in world space.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    perm : sequence of 3 int
        New array axis ``k`` is old array axis ``perm[k]``.
    flips : sequence of 3 bool
        New array axis ``k`` is reversed if ``flips[k]``.

    Returns
    -------
    TransformedHead
        Same voxel values in another order (dtype kept); both point maps are the
        identity: every voxel keeps its world (RAS mm) position.
    """
    perm = tuple(int(p) for p in perm)
    flips = tuple(bool(f) for f in flips)
    if sorted(perm) != [0, 1, 2] or len(flips) != 3:
        raise ValueError(f"perm must be a permutation of (0, 1, 2) and flips 3 booleans, got {perm}, {flips}")
    data = image_data(img)
    # nibabel's orientation: row = input axis, [output axis, +1 keep / -1 reverse]
    ornt = np.zeros((3, 2))
    for new_axis, old_axis in enumerate(perm):
        ornt[old_axis] = [new_axis, -1.0 if flips[new_axis] else 1.0]
    new_data = np.ascontiguousarray(apply_orientation(data, ornt))
    # inv_ornt_aff maps the new array's indices to the old array's indices
    new_affine = np.asarray(img.affine) @ inv_ornt_aff(ornt, data.shape)
    new_img = _new_image(new_data, new_affine)
    axcodes = "".join(nib.aff2axcodes(new_affine))
    return TransformedHead(new_img, _identity_map, _identity_map,
                           f"reorient {orientation_label(perm, flips)} ({axcodes})", np.eye(4),
                           {"perm": perm, "flips": flips, "axcodes": axcodes})
