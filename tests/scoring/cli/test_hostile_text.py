"""Text from data or from a user cannot be turned against its reader: in the terminal (no rich
markup, no escape sequences obeyed) and in a spreadsheet (no formula runs)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from scoring.cli import app, main
from scoring.cli.monthly import _top_table
from scoring.io import spreadsheet_safe, write_csv
from scoring.records import load_records, validation_table, write_quarantine
from scoring.terminal import neutral, safe
from tests.scoring.test_records import DEFAULT_OFFENCES, EVENTS, PERSONS, SETTINGS, make_dir
from tests.scoring.test_review import make_run

MARKUP = ["[red]", "[/]", "[bold]x[/bold]", "[link=http://evil.example]click[/link]", "a\\"]
ESCAPES = ["\x1b[31mred\x1b[0m", "\x1b]8;;http://evil.example\x07link\x1b]8;;\x07", "zero\u200bwidth"]


def rendered(renderable: object) -> str:
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(renderable)
    return out.getvalue()


@pytest.mark.parametrize("text", MARKUP + ESCAPES)
def test_safe_text_prints_as_it_is_and_obeys_no_escape(text: str) -> None:
    shown = rendered(f"[bold]value: {safe(text)}[/bold] and more")
    assert shown.strip() == f"value: {neutral(text)} and more"
    assert "\x1b" not in shown and "\x07" not in shown


def test_neutral_shows_control_characters_as_escapes() -> None:
    assert neutral("a\x1b[31mb") == "a\\x1b[31mb"
    assert neutral("a\u200bb\ufeff") == "a\\u200bb\\ufeff"
    assert neutral("line one\nline two\ttab") == "line one\nline two\ttab"


def test_the_top_table_shows_hostile_ids_and_reasons_literally() -> None:
    top = pd.DataFrame(
        {
            "rank": [1, 2],
            "person_id": ["[/]", "P\x1b]8;;http://x\x07"],
            "probability": [0.5, 0.4],
            "probability_lo": [0.4, 0.3],
            "probability_hi": [0.6, 0.5],
            "v100_score": [10.0, 5.0],
            "status": ["new", "stayed"],
            "rank_change": [0, 1],
            "reason_1": ["[red]alarm[/red]", "=HYPERLINK(1)"],
        }
    )
    shown = rendered(_top_table(top))
    assert "[/]" in shown and "[red]alarm[/red]" in shown
    assert "P\\x1b]8;;http://x\\x07" in shown and "\x1b" not in shown


def test_validate_survives_markup_in_paths_headers_and_values(tmp_path: Path) -> None:
    events = EVENTS.replace("source_ref\n", "source_ref,[/]note\n").replace("CR/1\n", "CR/1,x\n")
    events = events.replace("CU/2\n", "CU/2,y\n").replace(",1,\n", ",1,,z\n")
    events = events.replace("E2,P2,arrest", "E2,[red]P2[/red],arrest")  # an unknown person id
    data = make_dir(tmp_path / "data[red]x[/]", persons__csv=PERSONS, events__csv=events)
    config = tmp_path / "lenient.yaml"
    config.write_text("validation:\n  max_bad_share: 1.0\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(data), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "[/]note" in result.output  # the ignored column, named as it is
    assert "person_id: not in persons" in result.output  # the row with the markup id, quarantined


def test_errors_holding_markup_are_printed_literally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "records[/]here[red]"
    monkeypatch.setattr(
        sys, "argv", ["harmrank", "validate", str(missing), "--config", "configs/default.yaml"]
    )
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "records[/]here[red] does not exist" in err


def test_status_and_review_echo_ids_and_names_literally(tmp_path: Path) -> None:
    person = "[/b]\x1b]8;;http://evil\x07"
    run_dir = make_run(tmp_path, "2026-11-01", [person, "P2"])
    log = tmp_path / "reviews.sqlite"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "review",
            str(run_dir),
            person,
            "--decision",
            "action",
            "--reason",
            "Checked it",
            "--reviewer",
            "[red]PC 1[/red]",
            "--log",
            str(log),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        "Recorded review #1: [/b]\\x1b]8;;http://evil\\x07 on run 2026-11-01: action by [red]PC 1[/red]."
        in (result.output)
    )
    result = runner.invoke(app, ["status", str(run_dir), "--log", str(log)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", "\uff1d"])
def test_formula_cells_are_made_inert_in_every_csv(tmp_path: Path, start: str) -> None:
    frame = pd.DataFrame(
        {"person_id": [f"{start}cmd|'/C calc'!A0", "P2"], "score": [-0.5, 0.25], "note": [None, "a=b"]}
    )
    safe_frame = spreadsheet_safe(frame)
    assert safe_frame["person_id"].tolist() == [f"'{start}cmd|'/C calc'!A0", "P2"]
    assert safe_frame["score"].tolist() == [-0.5, 0.25]  # numbers stay numbers
    assert safe_frame["note"].isna().iloc[0] and safe_frame["note"].iloc[1] == "a=b"
    written = write_csv(frame, tmp_path / "list.csv").read_bytes().decode("utf-8")
    assert f"'{start}cmd" in written and ",-0.5," in written


def test_quarantined_rows_are_written_spreadsheet_safe(tmp_path: Path) -> None:
    events = EVENTS.replace("E2,P2,arrest", "E2,=1+2,arrest").replace("CU/2", "@SUM(A1:A9)")
    data = make_dir(tmp_path / "data", persons__csv=PERSONS, events__csv=events)
    _, report = load_records(data, SETTINGS, DEFAULT_OFFENCES)
    path = write_quarantine(report, tmp_path / "run")["events"]
    row = pd.read_csv(path, dtype=str, keep_default_na=False).iloc[0]
    assert (row["person_id"], row["source_ref"]) == ("'=1+2", "'@SUM(A1:A9)")
    assert report.quarantine["events"].iloc[0]["person_id"] == "=1+2"  # the report keeps the raw value
    assert "events" in rendered(validation_table(report))
