"""The throwaway PostgreSQL: a real server that takes writes, and nothing left behind once it stops."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests import pgserver


def accepts(port: int) -> bool:
    """Whether something listens on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The directories ``tempfile.mkdtemp`` makes during the test, in order."""
    paths: list[str] = []
    mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args: object, **kwargs: object) -> str:
        path = str(mkdtemp(*args, **kwargs))  # type: ignore[call-overload]
        paths.append(path)
        return path

    monkeypatch.setattr(pgserver.tempfile, "mkdtemp", recording_mkdtemp)
    return paths


def test_server_is_real_postgres_and_takes_writes(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE pg_check (id integer PRIMARY KEY, name text NOT NULL)"))
            conn.execute(sa.text("INSERT INTO pg_check (id, name) VALUES (1, 'Ærø — ünïcode')"))
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, name FROM pg_check")).all()
            version = conn.execute(sa.text("SELECT version()")).scalar_one()
            conn.execute(sa.text("DROP TABLE pg_check"))
            conn.commit()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [(1, "Ærø — ünïcode")]
    assert version.startswith("PostgreSQL")


def test_server_is_gone_after_the_block(made: list[str]) -> None:
    with pgserver.throwaway_postgres() as url:
        port = make_url(url).port
        assert port is not None
        assert accepts(port)
        assert len(made) == 1 and Path(made[0]).is_dir()
    assert not accepts(port)
    assert not Path(made[0]).exists()


def test_server_stops_when_the_block_raises(made: list[str]) -> None:
    port = None
    with pytest.raises(KeyError), pgserver.throwaway_postgres() as url:
        port = make_url(url).port
        raise KeyError("boom")
    assert port is not None
    assert not accepts(port)
    assert not Path(made[0]).exists()
