"""Patients and image upload: records, conflicts, de-identification, deduplication."""

from __future__ import annotations

import gzip
import logging

import nibabel as nib
import numpy as np
import pytest

from api.app import create_app
from api.config import Settings
from api.models import Patient
from api_test_helpers import assert_nothing_stored, gunzip_bytes, upload_file
from fastapi.testclient import TestClient
from navsvc.errors import InputError
from navsvc.io import limits, validate_t1_file


def test_create_get_list_patient(client, app, auth, patient):
    assert patient["id"] and patient["name"] == "Jane Doe"
    with app.state.db.session() as session:
        assert session.get(Patient, patient["id"]).created_by == "technician"  # the token's name
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
    listed = client.get(url, headers=auth["auditor"]).json()["items"]
    assert [i["id"] for i in listed] == [record["id"]]
    assert not any(app.state.storage.tmp_dir.iterdir())
    uploads = client.get("/api/v1/audit", headers=auth["admin"], params={"resource_id": record["id"]}).json()
    # the audit trail names the image each upload stored or found (newest first)
    assert [e["status_code"] for e in uploads["items"] if e["method"] == "POST"] == [200, 201]


def test_the_same_image_uploaded_for_two_patients_is_each_ones_own(client, app, auth, patient, small_head,
                                                                  tmp_path):
    # a file sent for the wrong patient, then for the right one, must not come back as the
    # first patient's record: deduplication is within one patient
    other = client.post("/api/v1/patients", headers=auth["technician"], json={"external_id": "MRN-TWIN-2"}).json()
    retyped = tmp_path / "retyped.nii.gz"  # the same image; only the text de-identification blanks differs
    retyped.write_bytes(gzip.compress(gunzip_bytes(small_head).replace(b"Jane Doe 1980-04-02", b"John Roe 1971-01-01")))
    first = upload_file(client, auth, patient, small_head, "t1.nii.gz")
    assert first.status_code == 201, first.text
    same_image = upload_file(client, auth, other, retyped, "t1.nii.gz")
    assert same_image.status_code == 201, same_image.text
    assert same_image.json()["patient_id"] == other["id"] and same_image.json()["sha256"] == first.json()["sha256"]
    same_file = upload_file(client, auth, other, small_head, "t1.nii.gz")
    assert same_file.status_code == 200 and same_file.json()["id"] == same_image.json()["id"]
    for owner, record in ((patient, first), (other, same_image)):
        listed = client.get(f"/api/v1/patients/{owner['id']}/images", headers=auth["auditor"]).json()["items"]
        assert [i["id"] for i in listed] == [record.json()["id"]]
    head = nib.load(str(small_head))  # another scan of the same head, uploaded later
    nib.save(nib.Nifti1Image(np.asarray(head.dataobj) * 1.5, head.affine), tmp_path / "later.nii.gz")
    later = upload_file(client, auth, other, tmp_path / "later.nii.gz", "t1.nii.gz")
    assert later.status_code == 201, later.text
    listed = client.get(f"/api/v1/patients/{other['id']}/images", headers=auth["auditor"]).json()
    assert [i["id"] for i in listed["items"]] == [same_image.json()["id"], later.json()["id"]]  # oldest first
    assert (listed["limit"], listed["offset"]) == (100, 0)
    second_page = client.get(f"/api/v1/patients/{other['id']}/images?limit=1&offset=1", headers=auth["auditor"]).json()
    assert second_page == {"items": [later.json()], "limit": 1, "offset": 1}


def test_a_nifti2_upload_is_stored_without_its_text_fields_and_extensions(client, app, auth, patient, small_head,
                                                                         tmp_path):
    """NIfTI-2 has its own text fields (``unused_str`` among them) and extensions: none of the
    names written there reaches the stored copy, and the image is the one uploaded."""
    source = nib.load(str(small_head))
    image = nib.Nifti2Image(np.asarray(source.dataobj), source.affine)
    for field in ("descrip", "aux_file", "intent_name", "unused_str"):
        image.header[field] = b"DOE^JANE " + field.encode()
    image.header.extensions.append(nib.nifti1.Nifti1Extension("comment", b"PatientName=DOE^JANE"))
    path = tmp_path / "t1_nifti2.nii.gz"
    nib.save(image, str(path))
    assert b"DOE^JANE" in gunzip_bytes(path)
    response = upload_file(client, auth, patient, path, "t1.nii.gz")
    assert response.status_code == 201, response.text
    stored = next(app.state.storage.images_dir.rglob(response.json()["sha256"] + "*"))
    assert b"DOE^JANE" not in gunzip_bytes(stored)
    kept = nib.load(str(stored))
    assert isinstance(kept, nib.Nifti2Image) and np.array_equal(kept.affine, source.affine)
    assert np.array_equal(np.asarray(kept.dataobj), np.asarray(source.dataobj))


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
    response = upload_file(client, auth, patient, path, "t1.nii.gz")
    assert response.status_code == 422, response.text
    assert "goes on for more than 16 MiB" in response.json()["detail"]
    assert_nothing_stored(client, app, auth, patient)


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
    response = upload_file(client, auth, patient, path, "t1.nii.gz")
    assert response.status_code == 422, response.text
    assert expected in response.json()["detail"]
    assert_nothing_stored(client, app, auth, patient)


def test_upload_without_file_part_or_not_multipart(client, auth, patient):
    url = f"/api/v1/patients/{patient['id']}/images"
    assert client.post(url, headers=auth["technician"], data={"x": "1"},
                       files={"other": ("a", b"b")}).status_code == 422
    assert client.post(url, headers=auth["technician"], json={"file": "x"}).status_code == 415


def test_form_fields_beside_the_file_and_an_upper_case_name_are_accepted(client, auth, patient,
                                                                       small_head):
    # a workstation's form may send fields of its own with the file, and a name as its
    # file system spells it
    response = client.post(f"/api/v1/patients/{patient['id']}/images", headers=auth["technician"],
                           data={"note": "T1 for targeting"},
                           files={"file": ("T1.NII.GZ", small_head.read_bytes())})
    assert response.status_code == 201, response.text
    image = response.json()
    assert (image["format"], image["shape"]) == ("nifti", list(nib.load(small_head).shape))


def test_multipart_without_a_boundary_is_415(client, app, auth, patient):
    response = client.post(f"/api/v1/patients/{patient['id']}/images", content=b"x", headers={
        **auth["technician"], "content-type": "multipart/form-data"})
    assert response.status_code == 415 and "multipart/form-data" in response.json()["detail"]
    assert_nothing_stored(client, app, auth, patient)


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
    assert_nothing_stored(client, app, auth, patient)


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


def _multipart(parts: list[tuple[str, bytes]], boundary: bytes = b"navsvc-test-boundary") -> tuple[bytes, dict]:
    """A multipart body of file ``parts`` (field name, content) and its content-type header."""
    body = b"".join(b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + name.encode()
                    + b'"; filename="t1.nii"\r\n\r\n' + content + b"\r\n" for name, content in parts)
    return body + b"--" + boundary + b"--\r\n", {"content-type": "multipart/form-data; boundary=" + boundary.decode()}


def test_an_upload_limit_is_kept_while_the_body_streams(tmp_path, database_url):
    # a body sent without its length (chunked) is counted as it comes; one exactly at the
    # limit is read and checked as an image
    from api.tokens import create_token

    app = create_app(Settings(data_dir=tmp_path / "d", database_url=database_url,
                              embedded_worker=False, max_upload_mb=1))
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {create_token(app.state.db, 't', 'technician')}"}
        patient = client.post("/api/v1/patients", headers=headers, json={"external_id": "big"}).json()
        url = f"/api/v1/patients/{patient['id']}/images"
        for size, status in ((1024 * 1024 + 1, 413), (1024 * 1024, 422)):
            body, content_type = _multipart([("file", b"\0" * size)])
            chunks = (body[k:k + 65536] for k in range(0, len(body), 65536))
            response = client.post(url, headers={**headers, **content_type}, content=chunks)
            assert response.status_code == status, response.text
            assert ("NAVSVC_MAX_UPLOAD_MB" in response.json()["detail"]) == (status == 413)
        assert_nothing_stored(client, app, {"technician": headers}, patient)


def test_an_upload_with_two_file_parts_is_422(client, app, auth, patient, small_head):
    # which of two images is the patient's? neither is stored
    head = small_head.read_bytes()
    body, content_type = _multipart([("file", head), ("file", head)])
    response = client.post(f"/api/v1/patients/{patient['id']}/images", content=body,
                           headers={**auth["technician"], **content_type})
    assert response.status_code == 422 and "send exactly one 'file' part" in response.json()["detail"]
    assert_nothing_stored(client, app, auth, patient)


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
    assert client.get(f"/api/v1/patients/{patient['id']}/images", headers=auth["technician"]).json()["items"] == []
