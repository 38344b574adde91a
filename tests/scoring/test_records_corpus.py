"""The malformed-records corpus: every line of every file is accounted for.

Each file in records_corpus/ is named ``<case>.<table>.csv[.gz]``; it replaces that table in an
otherwise valid records directory (the ``_valid.*`` files: 6 persons, 8 events, 3 protected
rows). A case either stops the run with a message that names the file, the line and the cause,
or is read with read = valid + quarantined = the rows the file holds, each quarantined row with
its reason.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from features.errors import RecordsError
from features.records.schema import ValidationSettings
from scoring.records import load_records

CORPUS = Path(__file__).resolve().parent / "records_corpus"
REPO = Path(__file__).resolve().parents[2]
SETTINGS = ValidationSettings(today=dt.date(2026, 11, 1), max_bad_share=1.0)
WIDTH = r"line {line}: {n} field\(s\) where the header has {width}; look for an unquoted comma"
NOT_UTF8 = r"line {line}: column {column} holds the byte {byte}, which is not UTF-8 text"
NEVER_CLOSED = (
    r"{file}: line {line}: a field opens a quote that is never closed; {n} lines? \(to the end of the file\)"
)


@dataclass(frozen=True)
class Read:
    """The case is read: its table has ``rows`` rows, ``quarantined`` of them quarantined with
    these reasons (regexes, in quarantine order)."""

    rows: int
    quarantined: int = 0
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stops:
    """The case stops the run with a message matching ``message``."""

    message: str


def width(line: int, n: int, w: int = 10) -> str:
    return WIDTH.format(line=line, n=n, width=w)


def not_utf8(line: int, column: str, byte: str) -> str:
    return NOT_UTF8.format(line=line, column=column, byte=byte)


def never_closed(file: str, line: int, n: int) -> str:
    return NEVER_CLOSED.format(file=re.escape(file), line=line, n=n)


CASES: dict[str, Read | Stops] = {
    # stray quotes: the run stops, naming the line where the quote opens
    "stray_quote_closed_later": Stops(
        r"events\.csv: line 4: a field opens a quote that closes only on line 8, so 4 lines would be "
        r"absorbed into one value, 4 of them shaped like rows of their own \(first: line 5\)"
    ),
    "stray_quote_never_closed": Stops(never_closed("events.csv", 5, 4)),
    "stray_quote_first_row": Stops(never_closed("events.csv", 2, 7)),
    "stray_quote_in_event_id": Stops(never_closed("events.csv", 6, 3)),
    "stray_quote_crlf": Stops(never_closed("events.csv", 3, 6)),
    "stray_quote_two_far_apart": Stops(never_closed("events.csv", 3, 6)),
    "stray_quote_persons": Stops(never_closed("persons.csv", 3, 4)),
    "stray_quote_protected": Stops(never_closed("protected.csv", 2, 2)),
    "stray_quote_gzip": Stops(never_closed("events.csv.gz", 4, 5)),
    "stray_quote_blank_lines": Stops(never_closed("events.csv", 9, 9)),
    # files that are not comma-separated
    "tab_separated": Stops(r"events\.csv has only one column .* It looks tab-separated"),
    "semicolon_separated": Stops(r"events\.csv has only one column .* It looks semicolon-separated"),
    # rows that cannot be read as they stand: quarantined, the rest read
    "extra_field_unquoted_comma": Read(8, 1, (width(4, 11),)),
    "missing_field": Read(8, 1, (width(6, 9),)),
    "one_field_line": Read(9, 1, (width(5, 1) + r".*person_id: required value missing",)),
    "whitespace_only_line": Read(9, 1, (width(7, 1),)),
    "trailing_comma": Read(8, 1, (width(9, 11),)),
    "several_wrong_widths": Read(8, 3, (width(2, 11), width(7, 9), width(8, 12))),
    "latin1_source_ref": Read(8, 1, (not_utf8(6, "source_ref", "0xE9"),)),
    "latin1_person_id": Read(6, 1, (not_utf8(5, "person_id", "0xE9"),)),
    "ff_fe_birth_date": Read(6, 1, (not_utf8(3, "birth_date", "0xFF") + r".*not a valid date",)),
    "lone_continuation_byte": Read(8, 1, (not_utf8(5, "source_ref", "0x80"),)),
    "truncated_multibyte": Read(8, 1, (not_utf8(7, "source_ref", "0xE2"),)),
    "wrong_width_and_latin1": Read(8, 1, (width(3, 11) + ".*" + not_utf8(3, "source_ref", "0xE9"),)),
    "latin1_protected": Read(3, 1, (not_utf8(4, "ethnicity", "0xA0"),)),
    "windows1252_quotes": Read(8, 1, (not_utf8(2, "source_ref", "0x93"),)),
    # rows validation quarantines for what they hold
    "header_repeated": Read(9, 1, (r"event_type 'event_type' is not one of",)),
    "duplicated_line": Read(9, 1, (r"duplicate event_id 'E3': row 3 has the same event_id",)),
    # every row read and valid
    "quoted_multiline_value": Read(8),
    "quoted_multiline_crlf": Read(8),
    "quoted_value_with_blank_line": Read(8),
    "quoted_comma": Read(8),
    "doubled_quotes": Read(8),
    "blank_lines": Read(8),
    "blank_lines_gzip": Read(8),
    "crlf_endings": Read(8),
    "cr_endings": Read(8),
    "no_final_newline": Read(8),
    "byte_order_mark": Read(8),
    "quote_inside_value": Read(8),
    "trailing_blank_lines": Read(8),
    "quoted_ids": Read(8),
    "empty_quoted_strings": Read(8),
    "formula_prefixes": Read(8),
    "control_characters": Read(8),
    "rich_markup": Read(8),
    "very_long_value": Read(8),
    "unicode_everywhere": Read(8),
    "nul_byte": Read(8),
}


def case_file(case: str) -> Path:
    found = [p for p in CORPUS.iterdir() if p.name.split(".")[0] == case]
    assert len(found) == 1, f"{case}: {found}"
    return found[0]


def records_dir(tmp_path: Path, case: str) -> tuple[Path, str]:
    """A records directory: the valid tables, with the case's file in place of its table."""
    malformed = case_file(case)
    table = malformed.name.split(".")[1]
    data = tmp_path / "data"
    data.mkdir()
    for valid in CORPUS.glob("_valid.*"):
        name = valid.name.split(".", 1)[1]
        if name.split(".")[0] != table:
            shutil.copy(valid, data / name)
    shutil.copy(malformed, data / malformed.name.split(".", 1)[1])
    return data, table


def test_the_corpus_holds_at_least_forty_malformed_files_and_each_has_an_expectation() -> None:
    cases = {p.name.split(".")[0] for p in CORPUS.iterdir() if not p.name.startswith("_")}
    assert len(cases) >= 40
    assert cases == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_line_of_a_malformed_file_is_accounted_for(tmp_path: Path, case: str) -> None:
    data, table = records_dir(tmp_path, case)
    expected = CASES[case]
    if isinstance(expected, Stops):
        with pytest.raises(RecordsError, match=expected.message):
            load_records(data, SETTINGS, REPO / "configs" / "offences.csv")
        return
    _, report = load_records(data, SETTINGS, REPO / "configs" / "offences.csv")
    read = report.table(table)
    assert read.rows_read == read.rows_valid + read.rows_quarantined == expected.rows
    assert read.rows_quarantined == expected.quarantined
    quarantined = report.quarantine.get(table)
    reasons = [] if quarantined is None else quarantined["reason"].tolist()
    assert len(reasons) == len(expected.reasons)
    for reason, pattern in zip(reasons, expected.reasons, strict=True):
        assert re.search(pattern, reason), (reason, pattern)
    if quarantined is not None:  # each quarantined row names the line it starts on
        lines = quarantined["source_line"].tolist()
        assert all(isinstance(n, int) and n >= 2 for n in lines)


def test_a_multi_line_value_is_one_row_and_keeps_its_line_break(tmp_path: Path) -> None:
    data, _ = records_dir(tmp_path, "quoted_multiline_value")
    records, _ = load_records(data, SETTINGS, REPO / "configs" / "offences.csv")
    refs = records.events.set_index("event_id")["source_ref"]
    assert refs["E3"] == "CT/3\nsecond line of the reference"
    assert refs["E4"] == "INT/4"  # the row after it is its own row


def test_rows_after_a_quarantined_line_keep_their_line_numbers(tmp_path: Path) -> None:
    data, _ = records_dir(tmp_path, "blank_lines")
    (data / "events.csv").write_bytes((data / "events.csv").read_bytes().replace(b"CR/5", b"CR/5,extra"))
    _, report = load_records(data, SETTINGS, REPO / "configs" / "offences.csv")
    row = report.quarantine["events"].iloc[0]
    # blank lines 4, 8 and 9 are skipped: E5 is the 5th row, on line 7
    assert (row["source_row"], row["source_line"], row["event_id"]) == (5, 7, "E5")


def test_line_numbers_skip_blank_lines_when_every_row_is_one_line(tmp_path: Path) -> None:
    data, _ = records_dir(tmp_path, "blank_lines")
    path = data / "events.csv"
    path.write_bytes(path.read_bytes().replace(b"2022-02-02", b"2022-02-30"))  # E5: no such date
    _, report = load_records(data, SETTINGS, REPO / "configs" / "offences.csv")
    row = report.quarantine["events"].iloc[0]
    assert (row["source_row"], row["source_line"], row["event_id"]) == (5, 7, "E5")
    assert "not a valid date" in row["reason"]
