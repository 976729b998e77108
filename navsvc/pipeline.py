"""The targeting pipeline: T1 -> MNI -> cortical target -> scalp entry -> coil pose -> plan.

Data flows one way: io -> grid -> registration -> anatomy -> target -> coil -> landmarks
-> plan document (+ transforms, report). Each stage lives in its own module; this one
calls them in order, times them, and holds the few checks that join two stages' results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from navsvc import templates
from navsvc.anatomy.checks import require_entry_in_image
from navsvc.anatomy.field_of_view import ScalpCut, landmarks_in_image
from navsvc.anatomy.ghost import GhostingError
from navsvc.anatomy.scalp import Scalp
from navsvc.anatomy.stage import NativeAnatomy, native_anatomy
from navsvc.anatomy.scalp_rise import OuterSkin, scalp_rise
from navsvc.anatomy.tissue import LocalTissue, segment_locally
from navsvc.ants_folder import ants_safe_folder
from navsvc.coil import coil_matrix, handle_direction
from navsvc.errors import InputError, PipelineError
from navsvc.grid import WorkingImage, resample_to_working_grid
from navsvc.io import LoadedT1, load_t1
from navsvc.io.loader import existing_input
from navsvc.landmarks.placement import HeadFrame, LandmarkSet, beam_f3, five_cm_site, project_montage
from navsvc.options import PlanOptions, require_native_target_in_image
from navsvc.plan_document import build_plan, plan_json
from navsvc.plan_files import PLAN_FILENAME, REPORT_FILENAME, TRANSFORMS_FOLDER
from navsvc.progress import StageTimer
from navsvc.registration import registration_to_mni
from navsvc.registration_maps import Registration
from navsvc.registration_checks import require_handedness, require_quality
from navsvc.report.inputs import ReportInputs
from navsvc.report.figure_process import ScalpFigureProcess
from navsvc.sampling import MappedImage
from navsvc.scratch import (missing_folders, output_folder, publish_plan_files, registration_scratch,
                            remove_empty_folders)
from navsvc.target.along_normal import along_normal_entry
from navsvc.target.depth_checks import (M1_SCALP_POINT, require_cortical_depth, require_scalp_point_on_head,
                                        require_skin_above)
from navsvc.target.fluid import (FLUID_SEARCH_RADIUS_MM, require_cortex_outside_fluid,
                                 require_no_fluid_instead_of_cortex, widest_fluid_mm)
from navsvc.target.hemisphere import is_left
from navsvc.target.individualize import MAX_SHIFT_MM, CorticalTarget, individualize, scalp_to_cortex_mm
from navsvc.target.results import M1Site, TargetResult
from navsvc.target.strategies import M1_HAND_KNOB_MNI_MM, get_strategy

#: the hand knob's crown may lie this far from its MNI coordinate, mm. The coordinate sits
#: in the bank of the central sulcus, 9.5 mm below the crown on Colin27: with the target's
#: 10 mm, 6 % image noise sent the hand knob to the sulcus floor, 10 mm deeper, and the
#: dose suggestion from -3.5 to -32 %MSO.
M1_MAX_SHIFT_MM = 15.0


@dataclass(frozen=True)
class PlanContext:
    """Everything a plan was computed from (kept for the QC report)."""

    t1: LoadedT1
    grid: WorkingImage
    registration: Registration
    scalp: Scalp
    frame: HeadFrame
    cut: ScalpCut  # where the image's field of view cuts the scalp
    brain_mask: WorkingImage  # Colin27's brain mask carried onto the patient, 2 mm grid
    skin: OuterSkin  # where a marker on the scalp is looked for

    @classmethod
    def of(cls, t1: LoadedT1, grid: WorkingImage, coarse: WorkingImage, registration: Registration,
           anatomy: NativeAnatomy) -> PlanContext:
        """The context of a registered T1 (:func:`register_with_anatomy`'s results).

        Parameters
        ----------
        t1 : LoadedT1
            The loaded T1, in its own voxel order.
        grid : WorkingImage
            The T1 on the 1 mm working grid (:func:`navsvc.grid.resample_to_working_grid`).
        coarse : WorkingImage
            The same block-averaged to 2 mm (``grid.downsampled(2)``), the grid of the
            scalp's head mask.
        registration : Registration
            The registration to Colin27 and MNI.
        anatomy : NativeAnatomy
            The anatomy stage's result (scalp, head frame, field-of-view cut, brain mask).

        Returns
        -------
        PlanContext
            With the outer skin (:meth:`navsvc.anatomy.scalp_rise.OuterSkin.of`) made from
            ``grid``, ``coarse`` and the scalp.
        """
        return cls(t1, grid, registration, anatomy.scalp, anatomy.frame, anatomy.cut, anatomy.brain_mask,
                   OuterSkin.of(grid, coarse, anatomy.scalp))


def _is_left(ctx: PlanContext, points_ras_mm) -> np.ndarray:
    """Whether native points lie in the left hemisphere, by the plan's rule (MNI x < 0)."""
    return is_left(ctx.registration.native_to_mni(points_ras_mm))


def _cortical_point(ctx: PlanContext, mapped, max_shift_mm: float = MAX_SHIFT_MM,
                    site: str = "target") -> tuple[CorticalTarget, LocalTissue]:
    tissue = segment_locally(ctx.grid, ctx.registration, mapped)
    wanted = _is_left(ctx, mapped)[0]
    try:
        point = individualize(mapped, ctx.scalp.nearest_point(mapped), tissue,
                              lambda pts: _is_left(ctx, pts) == wanted, max_shift_mm, site)
    except PipelineError:
        # a cavity that has taken the cortex is the patient's anatomy, not a failed registration
        require_no_fluid_instead_of_cortex(widest_fluid_mm(tissue, mapped, FLUID_SEARCH_RADIUS_MM), site,
                                           max_shift_mm)
        raise
    require_cortex_outside_fluid(tissue, point.cortex_ras_mm, site)
    return point, tissue


def locate_target(options: PlanOptions, ctx: PlanContext) -> TargetResult:
    """Map the chosen target into the patient, individualize it and place the coil.

    Parameters
    ----------
    options : PlanOptions
        The target (a native RAS point, else an MNI point, else the named strategy's MNI
        point), the handle angle and the coil's distance from the scalp.
    ctx : PlanContext
        The registered T1 and its anatomy.

    Returns
    -------
    TargetResult
        The target in MNI and native space, its cortical point, the scalp entry nearest
        that point and the coil pose there, the along-normal alternative entry and pose
        (native RAS mm), and the scalp-to-cortex distance, scalp rise and widest fluid
        near the target.

    Raises
    ------
    InputError
        If no grey matter of the target's hemisphere lies within
        :data:`~navsvc.target.individualize.MAX_SHIFT_MM` of the mapped target.
    """
    reg, frame, scalp = ctx.registration, ctx.frame, ctx.scalp
    if options.native_ras_mm is not None:
        native = np.asarray(options.native_ras_mm, float)
        mni = reg.native_to_mni(native)[0]
    else:
        mni = np.asarray(options.mni_mm if options.mni_mm is not None else get_strategy(options.strategy).mni_mm, float)
        native = reg.mni_to_native(mni)[0]
    try:
        cortex, tissue = _cortical_point(ctx, native)
    except PipelineError:
        # the choice of target, not a failure: a chosen point off the cortex, or a named coordinate that this
        # brain's shape carries off it (fitzgerald2009's lies 5.8 mm outside the template's brain)
        native_words = f"native RAS {np.round(native, 1).tolist()} mm"
        if options.native_ras_mm is not None or options.mni_mm is not None:
            given = "native" if options.native_ras_mm is not None else "MNI"
            given_mm = np.round(options.native_ras_mm or options.mni_mm, 1).tolist()
            chosen = f"the {given} target {given_mm} ({native_words})"
            advice = "choose a point on the cortex (the target must be cortical)"
        else:
            name = get_strategy(options.strategy).name
            chosen = f"the {name} target (MNI {np.round(mni, 1).tolist()}, {native_words})"
            advice = ("choose another strategy, or a point on this patient's cortex with --native X Y Z or "
                      "--mni X Y Z")
        raise InputError(f"{chosen} has no grey matter of the same hemisphere within {MAX_SHIFT_MM:.0f} mm on this "
                         f"head: {advice}") from None
    entry = scalp.nearest_point(cortex.cortex_ras_mm)
    require_entry_in_image(ctx.cut, entry)
    normal = scalp.inward_normal(entry)
    lateral = -frame.right if _is_left(ctx, cortex.cortex_ras_mm)[0] else frame.right  # away from the midline
    handle = handle_direction(normal, frame.right, lateral, options.handle_angle_deg, entry)
    coil = coil_matrix(entry, normal, handle, options.coil_distance_mm)
    alt_entry = along_normal_entry(scalp, ctx.cut, entry, cortex.cortex_ras_mm)
    alt_normal = scalp.inward_normal(alt_entry)
    alt_coil = coil_matrix(alt_entry, alt_normal, handle_direction(alt_normal, frame.right, lateral,
                                                                   options.handle_angle_deg, alt_entry),
                           options.coil_distance_mm)
    return TargetResult(mni, native, cortex, entry, normal, coil, alt_entry, alt_coil,
                        scalp_to_cortex_mm(entry, cortex.cortex_ras_mm, tissue), scalp_rise(scalp, ctx.skin, entry),
                        widest_fluid_mm(tissue, native, FLUID_SEARCH_RADIUS_MM))


def register_with_anatomy(t1: LoadedT1, coarse: WorkingImage, scratch: Path,
                          timer: StageTimer) -> tuple[Registration, NativeAnatomy]:
    """The registration, with the anatomy stage built while its SyN stage runs; then the
    registration's checks, then the anatomy's.

    The anatomy's refusal is raised only after the registration's checks pass: on an image
    that is not a head T1 the registration says so, where the anatomy would report a
    symptom (no scalp, too much noise). Strong motion spoils both: a failed registration's
    refusal then names the ghosting too.

    Parameters
    ----------
    t1 : LoadedT1
        The loaded T1 on its own voxel grid.
    coarse : WorkingImage
        The T1 on the 2 mm working grid; the registration runs on it.
    scratch : Path
        The plan's scratch folder, whose path ANTs can take; it receives the transform
        files.
    timer : StageTimer
        Times the ``registration`` stage and the ``anatomy`` stage inside it.

    Returns
    -------
    tuple of (Registration, NativeAnatomy)
        The registration and the anatomy stage's result.

    Raises
    ------
    InputError
        If the registration's quality check refuses it (naming strong ghosting too when
        the anatomy stage found it); after the registration's checks pass, whatever error
        the anatomy stage raised is raised again.
    """
    with timer.stage("registration"):
        with registration_to_mni(coarse, scratch) as pending:
            with timer.stage("anatomy"):
                try:
                    anatomy, anatomy_error = native_anatomy(t1, coarse, pending.head), None
                except Exception as exc:  # noqa: BLE001 - raised below, after the registration's checks
                    anatomy, anatomy_error = None, exc
            report_writer()  # its modules load while the SyN stage runs, not before the first stage
            registration = pending.result()
        try:
            require_quality(registration.quality_correlation, registration.bias_field_spread)
        except InputError as exc:
            if isinstance(anatomy_error, GhostingError):  # strong motion spoils the registration too
                raise InputError(f"{exc}. {anatomy_error.also}") from None
            raise
        require_handedness(registration)
    if anatomy_error is not None:
        raise anatomy_error
    return registration, anatomy


def report_writer() -> Callable[..., None]:
    """:func:`navsvc.report.document.write_report`, imported on first use: its modules
    (matplotlib among them) take 0.5-0.9 s to load, which a plan spends while it waits for
    the SyN stage rather than before its first stage."""
    from navsvc.report.document import write_report

    return write_report


def locate_m1(ctx: PlanContext) -> M1Site:
    """The motor hand knob individualized on this patient's cortex, the scalp above it and
    the scalp-to-cortex distance there (the dose's reference depth)."""
    m1_native = ctx.registration.mni_to_native(M1_HAND_KNOB_MNI_MM)[0]
    cortex, tissue = _cortical_point(ctx, m1_native, M1_MAX_SHIFT_MM, "motor hand knob")
    scalp_ras_mm = ctx.scalp.nearest_point(cortex.cortex_ras_mm)
    depth_mm = scalp_to_cortex_mm(scalp_ras_mm, cortex.cortex_ras_mm, tissue)
    if ctx.cut.trusted(scalp_ras_mm[None])[0]:  # else the scalp is not in the image, and the plan says so
        require_skin_above(depth_mm, "cortex at the motor hand knob")
        # the dose's reference depth and the 5-cm site are measured from this point
        require_scalp_point_on_head(scalp_ras_mm, ctx.brain_mask, ctx.scalp, M1_SCALP_POINT)
    return M1Site(cortex, scalp_ras_mm, depth_mm,
                  scalp_rise(ctx.scalp, ctx.skin, scalp_ras_mm),
                  widest_fluid_mm(tissue, m1_native, FLUID_SEARCH_RADIUS_MM))


def place_landmarks(ctx: PlanContext, m1: M1Site) -> LandmarkSet:
    """The 10-05 positions projected onto this scalp, the Beam F3 site, the 5-cm-rule site,
    and whether each lies on scalp the image holds.

    Parameters
    ----------
    ctx : PlanContext
        The registered T1 and its anatomy.
    m1 : M1Site
        The motor hand knob (:func:`locate_m1`); the 5-cm-rule site is measured from its
        scalp point.

    Returns
    -------
    LandmarkSet
        The landmarks, native RAS mm, and for each (and for the hand knob's scalp point)
        whether it lies on scalp the image holds.
    """
    points = project_montage(ctx.scalp, ctx.registration)
    beam = beam_f3(ctx.scalp, points, ctx.frame)
    five_cm = five_cm_site(ctx.scalp, m1.scalp_ras_mm, ctx.frame)
    return LandmarkSet(points, beam, five_cm, landmarks_in_image(ctx.cut, points, beam, five_cm, m1.scalp_ras_mm))


def make_plan(t1_path: str | Path, out_dir: str | Path, options: PlanOptions | None = None,
              progress: Callable[[str], None] | None = None, series: str | None = None) -> dict:
    """Run the whole pipeline on one T1 and write ``out_dir/plan.json`` (+ transforms, report).

    Parameters
    ----------
    t1_path : str or Path
        NIfTI file, DICOM folder or DICOM ``.zip``.
    out_dir : str or Path
        Output folder (created).
    options : PlanOptions, optional
        Target strategy and coil parameters (defaults: fox2012, 4 mm, 45°).
    progress : callable, optional
        Called with each stage name as it starts.
    series : str, optional
        DICOM series to use when the input holds several.

    Returns
    -------
    dict
        The plan document (as written to ``plan.json``).

    Raises
    ------
    InputError
        The input cannot be planned (message says why and what to do).
    """
    options = options or PlanOptions()
    if options.strategy and options.mni_mm is None and options.native_ras_mm is None:
        get_strategy(options.strategy)  # fail before the expensive stages
    existing_input(t1_path)  # before the output folder is made: a typo leaves nothing behind
    created = missing_folders(out_dir)
    out = output_folder(out_dir)
    try:
        return _plan_into(out, t1_path, options, StageTimer(progress), series)
    except BaseException:
        remove_empty_folders(created)
        raise


def _plan_into(out: Path, t1_path: str | Path, options: PlanOptions, timer: StageTimer,
               series: str | None) -> dict:
    """Body of :func:`make_plan`: every file is made in a scratch folder and moved into
    ``out`` once the plan is complete."""
    with registration_scratch(out) as scratch_name, ants_safe_folder(Path(scratch_name)) as scratch, \
            ScalpFigureProcess(scratch) as scalp_figure:
        # the figure process loads matplotlib now, on the core the load stage leaves idle
        with timer.stage("load"):
            # a DICOM input is unpacked in the scratch folder: if the process is killed, the
            # patient's raw files go with the stale scratch, not left loose in the output folder
            t1 = load_t1(t1_path, series, work_dir=scratch)
            require_native_target_in_image(options, t1.shape, t1.affine)
            grid = resample_to_working_grid(t1)
            coarse = grid.downsampled(2)
        registration, anatomy = register_with_anatomy(t1, coarse, scratch, timer)
        ctx = PlanContext.of(t1, grid, coarse, registration, anatomy)
        with timer.stage("target"):
            target = locate_target(options, ctx)
            require_cortical_depth(target, ctx.brain_mask, ctx.scalp,
                                   chosen_by_user=options.mni_mm is not None or options.native_ras_mm is not None)
            m1 = locate_m1(ctx)
        with timer.stage("landmarks"):
            landmarks = place_landmarks(ctx, m1)
        with timer.stage("outputs"):
            plan = build_plan(t1=t1, options=options, registration=registration, target=target, m1=m1,
                              landmarks=landmarks, cut=ctx.cut, scalp_to_brain_mm=anatomy.scalp_to_brain_mm,
                              noise_pct_of_brain=anatomy.noise_pct_of_brain,
                              ghosting_pct_of_brain=anatomy.ghosting_pct_of_brain,
                              transform_files=registration.save(scratch / TRANSFORMS_FOLDER))
        _record_timing(plan, timer)  # the report shows the stages before it
        with timer.stage("report"):
            report_writer()(scratch, plan, report_inputs(ctx), scalp_figure)
            plan["files"] = {"report": REPORT_FILENAME, "plan": PLAN_FILENAME, "transforms": f"{TRANSFORMS_FOLDER}/"}
        _record_timing(plan, timer)
        (scratch / PLAN_FILENAME).write_text(plan_json(plan))  # synced by publish_plan_files
        publish_plan_files(scratch, out, (TRANSFORMS_FOLDER, REPORT_FILENAME, PLAN_FILENAME))
    return plan


def _record_timing(plan: dict, timer: StageTimer) -> None:
    plan["timing_s"] = timer.summary()
    plan["registration"]["seconds"] = plan["timing_s"]["registration"]


def report_inputs(ctx: PlanContext) -> ReportInputs:
    """What the QC report draws: the T1 on the 1 mm working grid, the scalp mesh, and the
    template and left DLPFC as functions of native points (read only on the slices shown)."""
    reg = ctx.registration
    template = MappedImage.load(templates.ICBM_T1, reg.native_to_mni)
    brodmann = MappedImage.load(templates.BRODMANN_COLIN, reg.native_to_colin, order=0)

    def left_dlpfc(points_ras_mm: np.ndarray) -> np.ndarray:
        points = np.asarray(points_ras_mm, dtype=float).reshape(-1, 3)
        left = reg.native_to_colin(points)[:, 0] < 0  # the atlas's own left (Colin27 is MNI-aligned)
        return (np.isin(brodmann(points), templates.DLPFC_BRODMANN_AREAS) & left).astype(np.uint8)

    return ReportInputs(
        t1_img=ctx.grid.to_nifti(),
        template=template,
        dlpfc_mask=left_dlpfc,
        scalp_vertices_ras_mm=np.asarray(ctx.scalp.mesh.vertices),
        scalp_faces=np.asarray(ctx.scalp.mesh.faces),
    )
