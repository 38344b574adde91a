"""`harmrank runs` and `harmrank prune`: past runs for operations, and old runs' personal data
erased with a record of each erasure."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import yaml
from typer.testing import CliRunner

from scoring.cli import app
from scoring.db import engine, ledger, sqlite_url, upgrade
from scoring.review import record_decision
from scoring.runs import PERSONAL, months_before, to_prune
from tests.serve.service_fixtures import write_run

runner = CliRunner()
KEPT = ("manifest.json", "metrics.json", "equality.html", "audit.json", "governance")


def make_runs(tmp: Path) -> tuple[Path, Path]:
    """Three runs (January, June, November 2026) with every kind of output; the config's path."""
    runs = tmp / "runs"
    for as_of in ("2026-01-01", "2026-06-01", "2026-11-01"):
        folder = write_run(runs, as_of)
        for name in (
            "scores.parquet",
            "reasons.parquet",
            "backtest_predictions.parquet",
            "metrics.json",
            "audit.json",
        ):
            (folder / name).write_text("x", encoding="utf-8")
        (folder / "quarantine").mkdir()
        (folder / "quarantine" / "events.csv").write_text("row,reason\n", encoding="utf-8")
        (folder / "governance").mkdir()
        (folder / "governance" / "index.html").write_text("<p>aggregates</p>", encoding="utf-8")
    database = tmp / "service.sqlite"
    config = {
        "runs_dir": str(runs),
        "scoring": {"review_log": str(tmp / "reviews.sqlite")},
        "serve": {"database": str(database)},
    }
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return runs, path


def test_the_cut_off_is_the_first_of_a_month() -> None:
    assert months_before(date(2026, 11, 15), 3) == date(2026, 8, 1)
    assert months_before(date(2026, 2, 28), 14) == date(2024, 12, 1)


def test_prune_erases_old_personal_data_keeps_aggregates_and_records_it(tmp_path: Path) -> None:
    runs, config = make_runs(tmp_path)
    url = sqlite_url(tmp_path / "service.sqlite")
    upgrade(url)
    record_decision(
        tmp_path / "reviews.sqlite",
        run_dir=runs / "2026-11-01",
        person_id="P0007",
        decision="action",
        reason="checked on the system",
        reviewer="pc-1",
    )
    dry = runner.invoke(
        app, ["prune", "--keep-months", "3", "--today", "2026-11-15", "--dry-run", "--config", str(config)]
    )
    assert (
        dry.exit_code == 0
        and "Would erase the personal data of 2 run(s) from before 2026-08-01" in dry.output
    )
    assert (runs / "2026-01-01" / "top100.csv").is_file()
    done = runner.invoke(
        app, ["prune", "--keep-months", "3", "--today", "2026-11-15", "--config", str(config)]
    )
    assert done.exit_code == 0, done.output
    for as_of in ("2026-01-01", "2026-06-01"):
        folder = runs / as_of
        assert not any((folder / name).exists() for name in PERSONAL)
        assert all((folder / name).exists() for name in KEPT)
        record = json.loads((folder / "erased.json").read_text())
        erased = {f["file"] for f in record["files"]}
        assert {
            "top100.csv",
            "scores.parquet",
            "report/frames/listed.parquet",
            "quarantine/events.csv",
        } <= erased
        assert all(len(f["sha256"]) == 64 for f in record["files"])
        assert record["reason"].startswith("retention: harmrank prune --keep-months 3")
    assert (runs / "2026-11-01" / "top100.csv").is_file() and not (
        runs / "2026-11-01" / "erased.json"
    ).exists()
    entries = [(r["action"], r["run"], r["role"]) for r in ledger.rows(url, "access_log")]
    assert entries == [("erase", "2026-01-01", "command line"), ("erase", "2026-06-01", "command line")]
    assert to_prune(runs, 3, date(2026, 11, 15)) == []  # nothing left to erase
    again = runner.invoke(
        app, ["prune", "--keep-months", "3", "--today", "2026-11-15", "--config", str(config)]
    )
    assert "Nothing to erase" in again.output
    listing = runner.invoke(app, ["runs", "--config", str(config)])
    assert listing.exit_code == 0, listing.output
    lines = [line for line in listing.output.splitlines() if "2026-" in line]
    assert [line.split()[1] for line in lines] == ["2026-11-01", "2026-06-01", "2026-01-01"]
    assert "1 (20%)" in lines[0] and "personal" in lines[1] and "personal" in lines[2]
    engine(url).dispose()


def test_every_release_state_of_the_gate_has_its_exit_status() -> None:
    from scoring.cli.common import EXIT_NOT_FOR_RELEASE, EXIT_RELEASED, RELEASE_EXIT
    from scoring.equality import NOT_RELEASED, RELEASED

    assert RELEASE_EXIT == {RELEASED: EXIT_RELEASED, NOT_RELEASED: EXIT_NOT_FOR_RELEASE}
