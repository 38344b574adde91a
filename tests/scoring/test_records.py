"""Reading a records directory, its error messages, and writing the quarantine."""

from __future__ import annotations

import datetime as dt
import gzip
import re
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

import scoring.records as records_module
from features.errors import RecordsError
from features.records.schema import ValidationSettings
from scoring.records import load_records, read_records, validation_table, write_quarantine

SETTINGS = ValidationSettings(today=dt.date(2026, 11, 1), max_bad_share=1.0)
REPO = Path(__file__).resolve().parents[2]
DEFAULT_OFFENCES = REPO / "configs" / "offences.csv"

PERSONS = "person_id,birth_date\nP1,1990-01-01\nP2,\nP3,1975-03-09\n"
EVENTS = (
    "event_id,person_id,event_type,offence_code,occurred_date,recorded_date,victim_id,domestic,weapon,source_ref\n"
    "E1,P1,crime_suspect,VSO02,2020-01-01,2020-01-03,P2,y,,CR/1\n"
    "E2,P2,arrest,,2020-01-02,2020-01-02,,,no,CU/2\n"
    "E3,P3,conviction,SHP01,2021-03-04,2021-05-06,,false,1,\n"
)
PROTECTED = "person_id,sex,ethnicity\nP1,male,White\nP3,,Black\n"


def make_dir(root: Path, **files: str | bytes) -> Path:
    """A records directory with the given files (name with dots as double underscores)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name.replace("__", ".")
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def standard_dir(root: Path) -> Path:
    return make_dir(root, persons__csv=PERSONS, events__csv=EVENTS, protected__csv=PROTECTED)


def load(data_dir: Path):
    return load_records(data_dir, SETTINGS, DEFAULT_OFFENCES)


# ------------------------------------------------------------------ reading


def test_reads_a_directory_with_the_default_catalogue(tmp_path: Path) -> None:
    records, report = load(standard_dir(tmp_path / "data"))
    assert report.rows_quarantined == 0
    assert len(records.events) == 3 and len(records.offences) == 23
    assert report.table("offences").source == str(DEFAULT_OFFENCES)
    assert report.table("events").source == str(tmp_path / "data" / "events.csv")
    assert records.protected["sex"].tolist() == ["male", "not recorded"]


def test_csv_values_are_read_as_text(tmp_path: Path) -> None:
    data = make_dir(
        tmp_path,
        persons__csv="person_id,birth_date\n007,\n7,\n",
        events__csv="event_id,person_id,event_type,offence_code,occurred_date,recorded_date\n"
        "01,007,arrest,,2020-01-01,2020-01-01\n1,7,arrest,,2020-01-01,2020-01-01\n",
    )
    raw, _, _ = read_records(data, DEFAULT_OFFENCES)
    assert raw["persons"]["person_id"].tolist() == ["007", "7"]
    assert raw["persons"]["birth_date"].tolist() == ["", ""]
    records, report = load(data)
    assert report.rows_quarantined == 0
    assert records.events["event_id"].tolist() == ["01", "1"]


def test_truth_folder_is_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = standard_dir(tmp_path / "data")
    make_dir(data / "truth", persons__csv="garbage\x00", propensity__parquet=b"not parquet")
    (data / "notes.txt").write_text("ignored", encoding="utf-8")
    opened: list[Path] = []
    real_read = records_module._read

    def spy(path: Path) -> pd.DataFrame:
        opened.append(path)
        return real_read(path)

    monkeypatch.setattr(records_module, "_read", spy)
    records, _ = load(data)
    assert len(records.persons) == 3
    assert sorted(p.name for p in opened) == ["events.csv", "offences.csv", "persons.csv", "protected.csv"]
    assert all("truth" not in p.parts for p in opened)


def test_csv_and_parquet_give_equal_records(tmp_path: Path) -> None:
    from_csv, _ = load(standard_dir(tmp_path / "csv"))
    pq = tmp_path / "parquet"
    pq.mkdir()
    persons = pd.DataFrame(
        {"person_id": ["P1", "P2", "P3"], "birth_date": pd.to_datetime(["1990-01-01", None, "1975-03-09"])}
    )
    events = pd.DataFrame(
        {
            "event_id": ["E1", "E2", "E3"],
            "person_id": ["P1", "P2", "P3"],
            "event_type": ["crime_suspect", "arrest", "conviction"],
            "offence_code": ["VSO02", None, "SHP01"],
            "occurred_date": [dt.date(2020, 1, 1), dt.date(2020, 1, 2), dt.date(2021, 3, 4)],
            "recorded_date": [dt.date(2020, 1, 3), dt.date(2020, 1, 2), dt.date(2021, 5, 6)],
            "victim_id": ["P2", None, None],
            "domestic": [True, False, False],
            "weapon": [False, False, True],
            "source_ref": ["CR/1", "CU/2", None],
        }
    )
    protected = pd.DataFrame(
        {"person_id": ["P1", "P3"], "sex": ["male", None], "ethnicity": ["White", "Black"]}
    )
    offences = pd.read_csv(DEFAULT_OFFENCES)
    for name, frame in (
        ("persons", persons),
        ("events", events),
        ("protected", protected),
        ("offences", offences),
    ):
        frame.to_parquet(pq / f"{name}.parquet", index=False)
    from_parquet, report = load(pq)
    assert report.rows_quarantined == 0
    for name in ("persons", "events", "offences", "protected"):
        pd.testing.assert_frame_equal(getattr(from_parquet, name), getattr(from_csv, name))


def test_gzipped_csv_and_upper_case_names_are_read(tmp_path: Path) -> None:
    data = make_dir(tmp_path, PERSONS__CSV=PERSONS, events__csv__gz=gzip.compress(EVENTS.encode()))
    records, _ = load(data)
    assert len(records.events) == 3


def test_per_code_catalogue_in_the_directory(tmp_path: Path) -> None:
    catalogue = (
        "HO_CODE,FULL_OFFENCE_TITLE,CCHI Score\n008/01,Assault with injury,365\n046/00,Shoplifting,1\n"
    )
    events = EVENTS.replace("VSO02", "008/01").replace("SHP01", "046/00")
    data = make_dir(tmp_path, persons__csv=PERSONS, events__csv=events, offences__csv=catalogue)
    records, report = load(data)
    assert report.rows_quarantined == 0
    assert records.offences["offence_code"].tolist() == ["008/01", "046/00"]
    assert report.warnings[0].startswith(f"{data / 'offences.csv'}: no category or subgroup column")


# ------------------------------------------------------------------ file errors


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(RecordsError, match=r"Records directory .*nowhere does not exist.*harmrank synth"):
        load(tmp_path / "nowhere")


def test_directory_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("x", encoding="utf-8")
    with pytest.raises(RecordsError, match="is a file; expected a records directory"):
        load(tmp_path / "data")


def test_missing_required_file_lists_what_was_found(tmp_path: Path) -> None:
    data = make_dir(tmp_path, persons__csv=PERSONS, event__csv=EVENTS)
    with pytest.raises(RecordsError) as info:
        load(data)
    message = str(info.value)
    assert "no events file. Expected events.csv, events.csv.gz or events.parquet" in message
    assert "Found: event.csv, persons.csv" in message


def test_two_files_for_one_table(tmp_path: Path) -> None:
    data = standard_dir(tmp_path)
    pd.DataFrame({"person_id": ["P1"]}).to_parquet(data / "persons.parquet")
    with pytest.raises(
        RecordsError, match=r"persons table is in more than one file \(persons.csv, persons.parquet\)"
    ):
        load(data)


def test_missing_default_catalogue(tmp_path: Path) -> None:
    with pytest.raises(RecordsError, match=r"default offence catalogue .*missing\.csv does not exist"):
        load_records(standard_dir(tmp_path), SETTINGS, tmp_path / "missing.csv")


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("persons.parquet", b"PAR1 not really parquet", r"persons\.parquet is not a readable Parquet file"),
        (
            "persons.csv",
            "person_id;birth_date\nP1;1990-01-01\n",
            r"has only one column .*expected comma-separated.*semicolon",
        ),
        ("persons.csv", "\xe9tat,b\n".encode("latin-1"), r"persons\.csv: the header is not UTF-8"),
        ("persons.csv", "", r"persons\.csv is empty"),
        ("persons.csv.gz", b"not gzip at all", r"persons\.csv\.gz could not be read"),
    ],
)
def test_unreadable_files_are_named(tmp_path: Path, name: str, content: str | bytes, expected: str) -> None:
    """A file that cannot be read at all stops the run naming it (a row that cannot be read is
    quarantined instead: tests/scoring/test_records_corpus.py)."""
    data = make_dir(tmp_path, events__csv=EVENTS)
    path = data / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(RecordsError, match=expected):
        load(data)


def test_missing_column_names_the_file(tmp_path: Path) -> None:
    events = EVENTS.replace("recorded_date", "recorded")
    data = make_dir(tmp_path, persons__csv=PERSONS, events__csv=events)
    with pytest.raises(RecordsError) as info:
        load(data)
    message = str(info.value)
    assert message.startswith(f"{data / 'events.csv'}: required column 'recorded_date' is missing")
    assert "First data row: event_id='E1'" in message


def test_header_only_file(tmp_path: Path) -> None:
    data = make_dir(tmp_path, persons__csv="person_id,birth_date\n", events__csv=EVENTS)
    with pytest.raises(RecordsError, match="persons table has no data rows"):
        load(data)


# ------------------------------------------------------------------ quarantine and report


def bad_dir(root: Path) -> Path:
    events = EVENTS.replace("E2,P2,arrest", "E2,P2,arest").replace("E3,P3", "E3,P9")
    return make_dir(
        root, persons__csv=PERSONS + "P1,2000-01-01\n", events__csv=events, protected__csv=PROTECTED
    )


def test_quarantine_csv_has_source_row_and_line_values_and_reason(tmp_path: Path) -> None:
    _, report = load(bad_dir(tmp_path / "data"))
    written = write_quarantine(report, tmp_path / "run")
    assert sorted(written) == ["events", "persons"]
    assert written["persons"] == tmp_path / "run" / "quarantine" / "persons.csv"
    assert written["persons"].read_text(encoding="utf-8") == (
        "source_row,source_line,person_id,birth_date,reason\n"
        "4,5,P1,2000-01-01,duplicate person_id 'P1': row 1 has the same person_id and is the one kept\n"
    )
    events = pd.read_csv(written["events"], dtype=str, keep_default_na=False)
    assert events["source_row"].tolist() == ["2", "3"]
    assert events["event_type"].tolist() == ["arest", "conviction"]
    assert events["reason"].iloc[1] == "person_id 'P9' is not in persons"
    first = {k: p.read_bytes() for k, p in written.items()}
    again = write_quarantine(report, tmp_path / "run")
    assert {k: p.read_bytes() for k, p in again.items()} == first


def test_stale_quarantine_files_are_removed(tmp_path: Path) -> None:
    _, bad = load(bad_dir(tmp_path / "bad"))
    write_quarantine(bad, tmp_path / "run")
    _, good = load(standard_dir(tmp_path / "good"))
    assert write_quarantine(good, tmp_path / "run") == {}
    assert list((tmp_path / "run" / "quarantine").iterdir()) == []


def test_validation_table_shows_counts_reasons_and_warnings(tmp_path: Path) -> None:
    _, report = load(bad_dir(tmp_path / "data"))
    console = Console(record=True, width=250)
    console.print(validation_table(report))
    text = console.export_text()
    for expected in (
        "Records",
        "events",
        "quarantined",
        "2 (66.67%)",
    ):
        assert expected in text
    assert re.search(r"events\s+│\s+1 │ event_type: not a valid event type", text)
    assert re.search(r"events\s+│\s+1 │ person_id: not in persons", text)
    assert "warning:" not in text  # protected present, every column declared


def test_validation_table_truncates_long_reason_lists(tmp_path: Path) -> None:
    _, report = load(bad_dir(tmp_path / "data"))
    console = Console(record=True, width=250)
    console.print(validation_table(report, reasons_shown=1))
    assert "... 1 more reasons" in console.export_text()
