"""Job claims for queue workers: who runs a job and when that claim was last renewed.

Revision ID: 0003
Revises: 0002
Create Date: 2025-11-28
"""

import sqlalchemy as sa
from alembic import op

from api.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``jobs.claimed_by`` and ``jobs.heartbeat_at``."""
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    """Drop the claim columns."""
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("claimed_by")
