"""Treatment courses: clinic calendars, courses, sessions, deliveries, ratings, alerts, screening.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-21
"""

import sqlalchemy as sa
from alembic import op

from api.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the course tables."""
    op.create_table(
        "clinic_calendars",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("working_weekdays", sa.JSON(), nullable=False),
        sa.Column("closures", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "courses",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("patient_id", sa.String(36), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("plan_id", sa.String(64), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("calendar_id", sa.String(36), sa.ForeignKey("clinic_calendars.id"),
                  nullable=True),
        sa.Column("protocol_name", sa.String(64), nullable=False),
        sa.Column("protocol", sa.JSON(), nullable=False),
        sa.Column("arm", sa.String(10), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("paused_from", sa.Date(), nullable=True),
        sa.Column("status_note", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_courses_patient_id", "courses", ["patient_id"])
    op.create_index("ix_courses_plan_id", "courses", ["plan_id"])
    op.create_index("ix_courses_status", "courses", ["status"])
    op.create_table(
        "course_sessions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("course_id", sa.String(36), sa.ForeignKey("courses.id"), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("replaces_index", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("course_id", "index", name="uq_course_sessions_index"),
    )
    op.create_index("ix_course_sessions_course_id", "course_sessions", ["course_id"])
    op.create_index("ix_course_sessions_date", "course_sessions", ["date"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("session_id", sa.String(36), sa.ForeignKey("course_sessions.id"),
                  nullable=False, unique=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True, unique=True),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("performed_at", UTCDateTime(), nullable=False),
        sa.Column("operator", sa.String(200), nullable=False),
        sa.Column("rmt_pct_mso", sa.Float(), nullable=False),
        sa.Column("pct_of_mt", sa.Float(), nullable=False),
        sa.Column("dose", sa.JSON(), nullable=False),
        sa.Column("pulses_delivered", sa.Integer(), nullable=False),
        sa.Column("trains_delivered", sa.Integer(), nullable=True),
        sa.Column("pose_matrix", sa.JSON(), nullable=True),
        sa.Column("deviation", sa.JSON(), nullable=True),
        sa.Column("side_effects", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "assessments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("course_id", sa.String(36), sa.ForeignKey("courses.id"), nullable=False),
        sa.Column("timepoint", sa.String(20), nullable=False),
        sa.Column("rater", sa.String(200), nullable=False),
        sa.Column("rated_at", UTCDateTime(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("item16_method", sa.String(1), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_assessments_course_id", "assessments", ["course_id"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("course_id", sa.String(36), sa.ForeignKey("courses.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("source_id", sa.String(36), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("acknowledged_by", sa.String(200), nullable=True),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledgement_note", sa.Text(), nullable=True),
    )
    op.create_index("ix_alerts_course_id", "alerts", ["course_id"])
    op.create_table(
        "screenings",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("course_id", sa.String(36), sa.ForeignKey("courses.id"), nullable=False,
                  unique=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("screened_at", UTCDateTime(), nullable=False),
        sa.Column("screened_by", sa.String(200), nullable=False),
        sa.Column("override_items", sa.JSON(), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("override_by", sa.String(200), nullable=True),
        sa.Column("override_at", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    """Drop the course tables."""
    for table in ("screenings", "alerts", "assessments", "deliveries", "course_sessions",
                  "courses", "clinic_calendars"):
        op.drop_table(table)
