"""De-identification of a DICOM series: nothing identifying survives, the image does.

A Colin27 series (3 mm, sagittal slices) is given the identifying attributes a
scanner's export carries (names, institution, station, dates, a private tag with the
patient's name, an overlay, cross-file references, the sending station's AE title),
zipped, de-identified and read back. Checked: none of the identifying values and none
of the original instance UIDs occurs anywhere in the stored bytes; the series is still
one series with one frame of reference, references still point at the right file, the
standard's class and syntax UIDs are unchanged, and the stored series converts to
exactly the same volume in the same place as the uploaded one. The attribute table of the
confidentiality profile is checked image by image in ``test_io_deidentify_dicom_table``.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from corpus.dicom_series import strip_part10_header, write_dicom_series, write_enhanced_dicom
from corpus.make_bad_images import colin27
from navsvc.errors import InputError
from navsvc.io import limits, load_t1
from navsvc.io.deidentify import deidentify_dicom_zip, deidentify_file
from navsvc.io.dicom_confidentiality import DICOM_STANDARD_UID_ROOT, replacement_uid

#: identifying values written into the upload; none may reach the stored copy
IDENTIFYING = {
    "PatientName": "Quixote^Zebulon",
    "PatientID": "MRN4711",
    "InstitutionName": "St Elsewhere Hospital",
    "StationName": "MRSTATION7",
    "DeviceSerialNumber": "SN-99-12345",
    "StudyID": "ST7788",
    "AccessionNumber": "ACC31337",
    "OperatorsName": "Operator^Olga",
    "ReferringPhysicianName": "Referrer^Rita",
    "StudyDescription": "Brain for Zebulon",
    "ImageComments": "pt Zebulon claustrophobic",
    "StudyDate": "20240317",
    "AcquisitionTime": "101112.5",
    # not in Table E.1-1 (2026c): caught by the patient module's group and by VR (DA, TM, DT)
    "PatientBirthDateInAlternativeCalendar": "13580512",
    "DateOfGainCalibration": "20230911",
    "TimeOfGainCalibration": "093015",
    "StudyUpdateDateTime": "20230912081500",
}
#: the file meta's AE titles: of the sending station, the sender and the receiver
FILE_META_AE_TITLES = {"SourceApplicationEntityTitle": "STELSEWHERE_MR7",
                       "SendingApplicationEntityTitle": "STELSEWHERE_GW",
                       "ReceivingApplicationEntityTitle": "ZEBULON_PACS"}
PRIVATE_VALUE = "ZEBULON QUIXOTE PRIVATE"
PERFORMER_IN_SEQUENCE = "Performer^Paula"
#: a person name in an attribute Table E.1-1 does not list: caught by its VR (PN)
REVIEWER_IN_SEQUENCE = "Reviewer^Rhea"
#: SOP class of a DICOM Encapsulated PDF (PS3.4 Annex B.5)
ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"


def _identify(paths) -> None:
    """Give each written slice a scanner export's identifying attributes."""
    uids = [pydicom.dcmread(p).SOPInstanceUID for p in paths]
    for k, path in enumerate(paths):
        ds = pydicom.dcmread(path)
        for keyword, value in IDENTIFYING.items():
            setattr(ds, keyword, value)
        block = ds.private_block(0x0029, "ACME 1.0", create=True)
        block.add_new(0x10, "LO", PRIVATE_VALUE)
        ds.add_new(0x60003000, "OW", b"\x01\x00" * 8)  # overlay data
        step = Dataset()
        step.PerformingPhysicianName = PERFORMER_IN_SEQUENCE
        step.SecondaryReviewerName = REVIEWER_IN_SEQUENCE
        step.PerformedProcedureStepStartDate = "20240317"
        ds.PerformedProtocolCodeSequence = Sequence([step])
        ref = Dataset()
        ref.ReferencedSOPClassUID = ds.SOPClassUID
        ref.ReferencedSOPInstanceUID = uids[(k + 1) % len(uids)]
        ds.ReferencedInstanceSequence = Sequence([ref])
        ds.ReferencedImageSequence = Sequence([ref])  # removed whole (Table E.1-1: X/Z/U*)
        for keyword, value in FILE_META_AE_TITLES.items():
            setattr(ds.file_meta, keyword, value)
        ds.save_as(path, enforce_file_format=True)


@pytest.fixture(scope="module")
def upload(tmp_path_factory):
    """(raw zip, de-identified zip, the raw datasets) of an identified 3 mm Colin27 series."""
    folder = tmp_path_factory.mktemp("deid")
    paths = write_dicom_series(colin27(3), folder / "Quixote_Zebulon", orientation="sagittal")
    _identify(paths)
    raw = _zipped(paths, folder / "raw.zip", "Quixote_Zebulon")
    clean = folder / "clean.zip"
    deidentify_file(raw, clean)
    return raw, clean, [pydicom.dcmread(p) for p in paths]


def _zipped(paths, archive_path, folder: str):
    """The files ``paths`` zipped into ``archive_path`` under ``folder/``."""
    with zipfile.ZipFile(archive_path, "w") as handle:
        for path in paths:
            handle.write(path, f"{folder}/{path.name}")
    return archive_path


def _stored(clean):
    with zipfile.ZipFile(clean) as handle:
        blobs = [handle.read(name) for name in handle.namelist()]
    return blobs, [pydicom.dcmread(io.BytesIO(blob)) for blob in blobs]


def test_no_identifying_value_or_instance_uid_is_stored(upload):
    _, clean, originals = upload
    blobs, _ = _stored(clean)
    stored = b"".join(blobs)
    secrets = [*IDENTIFYING.values(), *FILE_META_AE_TITLES.values(), PRIVATE_VALUE, PERFORMER_IN_SEQUENCE,
               REVIEWER_IN_SEQUENCE, "Zebulon",
               "20240101"]  # the fixture's own study date
    for ds in originals:
        secrets += [ds.SOPInstanceUID, ds.SeriesInstanceUID, ds.StudyInstanceUID, ds.FrameOfReferenceUID]
    assert [s for s in set(secrets) if s.encode() in stored] == []


def test_attributes_are_blanked_removed_and_marked(upload):
    _, clean, _ = upload
    for ds in _stored(clean)[1]:
        assert str(ds.PatientName) == "" and not ds.get("PatientID")
        assert not ds.get("StudyDate") and not ds.get("AcquisitionTime") and not ds.get("SeriesDescription")
        step = ds.PerformedProtocolCodeSequence[0]
        assert "PerformingPhysicianName" not in step and str(step.SecondaryReviewerName) == ""
        assert "ReferencedImageSequence" not in ds
        assert not any(element.tag.is_private for element in ds.iterall())
        assert 0x60003000 not in ds
        assert not any(keyword in ds.file_meta for keyword in FILE_META_AE_TITLES)
        assert ds.preamble == b"\0" * 128
        assert ds.PatientIdentityRemoved == "YES" and ds.LongitudinalTemporalInformationModified == "REMOVED"
        method = list(ds.DeidentificationMethod)
        assert method[0] == "navsvc: DICOM PS3.15 E.1 basic profile, table 2026c"
        assert len(method) == 4 and all(0 < len(value) <= 64 for value in method)


def test_uids_are_replaced_consistently_and_standard_ones_kept(upload):
    _, clean, originals = upload
    stored = _stored(clean)[1]
    by_original = {ds.SOPInstanceUID: ds for ds in originals}
    new_sop = {replacement_uid(uid) for uid in by_original}
    assert {ds.SOPInstanceUID for ds in stored} == new_sop and len(new_sop) == len(originals)
    assert len({ds.SeriesInstanceUID for ds in stored}) == 1
    assert len({ds.StudyInstanceUID for ds in stored}) == 1
    assert len({ds.FrameOfReferenceUID for ds in stored}) == 1
    for ds in stored:
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.ReferencedInstanceSequence[0].ReferencedSOPInstanceUID in new_sop
        for uid in (ds.SOPInstanceUID, ds.SeriesInstanceUID, ds.StudyInstanceUID, ds.FrameOfReferenceUID):
            assert uid.startswith("2.25.") and len(uid) <= 64 and pydicom.uid.UID(uid).is_valid
        assert ds.SOPClassUID == originals[0].SOPClassUID
        assert ds.SOPClassUID.startswith(DICOM_STANDARD_UID_ROOT)
        assert ds.file_meta.TransferSyntaxUID == originals[0].file_meta.TransferSyntaxUID
    # each reference still names the file it named before
    for original in originals:
        referenced = original.ReferencedInstanceSequence[0].ReferencedSOPInstanceUID
        copy = next(ds for ds in stored if ds.SOPInstanceUID == replacement_uid(original.SOPInstanceUID))
        assert copy.ReferencedInstanceSequence[0].ReferencedSOPInstanceUID == replacement_uid(referenced)


def test_stored_series_is_the_same_image_in_the_same_place(upload, tmp_path):
    raw, clean, _ = upload
    before = load_t1(raw, work_dir=tmp_path)
    after = load_t1(clean, work_dir=tmp_path)
    assert after.data.shape == before.data.shape
    np.testing.assert_array_equal(after.affine, before.affine)
    np.testing.assert_array_equal(after.data, before.data)


def test_same_upload_gives_the_same_bytes(upload, tmp_path):
    raw, clean, _ = upload
    again = tmp_path / "again.zip"
    deidentify_file(raw, again)
    assert again.read_bytes() == clean.read_bytes()


def _flip_bits(raw, folder, name: str, position: int, bits: int):
    """A copy of the raw zip with the byte at ``position`` XOR ``bits``."""
    data = bytearray(raw.read_bytes())
    data[position] ^= bits
    out = folder / name
    out.write_bytes(bytes(data))
    return out


def test_a_damaged_or_encrypted_member_is_refused_with_its_name(upload, tmp_path):
    # the same checks as the loader's unpacking (navsvc.io.zip_members.checked_members and
    # read_member): a library caller gets InputError, not zipfile's own exceptions
    raw = upload[0]
    with zipfile.ZipFile(raw) as handle:
        first = handle.infolist()[0]
        offset = first.header_offset + 30 + len(first.filename.encode()) + len(first.extra)
    corrupt = _flip_bits(raw, tmp_path, "crc.zip", offset + 200, 0xFF)  # inside the first member's data
    with pytest.raises(InputError, match="is corrupt or not what the archive declares"):
        deidentify_file(corrupt, tmp_path / "out1.zip")
    # the encryption flag in the central directory (general-purpose bit 0)
    central = raw.read_bytes().rfind(b"PK\x01\x02")
    encrypted = _flip_bits(raw, tmp_path, "enc.zip", central + 8, 0x01)
    with pytest.raises(InputError, match="is encrypted"):
        deidentify_file(encrypted, tmp_path / "out2.zip")


def _encapsulated_pdf(text: bytes) -> bytes:
    """A DICOM Encapsulated PDF instance (a scanned report) whose document holds ``text``."""
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = ENCAPSULATED_PDF_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = FileDataset("report.dcm", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = ENCAPSULATED_PDF_STORAGE, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.MIMETypeOfEncapsulatedDocument = "DOC", "application/pdf"
    ds.EncapsulatedDocument = b"%PDF-1.4 " + text
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_a_report_beside_the_series_is_left_out(upload, tmp_path):
    # a scanned report's text lies inside its PDF, out of reach of any attribute rule
    raw, clean, _ = upload
    with_report = tmp_path / "with_report.zip"
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(with_report, "w") as handle:
        for name in source.namelist():
            handle.writestr(name, source.read(name))
        handle.writestr("Quixote_Zebulon/report.dcm", _encapsulated_pdf(b"Patient: Zebulon Quixote"))
    target = tmp_path / "clean.zip"
    deidentify_file(with_report, target)
    blobs, datasets = _stored(target)
    assert len(blobs) == len(_stored(clean)[0])
    assert not any(b"Zebulon" in blob for blob in blobs)
    assert all("PixelData" in ds for ds in datasets)


def test_a_member_larger_than_a_whole_volume_is_refused_unread(upload, tmp_path, monkeypatch):
    # a 1 GiB document zipped to 1 MiB took 4.3 GiB of memory to de-identify
    raw, _, _ = upload
    bloated = tmp_path / "bloated.zip"
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(bloated, "w", zipfile.ZIP_DEFLATED) as handle:
        for name in source.namelist():
            handle.writestr(name, source.read(name))
        handle.writestr("Quixote_Zebulon/report.dcm", _encapsulated_pdf(bytes(4 * 2**20)))
    monkeypatch.setattr(limits, "MAX_DICOM_FILE_BYTES", 2**20)
    with pytest.raises(InputError, match="member 'Quixote_Zebulon/report.dcm' would unpack to 4 MiB"):
        deidentify_file(bloated, tmp_path / "clean.zip")
    with pytest.raises(InputError, match="upload only the T1 series"):
        load_t1(bloated)


def test_files_without_the_part10_header_are_stored_as_part10_files(tmp_path):
    """Bare data sets (no preamble, no file meta) are de-identified, not dropped: the stored
    copies are Part 10 files of the same volume."""
    paths = write_dicom_series(colin27(3), tmp_path / "series", orientation="sagittal")
    for path in paths:
        strip_part10_header(path)
    stored = tmp_path / "stored.zip"
    deidentify_file(_zipped(paths, tmp_path / "upload.zip", "S1"), stored)
    members, _ = _stored(stored)
    assert len(members) == len(paths) and all(m[128:132] == b"DICM" for m in members)
    original, kept = load_t1(tmp_path / "series"), load_t1(stored)
    np.testing.assert_array_equal(kept.data, original.data)
    np.testing.assert_allclose(kept.affine, original.affine, atol=1e-6)


def test_a_series_the_archive_does_not_hold_is_named_not_called_no_dicom(upload, tmp_path):
    raw, _, _ = upload
    with pytest.raises(InputError, match=r"holds no image of series 1\.2\.3\.4: choose one of its series"):
        deidentify_file(raw, tmp_path / "clean.zip", "1.2.3.4")


def test_other_members_are_left_out_wherever_they_sort_and_images_renamed_by_index(upload, tmp_path):
    """A non-image member sorting before the slices (a DICOMDIR, a report, a text file) is
    skipped, not taken for the end of the series; the kept images are named by index only."""
    raw, clean, _ = upload
    mixed = tmp_path / "mixed.zip"
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(mixed, "w") as handle:
        handle.writestr("Quixote_Zebulon/0_notes.txt", b"Zebulon Quixote, see report")
        handle.writestr("Quixote_Zebulon/0_report.dcm", _encapsulated_pdf(b"Patient: Zebulon Quixote"))
        for name in source.namelist():
            handle.writestr(name, source.read(name))
        n_images = len(source.namelist())
    target = tmp_path / "kept.zip"
    assert deidentify_dicom_zip(mixed, target) == n_images
    with zipfile.ZipFile(target) as handle:
        assert handle.namelist() == [f"{k:06d}.dcm" for k in range(n_images)]
    assert target.read_bytes() == clean.read_bytes()


def test_an_archive_without_dicom_images_is_refused(tmp_path):
    archive = tmp_path / "no_images.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("notes.txt", b"nothing here")
        handle.writestr("report.dcm", _encapsulated_pdf(b"a report"))
    with pytest.raises(InputError, match="^the archive holds no DICOM image: zip the folder of the T1 series$"):
        deidentify_file(archive, tmp_path / "out.zip")


@pytest.mark.parametrize("burned_in", ["YES", "NO"])
def test_an_image_with_text_burned_into_its_pixels_is_refused(upload, tmp_path, burned_in):
    """Burned In Annotation YES: the pixels show text (a name, a date) that no attribute rule
    reaches, so the archive is refused, not stored with it; NO is stored as any other."""
    raw = upload[0]
    marked = tmp_path / "marked.zip"
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(marked, "w") as handle:
        for k, name in enumerate(source.namelist()):
            ds = pydicom.dcmread(io.BytesIO(source.read(name)))
            if k == 3:
                ds.BurnedInAnnotation = burned_in
            buffer = io.BytesIO()
            ds.save_as(buffer, enforce_file_format=True)
            handle.writestr(name, buffer.getvalue())
    if burned_in == "NO":
        deidentify_file(marked, tmp_path / "kept.zip")
        return
    with pytest.raises(InputError, match=r"pixels show text .* \(Burned In Annotation: YES\), .* export the T1 series "
                                         "without annotations"):
        deidentify_file(marked, tmp_path / "kept.zip")


@pytest.mark.parametrize("manufacturer", ["SIEMENS", "GE MEDICAL SYSTEMS", "Philips Medical Systems"])
def test_a_stored_enhanced_multiframe_instance_is_the_same_image_in_the_same_place(tmp_path, manufacturer):
    """Every slice a frame of one file, its placement in per-frame functional groups, which the
    attribute rules walk into (frame dates and comments): converted as before, by the converter's
    path for this manufacturer."""
    path = tmp_path / "t1" / "IM0001.dcm"
    write_enhanced_dicom(colin27(3), path, orientation="sagittal", manufacturer=manufacturer,
                         frame_order="descending")
    raw, clean = _zipped([path], tmp_path / "raw.zip", "Quixote_Zebulon"), tmp_path / "clean.zip"
    deidentify_file(raw, clean)
    before, after = load_t1(raw, work_dir=tmp_path), load_t1(clean, work_dir=tmp_path)
    np.testing.assert_array_equal(after.affine, before.affine)
    np.testing.assert_array_equal(after.data, before.data)
    assert _stored(clean)[1][0].PatientIdentityRemoved == "YES"
