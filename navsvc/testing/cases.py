"""The ground-truth cases of the accuracy benchmark and tests: transformed real heads."""

from __future__ import annotations

from collections.abc import Callable

import nibabel as nib
import numpy as np

from navsvc.testing import heads

Case = tuple[str, Callable[[nib.Nifti1Image], heads.TransformedHead]]


def random_rigid(rng: np.random.Generator):
    """A maker of a random rigid move: rotations and translations uniform in ±30° and ±30 mm."""
    return lambda im: heads.rigid(im, rng.uniform(-30, 30, 3), rng.uniform(-30, 30, 3))


def accuracy_cases(seed: int = 2012) -> list[Case]:
    """Twelve transformed copies of a head, each with its ground-truth point map.

    Random rigid moves (±30°, ±30 mm), oblique affines (±10 % scale and shear), smooth
    nonlinear warps (5 mm amplitude), anisotropic resampling (1.2×1.2×1.5 mm), Rician-like
    noise and a multiplicative bias field, alone and combined.
    """
    rng = np.random.default_rng(seed)
    return [
        ("rigid A", lambda im: random_rigid(rng)(im)),
        ("rigid B", lambda im: random_rigid(rng)(im)),
        ("rigid C, LIA voxel order", lambda im: heads.reorient(im, (0, 2, 1), (True, True, False)).then(random_rigid(rng))),
        ("oblique affine A", lambda im: heads.oblique_affine(im, rng)),
        ("oblique affine B", lambda im: heads.oblique_affine(im, rng)),
        ("nonlinear warp 5 mm A", lambda im: heads.smooth_warp(im, rng, amplitude_mm=5.0, wavelength_mm=80.0)),
        ("nonlinear warp 5 mm B + rigid", lambda im: heads.smooth_warp(im, rng, amplitude_mm=5.0, wavelength_mm=80.0).then(random_rigid(rng))),
        ("resampled 1.2x1.2x1.5 mm + rigid", lambda im: heads.resample(im, (1.2, 1.2, 1.5)).then(random_rigid(rng))),
        ("Rician noise 4 % + rigid", lambda im: heads.add_rician_noise(im, rng, 0.04).then(random_rigid(rng))),
        ("bias field 30 % + rigid", lambda im: heads.multiply_bias_field(im, rng, 0.3).then(random_rigid(rng))),
        ("all: warp + bias + noise + resample + oblique",
         lambda im: heads.smooth_warp(im, rng, amplitude_mm=4.0)
         .then(lambda x: heads.multiply_bias_field(x, rng, 0.3))
         .then(lambda x: heads.add_rician_noise(x, rng, 0.03))
         .then(lambda x: heads.resample(x, (1.2, 1.2, 1.5)))
         .then(lambda x: heads.oblique_affine(x, rng))),
        ("mirror-free flip of voxel order PSR + oblique",
         lambda im: heads.reorient(im, (1, 2, 0), (True, False, True)).then(lambda x: heads.oblique_affine(x, rng))),
    ]


def accuracy_case(name: str, img: nib.Nifti1Image, seed: int = 2012) -> heads.TransformedHead:
    """The accuracy case called ``name`` applied to ``img``, exactly as the benchmark draws it.

    The cases share one random generator, drawn in order: every case before ``name`` is
    made too (calling one maker alone would draw another transform).

    Parameters
    ----------
    name : str
        The case's name, as :func:`accuracy_cases` lists it (e.g. ``"oblique affine B"``).
    img : nibabel.Nifti1Image
        The head to transform.
    seed : int
        Seed of the shared random generator (the benchmark's 2012 by default).

    Returns
    -------
    heads.TransformedHead
        The transformed head with its ground-truth point maps.

    Raises
    ------
    LookupError
        If no case has that name.
    """
    for case_name, make in accuracy_cases(seed):
        case = make(img)
        if case_name == name:
            return case
    raise LookupError(f"no accuracy case is called {name!r}")
