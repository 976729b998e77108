"""A search over head orientations for the registration's head stage, so that a head
turned far from upright in its image's world, or cut by its field of view, still registers.

The head stage's rigid registration is a local optimizer: started from the identity (with
the centres of mass matched), it finds Colin27 turned up to about 50 degrees and, beyond
that, stops in a wrong optimum. Measured on Colin27 turned about one axis: 55 degrees
about x planned 31 mm off with a registration quality of 0.517, 50 degrees about z 4.6 mm
off with 0.790 (the brain stage recovered the brain but not the head stage's landmarks
frame), most larger turns were refused. A head whose field of view cuts its sides and back
moves its centre of mass: an oblique, warped copy of Colin27 stopped 26 degrees and
13-30 mm off, and was refused. A wrong optimum cannot be told from a right one by its own
similarity: a different head (Colin27 under a 5 mm warp) scores about as low.

So the head stage also scores starting orientations spread over all of SO(3) at 8 mm, the
way FSL FLIRT's coarse search does (Jenkinson & Smith 2001, Med Image Anal 5:143). When
the best start lies far from the rigid result, or scores better than that result, the
rigid stage runs again from it and from the next best starts that lie far from the rigid
result and from each other (up to :data:`MAX_SEARCHED_STARTS` in all), and the head stage
keeps whichever run ends with the highest mutual information at 2 mm. The best start alone
was not enough: on a copy of Colin27 warped by 4.7 mm, turned 65 degrees, unevenly lit and
noisy, it scored 0.5587 against the second's 0.5562 and led to a wrong optimum 151 degrees
round (0.514 at 2 mm), where the second led to the head (66.8 degrees, 0.665); the plan
was refused as not a head T1. An upright, whole head's registration is unchanged: its
rigid result outscores every start near it, and no start is run.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from navsvc.antspy import ants
from navsvc.coords import turn_deg
from navsvc.grid import block_means

#: spacing of the Euler-angle grid of starting orientations, degrees; with near-duplicates
#: dropped it holds 297 orientations, every rotation within 31.4 degrees of one of them
#: (the rigid stage recovers turns of 45-50 degrees about any one axis)
START_GRID_STEP_DEG = 40.0
#: offset of that grid from the axes, degrees, so that no start is an exact half turn
#: (ITK's rigid transform warns on an SVD of such a matrix)
START_GRID_OFFSET_DEG = 7.0
#: resolution of the search's images, mm (the head stage's coarsest level)
SEARCH_SPACING_MM = 8.0
#: starts within this turn of the rigid result stand for the optimum it found, degrees (more
#: than the grid's covering radius, so that there always is one); the best start beyond it
#: is run again
SAME_OPTIMUM_TURN_DEG = 35.0
#: the rigid stage runs again from at most this many starts, the best first
MAX_SEARCHED_STARTS = 3
#: bins a side of the joint histogram of :func:`mutual_information` (Mattes' default in ANTs)
HISTOGRAM_BINS = 32


@lru_cache(maxsize=1)
def start_rotations() -> tuple[np.ndarray, ...]:
    """The starting orientations (3x3 rotation matrices) of the search."""
    step, offset = START_GRID_STEP_DEG, START_GRID_OFFSET_DEG
    kept: list[np.ndarray] = []
    for z in np.arange(-180.0, 180.0, step):
        for y in np.arange(-90.0, 90.0 + 1e-9, step):
            for x in np.arange(-180.0, 180.0, step):
                quaternion = Rotation.from_euler("zyx", [z + offset, y + offset, x + offset], degrees=True).as_quat()
                # drop a start within a third of a step of one kept (the grid crowds near y = +-90)
                if kept and np.max(np.abs(np.asarray(kept) @ quaternion)) > np.cos(np.radians(step / 3) / 2):
                    continue
                kept.append(quaternion)
    return tuple(Rotation.from_quat(q).as_matrix() for q in kept)


def _coarse(image: ants.ANTsImage) -> ants.ANTsImage:
    """Block means of ``image`` (an isotropic grid whose spacing divides
    :data:`SEARCH_SPACING_MM`) on a grid of :data:`SEARCH_SPACING_MM`, same world extent
    (a tenth of the time of Gaussian smoothing and resampling)."""
    factor = int(round(SEARCH_SPACING_MM / image.spacing[0]))
    direction = np.asarray(image.direction)
    spacing = np.asarray(image.spacing)
    origin = np.asarray(image.origin) + direction @ (0.5 * (factor - 1) * spacing)  # block 0's centre
    return ants.from_numpy(block_means(image.numpy(), factor), origin=tuple(origin), spacing=tuple(spacing * factor),
                           direction=direction)


def _bins(image: ants.ANTsImage) -> np.ndarray:
    """Histogram bin of each voxel of a normalised image (values 0 to 1.5, see
    :func:`navsvc.registration_grid.normalise`), flat."""
    return np.clip((image.numpy().ravel() * (HISTOGRAM_BINS / 1.5)).astype(np.int64), 0, HISTOGRAM_BINS - 1)


def _histogram_mutual_information(fixed_bins: np.ndarray, warped: ants.ANTsImage) -> float:
    joint = np.bincount(fixed_bins * HISTOGRAM_BINS + _bins(warped),
                        minlength=HISTOGRAM_BINS ** 2).reshape(HISTOGRAM_BINS, HISTOGRAM_BINS)
    p = joint / joint.sum()
    outer = p.sum(axis=1, keepdims=True) * p.sum(axis=0, keepdims=True)
    filled = p > 0
    return float(np.sum(p[filled] * np.log(p[filled] / outer[filled])))


def mutual_information(fixed: ants.ANTsImage, moving: ants.ANTsImage, transform) -> float:
    """Mutual information (nats) of ``fixed`` and ``moving`` carried onto its grid by
    ``transform`` (an ANTs transform or transform file; a fixed-to-moving point map), from
    their joint histogram of :data:`HISTOGRAM_BINS` bins a side; higher is better.

    ANTs' own measure (antspyx's ``image_mutual_information``) took 11 ms an image at 8 mm,
    20 times the resampling: too slow for hundreds of starts.

    Parameters
    ----------
    fixed : ants.ANTsImage
        The reference image, normalised (values 0 to 1.5, see
        :func:`navsvc.registration_grid.normalise`; higher values fall in the top bin).
    moving : ants.ANTsImage
        The image carried onto ``fixed``'s grid (trilinear), normalised the same way.
    transform : str or ants.ANTsTransform
        A transform file's path as a ``str`` (a ``Path`` is not accepted) or a transform
        object, mapping ``fixed``'s points into ``moving``'s space.

    Returns
    -------
    float
        The mutual information, nats (0 or more).
    """
    if isinstance(transform, str):
        warped = ants.apply_transforms(fixed=fixed, moving=moving, transformlist=[transform])
    else:
        warped = transform.apply_to_image(moving, reference=fixed, interpolation="linear")
    return _histogram_mutual_information(_bins(fixed), warped)


def better_starts(fixed: ants.ANTsImage, moving: ants.ANTsImage, rigid_file: str, out_folder: Path) -> list[Path]:
    """Starting transforms for the head stage's rigid registration to run again from: when
    the best-scoring start lies far from that registration's result ``rigid_file`` or
    scores better than it, that start and the next best that lie far from the result and
    from each other; else none.

    A start's score is the mutual information of the two heads at 8 mm, with the patient's
    head turned about its centre of mass onto Colin27's. An optimized result outscores the
    unoptimized starts near it; one that does not stopped in a wrong optimum. A wrong
    optimum may outscore the starts near the right orientation (Colin27 turned 150 degrees
    about z: 0.705 against 0.698), and the best start may lead to one (see the module's
    note), so the best starts far from the result are run in any case.

    Parameters
    ----------
    fixed, moving : ants.ANTsImage
        The head stage's images (Colin27's head and the patient's, 2 mm).
    rigid_file : str
        The rigid stage's result (ANTs transform file, fixed-to-moving point map).
    out_folder : Path
        Where the starting transforms are written (``head_start_<n>.mat``).

    Returns
    -------
    list of Path
        The files of the starts, best first: none, or the best start (more than
        :data:`SAME_OPTIMUM_TURN_DEG` from the rigid result, or scoring better than it) and
        then up to :data:`MAX_SEARCHED_STARTS` - 1 more starts, each more than that turn
        from the rigid result and from every start before it.
    """
    fixed_coarse, moving_coarse = _coarse(fixed), _coarse(moving)
    centre_fixed = np.asarray(ants.get_center_of_mass(fixed))
    centre_moving = np.asarray(ants.get_center_of_mass(moving))

    def start(rotation: np.ndarray) -> ants.ANTsTransform:
        return ants.create_ants_transform(transform_type="AffineTransform", dimension=3, matrix=rotation,
                                          center=tuple(centre_fixed), translation=tuple(centre_moving - centre_fixed))

    fixed_bins = _bins(fixed_coarse)

    def score(transform) -> float:
        return _histogram_mutual_information(
            fixed_bins, transform.apply_to_image(moving_coarse, reference=fixed_coarse, interpolation="linear"))

    rotations = start_rotations()
    scores = [score(start(rotation)) for rotation in rotations]
    order = sorted(range(len(scores)), key=lambda index: -scores[index])  # ties: the first, as argmax
    rigid = ants.read_transform(rigid_file)
    rigid_linear = np.asarray(rigid.parameters[:9]).reshape(3, 3)

    def far(rotation: np.ndarray, other: np.ndarray) -> bool:
        # the start is a rotation, so the turn between the two is that of start^T @ other
        return turn_deg(rotation.T @ other) > SAME_OPTIMUM_TURN_DEG

    best = rotations[order[0]]
    if not far(best, rigid_linear) and score(rigid) >= scores[order[0]]:
        return []
    chosen = [best]
    for index in order[1:]:
        if len(chosen) == MAX_SEARCHED_STARTS:
            break
        candidate = rotations[index]
        if far(candidate, rigid_linear) and all(far(candidate, taken) for taken in chosen):
            chosen.append(candidate)
    files = []
    for number, rotation in enumerate(chosen):
        files.append(Path(out_folder) / f"head_start_{number}.mat")
        ants.write_transform(start(rotation), str(files[-1]))
    return files
