"""The deaths report in the review service: who may open it, decisions on alerts and series into
the review log under the signed-in account, refusals with their reasons, and the access log."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from scoring.db import engine, ledger, sqlite_url
from scoring.review import decisions
from scoring.serve.app import create_app
from tests.browser import browser  # noqa: F401  (the module's headless Chromium)
from tests.serve.service_fixtures import AS_OF, make_service
from tests.serve.test_service import sign_in, token

ITEMS = ["D000149+D000325", "D000502+D000695", "C01"]


def write_deaths(runs: Path) -> Path:
    folder = runs / AS_OF / "deaths"
    (folder / "series").mkdir(parents=True)
    manifest = {"run": f"{AS_OF}/deaths", "kind": "deaths", "as_of": AS_OF, "month": "2026-10"}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    pd.DataFrame(
        {
            "rank": [1, 2, 3],
            "item": ITEMS,
            "kind": ["alert", "alert", "series"],
            "what": ["shared person alert", "score alert", "candidate series of 3 reports"],
        }
    ).to_csv(folder / "review_items.csv", index=False)
    (folder / "report.html").write_text(
        "<!DOCTYPE html><title>Deaths</title><p>Death reports of October.</p>"
    )
    (folder / "series" / "C01.html").write_text(
        "<!DOCTYPE html><title>C01</title><p>Candidate series C01.</p>"
    )
    (folder / "alerts.csv").write_text("death_a,death_b\n")
    return folder


@pytest.fixture
def service(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = sqlite_url(tmp_path / "service.sqlite")
    made = make_service(tmp_path, url)
    write_deaths(made.runs_dir)
    yield made
    engine(url).dispose()


def http(service) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(create_app(service), base_url="https://testserver", follow_redirects=False)


def test_an_officer_reviews_an_alert_and_a_series(service) -> None:  # type: ignore[no-untyped-def]
    client = http(service)
    csrf = sign_in(client, "pc-officer")
    runs = client.get("/runs").text
    assert f'href="/runs/{AS_OF}/deaths/"' in runs
    page = client.get(f"/runs/{AS_OF}/deaths/")
    assert page.status_code == 200 and "0 of 3" in page.text and "D000149+D000325" in page.text
    assert client.get(f"/runs/{AS_OF}/deaths/report.html").text.endswith("<p>Death reports of October.</p>")
    assert "Candidate series C01" in client.get(f"/runs/{AS_OF}/deaths/series/C01.html").text
    done = client.post(
        f"/runs/{AS_OF}/deaths/decision",
        data={
            "csrf": token(page.text),
            "item": "C01",
            "decision": "action",
            "reason": "Same finder: to the MIT.",
        },
    )
    assert done.status_code == 303 and done.headers["location"].startswith(
        f"/runs/{AS_OF}/deaths/?recorded=1"
    )
    after = client.get(done.headers["location"]).text
    assert "recorded as review #1" in after and "1 of 3" in after and "Same finder: to the MIT." in after
    log = decisions(service.review_log)
    assert log[["run", "person_id", "decision", "reviewer"]].values.tolist() == [
        [f"{AS_OF}/deaths", "C01", "action", "pc-officer"]
    ]
    entries = [e for e in ledger.rows(service.database, "access_log") if "deaths" in str(e)]
    assert any("deaths decision #1" in str(e) for e in entries)
    assert any("deaths report.html" in str(e) for e in entries)
    assert csrf


def test_refusals_name_the_reason_and_record_nothing(service) -> None:  # type: ignore[no-untyped-def]
    client = http(service)
    sign_in(client, "pc-officer")
    csrf = token(client.get(f"/runs/{AS_OF}/deaths/").text)
    empty = client.post(
        f"/runs/{AS_OF}/deaths/decision",
        data={"csrf": csrf, "item": "C01", "decision": "action", "reason": " "},
    )
    assert empty.status_code == 400 and "A decision needs a reason" in empty.text
    unknown = client.post(
        f"/runs/{AS_OF}/deaths/decision",
        data={"csrf": csrf, "item": "C99", "decision": "action", "reason": "A reason."},
    )
    assert unknown.status_code == 400 and "is not an alert or series of run" in unknown.text
    forged = client.post(
        f"/runs/{AS_OF}/deaths/decision",
        data={"csrf": "forged", "item": "C01", "decision": "action", "reason": "A reason."},
    )
    assert forged.status_code in (400, 403)
    for path in ("alerts.csv", "manifest.json", "%2e%2e/top100.csv", "series/%2e%2e/review_items.csv"):
        assert client.get(f"/runs/{AS_OF}/deaths/{path}").status_code == 404, path
    assert client.get("/runs/2026-01-01/deaths/").status_code == 404
    assert decisions(service.review_log).empty


def test_roles_without_person_pages_are_refused_and_logged(service) -> None:  # type: ignore[no-untyped-def]
    client = http(service)
    sign_in(client, "eq-reviewer")
    assert "/deaths/" not in client.get("/runs").text
    for path in ("", "report.html", "series/C01.html"):
        assert client.get(f"/runs/{AS_OF}/deaths/{path}").status_code == 403
    refused = [e for e in ledger.rows(service.database, "access_log") if "refused" in str(e)]
    assert len(refused) == 3


def test_an_officer_reviews_a_series_in_a_real_browser(tmp_path: Path, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.serve.live import serving
    from tests.serve.test_browser import body, justify, settle, sign_in, submit

    url = sqlite_url(tmp_path / "service.sqlite")
    service = make_service(tmp_path, url)
    write_deaths(service.runs_dir)
    with serving(create_app(service)) as base:
        d = browser.driver
        sign_in(d, base, "pc-officer", target=f"/runs/{AS_OF}/deaths/")
        justify(d, "death investigations review")
        assert d.current_url == f"{base}/runs/{AS_OF}/deaths/"
        assert "0 of 3" in body(d) and "Advisory only" in body(d)
        row = d.find_element(By.ID, "item-C01")
        Select(row.find_element(By.NAME, "decision")).select_by_value("needs-info")
        row.find_element(By.NAME, "reason").send_keys("Ask the coroner's officer for the toxicology.")
        submit(d, "#item-C01 button[type=submit]")
        assert "recorded as review #1" in body(d) and "1 of 3" in body(d)
        assert "Ask the coroner's officer for the toxicology." in d.find_element(By.ID, "item-C01").text
        old = d.find_element(By.TAG_NAME, "html")
        d.find_element(By.LINK_TEXT, "C01").click()
        settle(d, old)
        assert "Candidate series C01" in body(d)
    assert decisions(service.review_log)[["person_id", "decision", "reviewer"]].values.tolist() == [
        ["C01", "needs-info", "pc-officer"]
    ]
    engine(url).dispose()


def test_a_deaths_decision_is_not_a_decision_on_the_list_of_the_same_date() -> None:
    from scoring.serve.review_state import on_run

    recorded = pd.DataFrame(
        {"run": [AS_OF, f"{AS_OF}/deaths", "2026-10-01"], "person_id": ["C01", "C01", "C01"]}
    )
    assert on_run(recorded, AS_OF)["run"].tolist() == [AS_OF]
    assert on_run(recorded, f"{AS_OF}/deaths")["run"].tolist() == [f"{AS_OF}/deaths"]
