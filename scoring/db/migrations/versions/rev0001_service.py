"""The review service's first schema: users, sessions, the access and security logs, assignments,
and on a database server the review log; the chained logs are guarded against change.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = "is append-only: an entry cannot be changed or removed"


def _chained(name: str, key: str, *columns: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column(key, sa.Integer, primary_key=True, autoincrement=False),
        *columns,
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False, unique=True),
    )
    if op.get_bind().dialect.name == "sqlite":
        for action in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER {name}_no_{action} BEFORE {action.upper()} ON {name} "
                f"BEGIN SELECT RAISE(ABORT, '{name} {APPEND_ONLY}'); END"
            )
        # REPLACE INTO deletes the old row without firing a delete trigger: refuse it at the insert.
        op.execute(
            f"CREATE TRIGGER {name}_no_replace BEFORE INSERT ON {name} WHEN EXISTS (SELECT 1 FROM {name} "
            f"WHERE {key} = NEW.{key} OR entry_hash = NEW.entry_hash) "
            f"BEGIN SELECT RAISE(ABORT, '{name} {APPEND_ONLY}'); END"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {name}_no_update_delete BEFORE UPDATE OR DELETE ON {name} "
            "FOR EACH ROW EXECUTE FUNCTION harmrank_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
            "FOR EACH STATEMENT EXECUTE FUNCTION harmrank_append_only()"
        )


def upgrade() -> None:
    server = op.get_bind().dialect.name != "sqlite"
    if server:
        op.execute(
            "CREATE FUNCTION harmrank_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION '% {APPEND_ONLY}', TG_TABLE_NAME; END $$"
        )
    op.create_table(
        "users",
        sa.Column("user_id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.Text),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.String(32)),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id"), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("last_seen", sa.String(32), nullable=False),
        sa.Column("justification", sa.Text),
        sa.Column("ended", sa.Boolean, nullable=False),
    )
    _chained(
        "access_log",
        "seq",
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("user_name", sa.String(120), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("what", sa.String(60), nullable=False),
        sa.Column("run", sa.String(32), nullable=False),
        sa.Column("person_id", sa.Text, nullable=False),
        sa.Column("justification", sa.Text, nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
    )
    _chained(
        "security_log",
        "seq",
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("user_name", sa.String(120), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_table(
        "assignments",
        sa.Column("assignment_id", sa.Integer, primary_key=True),
        sa.Column("run", sa.String(32), nullable=False),
        sa.Column("person_id", sa.Text, nullable=False),
        sa.Column("officer", sa.String(120), nullable=False),
        sa.Column("assigned_by", sa.String(120), nullable=False),
        sa.Column("assigned_at", sa.String(32), nullable=False),
    )
    op.create_index("assignments_run_person", "assignments", ["run", "person_id"])
    if server:  # on SQLite the review log is its own file (scoring.review_log)
        _chained(
            "reviews",
            "review_id",
            sa.Column("run", sa.String(32), nullable=False),
            sa.Column("person_id", sa.Text, nullable=False),
            sa.Column("decision", sa.String(20), nullable=False),
            sa.Column("reason", sa.Text, nullable=False),
            sa.Column("reviewer", sa.String(120), nullable=False),
            sa.Column("recorded_at", sa.String(32), nullable=False),
        )
        op.create_index("reviews_run_person", "reviews", ["run", "person_id"])


def downgrade() -> None:
    raise NotImplementedError("the logs are the record of consultation and review: they are never dropped")
