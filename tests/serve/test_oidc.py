"""Force sign-in (OpenID Connect) against a real provider on localhost (tests.serve.oidc_provider).

The service runs in FastAPI's TestClient; the browser's leg at the provider is an httpx client,
and each redirect is followed by hand so every step can be checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from scoring.config import OidcSettings, ServeSettings
from scoring.db import ledger, sqlite_url
from scoring.serve.app import create_app
from scoring.serve.auth import add_user, disable_user, list_users
from scoring.serve.oidc import STATE_COOKIE, role_for
from scoring.serve.web import SESSION_COOKIE, Service
from tests.serve.live import free_port
from tests.serve.oidc_provider import Provider, new_key, oidc_provider

CLIENT_ID = "harmrank-test"
SECRET = "s3cret-for-tests-only"
ROLE_MAP = {
    "harmrank-analysts": "analyst",
    "harmrank-supervisors": "supervisor",
    "harmrank-officers": "officer",
    "harmrank-equality": "equality-reviewer",
    "harmrank-admins": "admin",
}
USERS = {
    "pc-1234": ["staff", "harmrank-officers"],
    "ds-77": ["harmrank-officers", "harmrank-supervisors", "staff"],
    "clerk-9": ["staff", "finance"],
    "pc-local": ["harmrank-officers"],
}


@pytest.fixture
def provider() -> Iterator[Provider]:
    with oidc_provider({name: list(groups) for name, groups in USERS.items()}, CLIENT_ID, SECRET) as running:
        yield running


def service_for(tmp_path: Path, issuer: str) -> Service:
    (tmp_path / "runs").mkdir(exist_ok=True)
    oidc = OidcSettings(issuer=issuer, client_id=CLIENT_ID, role_claim="groups", role_map=ROLE_MAP)
    return Service(
        runs_dir=tmp_path / "runs",
        database=sqlite_url(tmp_path / "s.sqlite"),
        review_log=tmp_path / "reviews.sqlite",
        settings=ServeSettings(secure_cookies=False, oidc=oidc),
    )


@pytest.fixture
def service(tmp_path: Path, provider: Provider, monkeypatch: pytest.MonkeyPatch) -> Service:
    monkeypatch.setenv("HARMRANK_OIDC_SECRET", SECRET)
    return service_for(tmp_path, provider.issuer)


@pytest.fixture
def web(service: Service) -> Iterator[TestClient]:
    with TestClient(create_app(service), follow_redirects=False) as client:
        yield client


def security_log(service: Service) -> list[dict[str, object]]:
    return ledger.rows(service.database, "security_log")


def to_provider(web: TestClient, provider: Provider, name: str, next: str = "/runs") -> httpx.URL:
    """Start a sign-in as ``name``; the provider's answer: the callback URL with code and state."""
    provider.next_user = name
    start = web.get("/auth/oidc/login", params={"next": next})
    assert start.status_code == 303
    assert start.headers["location"].startswith(f"{provider.issuer}/authorize?")
    cookie = start.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=600" in cookie
    with httpx.Client() as browser:
        approved = browser.get(start.headers["location"])
    assert approved.status_code == 302, approved.text
    back = httpx.URL(approved.headers["location"])
    assert (back.host, back.path) == ("testserver", "/auth/callback")
    return back


def callback(web: TestClient, back: httpx.URL) -> httpx.Response:
    return web.get(back.raw_path.decode("ascii"))


def sign_in(web: TestClient, provider: Provider, name: str, next: str = "/runs") -> httpx.Response:
    return callback(web, to_provider(web, provider, name, next))


def onward(page: httpx.Response) -> str:
    """Where the signed-in page sends the browser (its meta refresh, and its link)."""
    assert page.status_code == 200, page.text
    found = re.search(r'http-equiv="refresh" content="0; url=([^"]+)"', page.text)
    assert found and f'href="{found.group(1)}"' in page.text
    return found.group(1)


def test_an_officer_signs_in_and_lands_on_the_runs(web: TestClient, provider: Provider, service: Service):
    page = sign_in(web, provider, "pc-1234")
    assert SESSION_COOKIE in web.cookies and STATE_COOKIE not in web.cookies
    assert onward(page) == "/runs"
    runs = web.get("/runs")
    assert runs.status_code == 200
    assert "Signed in as <strong>pc-1234</strong> (officer)" in runs.text
    account = next(u for u in list_users(service.database) if u["name"] == "pc-1234")
    assert (account["role"], account["source"], account["disabled"]) == ("officer", "oidc", False)
    logins = [e for e in security_log(service) if e["event"] == "login"]
    assert [(e["user_name"], e["detail"]) for e in logins] == [("pc-1234", "oidc")]


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_the_client_authenticates_as_the_provider_allows(web: TestClient, provider: Provider, method: str):
    provider.auth_methods = [method]
    assert onward(sign_in(web, provider, "pc-1234")) == "/runs"
    assert len(provider.issued) == 1


def test_the_first_mapped_key_gives_the_role(web: TestClient, provider: Provider, service: Service):
    # ds-77 holds harmrank-officers before harmrank-supervisors; role_map lists supervisors first
    assert onward(sign_in(web, provider, "ds-77", next="https://elsewhere.example/")) == "/runs"
    assert "Signed in as <strong>ds-77</strong> (supervisor)" in web.get("/runs").text
    assert {u["name"]: u["role"] for u in list_users(service.database)} == {"ds-77": "supervisor"}


def test_someone_without_a_mapped_group_is_refused(web: TestClient, provider: Provider, service: Service):
    page = sign_in(web, provider, "clerk-9")
    assert page.status_code == 403
    assert "no group that gives a role in harmrank" in page.text
    assert SESSION_COOKIE not in web.cookies
    assert list_users(service.database) == []
    failed = [(e["user_name"], e["detail"]) for e in security_log(service) if e["event"] == "login-failed"]
    assert failed == [("clerk-9", "oidc: no mapped role")]


def test_the_role_follows_the_provider_and_a_disabled_account_stays_out(
    web: TestClient, provider: Provider, service: Service
):
    assert onward(sign_in(web, provider, "pc-1234")) == "/runs"
    provider.users["pc-1234"] = ["harmrank-analysts"]
    web.cookies.clear()
    assert onward(sign_in(web, provider, "pc-1234")) == "/runs"
    assert [(u["name"], u["role"]) for u in list_users(service.database)] == [("pc-1234", "analyst")]
    disable_user(service.database, "pc-1234")
    web.cookies.clear()
    page = sign_in(web, provider, "pc-1234")
    assert page.status_code == 403 and "disabled" in page.text
    assert SESSION_COOKIE not in web.cookies


def test_a_local_account_cannot_be_taken_over(web: TestClient, provider: Provider, service: Service):
    add_user(service.database, "pc-local", "admin", password="a long local password")
    page = sign_in(web, provider, "pc-local")
    assert page.status_code == 403 and "local account" in page.text
    assert SESSION_COOKIE not in web.cookies
    assert security_log(service)[-1]["event"] == "login-failed"


def test_a_tampered_state_is_refused(web: TestClient, provider: Provider, service: Service):
    back = to_provider(web, provider, "pc-1234")
    tampered = back.copy_set_param("state", back.params["state"][:-2] + "xx")
    page = callback(web, tampered)
    assert page.status_code == 400
    assert SESSION_COOKIE not in web.cookies
    assert provider.issued == []  # refused before the code was spent
    assert security_log(service)[-1]["event"] == "login-failed"


def test_a_callback_without_the_signed_cookie_is_refused(web: TestClient, provider: Provider):
    back = to_provider(web, provider, "pc-1234")
    web.cookies.set(STATE_COOKIE, web.cookies[STATE_COOKIE][:-4] + "0000", path="/auth")
    assert callback(web, back).status_code == 400
    web.cookies.clear()
    assert callback(web, back).status_code == 400
    assert SESSION_COOKIE not in web.cookies and provider.issued == []


@pytest.mark.parametrize("spoil", ["nonce", "key", "audience", "issuer", "expired"])
def test_a_bad_id_token_is_refused(web: TestClient, provider: Provider, service: Service, spoil: str):
    now = 1_700_000_000
    spoils: dict[str, dict[str, object]] = {
        "nonce": {"nonce": "not-the-one-sent"},
        "key": {},
        "audience": {"aud": "another-client"},
        "issuer": {"iss": "https://impostor.example"},
        "expired": {"iat": now, "exp": now + 300},
    }
    provider.claims = spoils[spoil]
    if spoil == "key":
        provider.signing_key = new_key()
    page = sign_in(web, provider, "pc-1234")
    assert page.status_code == 403
    assert len(provider.issued) == 1
    assert SESSION_COOKIE not in web.cookies
    assert list_users(service.database) == []
    entry = security_log(service)[-1]
    assert entry["event"] == "login-failed" and "id_token refused" in str(entry["detail"])


def test_a_provider_out_of_reach_gives_502(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HARMRANK_OIDC_SECRET", SECRET)
    service = service_for(tmp_path, f"http://127.0.0.1:{free_port()}")
    with TestClient(create_app(service), follow_redirects=False) as web:
        page = web.get("/auth/oidc/login", params={"next": "/runs"})
    assert page.status_code == 502
    assert "could not be reached" in page.text
    assert security_log(service)[-1]["event"] == "login-failed"


def test_a_missing_client_secret_gives_502(
    web: TestClient, provider: Provider, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("HARMRANK_OIDC_SECRET")
    assert sign_in(web, provider, "pc-1234").status_code == 502
    assert SESSION_COOKIE not in web.cookies and provider.issued == []


def test_role_values_may_be_a_list_or_a_spaced_string():
    assert role_for(["harmrank-officers", "harmrank-admins"], ROLE_MAP) == "officer"
    assert role_for("staff harmrank-admins harmrank-analysts", ROLE_MAP) == "analyst"
    assert role_for("harmrank-officersX", ROLE_MAP) is None
    assert role_for(None, ROLE_MAP) is None
    assert role_for({"harmrank-admins": True}, ROLE_MAP) is None


def test_the_account_follows_the_subject_not_the_user_name(
    web: TestClient, provider: Provider, service: Service
):
    """The provider's ``sub`` identifies the person: a renamed person keeps their account, and a
    new person given a former user name does not inherit it."""
    assert onward(sign_in(web, provider, "pc-1234")) == "/runs"
    provider.claims = {"preferred_username": "pc-1234-renamed"}  # same sub, new user name
    assert onward(sign_in(web, provider, "pc-1234")) == "/runs"
    assert "Signed in as <strong>pc-1234</strong> (officer)" in web.get("/runs").text
    provider.claims = {"sub": "subject-someone-else"}  # another person under the old user name
    refused = sign_in(web, provider, "pc-1234")
    assert refused.status_code == 403 and "belongs to another person" in refused.text
    assert [u["name"] for u in list_users(service.database)] == ["pc-1234"]
    failed = [e for e in security_log(service) if e["event"] == "login-failed"]
    assert failed and "belongs to another person" in str(failed[-1]["detail"])
