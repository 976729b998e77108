"""The safety screening over HTTP: it gates a course's first session, an override is a
clinician's documented decision, and each course is screened on its own answers."""

from __future__ import annotations

from course_helpers import (
    another_patients_course,
    clear_screening,
    delivery,
    log_delivery,
    sessions,
)


def test_screening_gates_the_first_session(client, auth, course):
    first = sessions(client, auth, course["id"])["items"][0]
    response = log_delivery(client, auth, first["id"], delivery("2025-03-03"))
    assert response.status_code == 409 and "no safety screening" in response.json()["detail"]
    screening = clear_screening(client, auth, course["id"], epilepsy_or_seizure=True,
                                current_medication=True)
    assert screening["status"]["blocking_items"] == ["epilepsy_or_seizure"]
    response = log_delivery(client, auth, first["id"], delivery("2025-03-03"))
    assert response.status_code == 409 and "epilepsy_or_seizure" in response.json()["detail"]
    url = f"/api/v1/courses/{course['id']}/screening/override"
    body = {"items": ["epilepsy_or_seizure"], "reason": "childhood febrile seizure only"}
    assert client.post(url, headers=auth["technician"], json=body).status_code == 403
    response = client.post(url, headers=auth["clinician"], json={**body, "items": ["syncope"]})
    assert response.status_code == 422 and "nothing to override" in response.json()["detail"]
    response = client.post(url, headers=auth["clinician"], json=body)
    assert response.status_code == 200 and response.json()["status"]["cleared"]
    assert response.json()["override_by"] == "clinician"
    assert log_delivery(client, auth, first["id"], delivery("2025-03-03")).status_code == 201


def test_a_new_screening_drops_the_override_of_the_last(client, auth, course):
    # answers given again need a new clinical decision: the old override does not carry over
    clear_screening(client, auth, course["id"], epilepsy_or_seizure=True)
    url = f"/api/v1/courses/{course['id']}/screening"
    overridden = client.post(f"{url}/override", headers=auth["clinician"],
                             json={"items": ["epilepsy_or_seizure"], "reason": "childhood febrile seizure only"})
    assert overridden.json()["status"]["cleared"] is True
    again = clear_screening(client, auth, course["id"], epilepsy_or_seizure=True)
    assert again["status"]["cleared"] is False and again["status"]["blocking_items"] == ["epilepsy_or_seizure"]
    assert (again["override_items"], again["override_reason"], again["override_by"]) == ([], None, None)
    first = sessions(client, auth, course["id"])["items"][0]
    response = log_delivery(client, auth, first["id"], delivery("2025-03-03"))
    assert response.status_code == 409 and "epilepsy_or_seizure" in response.json()["detail"]


def test_overrides_add_up_and_need_a_screening_first(client, auth, course):
    url = f"/api/v1/courses/{course['id']}/screening/override"
    reason = {"reason": "benefit outweighs the risk; discussed with the patient"}
    early = client.post(url, headers=auth["clinician"], json={"items": ["syncope"], **reason})
    assert early.status_code == 409 and early.json()["detail"] == "record the safety screening before overriding it"
    clear_screening(client, auth, course["id"], epilepsy_or_seizure=True, syncope=True)
    first = client.post(url, headers=auth["clinician"], json={"items": ["syncope"], **reason}).json()
    assert first["status"]["cleared"] is False and first["status"]["blocking_items"] == ["epilepsy_or_seizure"]
    both = client.post(url, headers=auth["clinician"], json={"items": ["epilepsy_or_seizure"], **reason}).json()
    assert both["status"]["cleared"] is True and both["override_items"] == ["epilepsy_or_seizure", "syncope"]


def test_each_course_is_screened_on_its_own_answers(client, auth, app, course, small_head):
    # one patient's screening (cleared, or overridden by a clinician) never clears, nor is
    # replaced by, another patient's
    other = another_patients_course(client, auth, app, small_head, "MRN-SCREEN-2")
    screening_url = f"/api/v1/courses/{other['id']}/screening"
    cleared = clear_screening(client, auth, course["id"])
    other_first = sessions(client, auth, other["id"])["items"][0]
    response = log_delivery(client, auth, other_first["id"], delivery("2025-03-03"))
    assert response.status_code == 409 and "no safety screening" in response.json()["detail"]
    assert client.get(screening_url, headers=auth["clinician"]).status_code == 404
    blocked = clear_screening(client, auth, other["id"], epilepsy_or_seizure=True)
    assert blocked["status"]["cleared"] is False
    response = log_delivery(client, auth, other_first["id"], delivery("2025-03-03"))
    assert response.status_code == 409 and "epilepsy_or_seizure" in response.json()["detail"]
    overridden = client.post(f"{screening_url}/override", headers=auth["clinician"],
                             json={"items": ["epilepsy_or_seizure"], "reason": "childhood febrile seizure only"})
    assert overridden.status_code == 200 and overridden.json()["status"]["cleared"] is True
    assert client.get(f"/api/v1/courses/{course['id']}/screening", headers=auth["clinician"]).json() == cleared
    assert client.get(screening_url, headers=auth["clinician"]).json() == overridden.json()


def test_screening_answers_validated(client, auth, course):
    url = f"/api/v1/courses/{course['id']}/screening"
    response = client.put(url, headers=auth["technician"], json={"answers": {"syncope": False}})
    assert response.status_code == 422 and "is not answered" in response.json()["detail"]
    questions = client.get("/api/v1/screening/questionnaire", headers=auth["auditor"]).json()
    assert "Rossi" in questions["source"] and len(questions["items"]) == 14
    assert client.get(url, headers=auth["clinician"]).status_code == 404
