"""What a second read of the review service found, kept fixed: sign-in timing and parallel guesses,
headers on every response, nothing logged for addresses that name no run or person, refused
decisions logged as consultations, one live session per sign-in."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scoring.db import engine, ledger, sqlite_url
from scoring.serve import auth
from scoring.serve.app import create_app
from tests.serve.service_fixtures import AS_OF, PASSWORD
from tests.serve.test_service import client, sign_in, token

ATTEMPTS = 5


@pytest.fixture
def service(tmp_path: Path):  # type: ignore[no-untyped-def]
    from tests.serve.service_fixtures import make_service

    url = sqlite_url(tmp_path / "service.sqlite")
    yield make_service(tmp_path, url)
    engine(url).dispose()


def test_every_sign_in_branch_does_one_argon2_check(service, monkeypatch) -> None:
    url = service.database
    auth.disable_user(url, "ad-admin")
    for _ in range(ATTEMPTS):
        auth.authenticate(url, "ds-supervisor", "wrong", client="t", attempts=ATTEMPTS, lock_minutes=15)
    checks: list[str] = []
    real = auth._verify

    def counted(stored: str | None, password: str) -> bool:
        checks.append(password)
        return real(stored, password)

    monkeypatch.setattr(auth, "_verify", counted)
    cases = [("nobody", "x"), ("ad-admin", PASSWORD), ("ds-supervisor", PASSWORD), ("pc-officer", "wrong")]
    for name, password in cases:  # unknown, disabled, locked (right password), wrong password
        before = len(checks)
        assert auth.authenticate(url, name, password, client="t", attempts=ATTEMPTS, lock_minutes=15) is None
        assert len(checks) - before == 1, name


def test_parallel_guesses_cannot_pass_the_lock_out(service) -> None:
    url, guesses = service.database, 20
    start = threading.Barrier(guesses)

    def guess(i: int) -> None:
        start.wait()
        auth.authenticate(url, "pc-officer", f"guess {i}", client="t", attempts=ATTEMPTS, lock_minutes=15)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(guesses)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = [
        (r["event"], r["detail"]) for r in ledger.rows(url, "security_log") if r["user_name"] == "pc-officer"
    ]
    checked = [d for e, d in events if e == "login-failed" and str(d).startswith("wrong password")]
    assert len(events) >= guesses and len(checked) <= ATTEMPTS  # no more passwords tried than allowed
    assert ("locked", f"{ATTEMPTS} failed sign-ins; locked for 15 min") in events
    assert (
        auth.authenticate(url, "pc-officer", PASSWORD, client="t", attempts=ATTEMPTS, lock_minutes=15) is None
    )


def test_headers_are_on_every_response_even_an_error(service, monkeypatch) -> None:
    http = TestClient(
        create_app(service),
        base_url="https://testserver",
        raise_server_exceptions=False,
        follow_redirects=False,
    )
    sign_in(http, "pc-officer")
    bad = http.get(f"/runs/{AS_OF}/people/%ff", follow_redirects=False)
    assert bad.status_code == 404 and "frame-ancestors 'none'" in bad.headers["content-security-policy"]
    monkeypatch.setattr("scoring.serve.people.state.decisions_for", lambda *a: 1 / 0)
    broken = http.get(f"/runs/{AS_OF}/people/P0007", follow_redirects=False)
    assert broken.status_code == 500
    assert "frame-ancestors 'none'" in broken.headers["content-security-policy"]
    assert broken.headers["cache-control"] == "no-store" and broken.headers["x-frame-options"] == "DENY"
    assert broken.headers["strict-transport-security"] == "max-age=31536000"
    plain = TestClient(create_app(service), base_url="http://testserver").get("/login")
    assert "strict-transport-security" not in plain.headers  # only over HTTPS


def test_nothing_is_logged_for_an_address_that_names_no_run_or_person(service) -> None:
    officer, reviewer = client(service), client(service)
    sign_in(officer, "pc-officer")
    sign_in(reviewer, "eq-reviewer")
    forged = "2026-11-01%0A%232 2026-11-02 ds-supervisor (supervisor) consult"
    for http in (officer, reviewer):  # not a run's name: refused before anything is logged
        for path in (f"/runs/{forged}/people/P0007", f"/runs/{'9' * 40}/people/P0007"):
            assert http.get(path).status_code == 404, path
    assert officer.get("/runs/1999-01-01/people/P0007").status_code == 404  # no such run
    assert officer.get(f"/runs/{AS_OF}/people/NOT-LISTED").status_code == 404  # no such person
    assert reviewer.get("/runs/1999-01-01/people/P0007").status_code == 403  # an attempt, refused
    rows = ledger.rows(service.database, "access_log")
    assert [(r["user_name"], r["action"], r["run"]) for r in rows] == [
        ("eq-reviewer", "refused", "1999-01-01")
    ]


def test_a_refused_decision_shows_the_page_and_logs_the_look(service) -> None:
    http = client(service)
    csrf = sign_in(http, "pc-officer")
    refused = http.post(
        f"/runs/{AS_OF}/decision/P0012", data={"csrf": csrf, "decision": "bogus", "reason": "why"}
    )
    assert refused.status_code == 400 and "Unknown decision" in refused.text
    rows = ledger.rows(service.database, "access_log")
    assert [(r["action"], r["what"], r["person_id"]) for r in rows] == [("consult", "person page", "P0012")]


def test_signing_in_again_ends_the_earlier_session(service) -> None:
    http = client(service)
    sign_in(http, "pc-officer")
    earlier = http.cookies.get("harmrank_session")
    page = http.get("/login")
    http.post("/login", data={"csrf": token(page.text), "name": "pc-officer", "password": PASSWORD})
    assert http.cookies.get("harmrank_session") != earlier
    gone = client(service).get("/runs", headers={"cookie": f"harmrank_session={earlier}"})
    assert gone.status_code == 303 and "m=ended" in gone.headers["location"]


def test_assigning_needs_a_justification(service) -> None:
    http = client(service)
    csrf = sign_in(http, "ds-supervisor", justification=None)
    asked = http.post(
        f"/runs/{AS_OF}/assign", data={"csrf": csrf, "officer": "pc-officer", "person": "P0007"}
    )
    assert asked.status_code == 303 and asked.headers["location"].startswith("/justify?")
    assert not ledger.rows(service.database, "access_log")
