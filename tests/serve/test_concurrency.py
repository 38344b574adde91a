"""Twenty officers record decisions at the same moment against the running service: nothing is
lost, nothing is recorded twice, and every chain verifies (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx
import pytest

from scoring.db import engine, ledger, sqlite_url
from scoring.review import decisions
from scoring.review_log import verify
from scoring.serve.app import create_app
from scoring.serve.auth import add_user
from tests.scoring.reports import officer_fixtures as fx
from tests.serve.live import serving
from tests.serve.service_fixtures import AS_OF, PASSWORD, fresh_database, make_service

OFFICERS = 20
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def signed_in(base: str, name: str) -> tuple[httpx.Client, str]:
    """An httpx client signed in as ``name`` with a justification chosen; and its CSRF token."""
    http = httpx.Client(base_url=base, timeout=60)
    token = CSRF.search(http.get("/login").text).group(1)  # type: ignore[union-attr]
    http.post("/login", data={"csrf": token, "name": name, "password": PASSWORD, "next": "/runs"})
    page = http.get("/justify")
    session_token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    http.post("/justify", data={"csrf": session_token, "choice": "monthly list review", "next": "/runs"})
    return http, session_token


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_twenty_officers_deciding_at_once_lose_nothing(kind: str, tmp_path: Path, request) -> None:
    if kind == "sqlite":
        url = sqlite_url(tmp_path / "service.sqlite")
        service = make_service(tmp_path, url, secure_cookies=False)
    else:
        url = fresh_database(request.getfixturevalue("postgres_url"), "concurrency")
        service = make_service(tmp_path, url, review_log=url, secure_cookies=False)
    names = [f"pc-{i:02d}" for i in range(OFFICERS)]
    for name in names:
        add_user(url, name, "officer", password=PASSWORD)
    with serving(create_app(service)) as base:
        clients = [signed_in(base, name) for name in names]
        start, statuses = threading.Barrier(OFFICERS), []

        def decide(i: int) -> None:
            http, token = clients[i]
            person = fx.PEOPLE[i % len(fx.PEOPLE)]
            start.wait()
            response = http.post(
                f"/runs/{AS_OF}/decision/{person}",
                data={
                    "csrf": token,
                    "decision": "needs-info",
                    "reason": f"Officer {names[i]} checked the records",
                },
            )
            statuses.append((response.status_code, "?recorded=" in response.headers.get("location", "")))

        threads = [threading.Thread(target=decide, args=(i,)) for i in range(OFFICERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for http, _ in clients:
            http.close()
    assert statuses == [(303, True)] * OFFICERS  # each sent back to the person page, recorded
    recorded = decisions(service.review_log)
    assert len(recorded) == OFFICERS
    assert sorted(recorded["reviewer"]) == names
    assert sorted(recorded["review_id"]) == list(range(1, OFFICERS + 1))
    assert verify(service.review_log).ok
    altered = [r for r in ledger.rows(url, "access_log") if r["action"] == "alter"]
    assert sorted(str(r["user_name"]) for r in altered) == names
    assert ledger.verify(url, "access_log").ok and ledger.verify(url, "security_log").ok
    engine(url).dispose()
