"""When a course was paused, resumed or stopped: a session given before a pause or stop was
entered (the same morning) may still be logged.

Revision ID: 0004
Revises: 0003
Create Date: 2025-12-01
"""

import sqlalchemy as sa
from alembic import op

from api.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The moment a stored pause or stop was entered is the time of its audit record (the last
# successful POST .../pause or .../stop of the course); a course without one keeps null,
# and then no session given before the pause or stop can be logged, as before.
_BACKFILL = """
UPDATE courses SET status_changed_at = (
    SELECT max(a.at) FROM audit_events a
    WHERE a.resource_id = courses.id AND a.method = 'POST' AND a.status_code = 200
      AND a.route = CASE courses.status WHEN 'paused' THEN '/api/v1/courses/{course_id}/pause'
                                        ELSE '/api/v1/courses/{course_id}/stop' END)
WHERE courses.status IN ('paused', 'stopped')
"""


def upgrade() -> None:
    """Add ``courses.status_changed_at`` and fill it for paused and stopped courses."""
    with op.batch_alter_table("courses") as batch:
        batch.add_column(sa.Column("status_changed_at", UTCDateTime(), nullable=True))
    op.execute(_BACKFILL)


def downgrade() -> None:
    """Drop ``courses.status_changed_at``."""
    with op.batch_alter_table("courses") as batch:
        batch.drop_column("status_changed_at")
