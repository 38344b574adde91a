"""`harmrank review` and `harmrank status` through typer's test runner."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from scoring.cli.review import review, status
from scoring.review import ReviewError, decisions
from tests.scoring.test_review import make_run

app = typer.Typer()
app.command()(review)
app.command()(status)
runner = CliRunner()


def invoke(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def test_review_appends_to_the_default_log_in_the_data_directory(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "2026-11-01", ["P1", "P2"])
    result = invoke(
        "review",
        run_dir,
        "P2",
        "--decision",
        "no-action",
        "--reason",
        "Already in custody",
        "--reviewer",
        "DS Khan",
    )
    assert result.exit_code == 0, result.output
    assert "Recorded review #1: P2 on run 2026-11-01: no-action by DS Khan" in result.output
    frame = decisions(tmp_path / "data" / "reviews.sqlite")
    assert frame[["person_id", "decision", "reason", "reviewer"]].values.tolist() == [
        ["P2", "no-action", "Already in custody", "DS Khan"]
    ]


def test_review_without_reason_is_refused(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "2026-11-01", ["P1"])
    missing = invoke("review", run_dir, "P1", "--decision", "action", "--reviewer", "PC 1")
    assert missing.exit_code == 2 and "--reason" in missing.output
    blank = invoke("review", run_dir, "P1", "--decision", "action", "--reason", " ", "--reviewer", "PC 1")
    assert isinstance(blank.exception, ReviewError)
    assert "Data Protection Act 2018 Part 3" in str(blank.exception)
    assert not (tmp_path / "data" / "reviews.sqlite").exists()


def test_unknown_decision_is_refused_by_the_command_line(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "2026-11-01", ["P1"])
    result = invoke("review", run_dir, "P1", "--decision", "arrest", "--reason", "r", "--reviewer", "PC 1")
    assert result.exit_code == 2
    assert "'arrest' is not one of" in result.output


def test_status_lists_exactly_the_unreviewed(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "2026-11-01", ["P4", "P1", "P3", "P2"])
    log = tmp_path / "custom.sqlite"
    for person, decision in (("P1", "action"), ("P2", "needs-info"), ("P3", "no-action")):
        result = invoke(
            "review",
            run_dir,
            person,
            "--decision",
            decision,
            "--reason",
            "Checked the records",
            "--reviewer",
            "PC 7",
            "--log",
            log,
        )
        assert result.exit_code == 0, result.output
    result = invoke("status", run_dir, "--log", log)
    assert result.exit_code == 0, result.output
    assert "Awaiting review on run 2026-11-01: 1 of 4" in result.output
    rows = [line.split("│")[1:-1] for line in result.output.splitlines() if line.count("│") == 4]
    assert [[cell.strip() for cell in row] for row in rows] == [["1", "P4", "0.9000"]]
    assert "3 (75%)" in result.output
    assert "33% (1)" in result.output


def test_status_when_everybody_is_reviewed(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "2026-11-01", ["P1"])
    invoke(
        "review",
        run_dir,
        "P1",
        "--decision",
        "action",
        "--reason",
        "Checked the records",
        "--reviewer",
        "PC 7",
    )
    result = invoke("status", run_dir)
    assert result.exit_code == 0, result.output
    assert "Every person on the list of run 2026-11-01 has a recorded review." in result.output
    assert "1 (100%)" in result.output


def test_status_of_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    result = invoke("status", tmp_path)
    assert isinstance(result.exception, ReviewError)
    assert "is not a harmrank run" in str(result.exception)
