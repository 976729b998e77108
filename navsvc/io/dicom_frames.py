"""Each image of a DICOM series found, after conversion, where its own header places it;
the frames of an enhanced (multi-frame) MR instance put in stack order first.

An enhanced MR instance (DICOM PS3.3 A.36.2) holds every slice of a series as a frame of
one file. Each frame carries its own ``ImagePositionPatient`` (C.7.6.16.2.3, Plane
Position) and its place in the stack as ``InStackPositionNumber`` (C.7.6.16.2.2, Frame
Content); the standard does not fix the order in which the frames are stored.
dicom2nifti 2.6 puts each frame's pixels at its stack position but takes the volume's
slice direction from the first and last frames as stored: frames stored in the reverse of
their stack order gave a volume mirrored along the slice axis (of a sagittal series: left
and right exchanged), with a valid-looking affine. Hence the frames are stored in stack
order before conversion (:func:`frames_in_stack_order`), and the converted volume of any
series, single-frame files too, is checked against every image's own position
(:func:`check_frame_placement`), so that no converter error of this kind goes unnoticed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from navsvc.errors import InputError

#: a frame's pixels and the volume's voxels at the pixels' positions must correlate at
#: least this well: the same numbers up to the converter's linear rescaling give 1, and
#: any other slice of a head far less
MIN_FRAME_CORRELATION = 0.999
#: pixels sampled per frame along each in-plane axis (every n-th), for the check
SAMPLE_STEP = 4
#: largest distance of a pixel from a voxel centre of the converted volume, voxels: the
#: volume's slice step is the mean of the frames' (dicom2nifti), and the frames' positions
#: are written to a few decimals; within a quarter voxel, the nearest voxel is the pixel's
MAX_OFF_GRID_VOXELS = 0.25
#: where an image's placement is held: (functional group sequence, attribute)
_PLACEMENT = (("PlanePositionSequence", "ImagePositionPatient"),
              ("PlaneOrientationSequence", "ImageOrientationPatient"),
              ("PixelMeasuresSequence", "PixelSpacing"))


def _per_frame(ds) -> list:
    return list(ds.get("PerFrameFunctionalGroupsSequence", []))


def _frame_attribute(ds, frame, sequence: str, keyword: str):
    """A functional-group attribute of one frame: its per-frame value, else the shared one."""
    for groups in (frame, *ds.get("SharedFunctionalGroupsSequence", [])):
        if sequence in groups and keyword in groups[sequence][0]:
            return groups[sequence][0][keyword].value
    return None


def is_multiframe(ds) -> bool:
    """Whether ``ds`` stores a stack of frames with per-frame functional groups."""
    return len(_per_frame(ds)) > 1


def frames_in_stack_order(ds) -> bool:
    """Store the frames of an enhanced instance in their ``InStackPositionNumber`` order, in place.

    Only a single stack (one ``StackID``, every frame numbered) is reordered; anything else is
    left to the converter.

    Parameters
    ----------
    ds : pydicom.Dataset
        An enhanced MR instance, pixel data included.

    Returns
    -------
    bool
        Whether the frames were reordered (False: already in stack order, or not one stack).
    """
    frames = _per_frame(ds)
    contents = [frame.FrameContentSequence[0] if "FrameContentSequence" in frame else None for frame in frames]
    if len(frames) < 2 or any(c is None or "InStackPositionNumber" not in c for c in contents):
        return False
    if len({str(c.get("StackID", "")) for c in contents}) != 1:
        return False
    positions = np.array([int(c.InStackPositionNumber) for c in contents])
    if len(np.unique(positions)) != len(positions):
        return False
    order = np.argsort(positions, kind="stable")
    if np.array_equal(order, np.arange(len(order))):
        return False
    pixels = ds.pixel_array
    ds.PerFrameFunctionalGroupsSequence = [frames[i] for i in order]
    ds.set_pixel_data(np.ascontiguousarray(pixels[order]), ds.PhotometricInterpretation, int(ds.BitsStored))
    return True


@dataclass(frozen=True)
class PlacedFrame:
    """One 2-D image of a series and where its header puts it (DICOM Image Plane module)."""

    #: which image: "frame 12" of a multi-frame instance, "file 12" of a series
    name: str
    pixels: np.ndarray
    #: ImagePositionPatient, ImageOrientationPatient (LPS), PixelSpacing (row, column), mm
    position_lps_mm: np.ndarray
    orientation_lps: np.ndarray
    spacing_mm: np.ndarray


def placed_frames(datasets: list) -> list[PlacedFrame]:
    """The 2-D images of a series with their headers' placement, as the converter should use them.

    A multi-frame instance gives its frames (per-frame values, else shared ones). A
    single-frame series gives its files, except those dicom2nifti drops: localizers (by
    ``ImageType``, or an orientation other than the series' most common one).

    Raises
    ------
    InputError
        When an image lacks its position, orientation or pixel spacing.
    """
    multiframe = len(datasets) == 1 and is_multiframe(datasets[0])
    if multiframe:
        ds = datasets[0]
        pixels = ds.pixel_array
        items = [(f"frame {f + 1}", pixels[f], *(_frame_attribute(ds, frame, sequence, keyword)
                                                 for sequence, keyword in _PLACEMENT))
                 for f, frame in enumerate(_per_frame(ds))]
    else:
        items = [(f"file {i + 1}", ds.pixel_array, *(ds.get(keyword) for _, keyword in _PLACEMENT))
                 for i, ds in enumerate(datasets) if not _is_localizer(ds)]
    frames = []
    for name, pixels, position, orientation, spacing in items:
        if position is None or orientation is None or spacing is None:
            raise InputError(f"{name} of the series has no position, orientation or pixel spacing: "
                             "export the series again, or the T1 as NIfTI")
        frames.append(PlacedFrame(name, pixels, np.asarray(position, float), np.asarray(orientation, float),
                                  np.asarray(spacing, float)))
    if frames and not multiframe:
        usual = Counter(_orientation_key(f) for f in frames).most_common(1)[0][0]
        frames = [f for f in frames if _orientation_key(f) == usual]
    return frames


def _is_localizer(ds) -> bool:
    return "LOCALIZER" in [str(v).upper() for v in ds.get("ImageType", [])]


def _orientation_key(frame: PlacedFrame) -> tuple:
    return tuple(np.round(frame.orientation_lps, 3))


def check_frame_placement(frames: list[PlacedFrame], volume_data: np.ndarray, volume_affine: np.ndarray,
                          label: str) -> None:
    """Refuse a converted volume that does not hold each image at the image's own position.

    For every image, the centres of a grid of its pixels are placed in the patient by the
    DICOM Image Plane formula (PS3.3 C.7.6.2.1.1: ``ImagePositionPatient`` plus column and
    row steps along ``ImageOrientationPatient`` times ``PixelSpacing``, LPS mm, turned into
    RAS) from the image's own header; the volume's voxels there must be that image's
    pixels, up to the converter's linear rescaling.

    Parameters
    ----------
    frames : list of PlacedFrame
        The series' images (:func:`placed_frames`).
    volume_data : numpy.ndarray, 3-D
        The converted volume.
    volume_affine : numpy.ndarray, 4x4
        Its voxel-to-RAS affine, mm.
    label : str
        The series, for the error message.

    Raises
    ------
    InputError
        When an image's pixels are not in the volume where its header puts them.
    """
    to_voxel = np.linalg.inv(volume_affine)
    shape = np.asarray(volume_data.shape[:3])
    for frame in frames:
        pixels = frame.pixels
        rows, cols = (np.arange(0, n, SAMPLE_STEP) for n in pixels.shape[:2])
        row_index, col_index = (a.reshape(-1) for a in np.meshgrid(rows, cols, indexing="ij"))
        iop, spacing = frame.orientation_lps, frame.spacing_mm
        lps = (frame.position_lps_mm + np.outer(col_index * spacing[1], iop[:3])
               + np.outer(row_index * spacing[0], iop[3:]))
        ijk = (lps * [-1.0, -1.0, 1.0]) @ to_voxel[:3, :3].T + to_voxel[:3, 3]
        nearest = np.rint(ijk)
        inside = np.all((nearest >= 0) & (nearest < shape), axis=1)
        values = pixels[row_index, col_index].astype(np.float64)
        if np.ptp(values) == 0:
            continue  # a blank image (air) has nothing to compare
        if (not inside.all() or np.abs(ijk - nearest).max() > MAX_OFF_GRID_VOXELS
                or _correlation(values, volume_data[tuple(nearest.astype(int).T)]) < MIN_FRAME_CORRELATION):
            raise InputError(
                f"{label}: the converted volume does not hold {frame.name} where its header places it "
                "(the converter misread this layout; the image could be mirrored): export the T1 "
                "again, as single-frame DICOM or as NIfTI")


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    b = np.asarray(b, np.float64)
    if np.ptp(b) == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])
