"""Read-only lookups for the busiest GET routes: Core queries on a read connection.

The ORM costs several times more per row than a Core query, and these routes only
render rows; they run in the event loop on :attr:`api.db.Database.read_engine`
connections (no write lock on SQLite, see :mod:`api.db`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from sqlalchemy import Connection, Row, Select, Table, select

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


@contextmanager
def read_connection(request: Request) -> Iterator[Connection]:
    """Yield a read-only connection of the application's database (rolled back after)."""
    with request.app.state.db.read_engine.connect() as connection:
        yield connection


def row_or_404(connection: Connection, table: Table, resource_id: str, what: str) -> Row:
    """Return the row of ``table`` with primary key ``resource_id`` or raise a 404 problem."""
    # Ids never contain NUL; PostgreSQL would refuse the query rather than find nothing.
    row = None if "\x00" in resource_id else connection.execute(
        select(table).where(table.c.id == resource_id)).first()
    if row is None:
        raise ProblemError(404, f"no {what} with id '{resource_id}'")
    return row
