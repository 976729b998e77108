"""Records the reliability tests work on: a patient with an image, an approved plan, a
course with a cleared screening, a calendar, tokens of every role.

Everything is created through the HTTP API (a ``TestClient`` or an ``httpx.Client`` of
a real server) except the plan, which is inserted as a finished job would leave it
(the real pipeline takes 20 s; the API tests use the same shortcut).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path

from navsvc.course.screening import ITEMS

#: HAMD-17 items all 0
ZERO_ITEMS = {str(n): 0 for n in range(1, 18)}


def check(response, *statuses: int) -> dict:
    """Return the JSON of ``response`` after checking its status."""
    assert response.status_code in (statuses or (200, 201)), response.text
    return response.json()


def upload(http, headers: dict, patient_id: str, head: Path, name: str = "head.nii.gz"):
    """POST a file as the ``file`` part of an image upload and return the response."""
    with open(head, "rb") as handle:
        return http.post(f"/api/v1/patients/{patient_id}/images", headers=headers,
                         files={"file": (name, handle, "application/octet-stream")})


def monday_weeks_ago(weeks: int) -> date:
    """The Monday ``weeks`` weeks before this week's Monday."""
    today = date.today()
    return today - timedelta(days=today.weekday(), weeks=weeks)


def seed_course(http, auth: dict[str, dict], insert_plan, head: Path, weeks_ago: int = 5,
                protocol: str = "standard_10hz") -> dict[str, str]:
    """Create patient, image, approved plan, course with a cleared screening.

    Parameters
    ----------
    http : client
        ``TestClient`` or ``httpx.Client`` with the base URL of the service.
    auth : dict
        Role -> headers with its bearer token.
    insert_plan : callable
        ``insert_plan(image_id) -> plan_id`` storing a finished plan.
    head : Path
        A valid small T1.
    weeks_ago : int
        The course starts on the Monday this many weeks ago, so its sessions are due.
    protocol : str
        Protocol preset of the course.

    Returns
    -------
    dict
        Ids: ``patient_id``, ``image_id``, ``plan_id``, ``course_id``, ``session_id``
        (the first session), ``calendar_id``.
    """
    tech, doc = auth["technician"], auth["clinician"]
    patient = check(http.post("/api/v1/patients", headers=tech, json={
        "external_id": f"MRN-{uuid.uuid4().hex[:10]}", "name": "Zebulon Quixote",
        "birth_date": "1933-03-03"}), 201)
    image = check(upload(http, tech, patient["id"], head), 201)
    plan_id = insert_plan(image["id"])
    check(http.post(f"/api/v1/plans/{plan_id}/approval", headers=doc, json={"note": "ok"}), 201)
    calendar = check(http.post("/api/v1/calendars", headers=doc, json={
        "name": f"clinic-{uuid.uuid4().hex[:8]}", "working_weekdays": [0, 1, 2, 3, 4]}), 201)
    course = check(http.post(f"/api/v1/patients/{patient['id']}/courses", headers=doc, json={
        "plan_id": plan_id, "protocol": protocol,
        "start_date": monday_weeks_ago(weeks_ago).isoformat(), "arm": "active",
        "calendar_id": calendar["id"]}), 201)
    check(http.put(f"/api/v1/courses/{course['id']}/screening", headers=tech,
                   json={"answers": {item.key: False for item in ITEMS}}), 200)
    sessions = check(http.get(f"/api/v1/courses/{course['id']}/sessions", headers=tech))
    return {"patient_id": patient["id"], "image_id": image["id"], "plan_id": plan_id,
            "course_id": course["id"], "session_id": sessions["items"][0]["id"],
            "calendar_id": calendar["id"]}


def delivery_body(day: str, minute: int = 30, pulses: int = 3000) -> dict:
    """A delivery log performed on ``day`` at 09:``minute`` UTC."""
    return {"performed_at": f"{day}T09:{minute:02d}:00Z", "operator": "tech-anna",
            "rmt_pct_mso": 50, "pct_of_mt": 120, "pulses_delivered": pulses,
            "trains_delivered": pulses // 40, "side_effects": []}


def extra_rating(day: str, rater: str = "rater-lee") -> dict:
    """An ``extra`` HAMD-17 rating body (may be recorded any number of times)."""
    return {"timepoint": "extra", "rater": rater, "rated_at": f"{day}T15:00:00Z",
            "items": ZERO_ITEMS, "item16_method": "A"}
