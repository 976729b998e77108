"""The docs page's response examples name the fields and links the API really answers with.

The examples are written by hand beside the models; they had fallen behind the code (a plan's
example showed 3 of its 8 links, a course's 2 of 9, a delivery's dose 5 of its 10 fields).
"""

from __future__ import annotations

from seed import delivery_body


def _example(model: str) -> dict:
    # the model's own example: the docs page drops its null values
    import api.schemas as core
    import api.schemas_course as course
    import api.schemas_rating as rating
    import api.schemas_screening as screening
    import api.schemas_session as session

    cls = next(getattr(m, model) for m in (core, course, session, rating, screening) if hasattr(m, model))
    return cls.model_config["json_schema_extra"]["examples"][0]


def _answers(client, auth, seeded) -> dict[str, dict]:
    clinician = auth["clinician"]
    sessions = client.get(f"/api/v1/courses/{seeded['course_id']}/sessions", headers=clinician).json()["items"]
    logged = client.post(f"/api/v1/sessions/{sessions[0]['id']}/delivery", headers=auth["technician"],
                         json=delivery_body(sessions[0]["date"]))
    assert logged.status_code == 201, logged.text
    job = client.get("/api/v1/jobs", headers=clinician).json()["items"]
    return {
        "PatientOut": client.get(f"/api/v1/patients/{seeded['patient_id']}", headers=clinician).json(),
        "ImageOut": client.get(f"/api/v1/images/{seeded['image_id']}", headers=clinician).json(),
        "PlanOut": client.get(f"/api/v1/plans/{seeded['plan_id']}", headers=clinician).json(),
        "CourseOut": client.get(f"/api/v1/courses/{seeded['course_id']}", headers=clinician).json(),
        "SessionOut": client.get(f"/api/v1/sessions/{sessions[1]['id']}", headers=clinician).json(),  # planned, as the example
        "DeliveryOut": logged.json(),
        "CourseSummary": client.get(f"/api/v1/courses/{seeded['course_id']}/summary", headers=clinician).json(),
        "CalendarOut": client.get(f"/api/v1/calendars/{seeded['calendar_id']}", headers=clinician).json(),
        "JobOut": job[0],
    }


def test_each_example_has_the_fields_and_links_of_a_real_answer(client, auth, seeded):
    answers = _answers(client, auth, seeded)
    wrong = []
    for model, real in answers.items():
        example = _example(model)
        if set(example) != set(real):
            wrong.append(f"{model}: example lacks {sorted(set(real) - set(example))}, "
                         f"has unknown {sorted(set(example) - set(real))}")
        links, real_links = set(example.get("links") or {}), set(real.get("links") or {})
        if model == "JobOut":  # the example is a running job: no plan link yet
            real_links.discard("plan")
        if links != real_links:
            wrong.append(f"{model}: example links {sorted(links)}, answer {sorted(real_links)}")
        if model == "DeliveryOut" and set(example["dose"]) != set(real["dose"]):
            wrong.append(f"DeliveryOut: example dose {sorted(example['dose'])}, answer {sorted(real['dose'])}")
    assert wrong == []

