"""DICOM uploads: de-identification of a series zip, damaged members, a whole study and
the choice of its series."""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from api.models import Image
from api_test_helpers import assert_nothing_stored, upload_file
from corpus.dicom_series import write_dicom_series
from corpus.damaged_dicom import DICOM_DAMAGES, damage_dicom
from corpus.make_bad_images import colin27
from navsvc.errors import InputError
from navsvc.io.deidentify import deidentify_file


def test_deidentify_dicom_zip(tmp_path):
    source = get_testdata_file("MR_small.dcm")
    original = pydicom.dcmread(source)
    archive = tmp_path / "series.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(source, "DOE^JANE/IM0001.dcm")
        handle.writestr("notes.txt", "patient Jane Doe")
    target = tmp_path / "clean.zip"
    deidentify_file(archive, target)
    with zipfile.ZipFile(target) as handle:
        assert handle.namelist() == ["000000.dcm"]
        data = handle.read("000000.dcm")
    cleaned = pydicom.dcmread(io.BytesIO(data))
    assert str(cleaned.PatientName) == "" and not cleaned.get("PatientID")
    assert str(original.PatientName).encode() not in data
    assert (cleaned.pixel_array == original.pixel_array).all()
    again = tmp_path / "again.zip"
    deidentify_file(archive, again)
    assert again.read_bytes() == target.read_bytes()


@pytest.fixture(scope="module")
def dicom_series(tmp_path_factory) -> list:
    """A valid T1 series: Colin27 at 3 mm as 61 axial DICOM slices."""
    return write_dicom_series(colin27(3), tmp_path_factory.mktemp("dicom") / "t1")


#: damage after which pydicom reads the data set wrongly and finds no image in it: left out of
#: the stored series like any member that is not a DICOM image (the series search skips it too)
READ_AS_NO_IMAGE = ("non_text_meta_vr",)


@pytest.mark.parametrize("damage", [d for d in DICOM_DAMAGES if d not in READ_AS_NO_IMAGE])
def test_deidentify_refuses_a_damaged_dicom_member_by_name(dicom_series, tmp_path, damage):
    """A member that is DICOM but cannot be read, walked or written cannot be de-identified:
    InputError naming it (pydicom raised NotImplementedError, BytesLengthException, TypeError,
    AttributeError or ValueError, which the upload answered with 500)."""
    archive = tmp_path / "series.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(dicom_series[0], "IM0001.dcm")
        handle.writestr("extra/IM9999.dcm", damage_dicom(dicom_series[1].read_bytes(), damage))
    with pytest.raises(InputError, match="member 'extra/IM9999.dcm' is a damaged DICOM file"):
        deidentify_file(archive, tmp_path / "clean.zip")


@pytest.mark.parametrize("damage", READ_AS_NO_IMAGE)
def test_a_dicom_member_read_as_no_image_is_left_out(dicom_series, tmp_path, damage):
    archive = tmp_path / "series.zip"
    damaged = damage_dicom(dicom_series[1].read_bytes(), damage)
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(dicom_series[0], "IM0001.dcm")
        handle.writestr("extra/IM9999.dcm", damaged)
    deidentify_file(archive, tmp_path / "clean.zip")
    with zipfile.ZipFile(tmp_path / "clean.zip") as handle:
        assert len(handle.namelist()) == 1


# the series search skips these files, so validation passes and de-identification meets them
@pytest.mark.parametrize("damage", ["unknown_vr", "odd_length_us", "short_meta_group_length"])
def test_upload_with_a_damaged_dicom_file_beside_the_series_is_422(client, app, auth, patient,
                                                                   dicom_series, tmp_path, damage):
    archive = tmp_path / "series.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in dicom_series:
            handle.write(path, path.name)
        handle.writestr("IM9999.dcm", damage_dicom(dicom_series[30].read_bytes(), damage))
    response = upload_file(client, auth, patient, archive, "t1.zip")
    assert response.status_code == 422, response.text
    assert "member 'IM9999.dcm' is a damaged DICOM file" in response.json()["detail"]
    assert_nothing_stored(client, app, auth, patient)


def test_dicom_header_values_never_logged(client, auth, patient, dicom_series, tmp_path, caplog,
                                          recwarn):
    """pydicom's value checks quote an invalid value in a warning (log record and ``warnings``);
    read before de-identification, such values are the patient's: a non-standard birth date, a
    malformed name, a UID carrying the MRN. None of them may reach a log, from validation or
    de-identification. (pydicom 3.0.2 checks, and quotes, UI and IS values when reading.)"""
    caplog.set_level(logging.DEBUG)
    identifiers = ("02.04.1980", "Zebulon", "MRN4711")
    archive = tmp_path / "series.zip"
    with zipfile.ZipFile(archive, "w") as handle, pydicom.config.disable_value_validation():
        for path in dicom_series:
            dataset = pydicom.dcmread(path)
            dataset.PatientBirthDate = "02.04.1980"
            dataset.PatientName = "Quixote^Zebulon=Q=Z=X"  # four component groups, three allowed
            dataset.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.MRN4711"
            buffer = io.BytesIO()
            dataset.save_as(buffer)
            handle.writestr(path.name, buffer.getvalue())
    response = upload_file(client, auth, patient, archive, "t1.zip")
    assert response.status_code == 201, response.text
    logged = [record.getMessage() for record in caplog.records]
    assert not [text for text in logged if any(value in text for value in identifiers)]
    warned = [str(warning.message) for warning in recwarn]
    assert not [text for text in warned if any(value in text for value in identifiers)]


def test_dicom_upload_is_unpacked_inside_the_data_folder(client, app, auth, patient, dicom_series,
                                                         tmp_path, monkeypatch):
    """Validation converts the raw (not yet de-identified) series: never in the system
    temporary folder, where a killed process would leave it outside the private data folder."""
    import navsvc.io.loader as loader

    folders = []
    convert = loader.dicom_to_nifti
    monkeypatch.setattr(loader, "dicom_to_nifti",
                        lambda source, out, series=None: folders.append(Path(out)) or convert(source, out, series))
    archive = tmp_path / "series.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in dicom_series:
            handle.write(path, path.name)
    response = upload_file(client, auth, patient, archive, "t1.zip")
    assert response.status_code == 201, response.text
    assert folders and all(folder.parent == app.state.storage.tmp_dir for folder in folders)
    assert not any(app.state.storage.tmp_dir.iterdir())


@pytest.fixture(scope="module")
def study_zip(tmp_path_factory) -> Path:
    """A whole study as PACS exports it: the T1 (series 3, 61 axial slices) and a second
    image series (series 8, 61 sagittal slices), zipped together."""
    folder = tmp_path_factory.mktemp("study")
    write_dicom_series(colin27(3), folder / "S3", series_number=3, description="t1_mprage",
                       series_uid="1.2.826.0.1.3680043.8.498.3", prefix="A")
    write_dicom_series(colin27(3), folder / "S8", series_number=8, description="t2_tse",
                       orientation="sagittal", series_uid="1.2.826.0.1.3680043.8.498.8", prefix="B")
    return _zip_folder(folder, "study.zip")


def _upload_series(client, auth, patient, archive: Path, series: str | None):
    query = "" if series is None else f"?series={series}"
    with open(archive, "rb") as handle:
        return client.post(f"/api/v1/patients/{patient['id']}/images{query}", headers=auth["technician"],
                           files={"file": ("study.zip", handle)})


def _stored_series(app, image: dict) -> set[tuple[str, int]]:
    with app.state.db.session() as session:
        stored = app.state.storage.root / session.get(Image, image["id"]).stored_path
    with zipfile.ZipFile(stored) as archive:
        numbers = [int(pydicom.dcmread(io.BytesIO(archive.read(m))).SeriesNumber) for m in archive.namelist()]
    return {(str(n), numbers.count(n)) for n in numbers}


def test_a_study_upload_names_its_series_and_stores_the_one_asked_for(client, app, auth, patient, study_zip):
    refused = _upload_series(client, auth, patient, study_zip, None)
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert "2 image series" in detail and "series 3 't1_mprage'" in detail and "query parameter series" in detail
    assert_nothing_stored(client, app, auth, patient)

    first = _upload_series(client, auth, patient, study_zip, "3")
    assert first.status_code == 201 and first.json()["format"] == "dicom", first.text
    assert _stored_series(app, first.json()) == {("3", 61)}  # the T2 is not stored
    again = _upload_series(client, auth, patient, study_zip, "3")
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    same_by_uid = _upload_series(client, auth, patient, study_zip, "1.2.826.0.1.3680043.8.498.3")
    assert (same_by_uid.status_code, same_by_uid.json()["id"]) == (200, first.json()["id"])
    by_uid = _upload_series(client, auth, patient, study_zip, "1.2.826.0.1.3680043.8.498.8")
    assert by_uid.status_code == 201 and by_uid.json()["id"] != first.json()["id"]
    assert _stored_series(app, by_uid.json()) == {("8", 61)}


def test_a_series_that_is_not_there_or_a_series_of_a_nifti_is_refused(client, app, auth, patient,
                                                                      study_zip, small_head):
    missing = _upload_series(client, auth, patient, study_zip, "99")
    assert missing.status_code == 422 and "no series '99'" in missing.json()["detail"]
    nifti = client.post(f"/api/v1/patients/{patient['id']}/images?series=3", headers=auth["technician"],
                        files={"file": ("head.nii.gz", small_head.read_bytes())})
    assert nifti.status_code == 422 and "NIfTI" in nifti.json()["detail"]
    assert_nothing_stored(client, app, auth, patient)


def test_a_series_with_text_burned_into_its_pixels_is_422_and_not_stored(client, app, auth, patient,
                                                                         dicom_series, tmp_path):
    archive = tmp_path / "series.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for k, path in enumerate(dicom_series):
            ds = pydicom.dcmread(path)
            ds.BurnedInAnnotation = "YES" if k == 30 else "NO"
            buffer = io.BytesIO()
            ds.save_as(buffer, enforce_file_format=True)
            handle.writestr(path.name, buffer.getvalue())
    response = upload_file(client, auth, patient, archive, "t1.zip")
    assert response.status_code == 422, response.text
    assert "(Burned In Annotation: YES)" in response.json()["detail"]
    assert_nothing_stored(client, app, auth, patient)


def _zip_folder(folder: Path, name: str) -> Path:
    archive = folder / name
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(folder.rglob("*.dcm")):
            handle.write(path, path.relative_to(folder).as_posix())
    return archive


def test_a_series_number_two_series_share_is_refused_asking_for_the_uid(client, app, auth, patient, tmp_path):
    """Scanners restart series numbers per study: a zip of two studies can hold two series 3
    (here a T1 and, of another study, a second scan). The number picked the first one found."""
    write_dicom_series(colin27(3), tmp_path / "A", series_number=3, description="t1_mprage",
                       series_uid="1.2.826.0.1.3680043.8.498.31", prefix="A")
    write_dicom_series(colin27(3), tmp_path / "B", series_number=3, description="t2_tse",
                       orientation="sagittal", series_uid="1.2.826.0.1.3680043.8.498.32", prefix="B")
    archive = _zip_folder(tmp_path, "two_studies.zip")
    refused = _upload_series(client, auth, patient, archive, "3")
    assert refused.status_code == 422
    assert "2 series numbered '3'" in refused.json()["detail"] and "UID" in refused.json()["detail"]
    assert_nothing_stored(client, app, auth, patient)
    chosen = _upload_series(client, auth, patient, archive, "1.2.826.0.1.3680043.8.498.31")
    assert chosen.status_code == 201, chosen.text


def test_a_series_without_a_series_uid_is_stored_whole(client, app, auth, patient, tmp_path):
    """Images without a SeriesInstanceUID form one series; de-identification keeps them all
    (it compared them with an empty UID and kept none)."""
    for path in write_dicom_series(colin27(3), tmp_path / "S"):
        ds = pydicom.dcmread(path)
        del ds.SeriesInstanceUID
        ds.save_as(path)
    response = _upload_series(client, auth, patient, _zip_folder(tmp_path, "series.zip"), None)
    assert response.status_code == 201, response.text
    with app.state.db.session() as session:
        stored = app.state.storage.root / session.get(Image, response.json()["id"]).stored_path
    with zipfile.ZipFile(stored) as archive:
        assert len(archive.namelist()) == 61
