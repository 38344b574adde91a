"""The review service through its HTTP interface (no browser): headers and cookies, what each
role may open, CSRF and origin checks, redirects that stay on the site, decisions refused with
their reason, accounts, hostile person ids, and the access and security logs behind it all."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from scoring.db import engine, ledger, sqlite_url
from scoring.review import decisions
from scoring.serve.app import create_app
from scoring.serve.auth import PERMISSIONS, ROLES
from scoring.serve.web import person_href
from tests.scoring.reports import officer_fixtures as fx
from tests.serve.service_fixtures import AS_OF, PASSWORD, make_service, write_run
from tests.serve.service_fixtures import ROLES as ACCOUNTS

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
HOSTILE = ['P"1', "P'<b>2</b>", "P/3?x=1#y", "P 4%2F", '=HYPERLINK("x")']


@pytest.fixture
def service(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = sqlite_url(tmp_path / "service.sqlite")
    yield make_service(tmp_path, url)
    engine(url).dispose()


def client(service) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(create_app(service), base_url="https://testserver", follow_redirects=False)


def token(page: str) -> str:
    found = CSRF.search(page)
    assert found, page[:500]
    return found.group(1)


def sign_in(http: TestClient, name: str, justification: str | None = "monthly list review") -> str:
    """Sign in (and choose a justification unless None); the session's CSRF token."""
    login = token(http.get("/login").text)
    response = http.post("/login", data={"csrf": login, "name": name, "password": PASSWORD, "next": "/runs"})
    assert response.status_code == 303 and response.headers["location"] == "/runs", response.text[:300]
    session = token(http.get("/justify").text)
    if justification:
        http.post("/justify", data={"csrf": session, "choice": justification, "next": "/runs"})
    return session


def test_cookies_are_secure_httponly_strict_and_headers_forbid_framing(service) -> None:
    http = client(service)
    page = http.get("/login")
    assert "HttpOnly" in page.headers["set-cookie"] and "Secure" in page.headers["set-cookie"]
    assert "SameSite=strict" in page.headers["set-cookie"]
    login = http.post("/login", data={"csrf": token(page.text), "name": "pc-officer", "password": PASSWORD})
    cookie = login.headers["set-cookie"]
    assert cookie.startswith("harmrank_session=") and all(
        f in cookie for f in ("HttpOnly", "Secure", "strict")
    )
    for response in (page, login, http.get("/runs"), http.get("/nowhere"), http.get("/runs/2026-13-99/")):
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "form-action 'self'" in policy
        assert policy.startswith("default-src 'none'") and "http" not in policy  # no third party
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"


# (role, path) -> what happens: the page, or 403
PAGES = {
    "list": f"/runs/{AS_OF}/",
    "person": f"/runs/{AS_OF}/people/P0007",
    "progress": f"/runs/{AS_OF}/progress",
    "reports": f"/runs/{AS_OF}/equality.html",
    "access_log": "/access-log",
    "users": "/admin/users",
    "export": f"/runs/{AS_OF}/top100.csv",
}
NEEDS = {
    "list": "list",
    "person": "person",
    "progress": "progress",
    "reports": "reports",
    "access_log": "access_log",
    "users": "users",
    "export": "list",
}


@pytest.mark.parametrize("name", list(ACCOUNTS))
def test_each_role_opens_what_it_may_and_is_refused_the_rest(service, name: str) -> None:
    http = client(service)
    sign_in(http, name)
    role = ACCOUNTS[name]
    for page, path in PAGES.items():
        response = http.get(path)
        allowed = NEEDS[page] in PERMISSIONS[role]
        assert response.status_code == (200 if allowed else 403), (role, page, response.text[:200])
    refused = [r for r in ledger.rows(service.database, "access_log") if r["action"] == "refused"]
    assert len(refused) == sum(NEEDS[p] not in PERMISSIONS[role] for p in PAGES)
    assert all(r["user_name"] == name for r in refused)


def test_roles_are_the_five_of_the_service() -> None:
    assert ROLES == ("officer", "supervisor", "equality-reviewer", "analyst", "admin")
    assert "person" not in PERMISSIONS["equality-reviewer"] and "reports" in PERMISSIONS["equality-reviewer"]
    assert PERMISSIONS["analyst"] >= PERMISSIONS["supervisor"] | PERMISSIONS["equality-reviewer"]
    assert PERMISSIONS["admin"] == {"users"}


def test_sign_in_needs_its_token_and_this_origin_and_never_redirects_off_site(service) -> None:
    http = client(service)
    page = http.get("/login")
    data = {"name": "pc-officer", "password": PASSWORD, "next": "/runs"}
    assert http.post("/login", data=data).status_code == 403  # no token
    assert http.post("/login", data={**data, "csrf": "guess"}).status_code == 403
    cross = http.post(
        "/login", data={**data, "csrf": token(page.text)}, headers={"origin": "https://evil.test"}
    )
    assert cross.status_code == 403
    targets = ("//evil.test/x", "https://evil.test", "/\\evil.test", "javascript:alert(1)", "/\t/x", "/\n/x")
    for target in targets:
        fresh = token(http.get("/login").text)
        response = http.post("/login", data={**data, "csrf": fresh, "next": target})
        assert response.headers["location"] == "/runs", target
    events = [r["event"] for r in ledger.rows(service.database, "security_log")]
    assert events.count("login") == len(targets) and "login-failed" not in events


def test_a_decision_without_a_reason_is_refused_and_nothing_is_written(service) -> None:
    http = client(service)
    csrf = sign_in(http, "pc-officer")
    blank = http.post(
        f"/runs/{AS_OF}/decision/P0007", data={"csrf": csrf, "decision": "action", "reason": " \u200b "}
    )
    assert blank.status_code == 400 and "A decision needs a reason" in blank.text
    assert 'value="action" required checked' in blank.text  # what was chosen is kept
    odd = http.post(
        f"/runs/{AS_OF}/decision/P0007", data={"csrf": csrf, "decision": "arrest", "reason": "x y z"}
    )
    assert odd.status_code == 400 and "Unknown decision" in odd.text
    stranger = http.post(
        f"/runs/{AS_OF}/decision/P9999", data={"csrf": csrf, "decision": "action", "reason": "ok ok"}
    )
    assert stranger.status_code == 404 and "is not on the list" in stranger.text
    assert decisions(service.review_log).empty
    assert not [r for r in ledger.rows(service.database, "access_log") if r["action"] == "alter"]


def test_the_justification_is_asked_once_and_recorded_with_each_consultation(service) -> None:
    http = client(service)
    csrf = sign_in(http, "pc-officer", justification=None)
    first = http.get(f"/runs/{AS_OF}/people/P0003")
    assert first.status_code == 303 and first.headers["location"].startswith("/justify?next=")
    assert not ledger.rows(service.database, "access_log")  # nothing was consulted yet
    short = http.post("/justify", data={"csrf": csrf, "choice": "other", "other": "x"})
    assert short.status_code == 400
    http.post("/justify", data={"csrf": csrf, "choice": "other", "other": "Op Bluebell  briefing\n"})
    assert http.get(f"/runs/{AS_OF}/people/P0003").status_code == 200
    assert http.get(f"/runs/{AS_OF}/top100.csv").status_code == 200
    rows = ledger.rows(service.database, "access_log")
    assert [(r["action"], r["what"], r["person_id"], r["justification"]) for r in rows] == [
        ("consult", "person page", "P0003", "Op Bluebell briefing"),
        ("disclose", "list export (CSV)", "", "Op Bluebell briefing"),
    ]
    assert all(r["client"] == "testclient" and r["run"] == AS_OF for r in rows)


def test_admin_adds_an_account_shown_once_and_disabling_ends_its_sessions(service) -> None:
    officer = client(service)
    sign_in(officer, "pc-officer")
    admin = client(service)
    csrf = sign_in(admin, "ad-admin", justification=None)
    added = admin.post("/admin/users", data={"csrf": csrf, "name": "PC 4321", "role": "officer"})
    password = re.search(r'class="secret">([^<]+)<', added.text).group(1)  # type: ignore[union-attr]
    assert len(password) >= 12 and password not in admin.get("/admin/users").text
    assert (
        admin.post("/admin/users", data={"csrf": csrf, "name": "PC 4321", "role": "officer"}).status_code
        == 400
    )
    assert admin.post("/admin/users", data={"csrf": csrf, "name": "x", "role": "chief"}).status_code == 400
    admin.post("/admin/users/disable", data={"csrf": csrf, "name": "pc-officer"})
    gone = officer.get("/runs")
    assert gone.status_code == 303 and "m=ended" in gone.headers["location"]
    newcomer = client(service)
    login = token(newcomer.get("/login").text)
    assert (
        newcomer.post("/login", data={"csrf": login, "name": "PC 4321", "password": password}).status_code
        == 303
    )
    events = [
        (r["event"], r["user_name"], r["detail"]) for r in ledger.rows(service.database, "security_log")
    ]
    assert ("user-added", "PC 4321", "role officer, by ad-admin") in events
    assert ("user-disabled", "pc-officer", "by ad-admin") in events
    assert all(password not in str(e) for e in events)


def test_hostile_person_ids_are_served_escaped_and_decided_on(tmp_path: Path) -> None:
    data = fx.inputs()
    rename = dict(zip(fx.PEOPLE, HOSTILE, strict=True))
    for key, frame in data.items():
        if isinstance(frame, pd.DataFrame) and "person_id" in frame.columns:
            data[key] = frame.assign(person_id=frame["person_id"].map(lambda p: rename.get(p, p)))
    url = sqlite_url(tmp_path / "service.sqlite")
    service = make_service(tmp_path / "base", url)
    service = type(service)(
        write_run(tmp_path / "runs", inputs=data).parent, url, tmp_path / "r.sqlite", service.settings
    )
    http = client(service)
    csrf = sign_in(http, "pc-officer")
    index = http.get(f"/runs/{AS_OF}/").text
    assert "<b>2</b>" not in index and "P&#39;&lt;b&gt;2&lt;/b&gt;" in index
    for person in HOSTILE:
        href = person_href(AS_OF, person)
        assert href.replace("&", "&amp;") in index or href in index
        page = http.get(href)
        assert page.status_code == 200, person
        decided = http.post(
            href.replace("/people/", "/decision/"),
            data={"csrf": csrf, "decision": "needs-info", "reason": "Checked the id."},
        )
        assert decided.status_code == 303, person
    assert sorted(decisions(service.review_log)["person_id"]) == sorted(HOSTILE)
    engine(url).dispose()


def test_the_logs_refuse_changes_and_show_tampering(service) -> None:
    http = client(service)
    sign_in(http, "pc-officer")
    http.get(f"/runs/{AS_OF}/people/P0007")
    url = service.database
    with pytest.raises(sa.exc.IntegrityError), engine(url).begin() as conn:
        conn.execute(sa.text("UPDATE access_log SET justification = 'curiosity'"))
    with pytest.raises(sa.exc.IntegrityError), engine(url).begin() as conn:
        conn.execute(sa.text("DELETE FROM security_log"))
    with engine(url).begin() as conn:  # someone with the file drops the guard and edits
        conn.execute(sa.text("DROP TRIGGER access_log_no_update"))
        conn.execute(sa.text("UPDATE access_log SET justification = 'curiosity' WHERE seq = 1"))
    check = ledger.verify(url, "access_log", "access log")
    assert not check.ok and check.first_bad == 1
    assert check.problems[0] == "entry 1 was edited: its content no longer matches its hash"
    assert "the guard access_log_no_update was removed" in check.problems[1]
    assert check.summary(where=False).startswith("ACCESS LOG TAMPERED WITH: entry 1 was edited")


def test_a_supervisor_assigns_people_and_the_officer_sees_their_queue(service) -> None:
    supervisor = client(service)
    csrf = sign_in(supervisor, "ds-supervisor", "supervisor check")
    progress = supervisor.get(f"/runs/{AS_OF}/progress")
    assert progress.status_code == 200 and '<option value="pc-officer">' in progress.text
    assert '<option value="eq-reviewer">' not in progress.text  # only those who may decide
    done = supervisor.post(
        f"/runs/{AS_OF}/assign",
        data={"csrf": csrf, "officer": "pc-officer", "person": ["P0007", "P0012", "not-listed"]},
    )
    assert done.status_code == 303
    wrong = supervisor.post(
        f"/runs/{AS_OF}/assign", data={"csrf": csrf, "officer": "eq-reviewer", "person": "P0001"}
    )
    assert wrong.status_code == 400
    officer = client(service)
    officer_csrf = sign_in(officer, "pc-officer")
    mine = officer.get(f"/runs/{AS_OF}/?show=mine").text
    assert "Showing 2 of 5 listed people (assigned to me)" in mine
    assert re.search(r"assigned to you</span><span class=\"value\">2</span>", mine)
    assert "The list: 2 of 5 people shown" in mine
    everyone = officer.get(f"/runs/{AS_OF}/").text
    figures = re.compile(
        r'<span class="label">(new|stayed|returned|left|reviewed)</span><span class="value">([^<]+)<'
    )
    assert figures.findall(mine) == figures.findall(everyone)  # the figures stay about the whole list
    assert ("new", "2") in figures.findall(mine)
    page = officer.get(f"/runs/{AS_OF}/people/P0007").text
    assert "Assigned to <strong>pc-officer (by ds-supervisor)</strong>" in page
    refused = officer.post(
        f"/runs/{AS_OF}/assign", data={"csrf": officer_csrf, "officer": "pc-officer", "person": "P0001"}
    )
    assert refused.status_code == 403
    entries = [
        (r["user_name"], r["action"], r["what"], r["person_id"])
        for r in ledger.rows(service.database, "access_log")
    ]
    assert ("ds-supervisor", "alter", "assigned to pc-officer", "P0007") in entries
    assert ("ds-supervisor", "alter", "assigned to pc-officer", "P0012") in entries
    assert ("pc-officer", "refused", "assignment", "") in entries
