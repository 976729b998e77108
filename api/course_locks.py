"""Row locks that serialize concurrent writes to a course, a calendar or a patient, and
the course lookups that take them.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from api.models import Patient
from api.models_course import ClinicCalendarRecord, Course
from api.routes.common import get_or_404


def _lock_row(db: Session, model, key: str, unchanged_column) -> None:
    """Take the write lock of the ``model`` row with id ``key`` until the request
    commits: a no-op update (``unchanged_column`` set to itself) locks the row
    (PostgreSQL) or the database (SQLite). Rows already loaded are expired, so later
    reads see what the previous writer committed."""
    if "\x00" in key:
        return
    db.execute(update(model).where(model.id == key).values({unchanged_column: unchanged_column}))
    db.expire_all()


def lock_course(db: Session, course_id: str) -> None:
    """Serialize this request's writes with every other write to the course, so two
    requests cannot both check "not yet logged" or "no baseline yet" and then both write.

    Parameters
    ----------
    db : Session
        The request's database session; the lock lasts until it commits or rolls back.
    course_id : str
        The course.
    """
    _lock_row(db, Course, course_id, Course.status)


def lock_calendar(db: Session, calendar_id: str) -> None:
    """Serialize this request's change of a calendar with every other, so that two
    changes made at once both apply (the second sees the first's closures).

    Parameters
    ----------
    db : Session
        The request's database session; the lock lasts until it commits or rolls back.
    calendar_id : str
        The clinic calendar.
    """
    _lock_row(db, ClinicCalendarRecord, calendar_id, ClinicCalendarRecord.name)


def lock_patient(db: Session, patient_id: str) -> None:
    """Serialize this request's writes with every other write to the patient's courses,
    so two requests cannot both find "no running course" and both start one.

    Parameters
    ----------
    db : Session
        The request's database session; the lock lasts until it commits or rolls back.
    patient_id : str
        The patient.
    """
    _lock_row(db, Patient, patient_id, Patient.external_id)


def locked_course_or_404(db: Session, course_id: str) -> Course:
    """:func:`lock_course`, then return the course or raise a 404 problem.

    Parameters
    ----------
    db : Session
        The request's database session; the lock lasts until it commits or rolls back.
    course_id : str
        The course.

    Returns
    -------
    Course
    """
    lock_course(db, course_id)
    return course_or_404(db, course_id)


def course_or_404(db: Session, course_id: str) -> Course:
    """Return the course or raise a 404 problem.

    Parameters
    ----------
    db : Session
        The database session.
    course_id : str
        The course.

    Returns
    -------
    Course
    """
    return get_or_404(db, Course, course_id, "course")

