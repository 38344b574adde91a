"""The list as an Excel workbook: the CSV's values in officer words, text that never runs as a
formula, the marking on every printed page, the same bytes for the same inputs, owner-only."""

from __future__ import annotations

import stat
import zipfile
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from scoring.excel import REVIEW, write_list_workbook
from scoring.io import write_csv
from scoring.outputs import ADVISORY, PUBLISHED_COLUMNS
from tests.scoring.reports import officer_fixtures as fx

ORDER = "The list is ordered by calibrated probability, highest first."
MARKING = "OFFICIAL-SENSITIVE"
HEADERS = [
    "Rank",
    "Person",
    "Probability",
    "Band",
    "Raw score",
    "V100 score",
    "V100 rank",
    "Status",
    "Reason 1",
    "Reason 2",
    "Reason 3",
]
HOSTILE = {
    (0, "person_id"): '=HYPERLINK("http://x","y")',
    (1, "reason_1"): "+1+2: raises the score",
    (2, "reason_2"): "@SUM(A1:A9)",
    (3, "reason_3"): "-2+3",
    (4, "reason_1"): "\t=cmd|' /C calc'!A0",
    (4, "reason_2"): "\uff1d1+1",
}


def listed() -> pd.DataFrame:
    """The officer fixtures' five people, in the published columns, with hostile text in some cells."""
    frame = fx.inputs()["listed"].copy()  # type: ignore[union-attr]
    frame["rank_lo"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    frame["rank_hi"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    for (row, column), value in HOSTILE.items():
        frame.loc[row, column] = value
    return frame[PUBLISHED_COLUMNS]


def write(frame: pd.DataFrame, path: Path, decimals: int = 6) -> Path:
    return write_list_workbook(
        frame, path, as_of=fx.AS_OF, marking=MARKING, order=ORDER, advisory=ADVISORY, decimals=decimals
    )


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return write(listed(), tmp_path / "top100.xlsx")


def test_list_sheet_in_officer_words(book: Path) -> None:
    wb = load_workbook(book)
    assert wb.sheetnames == ["List", "How to read"]
    ws = wb["List"]
    assert ws.freeze_panes == "C2"
    assert [c.value for c in ws[1]] == HEADERS
    assert ws.auto_filter.ref == "A1:K6"
    frame = listed()
    assert [ws.cell(r, 1).value for r in range(2, 7)] == [1, 2, 3, 4, 5]
    for r, p in enumerate(frame["probability"], start=2):
        cell = ws.cell(r, 3)
        assert cell.data_type == "n" and cell.value == p and cell.number_format == "0.0%"
    assert ws["D2"].value == "35.0%–49.0%"
    assert [ws.cell(r, 6).value for r in range(2, 7)] == [730, 3650, 0, 365.25, 1460]
    assert ws["F2"].number_format == "#,##0"
    assert [ws.cell(r, 7).value for r in range(2, 7)] == [9, 1, 5000, 30, 4]
    statuses = [ws.cell(r, 8).value for r in range(2, 7)]
    assert statuses == ["stayed, up 2 (was 3)", "new", "returned", "stayed, down 3 (was 1)", "new"]
    assert ws["I3"].alignment.wrap_text
    assert ws.column_dimensions["I"].width == 60


def test_values_are_the_csvs_to_its_precision(tmp_path: Path) -> None:
    frame = listed()
    frame.loc[0, "probability"] = 0.123456789
    frame.loc[0, "v100_score"] = 1234.5678912
    write_csv(frame, tmp_path / "top100.csv", float_format="%.4f")
    csv = pd.read_csv(tmp_path / "top100.csv")
    ws = load_workbook(write(frame, tmp_path / "top100.xlsx", decimals=4))["List"]
    assert ws["C2"].value == csv.loc[0, "probability"] == 0.1235
    assert ws["F2"].value == csv.loc[0, "v100_score"] == 1234.5679
    assert [ws.cell(r, 5).value for r in range(2, 7)] == csv["model_score"].tolist()


def test_hostile_text_is_data_not_a_formula(book: Path) -> None:
    ws = load_workbook(book)["List"]
    column = {"person_id": 2, "reason_1": 9, "reason_2": 10, "reason_3": 11}
    for (row, name), value in HOSTILE.items():
        cell = ws.cell(row + 2, column[name])
        assert cell.data_type == "s" and cell.data_type != "f"
        assert cell.value == value
        assert cell.quotePrefix  # Excel's typed apostrophe: editing the cell keeps it text
    assert not ws["B3"].quotePrefix  # an ordinary id is left as it is
    with zipfile.ZipFile(book) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in archive.read(n) or b"<f " in archive.read(n) for n in sheets)


def test_marking_and_page_setup_on_every_sheet(book: Path) -> None:
    wb = load_workbook(book)
    for ws in wb.worksheets:
        assert ws.oddHeader.center.text == MARKING
        assert ws.oddFooter.center.text == MARKING
        assert fx.AS_OF in ws.oddFooter.left.text
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_title_rows == "$1:$1"


def test_how_to_read(book: Path) -> None:
    ws = load_workbook(book)["How to read"]
    rows = {a: b for a, b in ws.iter_rows(values_only=True)}
    assert rows["Order"] == ORDER
    assert rows["Advisory"] == ADVISORY
    assert rows["Review"] == REVIEW and "recorded human review" in REVIEW
    assert rows["As of"] == fx.AS_OF
    assert rows["Marking"] == MARKING
    assert set(HEADERS) <= set(rows)
    assert "Rank interval" not in rows  # no intervals on this list
    assert rows["Probability"].startswith("The calibrated chance")


def test_rank_interval_when_the_list_has_intervals(tmp_path: Path) -> None:
    frame = fx.many(12, intervals=True)["listed"][PUBLISHED_COLUMNS]  # type: ignore[index]
    wb = load_workbook(write(frame, tmp_path / "top100.xlsx"))
    ws = wb["List"]
    assert ws.cell(1, 12).value == "Rank interval"
    assert ws["L2"].value == "1–3" and ws["L13"].value == f"{12 - 2 - 2}–{12 + 2 + 2}"
    assert "Rank interval" in {a for a, _ in wb["How to read"].iter_rows(values_only=True)}


def test_same_bytes_and_owner_only(book: Path, tmp_path: Path) -> None:
    again = write(listed(), tmp_path / "again.xlsx")
    assert again.read_bytes() == book.read_bytes()
    assert stat.S_IMODE(book.stat().st_mode) == 0o600
    with zipfile.ZipFile(book) as archive:
        assert {i.date_time for i in archive.infolist()} == {(2026, 11, 1, 0, 0, 0)}
    properties = load_workbook(book).properties
    assert properties.created == properties.modified == datetime(2026, 11, 1)


def test_an_empty_list_and_characters_xml_cannot_hold(tmp_path: Path) -> None:
    ws = load_workbook(write(listed().iloc[:0], tmp_path / "empty.xlsx"))["List"]
    assert [c.value for c in ws[1]] == HEADERS and ws.max_row == 1
    frame = listed()
    frame.loc[1, "person_id"] = "P\x01\x1f9"
    ws = load_workbook(write(frame, tmp_path / "control.xlsx"))["List"]
    assert ws["B3"].value == "P\ufffd\ufffd9"
