"""The pipeline's stage results for :func:`navsvc.plan_document.build_plan`, made up (test support).

Every input holds values no other input holds (distinct coordinates, depths, rises and fluid
widths at the target and at the hand knob), so a field read from the wrong input shows.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np

from navsvc.anatomy.field_of_view import ScalpCut
from navsvc.anatomy.scalp_rise import ScalpRise
from navsvc.coords import rotation_deg_to_matrix
from navsvc.io.loader import LoadedT1
from navsvc.landmarks.placement import BeamF3, LandmarkSet
from navsvc.options import PlanOptions
from navsvc.target.individualize import CorticalTarget
from navsvc.target.results import M1Site, TargetResult

#: native RAS mm -> MNI mm of the fake registration
MNI_SHIFT_MM = np.array([-2.0, 3.0, 1.0])
#: the 10-05 points of the made-up landmark set
TEN_05 = ("nasion", "inion", "lpa", "rpa", "cz", "fpz", "fz", "f3", "f4", "oz")


def voxel_to_ras_affine() -> np.ndarray:
    """Voxels of 1.2 x 1.2 x 1.5 mm stored left, inferior, anterior, turned 5 degrees about z."""
    axes = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]) * [1.2, 1.2, 1.5]
    affine = np.eye(4)
    affine[:3, :3] = rotation_deg_to_matrix(0.0, 0.0, 5.0) @ axes
    affine[:3, 3] = [20.0, -60.0, 100.0]
    return affine


def _pose(centre_ras_mm, turn_deg: float) -> np.ndarray:
    """A coil pose turned ``turn_deg`` about y, centred at ``centre_ras_mm``."""
    pose = np.eye(4)
    pose[:3, :3] = rotation_deg_to_matrix(0.0, turn_deg, 0.0)
    pose[:3, 3] = centre_ras_mm
    return pose


def plan_inputs(**changed) -> dict:
    """Keyword arguments of :func:`navsvc.plan_document.build_plan`: a left-hemisphere
    target at voxel (40, 50, 60) of an oblique image stored left, inferior, anterior; fluid
    7.26 mm wide near the target (cautioned); the hand knob's scalp in the image, oz's not;
    the registration a shift by :data:`MNI_SHIFT_MM`.

    Parameters
    ----------
    **changed
        Arguments that replace the made-up ones.

    Returns
    -------
    dict
        The arguments.
    """
    affine = voxel_to_ras_affine()
    # the cortical target: voxel (40, 50, 60) and a fifth of a voxel along each axis
    cortex_ras_mm = (affine @ [40.2, 50.2, 59.8, 1.0])[:3]
    cortex = CorticalTarget(cortex_ras_mm, "scalp_ray", 3.8149, 0.9876)
    target = TargetResult(
        mni_mm=np.array([-36.0, 39.0, 43.0]), native_ras_mm=cortex_ras_mm + [1.11111, -2.22222, 0.33333],
        cortex=cortex, entry_ras_mm=cortex_ras_mm + [-9.0, 6.0, 12.0],
        inward_normal=np.array([0.6, -0.0, -0.8]),
        coil=_pose(cortex_ras_mm + [-12.0, 7.0, 16.0], 20.0),
        along_normal_entry_ras_mm=cortex_ras_mm + [-8.5, 6.5, 11.5],
        along_normal_coil=_pose(cortex_ras_mm + [-11.0, 8.0, 15.0], 25.0),
        scalp_to_cortex_mm=15.6789, scalp_rise=ScalpRise(2.4567, np.array([-50.1234, 30.5, 80.26])),
        fluid_widest_mm=7.26)
    m1 = M1Site(CorticalTarget(np.array([-36.5, -20.25, 60.125]), "nearest_grey_matter", 4.0, 0.7),
                scalp_ras_mm=np.array([-46.8841, -49.2912, 103.8049]), scalp_to_cortex_mm=17.1944,
                scalp_rise=ScalpRise(0.3456, np.array([-47.0, -49.0, 104.0])), fluid_widest_mm=1.04)
    points = {name: np.array([-10.0 - i, 20.0 + 2 * i, 30.0 + 3 * i]) for i, name in enumerate(TEN_05)}
    beam = BeamF3(site_ras_mm=np.array([-35.5, 40.5, 70.5]), tragus_tragus_mm=396.14, nasion_inion_mm=388.36,
                  head_circumference_mm=614.04, x_from_fpz_mm=70.76, y_from_cz_mm=103.44,
                  cz_ras_mm=np.array([0.0, -10.0, 110.0]), tape_paths_ras_mm=np.zeros((4, 3)))
    in_image = {name: True for name in (*TEN_05, "beam_f3", "five_cm", "m1_hand_knob")}
    landmarks = LandmarkSet(points, beam, np.array([-40.0, 10.0, 95.0]), {**in_image, "oz": False})
    registration = SimpleNamespace(
        quality_correlation=0.81234, head_start="centres of mass", bias_field_spread=1.2346,
        turn_from_upright_deg=lambda: 13.74,
        native_to_mni=lambda points_ras_mm: np.atleast_2d(points_ras_mm) + MNI_SHIFT_MM)
    inputs = dict(
        t1=LoadedT1(np.zeros((4, 5, 6), np.float32), affine, "ab" * 32, "dicom", "scanner"),
        options=PlanOptions(strategy="ba9", coil_distance_mm=6.5, handle_angle_deg=-30.0),
        registration=registration, target=target, m1=m1, landmarks=landmarks,
        cut=ScalpCut(np.empty((0, 3)), removed_ras_mm=np.ones((2, 3))),
        scalp_to_brain_mm=18.6789, noise_pct_of_brain=1.26, ghosting_pct_of_brain=None,
        transform_files={"native_to_mni_warp": "native_to_mni_1Warp.nii.gz"})
    return {**inputs, **changed}


def with_value(document: dict, *keys_and_value) -> dict:
    """A copy of a plan (or any nested dict) with one value changed.

    Parameters
    ----------
    document : dict
        The plan; it is not changed.
    *keys_and_value
        The keys down to the value, then the value; ``...`` as the value removes the key.

    Returns
    -------
    dict
        The changed deep copy.
    """
    *keys, last, value = keys_and_value
    changed = copy.deepcopy(document)
    block = changed
    for key in keys:
        block = block[key]
    if value is ...:
        del block[last]
    else:
        block[last] = value
    return changed
