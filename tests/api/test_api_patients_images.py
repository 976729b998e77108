"""Patients and image upload: records, conflicts, de-identification, deduplication."""

from __future__ import annotations

import gzip
import io
import logging
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from api.app import create_app
from api.config import Settings
from api.models import Patient
from api_test_helpers import gunzip_bytes
from corpus.dicom_series import write_dicom_series
from corpus.damaged_dicom import DICOM_DAMAGES, damage_dicom
from corpus.make_bad_images import colin27
from fastapi.testclient import TestClient
from navsvc.errors import InputError
from navsvc.io import limits, validate_t1_file
from navsvc.io.deidentify import deidentify_file


def _upload(client, auth, patient, path: Path, name: str):
    """POST ``path`` as the technician's upload named ``name`` for ``patient``."""
    with open(path, "rb") as handle:
        return client.post(f"/api/v1/patients/{patient['id']}/images", headers=auth["technician"],
                           files={"file": (name, handle)})


def _assert_nothing_stored(client, app, auth, patient) -> None:
    """No image record, no stored file and an empty spool."""
    url = f"/api/v1/patients/{patient['id']}/images"
    assert client.get(url, headers=auth["technician"]).json() == []
    assert not any(app.state.storage.images_dir.rglob("*"))
    assert not any(app.state.storage.tmp_dir.iterdir())


def test_create_get_list_patient(client, auth, patient):
    assert patient["id"] and patient["name"] == "Jane Doe"
    assert patient["links"]["self"] == f"/api/v1/patients/{patient['id']}"
    got = client.get(f"/api/v1/patients/{patient['id']}", headers=auth["clinician"])
    assert got.status_code == 200 and got.json() == patient
    listed = client.get("/api/v1/patients", headers=auth["auditor"],
                        params={"external_id": patient["external_id"]}).json()
    assert [p["id"] for p in listed["items"]] == [patient["id"]]


def test_duplicate_external_id_is_409(client, auth, patient):
    response = client.post("/api/v1/patients", headers=auth["clinician"],
                           json={"external_id": patient["external_id"]})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert set(response.json()) >= {"type", "title", "status", "detail"}


@pytest.mark.parametrize("body", [{}, {"external_id": ""}, {"external_id": "  "},
                                  {"external_id": "A", "birth_date": "02/04/1980"},
                                  {"external_id": ["A"]}])
def test_invalid_patient_is_422_without_echoing_input(client, auth, body):
    response = client.post("/api/v1/patients", headers=auth["clinician"], json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["status"] == 422 and problem["errors"]
    assert "02/04/1980" not in response.text


def test_a_misspelt_patient_field_is_422_not_dropped(client, auth):
    # found by fuzzing: "birthdate" was dropped and the patient stored without a birth date
    response = client.post("/api/v1/patients", headers=auth["clinician"],
                           json={"external_id": "typo-1", "birthdate": "1950-01-01"})
    assert response.status_code == 422 and "birthdate" in response.text
    assert client.get("/api/v1/patients?external_id=typo-1", headers=auth["clinician"]).json()["items"] == []


def test_missing_patient_is_404(client, auth):
    response = client.get("/api/v1/patients/nope", headers=auth["clinician"])
    assert response.status_code == 404 and response.json()["type"].endswith("not-found")


def test_phi_never_logged(client, auth, caplog, small_head):
    caplog.set_level(logging.DEBUG)
    created = client.post("/api/v1/patients", headers=auth["clinician"],
                          json={"external_id": "MRN-PHI", "name": "Zebulon Quixote",
                                "birth_date": "1933-03-03"}).json()
    client.post("/api/v1/patients", headers=auth["clinician"],
                json={"external_id": "MRN-PHI", "name": "Zebulon Quixote"})
    client.post("/api/v1/patients", headers=auth["clinician"],
                json={"external_id": "X", "name": "Zebulon Quixote", "birth_date": "1933-13-03"})
    with open(small_head, "rb") as handle:
        client.post(f"/api/v1/patients/{created['id']}/images", headers=auth["clinician"],
                    files={"file": ("Zebulon_Quixote.nii.gz", handle)})
    assert "Zebulon" not in caplog.text and "1933" not in caplog.text


def test_upload_stores_deidentified_copy_once(client, app, auth, patient, small_head):
    url = f"/api/v1/patients/{patient['id']}/images"
    with open(small_head, "rb") as handle:
        first = client.post(url, headers=auth["technician"], files={"file": ("t1.nii.gz", handle)})
    assert first.status_code == 201, first.text
    record = first.json()
    assert record["format"] == "nifti" and record["shape"] == [64, 64, 64]
    assert record["orientation"] == "RAS" and record["voxel_size_mm"] == [2.5, 2.5, 2.5]
    stored = list((app.state.storage.images_dir).rglob("*.nii.gz"))
    assert len(stored) == 1 and stored[0].name.startswith(record["sha256"])
    assert b"Jane Doe" not in gunzip_bytes(stored[0])
    assert b"Jane Doe" in gunzip_bytes(small_head)
    with open(small_head, "rb") as handle:
        again = client.post(url, headers=auth["clinician"], files={"file": ("x.nii.gz", handle)})
    assert again.status_code == 200 and again.json()["id"] == record["id"]
    assert client.get(f"/api/v1/images/{record['id']}", headers=auth["auditor"]).json() == record
    listed = client.get(url, headers=auth["auditor"]).json()
    assert [i["id"] for i in listed] == [record["id"]]
    assert not any(app.state.storage.tmp_dir.iterdir())


@pytest.mark.parametrize("name", ["t1.nii", "t1.nii.gz"])
def test_bytes_after_the_data_block_are_not_stored(client, app, auth, patient, small_head, name):
    # a reviewer's upload: identifying text appended after the voxels was kept in the
    # "de-identified" copy, and a .nii.gz tail of 1 GiB of zeros was stored inflated
    image = gunzip_bytes(small_head)
    tail = b"PatientName=DOE^JANE;MRN=123456"
    content = image + tail if name == "t1.nii" else gzip.compress(image + tail, mtime=0)
    response = client.post(f"/api/v1/patients/{patient['id']}/images", headers=auth["technician"],
                           files={"file": (name, content)})
    assert response.status_code == 201, response.text
    stored = next(app.state.storage.images_dir.rglob(response.json()["sha256"] + "*"))
    kept = gunzip_bytes(stored) if stored.name.endswith(".gz") else stored.read_bytes()
    assert b"DOE^JANE" not in kept and len(kept) <= len(image)
    assert nib.load(stored).get_fdata().shape == (64, 64, 64)


@pytest.mark.parametrize("name,content", [("t1.nii.gz", b"not an image"),
                                          ("t1.txt", b"hello"), ("t1.zip", b"PK-junk")])
def test_bad_upload_is_422(client, app, auth, patient, name, content):
    response = client.post(f"/api/v1/patients/{patient['id']}/images",
                           headers=auth["technician"], files={"file": (name, content)})
    assert response.status_code == 422, response.text
    assert response.json()["detail"]
    assert not any(app.state.storage.tmp_dir.iterdir())


def test_a_gzip_stream_going_on_past_the_checked_padding_is_422(client, app, auth, patient, small_head,
                                                                tmp_path):
    """Validation reads a .nii.gz stream up to MAX_TRAILING_BYTES past the image: a stream that
    goes on further (here cut off, its CRC unchecked) is refused there, not stored unchecked."""
    path = tmp_path / "padded.nii.gz"
    padding = gzip.compress(bytes(limits.MAX_TRAILING_BYTES + 2**20), mtime=0)
    path.write_bytes(small_head.read_bytes() + padding[:-8])  # its CRC-32 and length cut off
    with pytest.raises(InputError, match="goes on for more than 16 MiB after its image data"):
        validate_t1_file(path)
    response = _upload(client, auth, patient, path, "t1.nii.gz")
    assert response.status_code == 422, response.text
    assert "goes on for more than 16 MiB" in response.json()["detail"]
    _assert_nothing_stored(client, app, auth, patient)


@pytest.mark.parametrize("qform, expected", [(None, "no orientation"), ("mirrored", "mirror each other")])
def test_upload_whose_left_is_unknown_is_422(client, app, auth, patient, small_head, tmp_path, qform,
                                             expected):
    """A header that does not say where left is (no sform or qform) or says it two ways (a sform and
    a mirrored qform) is refused at upload, before anything is stored."""
    image = nib.load(str(small_head))
    image = nib.Nifti1Image(np.asarray(image.dataobj), image.affine)
    if qform is None:
        image.set_sform(None, code=0)
        image.set_qform(None, code=0)
    else:
        image.set_sform(image.affine, code=1)
        image.set_qform(np.diag([-1.0, 1.0, 1.0, 1.0]) @ image.affine, code=1)
    path = tmp_path / "t1.nii.gz"
    nib.save(image, str(path))
    response = _upload(client, auth, patient, path, "t1.nii.gz")
    assert response.status_code == 422, response.text
    assert expected in response.json()["detail"]
    _assert_nothing_stored(client, app, auth, patient)


def test_upload_without_file_part_or_not_multipart(client, auth, patient):
    url = f"/api/v1/patients/{patient['id']}/images"
    assert client.post(url, headers=auth["technician"], data={"x": "1"},
                       files={"other": ("a", b"b")}).status_code == 422
    assert client.post(url, headers=auth["technician"], json={"file": "x"}).status_code == 415


@pytest.mark.parametrize("boundary,expected", [(b"a" * 71, "at most 70 are allowed"),
                                               (b"a" * 257, "at most 70 are allowed"),
                                               (b"\xe9\xe9", "malformed multipart body")])
def test_a_bad_multipart_boundary_is_422(client, app, auth, patient, boundary, expected):
    # 257 characters raised in the parser's constructor, outside the error handling: 500
    body = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="x.nii.gz"'
            b"\r\n\r\nabc\r\n--" + boundary + b"--\r\n")
    response = client.post(f"/api/v1/patients/{patient['id']}/images", content=body, headers={
        **auth["technician"], "content-type": b"multipart/form-data; boundary=" + boundary})
    assert response.status_code == 422 and expected in response.json()["detail"], response.text
    _assert_nothing_stored(client, app, auth, patient)


def test_an_upload_holds_no_database_lock_while_it_streams_and_is_checked(client, app, auth, patient,
                                                                         small_head, monkeypatch):
    # On SQLite every transaction takes the write lock at BEGIN: held through a slow
    # upload, it made other requests answer 500 and a running job fail on its next write.
    import api.routes.images as images_route

    written = []

    def write_elsewhere(step: str) -> None:
        with app.state.db.engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA busy_timeout=200")
            connection.execute(Patient.__table__.insert().values(
                id=f"other-{step}", external_id=f"other-{step}", created_by="test"))
            connection.commit()
        written.append(step)

    receive, validate = images_route.receive_file, images_route._validate_and_store

    async def slow_receive(*args, **kwargs):
        write_elsewhere("streaming")
        return await receive(*args, **kwargs)

    def slow_validate(*args, **kwargs):
        write_elsewhere("checking")
        return validate(*args, **kwargs)

    monkeypatch.setattr(images_route, "receive_file", slow_receive)
    monkeypatch.setattr(images_route, "_validate_and_store", slow_validate)
    with open(small_head, "rb") as handle:
        response = client.post(f"/api/v1/patients/{patient['id']}/images", headers=auth["technician"],
                               files={"file": ("t1.nii.gz", handle)})
    assert response.status_code == 201, response.text
    assert written == ["streaming", "checking"]


def test_every_link_of_an_image_record_answers(client, auth, image, plan_id):
    # links.plans named the POST that starts a plan: a GET answered 405
    for name, url in image["links"].items():
        response = client.get(url, headers=auth["auditor"])
        assert response.status_code == 200, (name, url, response.status_code)
    listed = client.get(image["links"]["plans"], headers=auth["auditor"]).json()["items"]
    assert [p["id"] for p in listed] == [plan_id]


def test_upload_to_missing_patient_is_404(client, auth, small_head):
    with open(small_head, "rb") as handle:
        response = client.post("/api/v1/patients/nope/images", headers=auth["technician"],
                               files={"file": ("t1.nii.gz", handle)})
    assert response.status_code == 404


def test_upload_over_limit_is_413(tmp_path, database_url):
    from api.tokens import create_token

    app = create_app(Settings(data_dir=tmp_path / "d", database_url=database_url,
                              embedded_worker=False, max_upload_mb=1))
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {create_token(app.state.db, 't', 'technician')}"}
        patient = client.post("/api/v1/patients", headers=headers,
                              json={"external_id": "big"}).json()
        response = client.post(f"/api/v1/patients/{patient['id']}/images", headers=headers,
                               files={"file": ("big.nii", b"\0" * (2 * 1024 * 1024))})
        assert response.status_code == 413
        assert "NAVSVC_MAX_UPLOAD_MB" in response.json()["detail"]
        assert not any(app.state.storage.tmp_dir.iterdir())


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
    response = _upload(client, auth, patient, archive, "t1.zip")
    assert response.status_code == 422, response.text
    assert "member 'IM9999.dcm' is a damaged DICOM file" in response.json()["detail"]
    _assert_nothing_stored(client, app, auth, patient)


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
    response = _upload(client, auth, patient, archive, "t1.zip")
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
    response = _upload(client, auth, patient, archive, "t1.zip")
    assert response.status_code == 201, response.text
    assert folders and all(folder.parent == app.state.storage.tmp_dir for folder in folders)
    assert not any(app.state.storage.tmp_dir.iterdir())


@pytest.mark.parametrize(("name", "data", "words"), [
    ("scan-0042.nii.gz", b"\x1f\x8b\x08\x00garbage", "is not a readable NIfTI image"),
    ("scan-0042.nii", b"x" * 400, "is not a readable NIfTI image"),
    ("series-0042.zip", b"PK\x03\x04junk", "is not a readable ZIP archive"),
])
def test_an_unreadable_upload_is_named_as_the_client_sent_it(client, auth, patient, name, data, words):
    response = client.post(f"/api/v1/patients/{patient['id']}/images", headers=auth["technician"],
                           files={"file": (name, data)})
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"'{name}' {words}")
    assert client.get(f"/api/v1/patients/{patient['id']}/images", headers=auth["technician"]).json() == []


@pytest.fixture(scope="module")
def study_zip(tmp_path_factory) -> Path:
    """A whole study as PACS exports it: the T1 (series 3, 61 axial slices) and a second
    image series (series 8, 61 sagittal slices), zipped together."""
    folder = tmp_path_factory.mktemp("study")
    write_dicom_series(colin27(3), folder / "S3", series_number=3, description="t1_mprage",
                       series_uid="1.2.826.0.1.3680043.8.498.3", prefix="A")
    write_dicom_series(colin27(3), folder / "S8", series_number=8, description="t2_tse",
                       orientation="sagittal", series_uid="1.2.826.0.1.3680043.8.498.8", prefix="B")
    archive = folder / "study.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(folder.rglob("*.dcm")):
            handle.write(path, path.relative_to(folder).as_posix())
    return archive


def _upload_series(client, auth, patient, archive: Path, series: str | None):
    query = "" if series is None else f"?series={series}"
    with open(archive, "rb") as handle:
        return client.post(f"/api/v1/patients/{patient['id']}/images{query}", headers=auth["technician"],
                           files={"file": ("study.zip", handle)})


def _stored_series(app, image: dict) -> set[tuple[str, int]]:
    from api.models import Image

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
    _assert_nothing_stored(client, app, auth, patient)

    first = _upload_series(client, auth, patient, study_zip, "3")
    assert first.status_code == 201, first.text
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
    _assert_nothing_stored(client, app, auth, patient)


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
    _assert_nothing_stored(client, app, auth, patient)
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
    from api.models import Image

    with app.state.db.session() as session:
        stored = app.state.storage.root / session.get(Image, response.json()["id"]).stored_path
    with zipfile.ZipFile(stored) as archive:
        assert len(archive.namelist()) == 61
