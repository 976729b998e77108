"""Patient data stay where they belong: out of caches and logs, away from roles that do not
need them, and every read of a patient's record names that patient in the audit trail."""

from __future__ import annotations

import gzip
import logging
from datetime import date

import nibabel as nib
from api_test_helpers import gunzip_bytes
from course_helpers import approve, clear_screening, delivery, fix_today, new_course, sessions
from sqlalchemy import update

from api.models import Patient


def test_api_answers_are_not_cached_nor_sniffed(client, auth, patient, plan_id):
    for url in (f"/api/v1/patients/{patient['id']}", f"/api/v1/plans/{plan_id}/report",
                "/api/v1/patients/no-such-patient"):
        response = client.get(url, headers=auth["clinician"])
        assert response.headers["cache-control"] == "no-store", url
        assert response.headers["x-content-type-options"] == "nosniff", url
        assert "etag" not in response.headers and "last-modified" not in response.headers, url


def test_swagger_ui_forgets_the_token_with_the_page(client):
    # a token pasted into /docs on a shared workstation survived closing the browser
    page = client.get("/docs").text
    assert '"persistAuthorization": false' in page


def test_the_nifti_data_type_field_is_blanked_too(client, app, auth, patient, small_head, tmp_path):
    image = nib.load(small_head)
    image.header["data_type"] = b"MRN004217"
    path = tmp_path / "t1.nii.gz"
    nib.save(image, path)
    response = client.post(f"/api/v1/patients/{patient['id']}/images", headers=auth["technician"],
                           files={"file": ("t1.nii.gz", path.read_bytes())})
    assert response.status_code == 201, response.text
    stored = next(app.state.storage.images_dir.rglob(response.json()["sha256"] + "*"))
    assert b"MRN004217" in gzip.decompress(path.read_bytes())
    assert b"MRN004217" not in gunzip_bytes(stored)


def test_a_birth_date_an_earlier_version_stored_is_read_and_never_logged(client, app, auth, patient, caplog):
    # output was checked against the input range: one 1899 birth date made the patient and
    # the whole patient list answer 500, and the log line held the date
    with app.state.db.engine.begin() as connection:
        connection.execute(update(Patient).where(Patient.id == patient["id"]).values(birth_date=date(1899, 12, 31)))
    caplog.set_level(logging.INFO)
    one = client.get(f"/api/v1/patients/{patient['id']}", headers=auth["clinician"])
    assert one.status_code == 200 and one.json()["birth_date"] == "1899-12-31"
    assert client.get("/api/v1/patients", headers=auth["clinician"]).status_code == 200
    assert "1899" not in caplog.text


def test_navigators_get_session_logs_without_clinical_notes(client, auth, app, image, plan_id):
    approve(client, auth, plan_id)
    fix_today(app, date(2025, 3, 3))
    course = new_course(client, auth, image["patient_id"], plan_id)
    clear_screening(client, auth, course["id"])
    first = sessions(client, auth, course["id"])["items"][0]
    body = delivery("2025-03-03", side_effects=["headache"], notes="disclosed thoughts of self-harm")
    assert client.post(f"/api/v1/sessions/{first['id']}/delivery", headers=auth["technician"],
                       json=body).status_code == 201
    url = f"/api/v1/courses/{course['id']}/sessions"
    seen = client.get(url, headers=auth["navigator"]).json()["items"][0]["delivery"]
    assert (seen["notes"], seen["side_effects"], seen["clinical_hidden"]) == (None, [], True)
    assert seen["session_state"] == "done" and seen["deviation"] is None
    full = client.get(url, headers=auth["clinician"]).json()["items"][0]["delivery"]
    assert (full["notes"], full["side_effects"], full["clinical_hidden"]) == (body["notes"], ["headache"], False)
    one = client.get(first["links"]["self"], headers=auth["navigator"])  # the session's own link
    assert one.status_code == 200 and one.json()["delivery"]["notes"] is None
    assert client.get(first["links"]["self"], headers=auth["auditor"]).json()["delivery"]["notes"] == body["notes"]
    # the answer to a navigator's own log, and to its retry, hides them too (it showed them)
    fix_today(app, date(2025, 3, 4))
    second = sessions(client, auth, course["id"])["items"][1]
    logged = delivery("2025-03-04", side_effects=["headache"], notes="disclosed a new medication", pct_of_mt=150)
    key = {"Idempotency-Key": "navigator-log-1"}
    for status in (201, 200):
        answer = client.post(second["links"]["delivery"], headers={**auth["navigator"], **key}, json=logged)
        assert answer.status_code == status, answer.text
        body_seen = answer.json()
        assert (body_seen["notes"], body_seen["side_effects"], body_seen["alerts"], body_seen["clinical_hidden"]) == (
            None, [], [], True)
    for_clinician = client.post(second["links"]["delivery"], headers={**auth["clinician"], **key}, json=logged).json()
    assert for_clinician["notes"] == logged["notes"] and for_clinician["alerts"], for_clinician


def test_searches_name_the_patient_in_the_audit_trail(client, auth, patient, image, plan_id):
    client.get(f"/api/v1/patients?external_id={patient['external_id']}", headers=auth["auditor"])
    client.get(f"/api/v1/plans?patient_id={patient['id']}", headers=auth["auditor"])
    client.get(f"/api/v1/plans?image_id={image['id']}", headers=auth["auditor"])
    def reads_of(resource_id):
        events = client.get("/api/v1/audit", headers=auth["admin"], params={"resource_id": resource_id}).json()
        return [(e["route"], e["token_name"]) for e in events["items"] if e["method"] == "GET"]
    assert ("/api/v1/patients", "auditor") in reads_of(patient["id"])
    assert ("/api/v1/plans", "auditor") in reads_of(patient["id"])
    assert ("/api/v1/plans", "auditor") in reads_of(image["id"])
