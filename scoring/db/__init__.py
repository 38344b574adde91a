"""The service database: accounts, sessions, the access and security logs, assignments, and (on a
database server) the review log.

One SQLAlchemy URL names it (``serve.database``). The embedded default is a SQLite file under the
data directory, created readable by its owner only; PostgreSQL serves a force with many officers.
The schema is Alembic's (``scoring/db/migrations``): :func:`upgrade` brings any database to the
latest revision, and every program that opens the database calls it first, so a new harmrank
never runs on an old schema.

Tables (SQLAlchemy Core, :data:`metadata`; the migrations create the same):

- ``users``: one account each, local (argon2 password hash) or from the force's sign-in (OIDC,
  bound to the provider's issuer and subject); role, disabled flag, failed sign-ins and lock-out time.
- ``sessions``: a signed-in browser; the SHA-256 of its cookie token (never the token), its CSRF
  token, when it was last used (idle expiry) and the s62 justification chosen for it.
- ``access_log``, ``security_log``: append-only and hash-chained (:mod:`scoring.db.ledger`).
- ``assignments``: which officer a supervisor gave a listed person to (the latest one counts).
- ``reviews``: the review log, on a database server only; on SQLite it stays its own file
  (:mod:`scoring.review_log`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from features.errors import HarmrankError
from scoring.io import owner_only_file

metadata = sa.MetaData()


class DatabaseError(HarmrankError):
    """The service database cannot be opened or brought up to date."""


def _chained(name: str, key: str, *columns: sa.Column) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column(key, sa.Integer, primary_key=True, autoincrement=False),
        *columns,
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False, unique=True),
    )


users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("source", sa.String(20), nullable=False),  # local | oidc
    sa.Column("password_hash", sa.Text),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", sa.String(32)),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("subject", sa.String(400)),  # force sign-in: "<issuer> <sub>" (migration 0002)
    sa.Index("users_subject", "subject", unique=True),
)
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id"), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("last_seen", sa.String(32), nullable=False),
    sa.Column("justification", sa.Text),
    sa.Column("ended", sa.Boolean, nullable=False, default=False),
)
access_log = _chained(
    "access_log",
    "seq",
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("user_name", sa.String(120), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),  # consult | disclose | alter | refused
    sa.Column("what", sa.String(60), nullable=False),
    sa.Column("run", sa.String(32), nullable=False),
    sa.Column("person_id", sa.Text, nullable=False),
    sa.Column("justification", sa.Text, nullable=False),
    sa.Column("client", sa.String(64), nullable=False),
)
security_log = _chained(
    "security_log",
    "seq",
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("user_name", sa.String(120), nullable=False),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
)
assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("assignment_id", sa.Integer, primary_key=True),
    sa.Column("run", sa.String(32), nullable=False),
    sa.Column("person_id", sa.Text, nullable=False),
    sa.Column("officer", sa.String(120), nullable=False),
    sa.Column("assigned_by", sa.String(120), nullable=False),
    sa.Column("assigned_at", sa.String(32), nullable=False),
    sa.Index("assignments_run_person", "run", "person_id"),
)
reviews = _chained(
    "reviews",
    "review_id",
    sa.Column("run", sa.String(32), nullable=False),
    sa.Column("person_id", sa.Text, nullable=False),
    sa.Column("decision", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("reviewer", sa.String(120), nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
)
CHAINED = ("access_log", "security_log", "reviews")
"""The append-only, hash-chained tables; ``reviews`` exists only on a database server."""


def is_url(location: object) -> bool:
    """Whether ``location`` is a database URL (``postgresql+psycopg://...``) rather than a file path."""
    return isinstance(location, str) and "://" in location


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{Path(path).resolve()}"


def url_of(database: str) -> str:
    """A database setting as a URL: a URL as it is, anything else the path of a SQLite file."""
    return database if is_url(database) else sqlite_url(Path(database))


def exists(url: str) -> bool:
    """Whether the database can be there already: a SQLite file that exists, or a database server
    (a reader that must not create a SQLite file asks this first)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return True
    return bool(parsed.database) and Path(str(parsed.database)).is_file()


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


@cache
def engine(url: str) -> Engine:
    """The (shared) engine of ``url``. SQLite files are created owner-only, in WAL mode, with a
    30-second busy timeout and foreign keys on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            owner_only_file(Path(parsed.database))
        eng = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(eng, "connect")
        def _pragmas(dbapi_conn, _record):
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA busy_timeout = 30000")
            cursor.close()

        return eng
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _alembic_config(connection: sa.Connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("scoring.db") / "migrations"))
    config.attributes["connection"] = connection
    return config


def upgrade(url: str) -> None:
    """Bring the database at ``url`` to the latest schema (Alembic ``upgrade head``); idempotent."""
    from alembic import command

    try:
        with engine(url).begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
    except (sa.exc.OperationalError, sa.exc.ArgumentError) as exc:
        raise DatabaseError(
            f"Cannot open the database {display_url(url)}: {getattr(exc, 'orig', exc)}. Check the URL "
            "(serve.database, scoring.review_log or --log)."
        ) from None


_READY: set[str] = set()


def ensure(url: str) -> None:
    """:func:`upgrade` once per process for ``url``."""
    if url not in _READY:
        upgrade(url)
        _READY.add(url)


def revision(url: str) -> str | None:
    """The database's current Alembic revision (None before the first upgrade)."""
    from alembic.runtime.migration import MigrationContext

    with engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def transaction(url: str) -> Iterator[sa.Connection]:
    """A connection in a transaction on ``url``: committed at the end, rolled back on error."""
    with engine(url).begin() as conn:
        yield conn
