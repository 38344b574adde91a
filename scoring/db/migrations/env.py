"""Alembic's environment for the service database: migrations run on the connection that
:func:`scoring.db.upgrade` passes in (never a URL from a file)."""

from __future__ import annotations

from alembic import context

from scoring.db import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
