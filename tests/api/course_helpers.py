"""Shared steps of the course API tests: an approved plan, a course, screening, ratings."""

from __future__ import annotations

from datetime import date, datetime

from api.clinic_time import get_now, get_today
from navsvc.course.screening import ITEMS

#: HAMD-17 items all 0 (total 0)
ZERO_ITEMS = {str(n): 0 for n in range(1, 18)}


def fix_today(app, day: date) -> None:
    """Make the service's 'today' a fixed date."""
    app.dependency_overrides[get_today] = lambda: day


def fix_now(app, moment: str) -> None:
    """Make the service's clock, for the moment a pause or stop is entered, ``moment``
    (ISO 8601 with its offset)."""
    fixed = datetime.fromisoformat(moment)
    app.dependency_overrides[get_now] = lambda: fixed


def approve(client, auth, plan_id: str) -> None:
    """Approve a plan as a clinician."""
    response = client.post(f"/api/v1/plans/{plan_id}/approval", headers=auth["clinician"],
                           json={"note": "checked"})
    assert response.status_code == 201, response.text


def new_course(client, auth, patient_id: str, plan_id: str, start: str = "2025-03-03",
               **extra) -> dict:
    """Create a course (default standard_10hz, active arm) and return it."""
    body = {"plan_id": plan_id, "protocol": "standard_10hz", "start_date": start,
            "arm": "active", **extra}
    response = client.post(f"/api/v1/patients/{patient_id}/courses", headers=auth["clinician"],
                           json=body)
    assert response.status_code == 201, response.text
    return response.json()


def another_patients_course(client, auth, app, head_path, external_id: str, **extra) -> dict:
    """Register patient ``external_id``, upload ``head_path`` as their T1, approve a plan of
    it and return their course (:func:`new_course`)."""
    from api_test_fakes import plan_dict
    from api_test_helpers import another_patients_image, insert_plan

    image = another_patients_image(client, auth, head_path, external_id)
    plan = {**plan_dict(), "plan_id": f"plan-{external_id}"}
    approve(client, auth, insert_plan(app, image["id"], plan))
    return new_course(client, auth, image["patient_id"], plan["plan_id"], **extra)


def clear_screening(client, auth, course_id: str, **yes) -> dict:
    """Record a screening with every answer no except the keyword ones."""
    answers = {item.key: False for item in ITEMS}
    answers.update(yes)
    response = client.put(f"/api/v1/courses/{course_id}/screening", headers=auth["technician"],
                          json={"answers": answers})
    assert response.status_code == 200, response.text
    return response.json()


def sessions(client, auth, course_id: str) -> dict:
    """The course's session list."""
    response = client.get(f"/api/v1/courses/{course_id}/sessions", headers=auth["technician"])
    assert response.status_code == 200, response.text
    return response.json()


def session_dates(listing: dict) -> list[str]:
    """The dates of a session list's sessions, in its order."""
    return [s["date"] for s in listing["items"]]


def delivery(day: str, pulses: int = 3000, **extra) -> dict:
    """A delivery body performed at 09:30 UTC on ``day``."""
    return {"performed_at": f"{day}T09:30:00Z", "operator": "tech-anna", "rmt_pct_mso": 50,
            "pct_of_mt": 120, "pulses_delivered": pulses, "trains_delivered": pulses // 40,
            **extra}


def log_delivery(client, auth, session_id: str, body: dict, key: str | None = None, role: str = "technician"):
    """POST a delivery log of session ``session_id`` as ``role``, with an Idempotency-Key
    when ``key`` is given; return the response."""
    headers = dict(auth[role])
    if key:
        headers["Idempotency-Key"] = key
    return client.post(f"/api/v1/sessions/{session_id}/delivery", headers=headers, json=body)


def rate(client, auth, course_id: str, timepoint: str, day: str, total_items: dict | None = None,
         headers=None):
    """Post a HAMD-17 rating and return the response."""
    return client.post(f"/api/v1/courses/{course_id}/assessments",
                       headers=headers or auth["technician"],
                       json={"timepoint": timepoint, "rater": "rater-lee",
                             "rated_at": f"{day}T15:00:00Z",
                             "items": total_items or ZERO_ITEMS, "item16_method": "A"})


def rate_at(client, auth, course_id: str, timepoint: str, rated_at: str, items: dict | None = None):
    """Post a HAMD-17 rating taken at ``rated_at`` (ISO date-time) and return the response."""
    return client.post(f"/api/v1/courses/{course_id}/assessments", headers=auth["technician"],
                       json={"timepoint": timepoint, "rater": "rater-lee", "rated_at": rated_at,
                             "items": items or ZERO_ITEMS, "item16_method": "A"})


def deliver_sessions(client, auth, course: dict, count: int | None = None) -> None:
    """Clear the course's screening and log its first ``count`` sessions (all by default),
    each given at 09:30 UTC on its scheduled day."""
    clear_screening(client, auth, course["id"])
    for s in sessions(client, auth, course["id"])["items"][:count]:
        response = client.post(f"/api/v1/sessions/{s['id']}/delivery", headers=auth["technician"],
                               json=delivery(s["date"]))
        assert response.status_code == 201, response.text


def items_with_total(total: int) -> dict:
    """Item scores adding up to ``total`` (filled item by item up to each range)."""
    tops = [4, 4, 4, 2, 2, 2, 4, 4, 4, 4, 4, 2, 2, 2, 4, 2, 2]
    items, left = {}, total
    for number, top in enumerate(tops, 1):
        if number == 3:  # keep the suicide item at 0 unless a test sets it
            items["3"] = 0
            continue
        items[str(number)] = min(top, left)
        left -= items[str(number)]
    assert left == 0
    return items
