"""The death investigations job end to end: `harmrank synth` writes death reports with planted
series, `harmrank deaths` writes the report, its series pages and its tables; the figures on the
page equal the tables; a planted obvious series is found; a world without planted series raises
no more alerts than the budget; the pages open offline in Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner, Result

from scoring.cli import app
from tests.browser import Browser, browser  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-01"
runner = CliRunner()


def _synth(out: Path, **deaths: object) -> Path:
    config = yaml.safe_load((REPO / "configs" / "synthetic.yaml").read_text())
    config |= {"persons": 3_000, "years": 4}
    config["deaths"] |= deaths
    path = out.parent / f"{out.name}-synthetic.yaml"
    path.write_text(yaml.safe_dump(config))
    result = runner.invoke(app, ["synth", "--config", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _config(tmp: Path, runs: Path, **linkage: object) -> Path:
    data = yaml.safe_load((REPO / "configs" / "default.yaml").read_text())
    data["runs_dir"] = str(runs)
    data["offences"] = str(REPO / "configs" / "offences.csv")
    data["deaths"]["linkage"] |= linkage
    data["deaths"]["knox"]["permutations"] = 199
    data["deaths"]["scan"]["replications"] = 199
    path = tmp / f"{runs.name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _deaths(data: str | Path, config: Path, as_of: str = AS_OF) -> Result:
    """`harmrank deaths` on ``data`` with ``config``; asserts that it wrote the report."""
    result = runner.invoke(app, ["deaths", "--as-of", as_of, "--data", str(data), "--config", str(config)])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _synth(tmp_path_factory.mktemp("deaths") / "world")


@pytest.fixture(scope="module")
def run(world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("deaths-run")
    result = _deaths(world, _config(tmp, tmp / "runs"))
    assert "Advisory only" in result.output and "report.html" in result.output
    return tmp / "runs" / AS_OF / "deaths"


def test_writes_the_report_pages_tables_and_manifest(run: Path) -> None:
    names = {p.name for p in run.iterdir()}
    assert {
        "report.html",
        "alerts.csv",
        "series.csv",
        "pattern.csv",
        "knox.csv",
        "clusters.csv",
        "manifest.json",
    } <= names
    manifest = json.loads((run / "manifest.json").read_text())
    series = pd.read_csv(run / "series.csv")
    assert manifest["series"] == series["series"].nunique() == len(list((run / "series").glob("*.html")))
    assert manifest["tables"]["deaths"]["quarantined"] == 2  # the rows broken on purpose (4 years)
    assert (run / "quarantine" / "deaths.csv").is_file()
    assert set(manifest["files"]) >= {"report.html", "alerts.csv", "quarantine/deaths.csv"}


def test_figures_on_the_page_equal_the_tables(run: Path) -> None:
    html = (run / "report.html").read_text(encoding="utf-8")
    alerts = pd.read_csv(run / "alerts.csv")
    knox = pd.read_csv(run / "knox.csv").iloc[0]
    beyond = pd.read_csv(run / "beyond.csv")
    summary = re.search(
        r"(\d+) alerts? on pairs of reports this month: "
        r"(\d+) name the same person or a shared record, (\d+) by score",
        html,
    )
    assert summary is not None
    assert int(summary.group(1)) == len(alerts)
    assert int(summary.group(2)) == int(alerts["reason"].isin(["shared person", "shared record"]).sum())
    assert int(summary.group(3)) == int((alerts["reason"] == "score").sum()) <= 20
    assert f"(p = {knox['p_value']:.3f})" in html
    assert f"{int(knox['close_both']):,} pairs of reports were within 1,000 m and 30 days" in html
    assert re.search(rf"{len(beyond)} of \d+ groups \(areas included\) rose beyond", html)
    for row in alerts.itertuples():
        assert f"{row.death_a} &amp; {row.death_b}" in html
    assert not re.search(r"[+-]0 (points|to)|to [+-]0<", html)  # no signed zero in the equality table


def test_the_same_records_give_the_same_bytes(world: Path, run: Path, tmp_path: Path) -> None:
    _deaths(world, _config(tmp_path, tmp_path / "again"))
    again = tmp_path / "again" / AS_OF / "deaths"
    for name in ("report.html", "alerts.csv", "alerts_history.csv", "pattern.csv", "series.csv"):
        assert (again / name).read_bytes() == (run / name).read_bytes(), name


def test_a_planted_obvious_series_is_found_in_the_month_of_its_second_death(
    world: Path, tmp_path: Path
) -> None:
    truth = pd.read_parquet(world / "truth" / "death_series.parquet")
    deaths = pd.read_parquet(world / "deaths.parquet").set_index("death_id")
    obvious = truth[truth["kind"] == "obvious"].assign(
        recorded=lambda t: deaths.loc[t["death_id"], "recorded_date"].to_numpy()
    )
    for _, members in obvious.groupby("series_id"):
        second = members["recorded"].sort_values().iloc[1]
        as_of = (second + pd.offsets.MonthBegin(1)).normalize()
        if as_of > pd.Timestamp(AS_OF):
            continue
        runs = tmp_path / f"runs-{members['series_id'].iloc[0]}"
        _deaths(world, _config(tmp_path, runs), as_of.date().isoformat())
        alerts = pd.read_csv(runs / as_of.date().isoformat() / "deaths" / "alerts.csv")
        ids = set(members["death_id"])
        hit = alerts[alerts["death_a"].isin(ids) & alerts["death_b"].isin(ids)]
        assert len(hit) >= 1, (
            f"series {members['series_id'].iloc[0]} not alerted in the month of its second death"
        )
        assert (hit["reason"] == "shared person").any()  # the finder they share
        return
    pytest.fail("no obvious series had its second death inside the world")


def test_a_world_without_series_raises_no_more_alerts_than_the_budget(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    tmp = tmp_path_factory.mktemp("calm")
    world = _synth(tmp / "world", obvious_series=0, subtle_series=0, person_series=0)
    assert pd.read_parquet(world / "truth" / "death_series.parquet").empty
    _deaths(world, _config(tmp, tmp / "runs", budget=5))
    history = pd.read_csv(tmp / "runs" / AS_OF / "deaths" / "alerts_history.csv")
    per_month = history.groupby("month")["reason"].value_counts().unstack(fill_value=0)
    assert (per_month.get("score", 0) <= 5).all()
    assert (per_month.sum(axis=1) <= 5).all()  # no shared person between unrelated deaths here


def test_the_pages_open_offline_and_a_series_page_has_its_map(run: Path, browser: Browser) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    page = browser.open(run / "report.html")
    assert page.errors == []
    assert "Advisory only" in page.text and "Candidate series" in page.text
    for heading in (
        "The pattern of death reports",
        "Space-time clustering",
        "Equality: how deaths were categorised",
    ):
        assert heading in page.text
    links = page.driver.find_elements(By.CSS_SELECTOR, "#series a")  # type: ignore[attr-defined]
    assert links, "no candidate series to open"
    links[0].click()
    driver = page.driver
    assert "Candidate series" in driver.title  # type: ignore[attr-defined]
    svgs = driver.find_elements(By.CSS_SELECTOR, "svg.chart title")  # type: ignore[attr-defined]
    titles = [s.get_attribute("textContent") for s in svgs]
    assert any("where each death was found" in t for t in titles) and any(
        "when each death" in t for t in titles
    )
    body = driver.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
    assert "Back to the report" in body and "What links them" in body
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html


def test_alerts_and_series_are_reviewed_in_the_review_log(run: Path, tmp_path: Path) -> None:
    items = pd.read_csv(run / "review_items.csv")
    assert list(items.columns) == ["rank", "item", "kind", "what"]
    alerts = pd.read_csv(run / "alerts.csv")
    assert items.loc[items["kind"] == "alert", "item"].tolist() == [
        f"{a}+{b}" for a, b in zip(alerts["death_a"], alerts["death_b"], strict=True)
    ]
    assert items.loc[items["kind"] == "series", "item"].tolist() == sorted(
        pd.read_csv(run / "series.csv")["series"].unique()
    )
    log = str(tmp_path / "reviews.sqlite")
    first, series = items["item"].iloc[0], items.loc[items["kind"] == "series", "item"].iloc[0]
    for item, decision in ((first, "no-action"), (series, "needs-info")):
        done = runner.invoke(
            app,
            [
                "review",
                str(run),
                item,
                "--decision",
                decision,
                "--reason",
                "Checked both reports on the system.",
                "--reviewer",
                "DS 4321",
                "--log",
                log,
            ],
        )
        assert done.exit_code == 0, done.output
        assert f"on run {AS_OF}/deaths: {decision} by DS 4321" in done.output
    refused = runner.invoke(
        app,
        [
            "review",
            str(run),
            "C999",
            "--decision",
            "action",
            "--reason",
            "A reason given.",
            "--reviewer",
            "DS 4321",
            "--log",
            log,
        ],
    )
    assert refused.exit_code != 0 and "is not an alert or series of run" in str(refused.exception)
    status = runner.invoke(app, ["status", str(run), "--log", log])
    assert status.exit_code == 0, status.output
    assert (
        f"{len(items) - 2} of {len(items)}" in status.output
        and "Review log intact: 2 entries" in status.output
    )
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "Recording the reviews" in html and f"{len(items)} items of this report" in html


def test_the_records_can_come_from_a_database(world: Path, run: Path, tmp_path: Path) -> None:
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'force.sqlite'}"
    engine = sa.create_engine(url)
    for name in (
        "persons",
        "events",
        "offences",
        "protected",
        "deaths",
        "death_protected",
        "expected_deaths",
    ):
        frame = pd.read_parquet(world / f"{name}.parquet")
        for column in frame.columns[frame.dtypes.map(pd.api.types.is_datetime64_any_dtype)]:
            frame[column] = frame[column].dt.date  # a DATE, as a force's database holds it
        if name == "deaths":  # a force's own names for two columns, mapped in the config
            frame = frame.rename(columns={"death_id": "report_no", "place_type": "location_type"})
        frame.to_sql({"deaths": "death_reports"}.get(name, name), engine, index=False)
    engine.dispose()
    config = _config(tmp_path, tmp_path / "runs")
    data = yaml.safe_load(config.read_text())
    data["source"] = {
        "tables": {"deaths": "death_reports"},
        "columns": {"deaths": {"death_id": "report_no", "place_type": "location_type"}},
    }
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    _deaths(url, config)
    out = tmp_path / "runs" / AS_OF / "deaths"
    for name in ("alerts.csv", "series.csv", "pattern.csv", "knox.csv"):
        assert (out / name).read_bytes() == (run / name).read_bytes(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tables"]["deaths"]["source"].startswith("table death_reports in sqlite:///")


def test_what_an_interrupted_run_left_is_tidied(world: Path, tmp_path: Path) -> None:
    day = tmp_path / "runs" / AS_OF
    (day / ".deaths.partial-k1ll3d").mkdir(parents=True)  # killed while writing its pages
    (day / ".deaths.partial-k1ll3d" / "report.html").write_text("half a page")
    result = _deaths(world, _config(tmp_path, tmp_path / "runs"))
    assert "Tidied: removed .deaths.partial-k1ll3d" in result.output
    assert sorted(p.name for p in day.iterdir()) == ["deaths"]
