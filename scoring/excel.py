"""The published list as an Excel workbook, ``runs/<DATE>/top100.xlsx``, for officers who work in Excel.

Two sheets: **List**, one row per listed person in rank order under a frozen, filterable header in
the officer report's words, and **How to read**, the advisory statement, the list's order and what
each column means. Every sheet prints landscape, one page wide, with the header row repeated and
the protective marking in its page header and footer.

The values are the CSV's: numbers are stored as numbers (a probability is the float, shown as a
percentage by its number format; a V100 score keeps its decimals and is shown in whole days), at
the CSV's ``score_decimals``. Text is data, never a formula: every text cell is stored as a string,
and one that starts like a formula (:data:`scoring.io.FORMULA_STARTS`) also gets Excel's quote
prefix, the typed apostrophe, so that editing the cell cannot turn it into one. The same inputs
give the same bytes: the document dates and every zip entry's timestamp are the as-of date.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from scoring.io import FORMULA_STARTS
from scoring.reports.officer import RANK_CONFIDENCE, has_rank_intervals
from scoring.reports.person import missing, status_words

Cell = str | float | int | None


class Column(NamedTuple):
    """A column of the List sheet: its header, width (characters), number format, meaning (for How to
    read) and its value in a row of the list, given the CSV's decimals."""

    header: str
    width: float
    number_format: str
    meaning: str
    value: Callable[[pd.Series, int], Cell]


def _number(value: object, decimals: int) -> float | None:
    """``value`` as the CSV writes it (``%.{decimals}f``), read back as a float; missing as None."""
    return None if missing(value) else float(f"{float(value):.{decimals}f}")  # type: ignore[arg-type]


def _whole(value: object) -> int | None:
    return None if missing(value) else int(float(value))  # type: ignore[arg-type]


def _band(row: pd.Series, decimals: int) -> str | None:
    """The probability band as ``35.0%–49.0%`` (the probability's own format), or an empty cell."""
    lo, hi = row.get("probability_lo"), row.get("probability_hi")
    return None if missing(lo) or missing(hi) else f"{float(lo):.1%}–{float(hi):.1%}"


def _status(row: pd.Series, decimals: int) -> str:
    """``new``, ``returned``, ``stayed, up 2 (was 3)``: the status with its change in rank."""
    status, change = status_words(str(row["status"]), row.get("rank_change"), row.get("previous_rank"))
    return f"{status}, {change}" if change else status


def _interval(row: pd.Series, decimals: int) -> str | None:
    lo, hi = _whole(row.get("rank_lo")), _whole(row.get("rank_hi"))
    return None if lo is None or hi is None else f"{lo}–{hi}"


def _reason(n: int) -> Callable[[pd.Series, int], Cell]:
    return lambda row, decimals: None if missing(row.get(f"reason_{n}")) else str(row[f"reason_{n}"])


REASONS = (
    "What moved the model's score for this person, largest first; each says whether it raises or lowers "
    "the score. They explain the score; they are not proof of anything. The person's page in the officer "
    "report shows every reason with the records behind it, to be checked against the force's systems."
)
COLUMNS = [
    Column("Rank", 7, "0", "The person's place on the list, 1 at the top.", lambda r, d: _whole(r["rank"])),
    Column(
        "Person",
        13,
        "@",
        "The person's id in the force's records.",
        lambda r, d: None if missing(r["person_id"]) else str(r["person_id"]),
    ),
    Column(
        "Probability",
        12,
        "0.0%",
        "The calibrated chance that the person is named as a suspect in a serious-harm offence (one of at "
        "least 365 days on the Cambridge Crime Harm Index) in the next 12 months. Most people on the list "
        "will not go on to do this: a probability of 20% means about 1 in 5.",
        lambda r, d: _number(r["probability"], d),
    ),
    Column("Band", 15, "@", "The range the probability could plausibly take.", _band),
    Column(
        "Raw score",
        10,
        "0.000",
        "The model's raw score, which the reasons explain (the officer report shows it under the "
        "probability).",
        lambda r, d: _number(r.get("model_score"), d),
    ),
    Column(
        "V100 score",
        11,
        "#,##0",
        "Harm already alleged: the CCHI days of offences in which the person was named as suspect in the "
        "last 365 days (the force's V100 measure), shown in whole days. It describes the past and is shown "
        "apart from the predicted risk.",
        lambda r, d: _number(r["v100_score"], d),
    ),
    Column("V100 rank", 10, "0", "The person's rank by V100 score.", lambda r, d: _whole(r["v100_rank"])),
    Column(
        "Status",
        22,
        "@",
        "new: not on last month's list; stayed: on last month's list too, with the change in rank (up "
        "means closer to the top) and last month's rank; returned: on an earlier list, not last month's.",
        _status,
    ),
    *(Column(f"Reason {n}", 60, "@", REASONS if n == 1 else "See Reason 1.", _reason(n)) for n in (1, 2, 3)),
]
INTERVAL = Column(
    "Rank interval",
    13,
    "@",
    f"Where the person's rank could plausibly lie ({RANK_CONFIDENCE} bootstrap interval).",
    _interval,
)
REVIEW = (
    "Every listed person needs a recorded human review, whatever its outcome: record it with harmrank "
    "review or in the review service. Check the reasons against the force's systems before relying on them."
)


def _put(ws: Worksheet, row: int, col: int, value: Cell) -> None:
    """Set a cell; text is always a string (never a formula), quote-prefixed when it starts like one."""
    cell = ws.cell(row=row, column=col)
    if isinstance(value, str):
        text = str(ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))  # characters XML cannot hold
        cell.value = text
        cell.data_type = "s"  # openpyxl reads a leading "=" as a formula; this is data
        cell.quotePrefix = text.startswith(FORMULA_STARTS)
    else:
        cell.value = value


def _print_setup(ws: Worksheet, marking: str, as_of: str) -> None:
    """Landscape A4, one page wide, the marking centred in the page header and footer, the first
    row repeated at the top of every page."""
    mark = marking.replace("&", "&&")  # "&" starts a header code
    ws.oddHeader.center.text = mark
    ws.oddFooter.center.text = mark
    ws.oddFooter.left.text = f"harmrank list as of {as_of}"
    ws.oddFooter.right.text = "Page &P of &N"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"


def _list_sheet(ws: Worksheet, listed: pd.DataFrame, columns: Sequence[Column], decimals: int) -> None:
    wrap = Alignment(wrap_text=True, vertical="top")
    for c, column in enumerate(columns, start=1):
        _put(ws, 1, c, column.header)
        ws.cell(row=1, column=c).font = Font(bold=True)
        ws.column_dimensions[ws.cell(row=1, column=c).column_letter].width = column.width
    for r, (_, row) in enumerate(listed.sort_values("rank", kind="mergesort").iterrows(), start=2):
        for c, column in enumerate(columns, start=1):
            _put(ws, r, c, column.value(row, decimals))
            ws.cell(row=r, column=c).number_format = column.number_format
            ws.cell(row=r, column=c).alignment = wrap
    ws.freeze_panes = "C2"  # the header row, and rank and person beside the reasons
    ws.auto_filter.ref = f"A1:{ws.cell(row=1, column=len(columns)).column_letter}{max(ws.max_row, 2)}"


def _how_to_read(ws: Worksheet, rows: Sequence[tuple[str, str]]) -> None:
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 110
    for r, (label, text) in enumerate(rows, start=1):
        _put(ws, r, 1, label)
        _put(ws, r, 2, text)
        ws.cell(row=r, column=1).font = Font(bold=True)
        ws.cell(row=r, column=1).alignment = Alignment(vertical="top")
        ws.cell(row=r, column=2).alignment = Alignment(wrap_text=True, vertical="top")


def _fixed_bytes(wb: Workbook, stamp: datetime) -> bytes:
    """The workbook's bytes with every zip entry dated ``stamp`` (openpyxl dates them now)."""
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()  # not wb.save(): it sets the modified date to now
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            target.writestr(entry, source.read(info), compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def write_list_workbook(
    listed: pd.DataFrame, path: Path, *, as_of: str, marking: str, order: str, advisory: str, decimals: int
) -> Path:
    """Write the list ``listed`` (the published columns, see ``scoring.outputs``) to ``path`` as
    an ``.xlsx`` workbook readable by its owner only; returns ``path``.

    ``as_of`` is the list's date (YYYY-MM-DD), also the workbook's dates; ``marking`` the protective
    marking printed on every page; ``order`` what the list is ordered by, in words
    (``scoring.reports.officer.order_statement``); ``advisory`` the advisory statement; ``decimals``
    the CSV's ``output.score_decimals``, to which the probability and V100 score are rounded.
    """
    columns = [*COLUMNS, INTERVAL] if has_rank_intervals(listed) else list(COLUMNS)
    stamp = datetime.fromisoformat(as_of[:10])
    wb = Workbook()
    wb.properties.created = wb.properties.modified = stamp
    wb.properties.creator = "harmrank"
    wb.properties.title = f"harmrank list as of {as_of}"
    sheet = wb.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "List"
    _list_sheet(sheet, listed, columns, decimals)
    guide = wb.create_sheet("How to read")
    _how_to_read(
        guide,
        [
            ("Marking", marking),
            ("As of", as_of),
            ("Advisory", advisory),
            ("Review", REVIEW),
            ("Order", order),
            ("People", f"{len(listed):,} listed, one row each in rank order on the sheet List."),
            *((column.header, column.meaning) for column in columns),
        ],
    )
    for ws in (sheet, guide):
        _print_setup(ws, marking, as_of)
    data = _fixed_bytes(wb, stamp)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)
    return path
