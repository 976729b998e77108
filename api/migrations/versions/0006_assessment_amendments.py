"""Amendments of HAMD-17 ratings: a rating carries its version, and every version an
amendment replaced is kept with who replaced it, when and why.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from api.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the version columns of ``assessments`` and create ``assessment_versions``."""
    with op.batch_alter_table("assessments") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("amended_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("amended_by", sa.String(200), nullable=True))
    op.create_table(
        "assessment_versions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("assessment_id", sa.String(36), sa.ForeignKey("assessments.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("timepoint", sa.String(20), nullable=False),
        sa.Column("rater", sa.String(200), nullable=False),
        sa.Column("rated_at", UTCDateTime(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("item16_method", sa.String(1), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("replaced_at", UTCDateTime(), nullable=False),
        sa.Column("replaced_by", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.UniqueConstraint("assessment_id", "version", name="uq_assessment_versions_version"),
    )
    op.create_index("ix_assessment_versions_assessment_id", "assessment_versions", ["assessment_id"])


def downgrade() -> None:
    """Drop ``assessment_versions`` and the version columns: an amended rating keeps its
    amended values, and the versions it replaced are lost (refused while any exist)."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM assessment_versions")).scalar():
        raise RuntimeError("ratings were amended: going below 0006 would lose the versions they "
                           "replaced; restore a backup taken before 0006 instead")
    op.drop_index("ix_assessment_versions_assessment_id", table_name="assessment_versions")
    op.drop_table("assessment_versions")
    with op.batch_alter_table("assessments") as batch:
        batch.drop_column("amended_by")
        batch.drop_column("amended_at")
        batch.drop_column("version")
