"""``navsvc admin`` and ``navsvc serve`` commands; problem details for bad requests."""

from __future__ import annotations

import pytest

from api.tokens import create_token
from navsvc.cli import build_parser, main


def test_admin_token_lifecycle(cli_env, capsys, app, client):
    assert main(["admin", "migrate"]) == 0
    assert "newest schema revision" in capsys.readouterr().out
    assert main(["admin", "create-token", "--role", "navigator", "--name", "nav-1",
                 "--blinded"]) == 0
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("nsv_") and len(secret) > 40
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()
    assert me == {"name": "nav-1", "role": "navigator", "blinded": True}
    assert main(["admin", "create-token", "--role", "clinician", "--name", "nav-1"]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["admin", "list-tokens"]) == 0
    listing = capsys.readouterr().out
    assert "nav-1  navigator blinded" in listing and secret not in listing
    assert main(["admin", "revoke-token", "nav-1"]) == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert main(["admin", "revoke-token", "nobody"]) == 2


def test_admin_rejects_unknown_role(cli_env):
    with pytest.raises(SystemExit):
        main(["admin", "create-token", "--role", "root", "--name", "x"])


@pytest.mark.parametrize("command", [["serve"], ["worker"], ["admin", "list-tokens"]])
@pytest.mark.parametrize("variable", ["NAVSVC_MAX_UPLOAD_MB", "NAVSVC_THREADS"])
def test_an_invalid_setting_is_one_error_line(cli_env, monkeypatch, capsys, command, variable):
    # the engine's NAVSVC_THREADS was read only when a job started: the service started and
    # failed every job
    import api.serving

    monkeypatch.setattr(api.serving, "serve", lambda *args: pytest.fail("the service started"))
    monkeypatch.setenv(variable, "0")
    assert main(command) == 2
    assert capsys.readouterr().err.strip() == (
        f"navsvc: error: invalid setting: {variable}='0': Input should be greater than or equal to 1")


def test_serve_with_no_worker_process_is_bad_input(cli_env, capsys):
    assert main(["serve", "--workers", "0"]) == 2
    assert capsys.readouterr().err.strip() == "navsvc: error: --workers 0: give at least 1 (one process per core is usual)"


def test_serve_parser_defaults():
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8000) and callable(args.run)


def test_tokens_are_stored_hashed(app, client):
    secret = create_token(app.state.db, "ws", "technician")
    with app.state.db.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT token_sha256 FROM tokens").fetchall()
    assert secret not in str(rows) and len(rows[0][0]) == 64


@pytest.mark.parametrize("method,url,kwargs,status", [
    ("GET", "/nowhere", {}, 404),
    ("DELETE", "/api/v1/patients", {}, 405),
    ("POST", "/api/v1/patients", {"content": b"{not json", "headers": {
        "content-type": "application/json"}}, 422),
    ("GET", "/api/v1/patients?limit=100000", {}, 422),
    ("GET", "/api/v1/patients?offset=-1", {}, 422),
    ("GET", "/api/v1/plans?approved=maybe", {}, 422),
    ("GET", "/api/v1/patients/%E2%98%83%00", {}, 404),
    ("GET", "/api/v1/plans/x/exports/json?space=", {}, 422),
    ("POST", "/api/v1/patients", {"content": b'{"external_id": "MRN-9"}', "headers": {
        "content-type": "text/plain"}}, 415),
    ("POST", "/api/v1/patients", {"content": b'{"external_id": "MRN-9"}'}, 415),
    ("POST", "/api/v1/patients", {"content": b'external_id=MRN-9', "headers": {
        "content-type": "application/x-www-form-urlencoded"}}, 415),
    ("POST", "/api/v1/patients", {"content": b'{"external_id": 5}', "headers": {
        "content-type": "application/json"}}, 422),
    ("POST", "/api/v1/patients", {"content": b'[1]', "headers": {
        "content-type": "application/json; charset=utf-8"}}, 422),
])
def test_client_mistakes_are_problems(client, auth, method, url, kwargs, status):
    headers = {**auth["clinician"], **kwargs.get("headers", {})}  # kwargs is shared by each database's run
    response = client.request(method, url, headers=headers, **{k: v for k, v in kwargs.items() if k != "headers"})
    assert response.status_code == status, response.text
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status


def test_streamed_upload_over_limit_is_413(client, auth, patient):
    boundary = "navsvcboundary"

    def body():
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
               f"filename=\"big.nii\"\r\n\r\n").encode()
        for _ in range(17):  # 17 MiB against the 16 MiB limit of the test settings
            yield b"\0" * (1024 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(f"/api/v1/patients/{patient['id']}/images",
                           headers={**auth["technician"],
                                    "content-type": f"multipart/form-data; boundary={boundary}"},
                           content=body())
    assert response.status_code == 413 and response.json()["status"] == 413


@pytest.mark.parametrize("url,status", [
    ("/api/v1/patients?external_id=MRN%00", 200),
    ("/api/v1/plans/x%00", 404),
    ("/api/v1/jobs/x%00", 404),
])
def test_a_nul_in_a_looked_up_value_finds_nothing(client, auth, url, status):
    # PostgreSQL refuses NUL in text: the lookup must answer "nothing found", not fail.
    response = client.get(url, headers=auth["clinician"])
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["items"] == []


def test_a_body_not_sent_as_json_is_415_saying_what_to_send(client, auth, app):
    response = client.post("/api/v1/patients", headers={**auth["clinician"], "content-type": "text/plain"},
                           content=b'{"external_id": "MRN-9"}')
    assert response.status_code == 415
    assert "Content-Type: application/json" in response.json()["detail"] and "text/plain" in response.json()["detail"]
    assert client.get("/api/v1/patients", headers=auth["clinician"]).json()["items"] == []
    document = app.openapi()
    assert "415" in document["paths"]["/api/v1/patients"]["post"]["responses"]
    assert "415" not in document["paths"]["/api/v1/patients"]["get"]["responses"]


@pytest.mark.parametrize("query", ["since=2025-03-01T10:00:00", "until=2025-03-01"])
def test_audit_times_need_their_zone(client, auth, query):
    response = client.get(f"/api/v1/audit?{query}", headers=auth["auditor"])
    assert response.status_code == 422 and "time zone" in response.json()["detail"]
    zoned = client.get("/api/v1/audit?since=2025-03-01T10:00:00%2B01:00", headers=auth["auditor"])
    assert zoned.status_code == 200


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_a_json_body_over_the_limit_is_413_before_it_is_read_whole(client, auth, declared):
    # JSON bodies had no limit: a 300 MB body was read into memory, then answered 401
    from api.body_limit import MAX_JSON_BODY_BYTES

    chunk = b" " * (1024 * 1024)
    chunks = MAX_JSON_BODY_BYTES // len(chunk) + 1

    def body():
        yield b'{"external_id": "MRN-big", "name": "'
        for _ in range(chunks):
            yield chunk
        yield b'"}'

    whole = b"".join(body())
    for headers in ({}, auth["clinician"]):
        response = client.post("/api/v1/patients", headers={**headers, "content-type": "application/json"},
                               content=whole if declared else body())
        assert response.status_code == 413, response.text
        problem = response.json()
        assert problem["status"] == 413 and "larger than 96 MiB, the most this request may send" in problem["detail"]
        assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/patients?external_id=MRN-big", headers=auth["clinician"]).json()["items"] == []


def test_bodies_that_cannot_be_read_say_why_and_what_to_do(client, auth, patient):
    # each said only what failed: "There was an error parsing the body", "JSON decode
    # error", "malformed multipart body (MultipartParseError)"
    headers = {**auth["clinician"], "content-type": "application/json"}
    deep = client.post("/api/v1/patients", headers=headers, content=b"[" * 5000 + b"]" * 5000)
    assert deep.status_code == 400 and "nested too deeply" in deep.json()["detail"]
    broken = client.post("/api/v1/patients", headers=headers, content=b'{"external_id": "a", }')
    assert broken.status_code == 422
    assert "not valid JSON (Expecting property name enclosed in double quotes): check the quotes" in \
        broken.json()["detail"]
    boundary = "navsvcboundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{"a" * 20000}.nii"'
            f"\r\n\r\nabc\r\n--{boundary}--\r\n").encode()
    upload = client.post(f"/api/v1/patients/{patient['id']}/images",
                         headers={**auth["technician"], "content-type": f"multipart/form-data; boundary={boundary}"},
                         content=body)
    assert upload.status_code == 422
    assert "(MultipartParseError: Maximum header size exceeded): send the image as one 'file' part" in \
        upload.json()["detail"]


@pytest.mark.parametrize("value", ["MRN-1\x00", "MRN\t1", "MRN-1\n"])
def test_a_name_records_are_found_by_has_no_control_characters(client, auth, value):
    # SQLite stored "MRN-1\x00" beside "MRN-1": look-alike duplicates (PostgreSQL refused it)
    patient = client.post("/api/v1/patients", headers=auth["clinician"], json={"external_id": value})
    assert patient.status_code == 422 and "control characters" in patient.json()["detail"]
    calendar = client.post("/api/v1/calendars", headers=auth["admin"],
                           json={"name": value, "working_weekdays": [0, 1, 2, 3, 4]})
    assert calendar.status_code == 422 and "control characters" in calendar.json()["detail"]
    assert client.get("/api/v1/patients", headers=auth["clinician"]).json()["items"] == []
