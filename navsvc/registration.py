"""Registration of the patient's head to MNI space with ANTs (affine, then SyN).

Two stages, both at 2 mm on the working grid:

1. head to head: the patient's whole head to the Colin27 head (rigid, then affine),
   which gives the 10-20 landmark frame; the rigid stage also runs from the best of
   297 starting orientations when that start lies far from its result or outscores it,
   so that a head at any orientation in its world, or cut by its field of view, is found
   (:mod:`navsvc.head_start_search`);
2. brain to brain: the patient's brain (Colin27 brain mask carried back, dilated, N4
   bias-corrected inside it) to the ICBM 2009a template (affine refinement, then SyN),
   which defines "MNI" here. Its SyN runs in a child process with 2 ITK threads, where
   it is repeatable bit for bit (:mod:`navsvc.syn_process`); the rest runs single-threaded.

Known limit (``benchmarks/warp_amplitude_sweep.py``): SyN against the ICBM average
recovers deformations across the cortical surface but hardly any slide along it, as does
full-resolution ``antsRegistrationSyNQuick``; the average has no sharp sulci to hold on to.
Neither B-spline SyN, other SyN levels, cross-correlation nor a 1 mm refinement around
the target recovered it (the sweep's docstring lists the figures). Warped and registered
back to itself, the template recovers most such slides once SyN iterates at 2 mm; Colin27
does not (``benchmarks/warp_template_self.py``): the limit is how an individual's sulci
match the average, not the registration's effort. Over the whole brain
(``benchmarks/warp_error_by_depth.py``, warp A) points over 20 mm deep follow the warp
to 1.7-2.8 mm at the median, the outer 10 mm (the cortex) to 3.5-4.1 mm, and a tenth
of the cortex not at all.

Both directions are kept, so every point exists in native and MNI space
(:mod:`navsvc.registration_maps`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from scipy import ndimage

from navsvc.ants_folder import ants_can_take
from navsvc.antspy import ants
from navsvc.errors import PipelineError
from navsvc.grid import WorkingImage
from navsvc.head_start_search import better_starts, mutual_information
from navsvc.patient_brain import patient_brain
from navsvc.registration_maps import HEAD_STARTS, HeadAlignment, Registration
from navsvc.registration_grid import (
    load_fixed_images, registration_grid_image,
)
from navsvc.syn_process import SynProcess

logger = logging.getLogger(__name__)

#: fixed seed: the same input always gives the same transforms
RANDOM_SEED = 20120601
#: SyN similarity metric and its parameter (Mattes histogram bins; CC radius 2 was 3x slower
#: and no closer to full-resolution SyN here)
SYN_METRIC, SYN_METRIC_PARAMETER = "mattes", 32
#: SyN iterations at shrink factors 4, 2, 1 of the 2 mm grid (8, 4, 2 mm). At 8 mm the
#: stage stops on its own after about 14. At 4 mm (0.17 s an iteration) the metric gains
#: 94 % of its 20-iteration rise by the 12th; the accuracy benchmark was unchanged within
#: its run-to-run spread with 8, 12, 15 or 20 (median 0.48-0.63 mm, worst case 7.1-7.35 mm).
SYN_ITERATIONS = (40, 12, 0)
#: ants.registration settings of the stages (shrink factors of the 2 mm grid; Mattes bins).
#: The head stages sample 10 % of the voxels (ANTs' default is 20 %): 2.6 instead of 4.3 s,
#: with the accuracy benchmark unchanged within its run-to-run spread (median 0.51 against
#: 0.61 mm, worst non-warp case 0.91 against 1.02 mm).
#: At 4 mm the head stages stop after 20 iterations: both plateau by then (the metric moves
#: in its 6th digit) but ANTs' convergence test (1e-6 over 10 iterations) runs them to about
#: 32. 3.0 instead of 3.6-4.1 s on the 256^3 head, its affine within 0.005 mm; accuracy
#: benchmark median 0.55, worst non-warp case 0.94 mm (15 iterations: warp B 3.9 mm).
HEAD_RIGID = dict(aff_shrink_factors=(4, 2), aff_smoothing_sigmas=(2, 1), aff_iterations=(200, 20),
                  aff_metric="mattes", aff_sampling=32, aff_random_sampling_rate=0.1)
HEAD_AFFINE = dict(aff_shrink_factors=(4, 2), aff_smoothing_sigmas=(2, 1), aff_iterations=(100, 20),
                   aff_metric="mattes", aff_sampling=32, aff_random_sampling_rate=0.1)
#: The brain affine stops after 20 iterations at 4 mm for the same reason: the 8 mm level
#: converges on its own (about 37), the 4 mm one moved its metric in the 6th digit from the
#: 20th to the 30th (0.028 s each). Accuracy benchmark: median 0.54, worst 7.02 mm.
BRAIN_AFFINE = dict(aff_shrink_factors=(4, 2), aff_smoothing_sigmas=(2, 1), aff_iterations=(100, 20),
                    aff_metric="mattes", aff_sampling=32)


def brain_correlation(warped_native: np.ndarray, template: np.ndarray, mask: np.ndarray) -> float:
    """Pearson correlation of the warped patient and the template inside the template brain.

    Parameters
    ----------
    warped_native : numpy.ndarray
        The patient's image resampled onto the template's grid (same shape as ``template``).
    template : numpy.ndarray
        The template image.
    mask : numpy.ndarray of bool
        The voxels compared (same shape as the images), e.g. the template brain eroded.

    Returns
    -------
    float
        The correlation coefficient, -1 to 1; 0.0 when either image is constant in ``mask``.
    """
    a, b = warped_native[mask], template[mask]
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _seed_ants() -> None:
    # antspyx ignores a `random_seed` argument: its sampling seed is a package global, set
    # here without the single-thread switch that on=True would also throw.
    ants.config.set_ants_deterministic(on=False, seed_value=RANDOM_SEED)


def require_ants_folder(work_dir: Path) -> None:
    """Raise :class:`PipelineError` unless ANTs can take ``work_dir``'s path (see
    :mod:`navsvc.ants_folder`; a plan gives its scratch folder through
    :func:`navsvc.ants_folder.ants_safe_folder`)."""
    if not ants_can_take(work_dir):
        raise PipelineError(f"the registration's work folder {str(work_dir)!r} holds a character ANTs reads as "
                            "syntax (, [ ]) or bytes that are not UTF-8: give it through "
                            "navsvc.ants_folder.ants_safe_folder")


def _stage_prefix(work_dir: Path, stage: str) -> str:
    """ANTs output prefix of one stage: a new folder of its own (antspyx collects a stage's
    files by globbing its prefix, so one prefix must never begin another)."""
    folder = work_dir / stage
    folder.mkdir()
    return f"{folder}{os.sep}"


def _head_rigid(colin: ants.ANTsImage, moving: ants.ANTsImage, work_dir: Path) -> tuple[str, str]:
    """Rigid, whole head to Colin27, from the centres of mass and, when the search over
    orientations finds better starts (:func:`navsvc.head_start_search.better_starts`), from
    each of them too; returns the transform file that ends with the highest mutual
    information and where it started (one of :data:`HEAD_STARTS`)."""
    rigid = ants.registration(fixed=colin, moving=moving, type_of_transform="Rigid",
                              outprefix=_stage_prefix(work_dir, "head_rigid"), **HEAD_RIGID)["fwdtransforms"][0]
    starts = better_starts(colin, moving, rigid, work_dir)
    if not starts:
        return rigid, HEAD_STARTS[0]
    searched = [ants.registration(fixed=colin, moving=moving, type_of_transform="Rigid", initial_transform=str(start),
                                  outprefix=_stage_prefix(work_dir, f"head_rigid_searched_{number}"),
                                  **HEAD_RIGID)["fwdtransforms"][0]
                for number, start in enumerate(starts)]
    kept = max([rigid, *searched], key=lambda transform: mutual_information(colin, moving, transform))
    logger.info("head stage: the search over orientations found %d better starts than the rigid result; kept the %s",
                len(starts), "first result" if kept == rigid else f"result from start {searched.index(kept)}")
    return kept, HEAD_STARTS[1] if kept == rigid else HEAD_STARTS[2]


def _head_stage(colin: ants.ANTsImage, moving: ants.ANTsImage, work_dir: Path) -> tuple[str, str]:
    """Rigid, then affine, whole head to Colin27; returns the affine transform file and
    where the rigid stage started (one of :data:`HEAD_STARTS`)."""
    rigid, head_start = _head_rigid(colin, moving, work_dir)
    affine = ants.registration(fixed=colin, moving=moving, type_of_transform="Affine", initial_transform=rigid,
                               outprefix=_stage_prefix(work_dir, "head_affine"), **HEAD_AFFINE)
    return affine["fwdtransforms"][0], head_start


def brain_stage_fixed(fixed: tuple[ants.ANTsImage, ants.ANTsImage] | None = None) -> tuple[ants.ANTsImage, ants.ANTsImage]:
    """The brain stage's fixed image and mask: the 2 mm ICBM template (its brain box) and
    its brain mask dilated by 4 mm.

    Parameters
    ----------
    fixed : tuple of ants.ANTsImage, optional
        The template and its brain mask from :func:`load_fixed_images`, when the caller has
        loaded them already.
    """
    icbm, icbm_mask = load_fixed_images()[1:] if fixed is None else fixed
    return icbm, icbm_mask.new_image_like(ndimage.binary_dilation(icbm_mask.numpy() > 0, iterations=2).astype(np.float32))


def syn_stage(moving_brain: ants.ANTsImage, initial_transform: str, work_dir: Path,
              syn_iterations: tuple[int, ...], fixed: tuple[ants.ANTsImage, ants.ANTsImage]) -> dict:
    """The brain stage's SyN, in this process (:class:`SynProcess` runs it in its child).

    Parameters
    ----------
    moving_brain : ants.ANTsImage
        The patient's brain, as :func:`register_brain` takes it.
    initial_transform : str
        The brain affine's transform file.
    work_dir : Path
        An existing folder that receives the stage's transform files.
    syn_iterations : tuple of int
        SyN iterations at shrink factors 4, 2, 1 of the 2 mm grid.
    fixed : tuple of ants.ANTsImage
        :func:`brain_stage_fixed`'s template and mask.

    Returns
    -------
    dict
        :func:`ants.registration`'s result.
    """
    _seed_ants()
    icbm, fixed_mask = fixed
    return ants.registration(
        fixed=icbm, moving=moving_brain, type_of_transform="SyNOnly",
        initial_transform=initial_transform, mask=fixed_mask,
        outprefix=_stage_prefix(work_dir, "brain_syn"),
        syn_metric=SYN_METRIC, syn_sampling=SYN_METRIC_PARAMETER, reg_iterations=syn_iterations,
    )


def _start_brain_stage(process: SynProcess, moving_brain: ants.ANTsImage, initial_transform: str | None,
                       work_dir: Path, syn_iterations: tuple[int, ...],
                       fixed: tuple[ants.ANTsImage, ants.ANTsImage] | None) -> None:
    """Run the brain stage's affine here (single-threaded), then send its SyN to ``process``."""
    icbm, fixed_mask = brain_stage_fixed(fixed)
    # antspyx's "SyN" runs its own long affine stage (2100x1200x1200 iterations, ignoring
    # aff_iterations): run a short brain-to-brain affine ourselves, then SyN only. At 8 and
    # 4 mm it costs 0.5 s and brings the mapped target within 1.5 mm of full-resolution
    # antsRegistrationSyNQuick[s] on the 256^3 benchmark head (3.4 mm without it; 1.1 mm
    # with a 4 and 2 mm affine costing 3 s).
    brain_affine = ants.registration(fixed=icbm, moving=moving_brain, type_of_transform="Affine",
                                     initial_transform=initial_transform, mask=fixed_mask,
                                     outprefix=_stage_prefix(work_dir, "brain_affine"), **BRAIN_AFFINE)
    process.submit(moving_brain, brain_affine["fwdtransforms"][0], work_dir, syn_iterations)


def register_brain(moving_brain: ants.ANTsImage, initial_transform: str | None, work_dir: Path,
                   syn_iterations: tuple[int, ...] = SYN_ITERATIONS,
                   fixed: tuple[ants.ANTsImage, ants.ANTsImage] | None = None) -> dict:
    """The brain stage: a 2 mm brain (or a brain-only image) to the ICBM template, affine
    then SyN, inside the template brain mask dilated by 4 mm.

    Parameters
    ----------
    moving_brain : ants.ANTsImage
        The brain on the 2 mm registration grid (or a box of it), normalised.
    initial_transform : str or None
        The affine file the stage starts from (the head stage's); ``None`` starts from the
        images' centres of mass.
    work_dir : Path
        An existing folder that receives the stage's transform files, its path one ANTs
        can take (:func:`require_ants_folder`).
    syn_iterations : tuple of int
        SyN iterations at shrink factors 4, 2, 1 of the 2 mm grid (benchmarks try others).
    fixed : tuple of ants.ANTsImage, optional
        The 2 mm ICBM template and its brain mask, when the caller has loaded them already.

    Returns
    -------
    dict
        :func:`ants.registration`'s result for the SyN stage: ``fwdtransforms`` (warp, affine)
        and ``invtransforms`` (affine, inverse warp), fixed = ICBM, moving = the brain.
    """
    require_ants_folder(work_dir)
    with SynProcess() as process:
        _start_brain_stage(process, moving_brain, initial_transform, work_dir, syn_iterations, fixed)
        return process.result()


class PendingRegistration:
    """A registration whose head stage is done and whose SyN runs in its own process
    (made by :func:`registration_to_mni`).

    Attributes
    ----------
    head : HeadAlignment
        The head stage's alignment, usable while the SyN runs.
    """

    def __init__(self, head: HeadAlignment, moving: ants.ANTsImage, icbm: ants.ANTsImage,
                 icbm_mask: ants.ANTsImage, syn_process: SynProcess, bias_field_spread: float, head_start: str):
        self.head = head
        self._moving, self._icbm, self._icbm_mask = moving, icbm, icbm_mask
        self._syn_process = syn_process
        self._bias_field_spread = bias_field_spread
        self._head_start = head_start

    def result(self) -> Registration:
        """Wait for the SyN stage and return the whole registration.

        Raises
        ------
        PipelineError
            The SyN stage failed in its process.
        """
        brain = self._syn_process.result()
        # Quality: the whole (unmasked) registered head against the template, inside the
        # template brain eroded by 6 mm. Only real brain anatomy (GM/WM contrast) correlates
        # there: a noise or phantom volume scores about 0, a head T1 about 0.8.
        warped = ants.apply_transforms(fixed=self._icbm, moving=self._moving, transformlist=brain["fwdtransforms"])
        inner = ndimage.binary_erosion(self._icbm_mask.numpy() > 0, iterations=3)
        return Registration(
            head_affine=self.head.head_affine,
            to_mni=tuple(brain["fwdtransforms"]),
            from_mni=tuple(brain["invtransforms"]),
            from_mni_invert=(True, False),
            quality_correlation=brain_correlation(warped.numpy(), self._icbm.numpy(), inner),
            bias_field_spread=self._bias_field_spread,
            head_start=self._head_start,
        )


@contextmanager
def registration_to_mni(native: WorkingImage, work_dir: Path,
                        syn_iterations: tuple[int, ...] = SYN_ITERATIONS) -> Iterator[PendingRegistration]:
    """Register the patient (working grid) to Colin27 (head) and ICBM 2009a (brain); hand
    back the head alignment while the brain stage's SyN runs in its own process.

    A context manager: inside the ``with`` block the caller may work on ``pending.head``
    (the SyN runs on other cores meanwhile), then takes ``pending.result()``. Leaving the
    block before that stops the SyN.

    Parameters
    ----------
    native : WorkingImage
        The patient's T1 on the working grid (any spacing dividing 2 mm: pass the 2 mm
        block-averaged grid when it exists, so it is not computed twice).
    work_dir : Path
        An existing folder, private to this call, that receives the transform files. They
        describe the patient's anatomy: the caller deletes the folder when done (after
        :meth:`Registration.save` has copied what is kept). Its path must be one ANTs can
        take (:func:`require_ants_folder`) for as long as the registration is used.
    syn_iterations : tuple of int
        SyN iterations per level (see :func:`register_brain`); plans use the default.

    Yields
    ------
    PendingRegistration
        Its ``head`` at once; its ``result()``: transform files (in ``work_dir``) and the
        brain correlation after registration.
    """
    require_ants_folder(work_dir)
    _seed_ants()
    # started first: the child loads while the single-threaded head stage runs
    with SynProcess() as syn_process:
        colin, icbm, icbm_mask = load_fixed_images()
        moving = registration_grid_image(native)
        head_affine, head_start = _head_stage(colin, moving, work_dir)
        brain = patient_brain(moving, head_affine)
        _start_brain_stage(syn_process, brain.image, head_affine, work_dir, syn_iterations, (icbm, icbm_mask))
        yield PendingRegistration(HeadAlignment(head_affine), moving, icbm, icbm_mask, syn_process,
                                  brain.bias_field_spread, head_start)


def register_to_mni(native: WorkingImage, work_dir: Path,
                    syn_iterations: tuple[int, ...] = SYN_ITERATIONS) -> Registration:
    """Register the patient (working grid) to Colin27 (head) and ICBM 2009a (brain) and
    wait for the result (:func:`registration_to_mni` with nothing done meanwhile).

    Parameters
    ----------
    native : WorkingImage
        The patient's T1 on the working grid (any spacing dividing 2 mm).
    work_dir : Path
        An existing folder, private to this call, that receives the transform files; its
        path must be one ANTs can take (:func:`require_ants_folder`). The caller deletes it
        when done.
    syn_iterations : tuple of int
        SyN iterations at shrink factors 4, 2, 1 of the 2 mm grid (see
        :func:`register_brain`); plans use the default.

    Returns
    -------
    Registration
        Transform files (in ``work_dir``) and the brain correlation after registration.
    """
    with registration_to_mni(native, work_dir, syn_iterations) as pending:
        return pending.result()
