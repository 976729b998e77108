"""Plans: approval, navigator visibility, exports, report; the audit trail."""

from __future__ import annotations

import json

import pytest
from api_test_fakes import plan_dict
from api_test_helpers import another_patients_image, insert_plan, plan_folder


def test_get_plan_and_approve_once(client, auth, plan_id, image):
    plan = client.get(f"/api/v1/plans/{plan_id}", headers=auth["technician"]).json()
    assert plan["id"] == plan_id and plan["patient_id"] == image["patient_id"]
    assert plan["plan"]["plan_id"] == plan_id and plan["approval"] is None
    approved = client.post(f"/api/v1/plans/{plan_id}/approval", headers=auth["clinician"],
                           json={"note": "checked"})
    assert approved.status_code == 201, approved.text
    approval = approved.json()
    assert approval["approved_by"] == "clinician" and approval["plan_id"] == plan_id
    assert approval["id"] and approval["approved_at"] and approval["note"] == "checked"
    again = client.post(f"/api/v1/plans/{plan_id}/approval", headers=auth["clinician"])
    assert again.status_code == 409 and again.json()["detail"].endswith("already approved by clinician")
    plan = client.get(f"/api/v1/plans/{plan_id}", headers=auth["technician"]).json()
    assert plan["approval"]["approved_by"] == "clinician" and plan["approval"]["note"] == "checked"


@pytest.mark.parametrize("name", ["report.html", "plan.json"])
def test_plan_whose_files_are_missing_cannot_be_approved(app, client, auth, plan_id, name):
    folder = plan_folder(app, plan_id)
    (folder / name).unlink()
    refused = client.post(f"/api/v1/plans/{plan_id}/approval", headers=auth["clinician"],
                          json={"note": "checked"})
    assert refused.status_code == 409 and name in refused.json()["detail"], refused.text
    plan = client.get(f"/api/v1/plans/{plan_id}", headers=auth["clinician"]).json()
    assert plan["approval"] is None


def test_technician_cannot_approve(client, auth, plan_id):
    response = client.post(f"/api/v1/plans/{plan_id}/approval", headers=auth["technician"])
    assert response.status_code == 403


def test_navigator_sees_only_approved_plans(client, auth, plan_id):
    hidden = client.get(f"/api/v1/plans/{plan_id}", headers=auth["navigator"])
    missing = client.get("/api/v1/plans/no-such-plan", headers=auth["navigator"])
    assert hidden.status_code == missing.status_code == 404
    assert {k: v for k, v in hidden.json().items() if k != "detail"} == \
        {k: v for k, v in missing.json().items() if k != "detail"}
    for path in ("report", "exports/localite"):
        assert client.get(f"/api/v1/plans/{plan_id}/{path}",
                          headers=auth["navigator"]).status_code == 404
    assert client.get("/api/v1/plans", headers=auth["navigator"]).json()["items"] == []
    client.post(f"/api/v1/plans/{plan_id}/approval", headers=auth["clinician"])
    assert client.get(f"/api/v1/plans/{plan_id}", headers=auth["navigator"]).status_code == 200
    listed = client.get("/api/v1/plans", headers=auth["navigator"]).json()["items"]
    assert [p["id"] for p in listed] == [plan_id]
    # asked for unapproved plans, a navigator got the approved ones
    assert client.get("/api/v1/plans?approved=false", headers=auth["navigator"]).json()["items"] == []


def test_list_plans_filters(client, app, auth, plan_id, image, small_head):
    def ids(**params):
        response = client.get("/api/v1/plans", headers=auth["auditor"], params=params)
        return [p["id"] for p in response.json()["items"]]

    other_image = another_patients_image(client, auth, small_head, "MRN-OTHER-2")
    other_plan = insert_plan(app, other_image["id"], plan_dict())
    assert ids() == [other_plan, plan_id]  # newest first
    assert ids(image_id=image["id"]) == [plan_id]
    assert ids(patient_id=image["patient_id"], approved=False) == [plan_id]
    assert ids(patient_id=image["patient_id"]) == [plan_id] and ids(patient_id=other_image["patient_id"]) == [other_plan]
    assert ids(approved=True) == []
    assert ids(image_id="other") == []
    # one approval is its own plan's: the other stays unapproved, also to a navigator
    assert client.post(f"/api/v1/plans/{other_plan}/approval", headers=auth["clinician"]).status_code == 201
    assert ids(approved=True) == [other_plan] and ids(approved=False) == [plan_id]
    assert client.get(f"/api/v1/plans/{plan_id}", headers=auth["auditor"]).json()["approval"] is None
    for plan, owner in ((plan_id, image["patient_id"]), (other_plan, other_image["patient_id"])):
        assert client.get(f"/api/v1/plans/{plan}", headers=auth["auditor"]).json()["patient_id"] == owner
    navigator = client.get("/api/v1/plans", headers=auth["navigator"]).json()["items"]
    assert [p["id"] for p in navigator] == [other_plan]
    assert client.get(f"/api/v1/plans/{plan_id}", headers=auth["navigator"]).status_code == 404
    # the audit trail names whose plans a filtered list read
    reads = client.get("/api/v1/audit", headers=auth["admin"], params={
        "resource_id": other_image["patient_id"]}).json()["items"]
    assert "/api/v1/plans" in [e["route"] for e in reads]


def test_a_report_gone_from_the_data_folder_is_404(app, client, auth, plan_id):
    folder = plan_folder(app, plan_id)
    (folder / "report.html").unlink()
    response = client.get(f"/api/v1/plans/{plan_id}/report", headers=auth["clinician"])
    assert response.status_code == 404 and response.json()["detail"] == f"plan '{plan_id}' has no report"


def test_a_plans_file_names_are_looked_up_in_its_own_folder_only(app, client, auth, image):
    plan = {**plan_dict(), "files": {"report": "../elsewhere.html"}}
    plan_id = insert_plan(app, image["id"], plan)
    folder = plan_folder(app, plan_id)
    (folder.parent / "elsewhere.html").write_text("<html>another folder's file</html>")
    response = client.get(f"/api/v1/plans/{plan_id}/report", headers=auth["clinician"])
    assert response.status_code == 404 and "another folder" not in response.text


@pytest.fixture
def approved_plan_id(client, auth, plan_id) -> str:
    """``plan_id``, approved by a clinician."""
    assert client.post(f"/api/v1/plans/{plan_id}/approval", headers=auth["clinician"]).status_code == 201
    return plan_id


def test_an_unapproved_plan_has_no_navigator_files(client, auth, plan_id):
    # technicians, auditors and clinicians could download the Localite file of a plan no
    # clinician had approved, and the file carries no approval mark
    for role in ("clinician", "technician", "auditor"):
        response = client.get(f"/api/v1/plans/{plan_id}/exports/localite", headers=auth[role])
        assert response.status_code == 409 and "is not approved" in response.json()["detail"]
    assert client.get(f"/api/v1/plans/{plan_id}/report", headers=auth["technician"]).status_code == 200
    client.post(f"/api/v1/plans/{plan_id}/approval", headers=auth["clinician"])
    assert client.get(f"/api/v1/plans/{plan_id}/exports/localite", headers=auth["technician"]).status_code == 200


@pytest.mark.parametrize("fmt", ["json", "localite", "brainsight", "simnibs"])
@pytest.mark.parametrize("space", ["ras", "lps"])
def test_exports(client, auth, approved_plan_id, fmt, space):
    plan_id = approved_plan_id
    response = client.get(f"/api/v1/plans/{plan_id}/exports/{fmt}", headers=auth["clinician"],
                          params={"space": space})
    if fmt == "simnibs" and space == "lps":
        assert response.status_code == 422 and response.json()["detail"]
        return
    assert response.status_code == 200, response.text
    assert response.content
    assert "attachment; filename=" in response.headers["content-disposition"]


def test_export_bad_format_or_space_is_422(client, auth, plan_id):
    for url in (f"/api/v1/plans/{plan_id}/exports/dicom",
                f"/api/v1/plans/{plan_id}/exports/json?space=xyz"):
        assert client.get(url, headers=auth["clinician"]).status_code == 422


def test_localite_lps_flips_x_and_y(client, auth, approved_plan_id):
    plan_id = approved_plan_id
    ras = client.get(f"/api/v1/plans/{plan_id}/exports/localite", headers=auth["clinician"])
    lps = client.get(f"/api/v1/plans/{plan_id}/exports/localite?space=lps",
                     headers=auth["clinician"])
    assert b'coordinateSpace="RAS"' in ras.content and b'coordinateSpace="LPS"' in lps.content


def test_report_is_html(client, auth, plan_id):
    response = client.get(f"/api/v1/plans/{plan_id}/report", headers=auth["auditor"])
    assert response.status_code == 200 and "QC report" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_audit_records_who_what_when_outcome(client, app, auth, patient, plan_id):
    client.get(f"/api/v1/patients/{patient['id']}", headers=auth["clinician"])
    client.get(f"/api/v1/plans/{plan_id}", headers=auth["navigator"])
    client.get("/api/v1/patients", headers={"Authorization": "Bearer nsv_wrong"})
    events = client.get("/api/v1/audit", headers=auth["admin"],
                        params={"resource_id": patient["id"]}).json()["items"]
    read = [e for e in events if e["method"] == "GET"]
    assert read and read[0]["token_name"] == "clinician"
    assert read[0]["route"] == "/api/v1/patients/{patient_id}"
    assert read[0]["outcome"] == "success" and read[0]["status_code"] == 200
    created = [e for e in events if e["method"] == "POST"]
    assert created[0]["route"] == "/api/v1/patients" and created[0]["status_code"] == 201
    denied = client.get("/api/v1/audit", headers=auth["auditor"],
                        params={"token_name": "navigator", "outcome": "not_found"}).json()
    assert [e["resource_id"] for e in denied["items"]] == [plan_id]
    anonymous = client.get("/api/v1/audit", headers=auth["auditor"],
                           params={"outcome": "unauthenticated"}).json()["items"]
    assert anonymous and anonymous[0]["token_name"] is None
    dumped = json.dumps(client.get("/api/v1/audit?limit=500", headers=auth["admin"]).json())
    assert "Jane Doe" not in dumped and "1980-04-02" not in dumped


def test_audit_time_filters_and_access(client, auth):
    client.get("/api/v1/me", headers=auth["technician"])
    assert client.get("/api/v1/audit", headers=auth["technician"]).status_code == 403
    future = client.get("/api/v1/audit", headers=auth["admin"],
                        params={"since": "2199-01-01T00:00:00Z"}).json()
    assert future["items"] == []
    past = client.get("/api/v1/audit", headers=auth["admin"],
                      params={"until": "2199-01-01T00:00:00+00:00", "method": "get"}).json()
    assert past["items"]
    assert client.get("/api/v1/audit?since=yesterday", headers=auth["admin"]).status_code == 422
    # a filter value no record can have was an empty list, as if nothing had happened
    for params in ({"outcome": "failure"}, {"method": "GET /"}, {"method": "UNSUBSCRIBE"}):
        refused = client.get("/api/v1/audit", headers=auth["admin"], params=params)
        assert refused.status_code == 422 and next(iter(params)) in refused.json()["detail"]
    assert client.get("/api/v1/audit", headers=auth["admin"], params={"method": "Get"}).status_code == 200
    # any method a request can carry is recorded, so it can be searched for
    client.request("PROPFIND", "/api/v1/patients", headers=auth["clinician"])
    found = client.get("/api/v1/audit", headers=auth["admin"], params={"method": "PROPFIND"})
    assert found.status_code == 200 and [e["method"] for e in found.json()["items"]] == ["PROPFIND"]


@pytest.mark.parametrize("status, outcome", [(200, "success"), (399, "success"), (400, "rejected"), (401, "unauthenticated"),
                                             (403, "denied"), (404, "not_found"), (499, "rejected"), (500, "error")])
def test_each_status_has_its_audit_outcome(status, outcome):
    from api.audit import outcome_of

    assert outcome_of(status) == outcome


def test_a_request_that_fails_unhandled_is_recorded_as_an_error(app, auth, patient, monkeypatch):
    from fastapi.testclient import TestClient

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        monkeypatch.setattr("api.routes.patients.patient_out", broken)
        assert client.get(f"/api/v1/patients/{patient['id']}", headers=auth["clinician"]).status_code == 500
        monkeypatch.undo()
        app.state.audit.flush()
        events = client.get("/api/v1/audit", headers=auth["admin"], params={"outcome": "error"}).json()["items"]
    assert [(e["method"], e["route"], e["resource_id"], e["status_code"], e["token_name"]) for e in events] == [
        ("GET", "/api/v1/patients/{patient_id}", patient["id"], 500, "clinician")]


def test_an_unrecorded_change_says_it_was_made_and_logs_its_event(app, auth, caplog):
    # the write is committed before its audit event; when the event cannot be committed the
    # answer said "nothing was returned" although the patient had been stored
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as client:
        writer = app.state.audit

        async def failing_write(**_event):
            raise OSError("disk full")

        original, writer.write = writer.write, failing_write
        try:
            created = client.post("/api/v1/patients", headers=auth["technician"], json={"external_id": "MRN-77"})
            read = client.get("/api/v1/patients", headers=auth["technician"])
        finally:
            writer.write = original
        assert created.status_code == 500 and "was carried out" in created.json()["detail"]
        assert read.status_code == 500 and "nothing was returned" in read.json()["detail"]
        stored = client.get("/api/v1/patients?external_id=MRN-77", headers=auth["auditor"]).json()["items"]
    assert len(stored) == 1
    assert f"'resource_id': '{stored[0]['id']}'" in caplog.text and "'method': 'POST'" in caplog.text


@pytest.mark.parametrize("source, declared", [("dicom", b'coordinateSpace="LPS"'),
                                               ("nifti", b'coordinateSpace="RAS"')])
def test_a_navigator_file_is_in_the_space_of_the_uploaded_image_by_default(client, auth, app, image,
                                                                          source, declared):
    plan_id = insert_plan(app, image["id"], {**plan_dict(), "input": {"format": source}})
    assert client.post(f"/api/v1/plans/{plan_id}/approval", headers=auth["clinician"]).status_code == 201
    response = client.get(f"/api/v1/plans/{plan_id}/exports/localite", headers=auth["clinician"])
    assert response.status_code == 200 and declared in response.content
    asked = client.get(f"/api/v1/plans/{plan_id}/exports/localite", headers=auth["clinician"],
                       params={"space": "ras"})
    assert b'coordinateSpace="RAS"' in asked.content
