"""The monthly job end to end on a small synthetic world, through the command line."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from scoring.cli import app, main
from scoring.cli.common import EXIT_NOT_AUDITED, EXIT_NOT_FOR_RELEASE, EXIT_RELEASED, RELEASE_EXIT
from scoring.outputs import PUBLISHED_COLUMNS
from tests.browser import Page, browser  # noqa: F401
from tests.scoring.reports.figure_check import check_equality_page

REPO = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-01"
runner = CliRunner()


ACCEPTANCE = {  # a reviewer's acceptance of a gate breach, as an analyst would write it
    "characteristic": "sex",
    "group": "Female",
    "metric": "fpr",
    "reason": "Every listed woman is reviewed by a second officer before any action.",
    "decided_by": "A. Reviewer, equality lead",
    "decided_on": "2026-10-20",
    "review_by": "2027-04-20",
}


def lighter(data: dict[str, Any], *, analyses: bool = False) -> dict[str, Any]:
    """A config (as read from YAML) with a lighter backtest and audit, to keep the suite within
    minutes; the proxy audit, the mitigation analysis and the lambdarank candidate only with
    ``analyses`` (together they double the cost of a run)."""
    data["backtest"]["splits"]["test_months"] = 3
    data["backtest"]["evaluation"]["n_boot"] = 50
    data["model"]["n_estimators"] = 60
    if not analyses:
        data["backtest"]["objectives"] = ["binary"]
    data["fairness"]["n_boot"] = 50
    data["proxies"] |= {"enabled": analyses, "n_boot": 30, "n_folds": 3, "max_rows": 10000}
    data["proxies"]["classifier"]["n_estimators"] = 40
    data["mitigation"] |= {"enabled": analyses, "test_months": 2, "eg_max_iter": 3, "max_train_rows": 15000}
    return data


def write_config(tmp: Path, runs: Path, *, tracking: bool = False, analyses: bool = False) -> Path:
    """The default config made :func:`lighter`, writing into ``tmp``."""
    data = lighter(yaml.safe_load((REPO / "configs" / "default.yaml").read_text()), analyses=analyses)
    data["runs_dir"] = str(runs)
    data["offences"] = str(REPO / "configs" / "offences.csv")
    data["scoring"]["review_log"] = str(tmp / "reviews.sqlite")
    if analyses:
        data["fairness"]["gate"]["accepted"] = [ACCEPTANCE]
    store = tmp / f"{runs.name}-mlflow"
    data["tracking"] |= {
        "enabled": tracking,
        "uri": f"sqlite:///{store / 'mlflow.db'}",
        "artifact_dir": str(store / "artifacts"),
    }
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    result = runner.invoke(
        app,
        [
            "synth",
            "--persons",
            "6000",
            "--years",
            "7",
            "--seed",
            "7",
            "--out",
            str(out),
            "--config",
            str(REPO / "configs" / "synthetic.yaml"),
            "--offences",
            str(REPO / "configs" / "offences.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


WRITTEN = (EXIT_RELEASED, EXIT_NOT_FOR_RELEASE, EXIT_NOT_AUDITED)
"""Exit statuses of `harmrank run` when the list is written (released, not for release, not audited)."""


def run_job(
    world: Path, tmp: Path, name: str, *, tracking: bool = False, analyses: bool = False, output: bool = False
) -> Any:
    """Run the monthly job through the CLI; the run directory (and the terminal output, with ``output``)."""
    runs = tmp / name
    config = write_config(tmp, runs, tracking=tracking, analyses=analyses)
    result = runner.invoke(app, ["run", "--as-of", AS_OF, "--data", str(world), "--config", str(config)])
    assert result.exit_code in WRITTEN, result.output
    assert "top100.csv" in result.output
    release = json.loads((runs / AS_OF / "manifest.json").read_text())["release"]["status"]
    assert result.exit_code == RELEASE_EXIT.get(release, EXIT_NOT_AUDITED), (release, result.exit_code)
    log = (runs / AS_OF / "run.log").read_text()
    assert " INFO harmrank: " in log and f"release: {release}; exit status {result.exit_code}" in log
    assert re.search(r" INFO harmrank: Validating records: \d+\.\d s\n", log)  # each stage, timed
    assert " INFO mlflow" not in result.output  # third-party INFO lines stay in the log
    if (runs / AS_OF / "equality.html").is_file():  # the analyst is told where it is and what it found
        assert "Equality report:" in result.output and "equality: disparities flagged" in result.output
        assert "gate checks:" in result.output
    return (runs / AS_OF, result.output) if output else runs / AS_OF


def test_job_writes_list_and_manifest(world: Path, tmp_path: Path, browser) -> None:  # noqa: F811
    run_dir = run_job(world, tmp_path, "runs", analyses=True)
    top = pd.read_csv(run_dir / "top100.csv", dtype={"person_id": str})
    assert list(top.columns) == PUBLISHED_COLUMNS
    assert top["reason_1"].str.endswith(("raises the score", "lowers the score")).all()
    assert (top["status"] == "new").all()  # no earlier run in this runs directory
    assert (top["probability_lo"] <= top["probability"]).all()
    assert (top["probability"] <= top["probability_hi"]).all()
    assert len(top) == 100 and list(top["rank"]) == list(range(1, 101))
    assert top["person_id"].is_unique
    assert top["score"].is_monotonic_decreasing
    assert top["score"].between(0, 1).all() and (top["v100_score"] >= 0).all()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["as_of"] == AS_OF
    assert set(manifest["inputs"]) >= {"persons", "events", "offences"}
    assert all(len(v["sha256"]) == 64 for v in manifest["inputs"].values())
    assert manifest["packages"]["lightgbm"] != "not installed"
    assert manifest["training"]["positives"] >= 20
    assert "protected" not in " ".join(manifest["training"]["features"])
    quarantined = sum(v["rows_quarantined"] for v in manifest["inputs"].values())
    assert quarantined > 0  # the synthetic world carries a few broken rows
    assert (run_dir / "quarantine" / "events.csv").is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {"v100", "rfg", "logistic"} <= set(metrics["models"])
    page = (run_dir / "model.html").read_text()
    assert "<svg" in page and "V100" in page and "https://" not in page
    audit = json.loads((run_dir / "audit.json").read_text())
    assert manifest["release"]["status"] == audit["release"]
    # the acceptance reached the gate: it either covers a breach or is listed as unused
    gate = audit["gate"]
    assert len(gate["accepted"]) + len(gate["unused_acceptances"]) == 1
    assert manifest["release"]["accepted_breaches"] == gate["accepted"]
    assert audit["proxies"] is not None and audit["mitigation"] is not None
    equality = (run_dir / "equality.html").read_text()
    assert "A. Reviewer, equality lead on 2026-10-20" in equality
    listed = set(top["person_id"])
    assert not any(person in equality for person in listed)  # aggregates only
    # every sourced figure on the equality page equals audit.json and the audit's Parquet tables
    counted = check_equality_page(run_dir)
    assert min(counted.get(kind, 0) for kind in ("groups", "disparities", "gate", "makeup", "coverage")) > 0
    assert audit["gate"]["counts"]["not checkable"] == sum(
        1 for c in audit["gate"]["checks"] if c["status"] == "not checkable"
    )
    assert manifest["release"]["status"] == audit["release"]
    makeup = pd.DataFrame(audit["list_makeup"])
    sex = makeup[makeup["characteristic"] == "sex"]
    assert sex["listed"].fillna(0).sum() <= len(top) and sex["cohort"].notna().any()

    first = top.iloc[0]
    index = browser.open(run_dir / "report" / "index.html")
    assert index.errors == [] and first["person_id"] in index.text
    person_page = next((run_dir / "report" / "people").glob(f"{first['person_id']}*.html"))
    person = browser.open(person_page)
    assert person.errors == [] and first["reason_1"].split(":")[0] in person.text
    person.screenshot(tmp_path / "person.png")
    assert browser.open(run_dir / "model.html").errors == []
    equality_page = browser.open(run_dir / "equality.html")
    assert equality_page.errors == [] and "RELEASE" in equality_page.text.upper()
    assert (tmp_path / "person.png").stat().st_size > 10_000
    check_governance_pack(run_dir, browser, manifest, listed)


GOVERNANCE = ("model-card", "atrs-record", "dpia-inputs", "equality-impact-inputs", "algo-care")


def check_governance_pack(run_dir: Path, browser, manifest: dict, listed: set[str]) -> None:  # noqa: F811
    """governance/: five documents in three formats, the Word files readable, the pages clean in Chromium."""
    import docx

    pack = run_dir / "governance"
    assert {f"{s}.{ext}" for s in GOVERNANCE for ext in ("html", "md", "docx")} <= {
        p.name for p in pack.iterdir()
    }
    card = docx.Document(str(pack / "model-card.docx"))
    text = "\n".join(
        [p.text for p in card.paragraphs] + [c.text for t in card.tables for r in t.rows for c in r.cells]
    )
    assert f"{manifest['training']['cohort_size']:,} people" in text  # the cohort size
    assert ("NOT FOR RELEASE" in text) == (manifest["release"]["status"] == "not for release")
    assert "To be completed by the force:" in text
    facts = json.loads((pack / "facts.json").read_text())
    assert facts["review"]["previous_list"] is None  # a first run: no review rates yet, and the pack says so
    assert "no review or override rates yet" in (pack / "dpia-inputs.md").read_text()
    assert "A. Reviewer, equality lead" in (pack / "equality-impact-inputs.md").read_text()
    assert not any(
        person in (pack / name).read_text() for name in ("model-card.md", "facts.json") for person in listed
    )
    index = browser.open(pack / "index.html")
    assert index.errors == [] and "Model card" in index.text
    for slug in GOVERNANCE:
        page = browser.open(pack / f"{slug}.html")
        assert page.errors == [] and "To be completed by the force" in page.text, slug


@pytest.fixture(scope="module")
def baseline(world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One plain run of the job that several tests compare against."""
    return run_job(world, tmp_path_factory.mktemp("baseline"), "runs")


def test_same_inputs_give_byte_identical_list(world: Path, baseline: Path, tmp_path: Path) -> None:
    first = baseline
    second = run_job(world, tmp_path, "b")
    for name in ("top100.csv", "scores.parquet", "model.html", "equality.html", "audit.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    pages = sorted(p.relative_to(first) for p in (first / "report").rglob("*.html"))
    assert len(pages) == 101  # the index and one page per listed person
    for page in pages:
        assert (first / page).read_bytes() == (second / page).read_bytes(), page
    pack = sorted(p.name for p in (first / "governance").iterdir())
    assert len(pack) == 17  # five documents in three formats, the index and facts.json
    for name in pack:
        assert (first / "governance" / name).read_bytes() == (second / "governance" / name).read_bytes(), name


def test_truth_is_never_read(world: Path, baseline: Path, tmp_path: Path) -> None:
    with_truth = baseline
    blind = tmp_path / "blind"
    shutil.copytree(world, blind, ignore=shutil.ignore_patterns("truth"))
    without_truth = run_job(blind, tmp_path, "without")
    assert (with_truth / "top100.csv").read_bytes() == (without_truth / "top100.csv").read_bytes()


def test_synthetic_check_compares_the_run_with_the_truth(world: Path, baseline: Path) -> None:
    # the evaluation `make demo` runs after the job: it reads truth/, the job never does
    config = baseline.parents[1] / "config.yaml"
    command = [sys.executable, str(REPO / "bench" / "synthetic_check.py"), "--run", str(baseline)]
    command += ["--world", str(world), "--config", str(config), "--n-boot", "20"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "Black: recorded / true" in done.stdout
    page = (baseline / "synthetic_check.html").read_text()
    assert "Recorded outcomes against true offending, by group" in page
    assert "recording_bias 1:" in page  # the default world's bias, in words
    top = pd.read_csv(baseline / "top100.csv", dtype={"person_id": str})
    assert not any(person in page for person in top["person_id"])  # aggregates only
    blind = subprocess.run(
        [*command[:4], "--world", str(baseline)], capture_output=True, text=True, check=False
    )
    assert blind.returncode != 0 and "has no truth/world.json" in blind.stderr


def test_protected_table_does_not_change_the_list(world: Path, baseline: Path, tmp_path: Path) -> None:
    base = baseline
    shuffled = tmp_path / "shuffled"
    shutil.copytree(world, shuffled, ignore=shutil.ignore_patterns("truth", "protected.*"))
    protected = pd.read_parquet(world / "protected.parquet")
    for col in protected.columns.drop("person_id"):
        protected[col] = protected[col].sample(frac=1, random_state=1).to_numpy()
    protected.to_parquet(shuffled / "protected.parquet", index=False)
    other = run_job(shuffled, tmp_path, "other")
    assert (base / "top100.csv").read_bytes() == (other / "top100.csv").read_bytes()


def test_user_error_is_one_message_without_traceback(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(
        "sys.argv",
        [
            "harmrank",
            "run",
            "--as-of",
            AS_OF,
            "--data",
            str(tmp_path / "none"),
            "--config",
            str(REPO / "configs" / "default.yaml"),
        ],
    )
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "none") in err.replace("\n", "")
    assert "Traceback" not in err


def test_bad_as_of_date_is_refused(world: Path) -> None:
    result = runner.invoke(app, ["run", "--as-of", "01/11/2026", "--data", str(world)])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


def test_validate_prints_table(world: Path) -> None:
    result = runner.invoke(app, ["validate", str(world), "--config", str(REPO / "configs" / "default.yaml")])
    assert result.exit_code == 0, result.output
    for table in ("persons", "events", "offences", "protected"):
        assert table in result.output


def test_too_many_bad_rows_stops_the_run_and_keeps_them(world: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    config = write_config(tmp_path, runs)
    config.write_text(config.read_text().replace("max_bad_share: 0.01", "max_bad_share: 0.0001"))
    assert "max_bad_share: 0.0001" in config.read_text()
    result = runner.invoke(app, ["run", "--as-of", AS_OF, "--data", str(world), "--config", str(config)])
    assert result.exit_code != 0
    message = str(result.exception)
    assert "validation.max_bad_share" in message and "events" in message
    rejected = runs / f"{AS_OF}.rejected" / "quarantine" / "events.csv"
    assert rejected.is_file()
    bad = pd.read_csv(rejected)
    assert {"reason", "source_row"} <= set(bad.columns) and len(bad) > 0
    assert not (runs / AS_OF).exists()  # no list is published from rejected records


@pytest.mark.slow
def test_a_run_is_logged_and_registered_and_its_champion_reproduces_and_audits_itself(
    world: Path, tmp_path: Path
) -> None:
    """One registry, three runs: a model trained on 2026-09-01 is logged and registered; as champion
    it reproduces that month's list exactly (and, with no later month to judge it on, is not
    audited); a month later it is backtested and audited on the months after its fit."""
    from mlflow import MlflowClient

    from scoring.config import load_config

    earlier = "2026-09-01"
    runs = tmp_path / "tracked"
    config = write_config(tmp_path, runs, tracking=True)
    trained = runner.invoke(app, ["run", "--as-of", earlier, "--data", str(world), "--config", str(config)])
    assert trained.exit_code in WRITTEN, trained.output
    first = runs / earlier
    tracked = json.loads((first / "mlflow.json").read_text())
    assert tracked["registered_version"] == 1
    cfg = load_config(config)
    client = MlflowClient(cfg.tracking.tracking_uri())
    logged = client.get_run(tracked["run_id"])
    chosen = json.loads((first / "metrics.json").read_text())["selection"]["chosen"]
    assert logged.data.tags["harmrank.model"] == chosen
    assert 0 < logged.data.metrics[f"{chosen}.precision_at_100"] <= 1
    assert "v100.harm_captured_at_100" in logged.data.metrics
    assert "audit.flagged" in logged.data.metrics  # the equality audit's figures
    assert any(key.startswith("audit.disparity.ethnicity.") for key in logged.data.metrics)
    assert len([key for key in logged.data.metrics if key.startswith("audit.")]) < 200  # headline only
    assert "gate.not_checkable" in logged.data.metrics
    release = json.loads((first / "manifest.json").read_text())["release"]["status"]
    assert ("release_blocked" in logged.data.tags) == (release == "not for release")
    reports = {a.path for a in client.list_artifacts(tracked["run_id"], "reports")}
    assert {"reports/model.html", "reports/metrics.json", "reports/manifest.json"} <= reports
    assert {"reports/equality.html", "reports/audit.json", "reports/audit_groups.parquet"} <= reports
    assert not any("top100" in path for path in reports)  # personal data stays in the run directory
    version = client.get_model_version_by_alias("harmrank", "candidate")
    assert int(version.version) == 1

    promoted = runner.invoke(app, ["promote", "--config", str(config)])
    assert promoted.exit_code in (0, 1), promoted.output
    assert "V100" in promoted.output
    client.set_registered_model_alias("harmrank", "champion", "1")  # whatever the rule said
    first_list = (first / "top100.csv").read_bytes()
    fit = json.loads((first / "manifest.json").read_text())["training"]
    last_fit = max(fit["train_dates"] + fit["validation_dates"] + fit["calibration_dates"])

    again = runner.invoke(app, ["run", "--as-of", earlier, "--data", str(world), "--config", str(config)])
    assert again.exit_code in WRITTEN, again.output
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["training"]["model_source"] == "champion"
    assert manifest["training"]["champion_version"] == 1
    assert json.loads((first / "mlflow.json").read_text())["registered_version"] is None
    assert (first / "top100.csv").read_bytes() == first_list  # the registry round trip is exact
    # fitted up to this very month, the champion has no month it never saw: no audit pretends otherwise
    assert manifest["release"]["status"] == "not audited"
    assert "no later month has a complete outcome window yet" in " ".join(again.output.split())
    assert "Model report:" not in again.output and "No equality audit in this run." in again.output
    assert not (first / "equality.html").exists() and not (first / "model.html").exists()
    drift = pd.read_csv(first / "drift.csv")  # the cohort is checked against the months it was fitted on
    assert len(drift) == len(manifest["training"]["features"]) and drift["psi"].notna().all()

    # the proxy audit and the mitigation analysis on: a month scored by the champion leaves them to the
    # run that trained it (which, here, had them off), and says so
    config = write_config(tmp_path, runs, tracking=True, analyses=True)
    scored = runner.invoke(app, ["run", "--as-of", AS_OF, "--data", str(world), "--config", str(config)])
    assert scored.exit_code in WRITTEN, scored.output
    run_dir = runs / AS_OF
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["training"]["model_source"] == "champion"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["selection"]["chosen"] == "champion_v1" and "lightgbm_binary" not in metrics["models"]
    predictions = pd.read_parquet(run_dir / "backtest_predictions.parquet")
    months = sorted({d.date().isoformat() for d in predictions["as_of"]})
    assert months and min(months) > last_fit  # only months the champion never saw
    assert len(months) == 2  # two more months' outcomes have come in since it was fitted
    audit = json.loads((run_dir / "audit.json").read_text())
    assert audit["model"].startswith("the registry's champion, version 1")
    assert audit["scope"]["backtest_months"] == months
    page = (run_dir / "equality.html").read_text()
    assert "the registry&#39;s champion, version 1" in page
    # the proxy audit and the mitigation analysis belong to the run that trained the champion, and say so
    why = "The proxy audit and the mitigation analysis concern the features and the training"
    for analysis in ("proxy audit", "mitigation analysis"):
        assert f"The {analysis} was not made in this run. {why}" in page
    assert "Auditing equality (groups):" in (run_dir / "run.log").read_text()
    eia = (run_dir / "governance" / "equality-impact-inputs.md").read_text()
    for analysis in ("proxy audit", "mitigation analysis"):  # the governance pack gives the same reason
        assert f"The {analysis} was not made in this run. {why}" in eia
    assert (
        "Proxies: the proxy audit was not made in this run"
        in (run_dir / "governance" / "model-card.md").read_text()
    )
    model_page = (run_dir / "model.html").read_text()
    assert "champion_v1" in model_page
    # a scoring month checks its cohort and the champion's score against the champion's training months
    drift = pd.read_csv(run_dir / "drift.csv")
    assert set(drift["level"]) <= {"stable", "moderate", "major"} and (drift["psi"] >= 0).all()
    assert drift["psi"].is_monotonic_decreasing
    assert "Drift since the champion was trained" in model_page
    top = drift.iloc[0]
    assert f'<td class="num">{top.psi:.2f}</td>' in model_page  # the page shows drift.csv's figure
    assert "Checking drift against the champion" in (run_dir / "run.log").read_text()
    check_equality_page(run_dir)


def test_splits_command_prints_the_split_table(world: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path, tmp_path / "runs")
    result = runner.invoke(app, ["splits", "--as-of", AS_OF, "--data", str(world), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "Backtest: 3 test months" in result.output
    assert "2025-11-01" in result.output  # the last backtest test month: a year before the as-of date


def decide_in_service(runs: Path, tmp: Path, as_of: str, person: str) -> None:
    """An officer signs in to the review service over ``runs`` and records needs-info on ``person``."""
    from fastapi.testclient import TestClient

    from scoring.config import ServeSettings
    from scoring.db import sqlite_url
    from scoring.serve.app import create_app
    from scoring.serve.auth import add_user
    from scoring.serve.web import Service

    url = sqlite_url(tmp / "service.sqlite")
    add_user(url, "pc-web", "officer", password="a long pass phrase")
    service = Service(runs, url, tmp / "reviews.sqlite", ServeSettings())
    http = TestClient(create_app(service), base_url="https://testserver")
    csrf = re.compile(r'name="csrf" value="([^"]+)"')
    login = csrf.search(http.get("/login").text).group(1)  # type: ignore[union-attr]
    http.post("/login", data={"csrf": login, "name": "pc-web", "password": "a long pass phrase"})
    token = csrf.search(http.get("/justify").text).group(1)  # type: ignore[union-attr]
    http.post("/justify", data={"csrf": token, "choice": "monthly list review"})
    listing = http.get(f"/runs/{as_of}/")
    assert listing.status_code == 200 and f"/runs/{as_of}/people/{person}" in listing.text
    page = http.get(f"/runs/{as_of}/people/{person}")
    assert page.status_code == 200 and "Record your decision" in page.text
    reason = "Seen in the review service: intelligence to be checked with the local team."
    done = http.post(
        f"/runs/{as_of}/decision/{person}", data={"csrf": token, "decision": "needs-info", "reason": reason}
    )
    assert done.status_code == 200 and "Your decision (needs-info) was recorded" in done.text


def test_second_month_shows_changes_and_recorded_reviews(world: Path, tmp_path: Path) -> None:
    runs = tmp_path / "monthly"
    config = write_config(tmp_path, runs)
    for as_of in ("2026-10-01", AS_OF):
        result = runner.invoke(app, ["run", "--as-of", as_of, "--data", str(world), "--config", str(config)])
        assert result.exit_code in WRITTEN, result.output
    assert "Officer report:" in result.output and "index.html" in result.output
    october = pd.read_csv(runs / "2026-10-01" / "top100.csv", dtype={"person_id": str})
    november = pd.read_csv(runs / AS_OF / "top100.csv", dtype={"person_id": str})
    stayed = november[november["person_id"].isin(october["person_id"])]
    assert len(stayed) > 0 and (stayed["status"] == "stayed").all()
    before = october.set_index("person_id").loc[stayed["person_id"], "rank"].to_numpy()
    assert (stayed["previous_rank"].to_numpy() == before).all()
    assert (stayed["rank_change"].to_numpy() == before - stayed["rank"].to_numpy()).all()
    assert (november.loc[~november["person_id"].isin(october["person_id"]), "status"] == "new").all()

    person = str(october["person_id"].iloc[0])
    october_dir = str(runs / "2026-10-01")
    refused = runner.invoke(
        app,
        ["review", october_dir, person, "--decision", "no-action", "--reason", " ", "--reviewer", "PC 1234"],
    )
    assert refused.exit_code != 0
    recorded = runner.invoke(
        app,
        [
            "review",
            october_dir,
            person,
            "--decision",
            "no-action",
            "--reason",
            "Checked on the force system: the 2024 allegation was withdrawn.",
            "--reviewer",
            "PC 1234",
        ],
    )
    assert recorded.exit_code == 0, recorded.output
    # a second decision through the review service, on the run's own page frames
    second = str(october["person_id"].iloc[1])
    decide_in_service(runs, tmp_path, "2026-10-01", second)
    status = runner.invoke(app, ["status", october_dir])
    assert status.exit_code == 0, status.output
    assert person not in status.output and second not in status.output
    assert "98 of 100" in status.output  # 98 of 100 still await review

    deaths = runner.invoke(app, ["deaths", "--as-of", AS_OF, "--data", str(world), "--config", str(config)])
    assert deaths.exit_code == 0, deaths.output
    kept = (runs / AS_OF / "deaths" / "report.html").read_bytes()
    rerun = runner.invoke(app, ["run", "--as-of", AS_OF, "--data", str(world), "--config", str(config)])
    assert rerun.exit_code in WRITTEN, rerun.output
    assert (runs / AS_OF / "deaths" / "report.html").read_bytes() == kept  # the list's rerun keeps it
    index = (runs / AS_OF / "report" / "index.html").read_text()
    assert "100%" in index or "1%" in index  # the override rate (1 of 1) or the share reviewed (1 of 100)
    if person in set(november["person_id"]):
        page = next((runs / AS_OF / "report" / "people").glob(f"{person}*.html")).read_text()
        assert "the 2024 allegation was withdrawn" in page
    if second in set(november["person_id"]):
        page = next((runs / AS_OF / "report" / "people").glob(f"{second}*.html")).read_text()
        assert "Seen in the review service" in page and "pc-web" in page
    # the governance pack states the previous list's review and override rates, from the review log
    pack = (runs / AS_OF / "governance" / "dpia-inputs.md").read_text()
    assert "Previous list (2026-10-01): 2 of 100 listed people reviewed (2.0%); 1 decided no action" in pack
    assert "(override rate 50.0%)" in pack


def test_promote_refused_by_the_gate_says_how_a_breach_can_be_accepted(monkeypatch) -> None:
    import models.registry as registry

    blocked = (
        "release blocked: equality gate: recall@100 for age_band=35-49 is 0.31x the reference group 25-34"
    )
    refused = registry.PromotionResult(False, 3, [blocked])
    monkeypatch.setattr(registry, "promote", lambda settings, version: refused)
    result = runner.invoke(app, ["promote", "--config", str(REPO / "configs" / "default.yaml")])
    assert result.exit_code == 1
    words = " ".join(result.output.split())
    assert "Version 3: refused" in words and "recall@100 for age_band=35-49" in words
    assert "accepted breach (fairness.gate.accepted, with the reason; docs/equality-audit.md)" in words


def printed_pages(page: Page) -> int:
    """Pages of Chromium's print-to-PDF of the open page (A4, the page's own @page margins)."""
    import base64
    import re

    pdf = page.driver.execute_cdp_cmd(
        "Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69, "preferCSSPageSize": True}
    )
    return len(re.findall(rb"/Type\s*/Page[^s]", base64.b64decode(pdf["data"])))


def test_officer_reads_plain_reasons_that_never_run_backwards_and_prints_a_brief(
    baseline: Path,
    browser,  # noqa: F811
) -> None:
    import re

    import numpy as np

    from features.catalogue import by_name
    from features.catalogue_types import NEVER_DAYS, OFFENCE_FREE_CAP_MONTHS

    top = pd.read_parquet(baseline / "top100.parquet")
    families = pd.read_parquet(baseline / "reason_families.parquet")
    reasons = pd.read_parquet(baseline / "reasons.parquet")
    # the three reasons come from three different families, and no reason says that zero of
    # something (or an absence) raised the score
    for row in top.itertuples(index=False):
        texts = [t for t in (row.reason_1, row.reason_2, row.reason_3) if t]
        mine = families[families["person_id"] == row.person_id]
        used = mine[[any(t.startswith(s) for t in texts) for s in mine["sentence"]]]
        assert len(texts) == 3 and used["family"].nunique() == len(texts), row.person_id
        for text in texts:
            if text.endswith("raises the score"):
                assert not re.match(r"(No |Not |Named as suspect in 0 |0 )", text), text
    # no feature with a declared direction gives a reason against it: at its floor (no such
    # record; never offended) it cannot raise the score
    # (the floor of a count or harm is 0; trends can be negative, so 0 is not theirs)
    feature = reasons["feature"].map(by_name)
    counts = feature.map(lambda f: f.monotone == 1 and not f.aggregation.startswith("trend"))
    floor = (counts & (reasons["value"] == 0)) | (
        (reasons["feature"] == "days_since_last_offence") & (reasons["value"] == NEVER_DAYS)
    )
    floor |= (reasons["feature"] == "offence_free_months") & (reasons["value"] == OFFENCE_FREE_CAP_MONTHS)
    assert floor.sum() > 1000
    assert (reasons.loc[floor, "contribution"] <= 1e-9).all()
    # every CCHI figure an officer reads is a whole number
    first = top.iloc[0]["person_id"]
    page_path = next((baseline / "report" / "people").glob(f"{first}*.html"))
    person = browser.open(page_path)
    assert person.errors == []
    assert not re.search(r"\d\.\d+ (CCHI )?days", person.text)
    assert not re.search(
        r"\d\.\d+ CCHI", " ".join(top[["reason_1", "reason_2", "reason_3"]].to_numpy().ravel())
    )
    harm_cells = person.driver.find_elements("css selector", "table.evidence td:nth-child(5)")
    assert harm_cells and all(re.fullmatch(r"[\d,]+|–", c.text) for c in harm_cells)
    # the brief prints on at most 2 pages, the index on at most 5
    assert printed_pages(person) <= 2
    index = browser.open(baseline / "report" / "index.html")
    assert printed_pages(index) <= 5
    # probabilities tell people apart, or the page says why they cannot
    distinct = top["probability"].nunique()
    assert distinct > 1 or "cannot be told apart" in index.text
    assert np.isfinite(top["probability"]).all()
