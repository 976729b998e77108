"""The patient's own grey matter around a point: a prior-guided 3-class intensity model.

Template tissue maps (ICBM 2009a GM/WM, warped into the patient) give the spatial prior;
the patient's own intensities decide. Working on a local box keeps it fast and makes a
smooth bias field irrelevant (it is close to constant over a few centimetres).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage

from navsvc import templates
from navsvc.antspy import ants
from navsvc.grid import WorkingImage
from navsvc.registration_maps import Registration

#: half-width of the local box, mm
LOCAL_RADIUS_MM = 32.0
#: posterior probability above which a voxel counts as grey matter
GM_THRESHOLD = 0.5
#: EM iterations of the mixture model
EM_ITERATIONS = 15
#: nilearn's ICBM 2009a GM/WM maps are uint8: 255 is probability 1 (GM + WM <= 255 everywhere)
ICBM_TISSUE_FULL_SCALE = 255.0
#: prior probability every class keeps where the template has none (the patient may differ)
PRIOR_FLOOR = 0.05
#: grey and white matter are possible only within this distance of the warped template's
#: brain (template GM + WM above BRAIN_SUPPORT_MIN), mm: room for registration error and
#: a cortex the template's average puts slightly deeper
BRAIN_SUPPORT_MARGIN_MM = 4.0
BRAIN_SUPPORT_MIN = 0.01


@dataclass(frozen=True)
class LocalTissue:
    """Tissue posteriors on a box of the working grid."""

    grid: WorkingImage
    posterior: np.ndarray  # (3, nx, ny, nz): csf, gm, wm
    template_brain: np.ndarray  # (nx, ny, nz): the warped template's GM + WM probability
    #: (nx, ny, nz) bool: intensity likelier under the CSF class than under GM or WM, the
    #: template's prior left out (it says tissue where a lesion has replaced the tissue)
    fluid_intensity: np.ndarray

    @property
    def gm(self) -> WorkingImage:
        """Grey-matter posterior probability on the box."""
        return self.grid.with_data(self.posterior[1])

    def gm_probability(self, points_ras_mm) -> np.ndarray:
        """Grey-matter probability at RAS points (trilinear)."""
        return self.gm.sample(np.atleast_2d(points_ras_mm))

    def gm_points_ras_mm(self) -> np.ndarray:
        """World coordinates of the voxels classified grey matter."""
        return self.grid.world_ras_mm(np.argwhere(self.posterior[1] > GM_THRESHOLD))


def crop(image: WorkingImage, centre_ras_mm, radius_mm: float) -> WorkingImage:
    """The box of ``image`` within ``radius_mm`` of ``centre_ras_mm`` (clipped to the grid).

    Parameters
    ----------
    image : WorkingImage
        The image to crop.
    centre_ras_mm : array-like, shape (3,)
        Centre of the box, native RAS mm.
    radius_mm : float
        Half-width of the box along each axis, mm (widened outward to whole voxels).

    Returns
    -------
    WorkingImage
        The voxels of the box, on the same grid (its origin moved to the box's first voxel).
    """
    centre_ijk = (np.asarray(centre_ras_mm) - image.origin_ras_mm) / image.spacing_mm
    half = radius_mm / image.spacing_mm
    lo = np.clip(np.floor(centre_ijk - half).astype(int), 0, np.array(image.data.shape) - 1)
    hi = np.clip(np.ceil(centre_ijk + half).astype(int) + 1, 1, np.array(image.data.shape))
    box = image.box(lo, hi)
    return box.with_data(np.ascontiguousarray(box.data))


@lru_cache(maxsize=1)
def _template_tissue() -> tuple[ants.ANTsImage, ants.ANTsImage]:
    """ICBM 2009a GM and WM probability maps (0-1), read once per process."""
    maps = tuple(ants.image_read(str(templates.require(path)), pixeltype="float")
                 for path in (templates.ICBM_GM, templates.ICBM_WM))
    for image in maps:
        # in ANTs' own buffer: dividing the image object copies 8.7 million voxels twice (0.13 s)
        image.view()[...] /= np.float32(ICBM_TISSUE_FULL_SCALE)
    return maps


def _warped_template_tissue(box: WorkingImage, registration: Registration) -> tuple[np.ndarray, np.ndarray]:
    """The template's GM and WM probabilities carried onto ``box``."""
    gm, wm = (np.clip(registration.mni_image_to_native(image, box), 0, 1) for image in _template_tissue())
    return gm, wm


def _priors(box: WorkingImage, gm: np.ndarray, wm: np.ndarray) -> np.ndarray:
    # outside the brain the template is empty: call it CSF/other with a floor for every class
    csf = np.clip(1.0 - gm - wm, 0, 1)
    prior = np.stack([csf, gm, wm]) + PRIOR_FLOOR
    # ... but only near the template's brain: skin and muscle have grey matter's T1
    # intensity, and with the floor alone scalp tissue 1 mm under the skin passed for
    # cortex (Colin27, fitzgerald2009: scalp-to-cortex 1.2 mm, dose offset -49 %MSO)
    margin = max(1, int(round(BRAIN_SUPPORT_MARGIN_MM / box.spacing_mm)))
    outside = ~ndimage.binary_dilation(gm + wm > BRAIN_SUPPORT_MIN, iterations=margin)
    prior[1:, outside] = 0.0
    return prior / prior.sum(axis=0, keepdims=True)


def segment_locally(t1: WorkingImage, registration: Registration, centre_ras_mm,
                    radius_mm: float = LOCAL_RADIUS_MM) -> LocalTissue:
    """CSF / GM / WM posteriors in a box around ``centre_ras_mm``.

    A Gaussian mixture of the T1 intensities (CSF < GM < WM) whose voxel-wise mixing
    weights are the warped template tissue maps (the model of SPM's and ANTs Atropos'
    prior-based segmentation, solved by EM on the box).

    Parameters
    ----------
    t1 : WorkingImage
        The patient's T1 on the working grid (the pipeline passes its 1 mm grid).
    registration : Registration
        Carries the ICBM 2009a GM and WM maps from MNI space onto the box.
    centre_ras_mm : array-like, shape (3,)
        Centre of the box, native RAS mm.
    radius_mm : float
        Half-width of the box along each axis, mm (:func:`crop`).

    Returns
    -------
    LocalTissue
        The posteriors, the warped template's brain and where the intensity is fluid's,
        on the box.
    """
    box = crop(t1, centre_ras_mm, radius_mm)
    gm, wm = _warped_template_tissue(box, registration)
    prior = _priors(box, gm, wm)
    values = box.data.astype(np.float64)
    weights = prior.copy()
    for _ in range(EM_ITERATIONS):
        means, sds = _m_step(values, weights)
        likelihood = np.stack([_normal_pdf(values, m, s) for m, s in zip(means, sds)])
        joint = prior * likelihood
        weights = joint / np.maximum(joint.sum(axis=0, keepdims=True), 1e-300)
    return LocalTissue(grid=box, posterior=weights.astype(np.float32), template_brain=(gm + wm).astype(np.float32),
                       fluid_intensity=likelihood[0] > likelihood[1:].max(axis=0))


def _m_step(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    totals = weights.reshape(3, -1).sum(axis=1)
    means = (weights * values).reshape(3, -1).sum(axis=1) / totals
    # keep the T1 contrast order CSF < GM < WM: a label swap would move the target. Each
    # class's variance is taken about its own mean, whichever label that mean now carries.
    order = np.argsort(means)
    means, weights = means[order], weights[order]
    var = (weights * (values[None] - means[:, None, None, None]) ** 2).reshape(3, -1).sum(axis=1) / totals
    floor = 1e-3 * float(values.max() - values.min() or 1.0)
    return means, np.sqrt(np.maximum(var, floor**2))


def _normal_pdf(x: np.ndarray, mean: float, sd: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - mean) / sd) ** 2) / sd
