"""The review service in a real browser against a real database, SQLite and PostgreSQL.

Headless Chromium signs in as each role and walks the flows officers, equality reviewers and
analysts use: a decision recorded and shown, a person page refused and the refusal logged, a form
without its CSRF token refused, a session expiring, an account locked after failed sign-ins, and
the access log holding each consultation with its justification. The same flows run once on each
database (the PostgreSQL server is a throwaway one, tests/pgserver.py).
"""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.wait import WebDriverWait

from scoring.db import access_log, engine, security_log, sessions, sqlite_url
from scoring.review import decisions
from scoring.review_log import verify
from scoring.serve.app import create_app
from tests.browser import browser  # noqa: F401  (the module's headless Chromium)
from tests.serve.live import serving
from tests.serve.service_fixtures import AS_OF, PASSWORD, fresh_database, make_service

COUNTER = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, object]]:
    """(base URL, service) of a live service with one account per role, on each database."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "service.sqlite")
        service = make_service(tmp_path, url)
    else:
        server = request.getfixturevalue("postgres_url")
        url = fresh_database(server, f"browser_{next(COUNTER)}")
        service = make_service(tmp_path, url, review_log=url)  # the review log in PostgreSQL too
    with serving(create_app(service)) as base:
        yield base, service
    engine(url).dispose()


def submit(driver, css: str) -> None:  # type: ignore[no-untyped-def]
    """Click the submit button ``css`` and wait for the next page. A page that was still being
    replaced when the button was found (Chromium: "does not belong to the document") is found
    again, at most twice more."""
    for attempt in range(3):
        try:
            old = driver.find_element(By.TAG_NAME, "html")
            driver.find_element(By.CSS_SELECTOR, css).click()
            break
        except (StaleElementReferenceException, WebDriverException) as exc:
            if attempt == 2 or ("document" not in str(exc).lower() and "stale" not in str(exc).lower()):
                raise
            WebDriverWait(driver, 20).until(
                lambda d: d.execute_script("return document.readyState") == "complete"
            )
    settle(driver, old)


def settle(driver, old) -> None:  # type: ignore[no-untyped-def]
    """Wait until the page ``old`` belonged to is gone and the next one has loaded."""
    WebDriverWait(driver, 20).until(lambda d: gone(old))
    loaded(driver)


def gone(element) -> bool:  # type: ignore[no-untyped-def]
    """Whether ``element``'s page has been replaced: stale, or (Chromium, while the old document is
    torn down) "does not belong to the document"."""
    try:
        return bool(staleness_of(element)(None))
    except WebDriverException as exc:
        if "does not belong to the document" in str(exc):
            return True
        raise


def loaded(driver) -> None:  # type: ignore[no-untyped-def]
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")


def sign_in(driver, base: str, name: str, password: str = PASSWORD, target: str = "/runs") -> None:  # type: ignore[no-untyped-def]
    driver.delete_all_cookies()
    driver.get(f"{base}/login?next={target}")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    submit(driver, "form.service button[type=submit]")


def justify(driver, choice: str = "monthly list review") -> None:  # type: ignore[no-untyped-def]
    assert "/justify" in driver.current_url
    driver.find_element(By.CSS_SELECTOR, f"input[name=choice][value='{choice}']").click()
    submit(driver, "form.service button[type=submit]")


def body(driver) -> str:  # type: ignore[no-untyped-def]
    return driver.find_element(By.TAG_NAME, "body").text


def log_rows(url: str, table: sa.Table = access_log) -> list[dict[str, object]]:
    with engine(url).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(table.c.seq))]


def test_officer_reviews_a_person_and_the_decision_appears(site, browser) -> None:  # noqa: F811
    base, service = site
    d = browser.driver
    sign_in(d, base, "pc-officer", target=f"/runs/{AS_OF}/")
    justify(d)
    assert d.current_url == f"{base}/runs/{AS_OF}/"
    assert "People listed for review" in body(d) and "Signed in as pc-officer (officer)" in body(d)
    old = d.find_element(By.TAG_NAME, "html")
    d.find_element(By.LINK_TEXT, "P0003").click()
    settle(d, old)
    assert d.current_url == f"{base}/runs/{AS_OF}/people/P0003"
    assert "You are consulting this record for: monthly list review" in body(d)
    d.find_element(By.CSS_SELECTOR, "input[name=decision][value='no-action']").click()
    d.find_element(By.ID, "reason").send_keys(
        "Checked on the crime system: the robbery charge was withdrawn."
    )
    d.find_element(By.ID, "action_taken").send_keys("none")
    submit(d, "form.decision button[type=submit]")
    text = body(d)
    assert "Your decision (no-action) was recorded at" in text and "as review #1" in text
    table = d.find_element(By.CSS_SELECTOR, "#past-reviews table").text
    assert "no-action" in table and "pc-officer" in table and "robbery charge was withdrawn" in table
    # in the review log, under the signed-in account, and the chain holds
    recorded = decisions(service.review_log, ["P0003"])
    assert recorded[["run", "decision", "reviewer"]].values.tolist() == [[AS_OF, "no-action", "pc-officer"]]
    assert recorded["reason"].iloc[0].endswith("\nAction taken: none")
    assert verify(service.review_log).ok
    # a second officer's later decision is added after it, never over it
    sign_in(d, base, "ds-supervisor", target=f"/runs/{AS_OF}/people/P0003")
    justify(d, "supervisor check")
    d.find_element(By.CSS_SELECTOR, "input[name=decision][value='action']").click()
    d.find_element(By.ID, "reason").send_keys("New intelligence since: refer to the neighbourhood team.")
    submit(d, "form.decision button[type=submit]")
    rows = d.find_elements(By.CSS_SELECTOR, "#past-reviews tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[3].text for r in rows] == ["pc-officer", "ds-supervisor"]
    # the served page prints as the same two-page brief: the form is for the screen only
    pdf = d.execute_cdp_cmd("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69})
    assert len(re.findall(rb"/Type\s*/Page[^s]", base64.b64decode(pdf["data"]))) <= 2
    # the list shows it reviewed; the supervisor sees who decided what
    d.get(f"{base}/runs/{AS_OF}/progress")
    assert "ds-supervisor" in body(d) and "Review progress" in body(d)


def test_equality_reviewer_is_refused_a_person_page_and_the_refusal_is_logged(site, browser) -> None:  # noqa: F811
    base, service = site
    d = browser.driver
    sign_in(d, base, "eq-reviewer")
    assert "Equality report" in body(d)  # the aggregate reports are theirs
    d.get(f"{base}/runs/{AS_OF}/people/P0007")
    assert "may not open this page" in body(d)
    d.get(f"{base}/runs/{AS_OF}/")
    assert "may not open this page" in body(d)
    refused = [r for r in log_rows(service.database) if r["action"] == "refused"]
    assert [(r["user_name"], r["what"], r["person_id"]) for r in refused] == [
        ("eq-reviewer", "person page", "P0007"),
        ("eq-reviewer", "list", ""),
    ]
    d.get(f"{base}/runs/{AS_OF}/equality.html")
    assert "Aggregates only" in body(d)


def test_a_form_without_its_csrf_token_is_refused(site, browser) -> None:  # noqa: F811
    base, service = site
    d = browser.driver
    sign_in(d, base, "pc-officer", target=f"/runs/{AS_OF}/people/P0007")
    justify(d)
    d.execute_script("document.querySelector('form.decision input[name=csrf]').value = 'forged'")
    d.find_element(By.CSS_SELECTOR, "input[name=decision][value='action']").click()
    d.find_element(By.ID, "reason").send_keys("An attempt with a forged token")
    submit(d, "form.decision button[type=submit]")
    assert "This form was refused" in body(d)
    assert decisions(service.review_log).empty


def test_a_session_expires_when_idle(site, browser) -> None:  # noqa: F811
    base, service = site
    d = browser.driver
    sign_in(d, base, "an-analyst")
    assert "Monthly runs" in body(d)
    idle = (datetime.now(UTC) - timedelta(minutes=service.settings.idle_minutes + 1)).isoformat(
        timespec="seconds"
    )
    with engine(service.database).begin() as conn:
        conn.execute(sessions.update().values(last_seen=idle))
    d.get(f"{base}/runs")
    assert "/login" in d.current_url and "Your session expired" in body(d)


def test_an_account_is_locked_after_repeated_failures(site, browser) -> None:  # noqa: F811
    base, service = site
    d = browser.driver
    for _ in range(service.settings.lockout_attempts):
        sign_in(d, base, "pc-officer", password="wrong password!")
        assert "Sign-in failed" in body(d)
    sign_in(d, base, "pc-officer")  # the right password, too late
    assert "Sign-in failed" in body(d) and "/login" in d.current_url
    events = [(r["event"], r["user_name"]) for r in log_rows(service.database, security_log)]
    assert events.count(("login-failed", "pc-officer")) == service.settings.lockout_attempts + 1
    assert ("locked", "pc-officer") in events and ("login", "pc-officer") not in events
    sign_in(d, base, "ds-supervisor")  # other accounts are not affected
    assert "Monthly runs" in body(d)


def test_the_access_log_holds_each_consultation_with_its_justification(site, browser) -> None:  # noqa: F811
    base, service = site
    d = browser.driver
    sign_in(d, base, "pc-officer", target=f"/runs/{AS_OF}/people/P0012")
    justify(d, "briefing before deployment")
    d.get(f"{base}/runs/{AS_OF}/people/P0001")
    sign_in(d, base, "an-analyst", target="/access-log")
    justify(d, "data protection or disclosure request")
    text = body(d)
    assert "Access log intact" in text
    consults = [
        (r["user_name"], r["what"], r["person_id"], r["justification"])
        for r in log_rows(service.database)
        if r["action"] == "consult"
    ]
    assert consults[:2] == [
        ("pc-officer", "person page", "P0012", "briefing before deployment"),
        ("pc-officer", "person page", "P0001", "briefing before deployment"),
    ]
    rows = d.find_elements(By.CSS_SELECTOR, "main table tbody tr")
    shown = [[td.text for td in r.find_elements(By.TAG_NAME, "td")] for r in rows]
    assert [
        "pc-officer",
        "officer",
        "consult",
        "person page",
        AS_OF,
        "P0012",
        "briefing before deployment",
    ] in [row[2:9] for row in shown]
    d.get(f"{base}/access-log?person=P0001")
    assert "P0012" not in d.find_element(By.CSS_SELECTOR, "main table tbody").text


@pytest.fixture(scope="module")
def no_script_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A second headless Chromium with JavaScript switched off."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    from tests.browser import CHROMEDRIVER, CHROMIUM, FLAGS

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-no-js-profile')}")
    options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(service=DriverService(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_the_review_works_with_javascript_off(tmp_path: Path, no_script_browser) -> None:
    url = sqlite_url(tmp_path / "service.sqlite")
    service = make_service(tmp_path, url)
    d = no_script_browser
    with serving(create_app(service)) as base:
        sign_in(d, base, "pc-officer", target=f"/runs/{AS_OF}/?show=unreviewed")
        justify(d)
        assert "Showing 5 of 5 listed people (not reviewed)" in body(d)
        d.get(f"{base}/runs/{AS_OF}/people/P0020")
        d.find_element(By.CSS_SELECTOR, "input[name=decision][value='action']").click()
        d.find_element(By.ID, "reason").send_keys("Checked with JavaScript off.")
        submit(d, "form.decision button[type=submit]")
        assert "Your decision (action) was recorded" in body(d)
        d.get(f"{base}/runs/{AS_OF}/?show=unreviewed")
        assert (
            "Showing 4 of 5 listed people (not reviewed)" in body(d)
            and "P0020" not in body(d).split("Notes")[0]
        )
    assert decisions(service.review_log)["person_id"].tolist() == ["P0020"]
    engine(url).dispose()
