"""Append-only, hash-chained tables in the service database: the access log, the security log,
and the review log on a database server.

Two layers, as for the review log file (:mod:`scoring.review_log`): **guards** (triggers, made
by the migration) refuse UPDATE, DELETE and TRUNCATE, and **the chain** (:mod:`scoring.chain`)
makes a change evident even to someone who drops the guards. :func:`append` adds an entry at the
chain's head without any table lock: it reads the head, inserts number + 1 with the head's hash,
and when another writer took that number first (a unique-key conflict) it reads the new head and
tries again, so concurrent writers never fork the chain and never lose an entry.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from scoring.chain import GENESIS, LogCheck, chain_problems, digest
from scoring.db import CHAINED, engine, metadata

ATTEMPTS = 200
"""Tries an append makes before giving up (each conflict means another entry was written)."""


def _table(name: str) -> sa.Table:
    if name not in CHAINED:
        raise ValueError(f"{name!r} is not a chained table; use one of {', '.join(CHAINED)}")
    return metadata.tables[name]


def key_column(table: sa.Table) -> sa.Column:
    """The entry-number column (``seq``, or ``review_id`` for reviews)."""
    return next(iter(table.primary_key.columns))


def fields(table: sa.Table) -> list[str]:
    """The content columns in chain order (between the number and the hashes)."""
    return [
        c.name for c in table.columns if c.name not in {key_column(table).name, "prev_hash", "entry_hash"}
    ]


def append(url: str, name: str, values: Mapping[str, object]) -> tuple[int, str]:
    """Append one entry (every content column of ``name``) to the chain; return its number and hash."""
    table = _table(name)
    key, columns = key_column(table), fields(table)
    row = {c: str(values[c]) for c in columns}
    head = sa.select(key, table.c.entry_hash).order_by(key.desc()).limit(1)
    for attempt in range(ATTEMPTS):
        try:
            with engine(url).begin() as conn:
                number, prev = conn.execute(head).first() or (0, GENESIS)
                number = int(number) + 1
                entry = digest(number, [row[c] for c in columns], prev)
                conn.execute(
                    table.insert().values({key.name: number, **row, "prev_hash": prev, "entry_hash": entry})
                )
            return number, entry
        except (sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
            if isinstance(exc, sa.exc.OperationalError) and "locked" not in str(exc.orig).lower():
                raise
            time.sleep(random.uniform(0.001, 0.005 * min(attempt + 1, 20)))  # another writer won
    raise RuntimeError(f"could not append to {name} after {ATTEMPTS} attempts")


def rows(url: str, name: str, where: Sequence[sa.ColumnElement[bool]] = ()) -> list[dict[str, object]]:
    """Entries of ``name`` as dicts (number, content columns, hashes), oldest first."""
    table = _table(name)
    query = sa.select(table).order_by(key_column(table))
    for clause in where:
        query = query.where(clause)
    with engine(url).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def guard_names(conn: sa.Connection, name: str) -> set[str]:
    """The names of the enabled triggers on table ``name``."""
    if conn.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"
    else:
        query = (
            "SELECT tgname FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass) "
            "AND NOT tgisinternal AND tgenabled <> 'D'"
        )
    return {str(r[0]) for r in conn.execute(sa.text(query), {"t": name})}


def expected_guards(dialect: str, name: str) -> set[str]:
    """The guards the migration put on ``name``."""
    if dialect == "sqlite":
        return {f"{name}_no_update", f"{name}_no_delete", f"{name}_no_replace"}
    return {f"{name}_no_update_delete", f"{name}_no_truncate"}


def verify(url: str, name: str, label: str | None = None) -> LogCheck:
    """Check one chained table: every hash, the chain, the numbering and the guards."""
    table = _table(name)
    key, columns = key_column(table), fields(table)
    query = sa.select(key, *(table.c[c] for c in columns), table.c.prev_hash, table.c.entry_hash)
    with engine(url).connect() as conn:
        found = [tuple(r) for r in conn.execute(query.order_by(key))]
        guards = guard_names(conn, name)
        dialect = conn.dialect.name
    problems, first_bad, head = chain_problems(found)
    for guard in sorted(expected_guards(dialect, name) - guards):
        problems.append(f"the guard {guard} was removed or disabled: the log could be changed in place")
    where = f"{name} in {engine(url).url.render_as_string(hide_password=True)}"
    return LogCheck(
        where, not problems, len(found), head, tuple(problems), first_bad, label or name.replace("_", " ")
    )
