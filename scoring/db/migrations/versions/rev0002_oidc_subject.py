"""Accounts from the force's sign-in are bound to the provider's stable subject (issuer and
``sub``), not to a user name the provider may change or give to someone else later.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("subject", sa.String(400), nullable=True))
        batch.create_index("users_subject", ["subject"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_index("users_subject")
        batch.drop_column("subject")
