"""Two patients' courses side by side: one patient's sessions, holds and course list
never count for, hold or show the other's."""

from __future__ import annotations

from datetime import date

import pytest
from course_helpers import (
    another_patients_course,
    clear_screening,
    delivery,
    fix_now,
    fix_today,
    log_delivery,
    sessions,
)


def test_two_patients_treated_the_same_morning_are_each_logged(client, auth, app, course,
                                                               small_head):
    """Another patient's session given ten minutes before counts neither toward this
    course's sessions a day nor its minimum interval between sessions."""
    other = another_patients_course(client, auth, app, small_head, "MRN-SAME-DAY")
    for each in (course, other):
        clear_screening(client, auth, each["id"])
    for day, minute in (("2025-03-03", 30), ("2025-03-04", 30)):
        for each, at in ((other, minute), (course, minute + 10)):
            first_planned = next(s for s in sessions(client, auth, each["id"])["items"]
                                 if s["state"] == "planned")
            logged = log_delivery(client, auth, first_planned["id"],
                                  {**delivery(day), "performed_at": f"{day}T09:{at}:00Z"})
            assert logged.status_code == 201, logged.text
    for each in (course, other):
        states = [s["state"] for s in sessions(client, auth, each["id"])["items"]]
        assert states[:3] == ["done", "done", "planned"]
        listed = client.get(f"/api/v1/patients/{each['patient_id']}/courses",
                            headers=auth["auditor"]).json()["items"]
        assert [c["id"] for c in listed] == [each["id"]], "a patient's courses are their own"


@pytest.mark.parametrize("hold", ["pause", "stop"])
def test_another_patients_pause_or_stop_holds_nothing_of_this_course(client, auth, app, course,
                                                                     small_head, hold):
    other = another_patients_course(client, auth, app, small_head, "MRN-HOLD-2")
    fix_now(app, "2025-03-03T07:00:00+00:00")
    held = client.post(f"/api/v1/courses/{other['id']}/{hold}", headers=auth["clinician"],
                       json={"note": "the other patient's"})
    assert held.status_code == 200, held.text
    clear_screening(client, auth, course["id"])
    first = sessions(client, auth, course["id"])["items"][0]
    logged = log_delivery(client, auth, first["id"], delivery("2025-03-03"))  # 09:30, after it
    assert logged.status_code == 201, logged.text
    assert client.get(f"/api/v1/courses/{course['id']}", headers=auth["clinician"]).json()[
        "status"] == "active"


def test_the_day_list_gives_two_accelerated_courses_slot_by_slot(client, auth, app, small_head):
    """Two patients on 10 sessions a day: the technician's list for the day goes by the
    hour (slot), each slot's patients by MRN, not one patient's ten sessions after the
    other's."""
    fix_today(app, date(2025, 3, 3))
    courses = [another_patients_course(client, auth, app, small_head, mrn, protocol="accelerated")
               for mrn in ("MRN-ACC-B", "MRN-ACC-A")]
    day = client.get("/api/v1/schedule?date=2025-03-03", headers=auth["technician"]).json()["items"]
    listed = [(i["slot"], i["patient_external_id"], i["index"]) for i in day
              if i["course_id"] in {c["id"] for c in courses}]
    assert listed == [(slot, mrn, slot + 1) for slot in range(10)
                      for mrn in ("MRN-ACC-A", "MRN-ACC-B")]
