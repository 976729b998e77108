"""Ratings not obtained: a clinician records that a baseline or week rating will not be
taken, with the reason, and the timepoint is no longer due (until the record is withdrawn).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from api.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``ratings_not_obtained``."""
    op.create_table(
        "ratings_not_obtained",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("course_id", sa.String(36), sa.ForeignKey("courses.id"), nullable=False),
        sa.Column("timepoint", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.String(200), nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_ratings_not_obtained_course_id", "ratings_not_obtained", ["course_id"])


def downgrade() -> None:
    """Drop ``ratings_not_obtained`` (refused while it holds records: they would be lost)."""
    if op.get_bind().execute(sa.text("SELECT count(*) FROM ratings_not_obtained")).scalar():
        raise RuntimeError("ratings were recorded as not obtained: going below 0007 would lose "
                           "them; restore a backup taken before 0007 instead")
    op.drop_index("ix_ratings_not_obtained_course_id", table_name="ratings_not_obtained")
    op.drop_table("ratings_not_obtained")
