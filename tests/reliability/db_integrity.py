"""Integrity checks of the service database (SQLite or PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

#: (child table, column, parent table) of every foreign key the service relies on
FOREIGN_KEYS = (
    ("images", "patient_id", "patients"), ("jobs", "image_id", "images"),
    ("plans", "image_id", "images"), ("plans", "job_id", "jobs"),
    ("approvals", "plan_id", "plans"), ("courses", "patient_id", "patients"),
    ("courses", "plan_id", "plans"), ("course_sessions", "course_id", "courses"),
    ("deliveries", "session_id", "course_sessions"), ("assessments", "course_id", "courses"),
    ("alerts", "course_id", "courses"), ("screenings", "course_id", "courses"),
)


def integrity_problems(url: str) -> list[str]:
    """Return what is wrong with the database at ``url`` (empty when it is sound).

    SQLite: ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check``. PostgreSQL:
    ``amcheck`` on every B-tree index of the schema when the extension can be created.
    Both: no orphan rows, at most one delivery per session, no repeated idempotency key.
    """
    engine = sa.create_engine(url)
    problems: list[str] = []
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                result = [row[0] for row in connection.exec_driver_sql("PRAGMA integrity_check")]
                if result != ["ok"]:
                    problems.append(f"integrity_check: {result[:5]}")
                orphans = list(connection.exec_driver_sql("PRAGMA foreign_key_check"))
                if orphans:
                    problems.append(f"foreign_key_check: {orphans[:5]}")
            else:
                problems += _postgres_amcheck(connection)
            for child, column, parent in FOREIGN_KEYS:
                count = connection.execute(sa.text(
                    f"SELECT count(*) FROM {child} c LEFT JOIN {parent} p "
                    f"ON c.{column} = p.id WHERE p.id IS NULL")).scalar()
                if count:
                    problems.append(f"{count} rows of {child} point to no {parent}")
            for sql, what in (
                ("SELECT session_id FROM deliveries GROUP BY session_id HAVING count(*) > 1",
                 "sessions with more than one delivery"),
                ("SELECT idempotency_key FROM deliveries WHERE idempotency_key IS NOT NULL "
                 "GROUP BY idempotency_key HAVING count(*) > 1", "repeated idempotency keys"),
            ):
                rows = list(connection.execute(sa.text(sql)))
                if rows:
                    problems.append(f"{what}: {rows[:5]}")
    finally:
        engine.dispose()
    return problems


def _postgres_amcheck(connection) -> list[str]:
    try:
        with connection.begin_nested():
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS amcheck")
    except sa.exc.DBAPIError:
        return []  # amcheck not installed: the row checks above still run
    indexes = connection.execute(sa.text(
        "SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree' "
        "AND c.relnamespace = current_schema()::regnamespace")).scalars().all()
    problems = []
    for index in indexes:
        try:
            with connection.begin_nested():
                connection.execute(sa.text("SELECT bt_index_check(CAST(:i AS regclass), true)"),
                                   {"i": index})
        except sa.exc.DBAPIError as exc:
            problems.append(f"index {index}: {exc.orig}")
    return problems
