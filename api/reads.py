"""Read-only lookups for the GET routes, run in the event loop.

The ORM costs several times more per row than a Core query, and a Core execution
several times more than :func:`api.db.fetch`; these routes only render rows. Neither
takes SQLite's write lock (see :mod:`api.db`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from sqlalchemy import Connection, Select, Table, bindparam, select

from api.models import Approval, Image, Job, Patient, Plan
from api.problems import ProblemError

PLANS: Table = Plan.__table__
IMAGES: Table = Image.__table__
APPROVALS: Table = Approval.__table__
JOBS: Table = Job.__table__
PATIENTS: Table = Patient.__table__

#: a plan with its patient id and its approval columns (``approval_*``, NULL if none)
PLAN_ROWS: Select = (
    select(PLANS, IMAGES.c.patient_id, APPROVALS.c.id.label("approval_id"),
           APPROVALS.c.approved_by, APPROVALS.c.approved_at, APPROVALS.c.note)
    .join(IMAGES, PLANS.c.image_id == IMAGES.c.id)
    .outerjoin(APPROVALS, APPROVALS.c.plan_id == PLANS.c.id))

#: one plan of :data:`PLAN_ROWS` by id (``plan_id``)
PLAN_BY_ID: Select = PLAN_ROWS.where(PLANS.c.id == bindparam("plan_id"))

_PATIENT_ORDER = select(PATIENTS).order_by(PATIENTS.c.created_at, PATIENTS.c.id)
#: a page of patients in creation order (``limit``, ``offset``)
PATIENT_PAGE: Select = _PATIENT_ORDER.limit(bindparam("limit")).offset(bindparam("offset"))
#: the same, only the patient with ``external_id``
PATIENT_PAGE_BY_EXTERNAL_ID: Select = (
    _PATIENT_ORDER.where(PATIENTS.c.external_id == bindparam("external_id"))
    .limit(bindparam("limit")).offset(bindparam("offset")))


@contextmanager
def read_connection(request: Request) -> Iterator[Connection]:
    """Yield a read-only connection of the application's database (rolled back after)."""
    with request.app.state.db.read_engine.connect() as connection:
        yield connection


@functools.cache
def _by_id(table: Table) -> Select:
    return select(table).where(table.c.id == bindparam("id"))


def fetch_rows(request: Request, statement: Select, **params) -> list[tuple]:
    """:meth:`api.db.LoopReader.fetch` on the application's database; no rows when a text parameter
    holds a NUL (no id or name does, and PostgreSQL would refuse the query rather than
    find nothing)."""
    if any(isinstance(value, str) and "\x00" in value for value in params.values()):
        return []
    return request.app.state.db.loop_reads.fetch(statement, **params)


def row_or_404(request: Request, table: Table, resource_id: str, what: str) -> tuple:
    """Return the row of ``table`` with primary key ``resource_id`` or raise a 404 problem.

    Parameters
    ----------
    request : Request
        The request; its application's database is read (:func:`fetch_rows`).
    table : sqlalchemy.Table
        The table to read; its primary key column is ``id``.
    resource_id : str
        Primary key of the row.
    what : str
        Name of the resource in the 404 message (``"job"``, ``"patient"``).

    Returns
    -------
    tuple
        The row, a named tuple of the table's columns (:func:`api.db.fetch`).

    Raises
    ------
    ProblemError
        404 when the table has no row with this id.
    """
    rows = fetch_rows(request, _by_id(table), id=resource_id)
    if not rows:
        raise ProblemError(404, f"no {what} with id '{resource_id}'")
    return rows[0]
