"""Who marked a session missed, when and why: the reason a clinician gave was dropped.

Sessions marked missed before this revision get who and when from their audit record (the
successful POST .../missed of the session); their reason was never stored and stays null.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from api.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_MISSED_ROUTE = "/api/v1/sessions/{session_id}/missed"
_BACKFILL = [
    f"""
UPDATE course_sessions SET {column} = (
    SELECT a.{source} FROM audit_events a
    WHERE a.resource_id = course_sessions.id AND a.method = 'POST' AND a.status_code = 200
      AND a.route = '{_MISSED_ROUTE}'
    ORDER BY a.at DESC LIMIT 1)
WHERE course_sessions.state = 'missed'
""" for column, source in (("missed_by", "token_name"), ("missed_at", "at"))]


def upgrade() -> None:
    """Add ``course_sessions.missed_by``, ``missed_at`` and ``missed_reason``; fill who and
    when for sessions already missed."""
    with op.batch_alter_table("course_sessions") as batch:
        batch.add_column(sa.Column("missed_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("missed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("missed_reason", sa.Text(), nullable=True))
    for statement in _BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    """Drop the three columns (refused while a reason is stored: it would be lost)."""
    if op.get_bind().execute(sa.text(
            "SELECT count(*) FROM course_sessions WHERE missed_reason IS NOT NULL")).scalar():
        raise RuntimeError("sessions were marked missed with a reason: going below 0008 would lose "
                           "the reasons; restore a backup taken before 0008 instead")
    with op.batch_alter_table("course_sessions") as batch:
        batch.drop_column("missed_reason")
        batch.drop_column("missed_at")
        batch.drop_column("missed_by")
