"""Write a NIfTI volume as a single-frame MR DICOM series, or as one enhanced
(multi-frame) MR instance (test fixture helpers).

The geometry follows DICOM PS3.3 C.7.6.2 (Image Plane module): patient coordinates
are LPS; ``ImageOrientationPatient`` holds the direction cosines of the first row
(direction of increasing column index) then of the first column (direction of
increasing row index); ``PixelSpacing`` is ``[spacing between rows, spacing between
columns]``; ``ImagePositionPatient`` is the centre of the first transmitted pixel.
The centre of pixel (row ``r``, column ``c``) of a slice is therefore
``IPP + c * PixelSpacing[1] * row_cosine + r * PixelSpacing[0] * column_cosine``.

The NIfTI array axis 0 becomes the DICOM column index, axis 1 the row index and
axis 2 the slice index, so a volume first reoriented to axis codes ``('L', 'P', 'S')``
is written as a conventional axial series with ``ImageOrientationPatient =
[1, 0, 0, 0, 1, 0]``.

An enhanced MR instance (PS3.3 A.36.2, Enhanced MR Image IOD) holds every slice as a
frame of one file: the orientation and pixel spacing in the shared functional groups
(C.7.6.16.2.1 Pixel Measures, C.7.6.16.2.4 Plane Orientation), each frame's
``ImagePositionPatient`` in its own per-frame group (C.7.6.16.2.3 Plane Position), and
its place in the stack as ``InStackPositionNumber`` (C.7.6.16.2.2 Frame Content).
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import EnhancedMRImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

#: NIfTI axis codes (array axes 0, 1, 2) of common scanner slice orientations
ORIENTATIONS = {
    "axial": ("L", "P", "S"),  # IOP [1,0,0, 0,1,0], slices foot -> head
    "sagittal": ("P", "I", "L"),  # IOP [0,1,0, 0,0,-1], slices right -> left
    "coronal": ("L", "I", "A"),  # IOP [1,0,0, 0,0,-1], slices posterior -> anterior
}

_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])


def reorient(img: nib.Nifti1Image, axcodes: tuple[str, str, str]) -> nib.Nifti1Image:
    """Return ``img`` with its voxel array reordered to ``axcodes`` (same head in world space).

    Parameters
    ----------
    img : nibabel.Nifti1Image
        Source volume.
    axcodes : tuple of str
        Target axis codes, e.g. ``('L', 'P', 'S')``.

    Returns
    -------
    nibabel.Nifti1Image
    """
    current = nib.orientations.io_orientation(img.affine)
    wanted = nib.orientations.axcodes2ornt(axcodes)
    return img.as_reoriented(nib.orientations.ornt_transform(current, wanted))


def write_dicom_series(
    img: nib.Nifti1Image,
    out_dir: str | Path,
    *,
    orientation: str | None = "axial",
    series_number: int = 1,
    description: str = "T1 MPRAGE",
    series_uid: str | None = None,
    study_uid: str | None = None,
    with_pixels: bool = True,
    prefix: str = "IM",
) -> list[Path]:
    """Write ``img`` as one DICOM file per slice into ``out_dir``.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        3-D volume with an affine whose columns are orthogonal (oblique is fine).
        Values are rounded and stored as unsigned 16-bit integers, so give
        non-negative intensities.
    out_dir : str or Path
        Folder to write into (created).
    orientation : {'axial', 'sagittal', 'coronal'} or None
        Scanner slice orientation to reorient to first; ``None`` keeps the voxel order.
    series_number : int
        DICOM SeriesNumber.
    description : str
        DICOM SeriesDescription.
    series_uid, study_uid : str, optional
        UIDs to use (generated when omitted).
    with_pixels : bool
        ``False`` writes image headers (Rows, Columns, ...) without a PixelData element.
    prefix : str
        File name prefix.

    Returns
    -------
    list of Path
        The written files, in slice order.
    """
    if orientation is not None:
        img = reorient(img, ORIENTATIONS[orientation])
    data = np.asanyarray(img.dataobj)
    if data.ndim != 3:
        raise ValueError(f"need a 3-D volume, got shape {data.shape}")
    affine = img.affine
    axes = affine[:3, :3]
    spacing = np.sqrt((axes**2).sum(axis=0))
    cosines = _RAS_TO_LPS @ (axes / spacing)
    if abs(float(cosines[:, 0] @ cosines[:, 1])) > 1e-4:
        raise ValueError("in-plane axes are not orthogonal: DICOM cannot express this affine")
    pixels = np.clip(np.rint(data.astype(np.float64)), 0, 65535).astype(np.uint16)  # rint(uint8) is float16

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    study_uid = study_uid or generate_uid()
    frame_uid = generate_uid()
    n_cols, n_rows, n_slices = data.shape
    paths = []
    for k in range(n_slices):
        position = _RAS_TO_LPS @ (affine @ np.array([0.0, 0.0, k, 1.0]))[:3]
        ds = _slice_dataset(series_uid, study_uid, frame_uid)
        ds.SeriesNumber = series_number
        ds.SeriesDescription = description
        ds.InstanceNumber = k + 1
        ds.ImageOrientationPatient = [_ds(v) for v in (*cosines[:, 0], *cosines[:, 1])]
        ds.ImagePositionPatient = [_ds(v) for v in position]
        ds.PixelSpacing = [_ds(spacing[1]), _ds(spacing[0])]
        ds.SliceThickness = _ds(spacing[2])
        ds.SpacingBetweenSlices = _ds(spacing[2])
        ds.SliceLocation = _ds(position @ np.cross(cosines[:, 0], cosines[:, 1]))
        ds.Rows, ds.Columns = n_rows, n_cols
        ds.RescaleIntercept = "0"
        ds.RescaleSlope = "1"
        if with_pixels:
            # rows follow array axis 1, columns axis 0: the slice transposed
            ds.PixelData = np.ascontiguousarray(pixels[:, :, k].T).tobytes()
        path = out / f"{prefix}{k + 1:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def write_enhanced_dicom(
    img: nib.Nifti1Image,
    path: str | Path,
    *,
    orientation: str = "axial",
    manufacturer: str = "navsvc-test",
    frame_order: str = "ascending",
) -> Path:
    """Write ``img`` as one enhanced (multi-frame) MR DICOM file.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        As for :func:`write_dicom_series`.
    path : str or Path
        The file to write (its folder is created).
    orientation : {'axial', 'sagittal', 'coronal'}
        Scanner slice orientation to reorient to first.
    manufacturer : str
        DICOM Manufacturer (converters choose their reader by it).
    frame_order : {'ascending', 'descending'}
        The order in which the slices are stored as frames; each frame's
        ``InStackPositionNumber`` and ``ImagePositionPatient`` say where it belongs.

    Returns
    -------
    Path
        The written file.
    """
    img = reorient(img, ORIENTATIONS[orientation])
    data = np.asanyarray(img.dataobj)
    affine = img.affine
    spacing = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    cosines = _RAS_TO_LPS @ (affine[:3, :3] / spacing)
    pixels = np.clip(np.rint(data.astype(np.float64)), 0, 65535).astype(np.uint16)
    n_cols, n_rows, n_slices = data.shape
    slices = list(range(n_slices)) if frame_order == "ascending" else list(range(n_slices))[::-1]

    ds = _slice_dataset(generate_uid(), generate_uid(), generate_uid(), EnhancedMRImageStorage)
    ds.Manufacturer = manufacturer
    ds.SeriesNumber = 3
    ds.SeriesDescription = "T1 MPRAGE"
    ds.InstanceNumber = 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
    ds.NumberOfFrames = n_slices
    ds.Rows, ds.Columns = n_rows, n_cols
    measures = Dataset()
    measures.PixelSpacing = [_ds(spacing[1]), _ds(spacing[0])]
    measures.SliceThickness = _ds(spacing[2])
    measures.SpacingBetweenSlices = _ds(spacing[2])
    plane = Dataset()
    plane.ImageOrientationPatient = [_ds(v) for v in (*cosines[:, 0], *cosines[:, 1])]
    scaling = Dataset()
    scaling.RescaleIntercept = "0"
    scaling.RescaleSlope = "1"
    scaling.RescaleType = "US"
    shared = Dataset()
    shared.PixelMeasuresSequence = [measures]
    shared.PlaneOrientationSequence = [plane]
    shared.PixelValueTransformationSequence = [scaling]
    ds.SharedFunctionalGroupsSequence = [shared]
    frames = []
    for k in slices:
        position = Dataset()
        position.ImagePositionPatient = [_ds(v) for v in _RAS_TO_LPS @ (affine @ np.array([0.0, 0.0, k, 1.0]))[:3]]
        content = Dataset()
        content.StackID = "1"
        content.InStackPositionNumber = k + 1
        content.DimensionIndexValues = [1, k + 1]
        frame = Dataset()
        frame.PlanePositionSequence = [position]
        frame.FrameContentSequence = [content]
        frames.append(frame)
    ds.PerFrameFunctionalGroupsSequence = frames
    # frame f holds slice slices[f], rows along array axis 1 and columns along axis 0
    ds.PixelData = np.ascontiguousarray(np.transpose(pixels[:, :, slices], (2, 1, 0))).tobytes()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def strip_part10_header(path: str | Path, implicit_vr: bool = True) -> None:
    """Rewrite a DICOM file as the bare data set, as older systems wrote it: no 128-byte
    preamble and ``DICM``, no file meta information (PS3.10 7.1), little endian."""
    ds = pydicom.dcmread(path)
    ds.preamble = None
    del ds.file_meta
    ds.save_as(path, implicit_vr=implicit_vr, little_endian=True, enforce_file_format=False)


def _ds(value: float) -> str:
    """A DICOM decimal string (at most 16 characters)."""
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text[:16]


def _slice_dataset(series_uid: str, study_uid: str, frame_uid: str, sop_class: str = MRImageStorage) -> FileDataset:
    """An MR image dataset with patient, study and equipment attributes filled in."""
    sop_uid = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = frame_uid
    ds.Modality = "MR"
    ds.Manufacturer = "navsvc-test"
    ds.PatientName = "Test^Colin27"
    ds.PatientID = "COLIN27"
    ds.StudyDate = ds.SeriesDate = "20240101"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
    ds.ScanningSequence = "GR"
    ds.SequenceVariant = "SP"
    ds.MRAcquisitionType = "3D"
    ds.EchoTime = "3"
    ds.RepetitionTime = "2000"
    # the pixels: unsigned 16-bit grey values
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    return ds
