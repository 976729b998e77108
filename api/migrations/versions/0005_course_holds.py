"""Every pause and stop of a course, with when it was entered and when a pause ended: a
session given while a hold was in force stays refused after the course is resumed or
stopped.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from api.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The hold of a course paused or stopped now: its moment is status_changed_at (null when
# unknown: it then holds from the start). Ended pauses were not recorded before this
# revision and cannot be rebuilt.
_BACKFILL = """
INSERT INTO course_holds (id, course_id, kind, entered_at, from_date, ended_at)
SELECT id, id, CASE status WHEN 'paused' THEN 'pause' ELSE 'stop' END, status_changed_at,
       CASE status WHEN 'paused' THEN paused_from END, NULL
FROM courses WHERE status IN ('paused', 'stopped')
"""


def upgrade() -> None:
    """Create ``course_holds`` and enter the holds of paused and stopped courses."""
    op.create_table(
        "course_holds",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("course_id", sa.String(36), sa.ForeignKey("courses.id"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("entered_at", UTCDateTime(), nullable=True),
        sa.Column("from_date", sa.Date(), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_course_holds_course_id", "course_holds", ["course_id"])
    op.execute(_BACKFILL)


def downgrade() -> None:
    """Drop ``course_holds``."""
    op.drop_index("ix_course_holds_course_id", table_name="course_holds")
    op.drop_table("course_holds")
