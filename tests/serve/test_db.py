"""The service database on SQLite and PostgreSQL: Alembic migrations bring an older schema up to
date without losing a row, the chained tables refuse change, and the review log in PostgreSQL is
chained and checked like the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from scoring.db import _alembic_config, engine, ledger, revision, sqlite_url, upgrade
from scoring.review_log import append, check_heads, entries, verify
from tests.serve.service_fixtures import fresh_database

FIELDS = {
    "run": "2026-11-01",
    "person_id": "P1",
    "decision": "action",
    "reason": "checked",
    "reviewer": "pc-1",
    "recorded_at": "2026-11-02T09:00:00+00:00",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        chosen = sqlite_url(tmp_path / "service.sqlite")
    else:
        chosen = fresh_database(request.getfixturevalue("postgres_url"), f"db_{tmp_path.name[-20:].lower()}")
    yield chosen
    engine(chosen).dispose()


def test_an_older_schema_is_upgraded_keeping_its_rows(url: str) -> None:
    with engine(url).begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
        conn.execute(
            sa.text(
                "INSERT INTO users (name, role, source, password_hash, disabled, failed_logins, created_at) "
                "VALUES ('pc-1', 'officer', 'local', 'x', false, 0, '2026-11-01T00:00:00+00:00')"
            )
        )
    assert revision(url) == "0001"
    upgrade(url)
    assert revision(url) == "0002"
    with engine(url).connect() as conn:
        rows = conn.execute(sa.text("SELECT name, subject FROM users")).all()
    assert [tuple(r) for r in rows] == [("pc-1", None)]
    upgrade(url)  # idempotent
    assert revision(url) == "0002"


def test_chained_tables_refuse_change(url: str) -> None:
    upgrade(url)
    values = {"at": "t", "event": "login", "user_name": "pc-1", "client": "c", "detail": ""}
    assert ledger.append(url, "security_log", values)[0] == 1
    attempts = ["UPDATE security_log SET detail = 'x'", "DELETE FROM security_log"]
    if not url.startswith("sqlite"):
        attempts.append("TRUNCATE security_log")
    for statement in attempts:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine(url).begin() as conn:
            conn.execute(sa.text(statement))
    assert ledger.verify(url, "security_log").ok


def test_the_review_log_in_postgresql_is_chained_and_checked(request: pytest.FixtureRequest) -> None:
    url = fresh_database(request.getfixturevalue("postgres_url"), "review_log")
    ids = [append(url, FIELDS)[0] for _ in range(3)]
    assert ids == [1, 2, 3] and len(entries(url)) == 3
    good = verify(url)
    assert good.ok and good.entries == 3 and good.label == "review log"
    head = {"entries": 3, "hash": good.head}
    with engine(url).begin() as conn:  # someone with the database owner's rights edits an entry
        conn.execute(sa.text("ALTER TABLE reviews DISABLE TRIGGER reviews_no_update_delete"))
        conn.execute(sa.text("UPDATE reviews SET decision = 'no-action' WHERE review_id = 2"))
    bad = verify(url)
    assert not bad.ok and bad.first_bad == 2
    assert bad.problems[0] == "entry 2 was edited: its content no longer matches its hash"
    assert "the guard reviews_no_update_delete was removed or disabled" in bad.problems[1]
    with engine(url).begin() as conn:  # and rewrites the whole chain from there
        conn.execute(sa.text("DELETE FROM reviews WHERE review_id >= 2"))
    append(url, {**FIELDS, "decision": "no-action"})
    append(url, FIELDS)
    assert verify(url).problems == (
        "the guard reviews_no_update_delete was removed or disabled: the log could be changed in place",
    )
    assert check_heads(url, [("run 2026-11-01", head)])[0].endswith("rewritten")
    engine(url).dispose()
