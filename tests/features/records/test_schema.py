"""The records contract: row checks, quarantine reasons, table errors, output types."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import features.records.validate as validate_module
from features.errors import RecordsError, TooManyBadRows
from features.records.contract_doc import contract_markdown
from features.records.schema import (
    EVENT_TYPES,
    NOT_RECORDED,
    ValidationReport,
    ValidationSettings,
)
from features.records.validate import validate

TODAY = dt.date(2026, 11, 1)
LENIENT = ValidationSettings(today=TODAY, max_bad_share=1.0)
SOURCES = {
    "persons": "persons.csv",
    "events": "events.csv",
    "offences": "offences.csv",
    "protected": "protected.csv",
}
REPO = Path(__file__).resolve().parents[3]


def text_frame(columns: list[str], rows: list[tuple[str, ...]]) -> pd.DataFrame:
    """A frame as read from CSV: every value text, empty cells as ''."""
    return pd.DataFrame(rows, columns=columns, dtype="str")


def offences() -> pd.DataFrame:
    return text_frame(
        ["offence_code", "description", "subgroup", "category", "harm_days", "national_count"],
        [
            ("VSO02", "Violence with injury", "Violence with injury", "Violence", "365.0", "516757"),
            ("SHP01", "Shoplifting", "Shoplifting", "Shoplifting", "1", "525833"),
            ("VSO07", "Other sexual offences", "Other sexual offences", "Violence", "182.25", ""),
        ],
    )


def persons() -> pd.DataFrame:
    return text_frame(
        ["person_id", "birth_date"],
        [("P1", "1990-01-01"), ("P2", "1985-06-15"), ("P3", ""), ("P4", "2001-12-31")],
    )


EVENT_COLUMNS = [
    "event_id",
    "person_id",
    "event_type",
    "offence_code",
    "occurred_date",
    "recorded_date",
    "victim_id",
    "domestic",
    "weapon",
    "source_ref",
]


def events() -> pd.DataFrame:
    return text_frame(
        EVENT_COLUMNS,
        [
            ("E1", "P1", "crime_suspect", "VSO02", "2020-01-01", "2020-01-03", "P2", "Y", "", "CR/1"),
            ("E2", "P2", "crime_victim", "VSO02", "2020-01-01", "2020-01-03", "", "yes", "0", "CR/1"),
            ("E3", "P1", "Arrest", "", "2020-01-02", "2020-01-02", "", "", "", "CU/7"),
            ("E4", "P3", "conviction", "SHP01", "2021-03-04", "2021-05-06", "", "false", "TRUE", ""),
            ("E5", "P4", "intelligence", "", "2022-02-02", "2022-02-10", "", "n", "No", "IN/3"),
            ("E6", "P1", "charge", "VSO07", "2026-10-31", "2026-11-01", "", "1", "y", "CR/9"),
        ],
    )


def protected() -> pd.DataFrame:
    return text_frame(
        ["person_id", "Sex", "ethnicity"],
        [("P1", "male", "White"), ("P2", "female", ""), ("P4", "", "Asian")],
    )


def raw_tables(**changes: pd.DataFrame | None) -> dict[str, pd.DataFrame | None]:
    tables = {
        "offences": offences(),
        "persons": persons(),
        "events": events(),
        "protected": protected(),
    }
    tables.update(changes)
    return tables


def check(**changes: pd.DataFrame | None):
    return validate(raw_tables(**changes), LENIENT, SOURCES)


def reasons(report: ValidationReport, table: str) -> dict[int, str]:
    """source_row -> reason of a table's quarantined rows."""
    q = report.quarantine.get(table)
    return {} if q is None else dict(zip(q["source_row"], q["reason"], strict=True))


def assert_nothing_lost(report: ValidationReport) -> None:
    for t in report.tables:
        assert t.rows_valid + t.rows_quarantined == t.rows_read, t
        q = report.quarantine.get(t.table)
        assert (0 if q is None else len(q)) == t.rows_quarantined


# ------------------------------------------------------------------ valid input


def test_valid_records_have_contract_types() -> None:
    records, report = check()
    assert report.rows_quarantined == 0
    assert report.rows_read == report.rows_valid == 3 + 4 + 6 + 3
    ev = records.events
    assert list(ev.columns) == EVENT_COLUMNS
    for col in ("event_id", "person_id", "event_type", "offence_code", "victim_id", "source_ref"):
        assert ev[col].dtype == "str", col
    assert ev["occurred_date"].dtype == "datetime64[ns]"
    assert ev["domestic"].tolist() == [True, True, False, False, False, True]
    assert ev["weapon"].tolist() == [False, False, False, True, False, True]
    assert ev["event_type"].iloc[2] == "arrest"  # event types match in any case
    assert ev["offence_code"].isna().tolist() == [False, False, True, False, True, False]
    assert ev["event_id"].tolist() == ["E1", "E2", "E3", "E4", "E5", "E6"]  # file order
    assert isinstance(ev.index, pd.RangeIndex)
    assert records.persons["birth_date"].isna().tolist() == [False, False, True, False]
    assert records.persons["birth_date"].iloc[0] == pd.Timestamp("1990-01-01")
    off = records.offences
    assert off["harm_days"].dtype == "float64" and off["harm_q"].dtype == "int64"
    assert off["harm_q"].tolist() == [1460, 4, 729]
    assert list(off.columns)[4:6] == ["harm_days", "harm_q"]
    assert np.isnan(off["national_count"].iloc[2])
    prot = records.protected
    assert list(prot.columns) == ["person_id", "sex", "ethnicity"]
    assert prot["ethnicity"].tolist() == ["White", NOT_RECORDED, "Asian"]
    assert prot["sex"].dtype == "str"


def test_values_are_stripped_and_headers_matched_loosely() -> None:
    people = text_frame(
        ["Person ID", " Birth-Date "], [(" P1 ", " 1990-01-01 "), ("P2", ""), ("P3", ""), ("P4", "")]
    )
    records, report = check(persons=people)
    assert report.rows_quarantined == 0
    assert records.persons["person_id"].tolist() == ["P1", "P2", "P3", "P4"]


def test_absent_optional_columns_get_defaults_and_warnings() -> None:
    ev = events().drop(columns=["victim_id", "domestic", "weapon", "source_ref"])
    people = persons().drop(columns=["birth_date"])
    records, report = check(events=ev, persons=people, protected=None)
    assert records.events["domestic"].dtype == bool and not records.events["weapon"].any()
    assert records.events["source_ref"].isna().all() and records.events["source_ref"].dtype == "str"
    assert records.persons["birth_date"].isna().all()
    assert records.protected is None
    joined = "\n".join(report.warnings)
    assert "no source_ref column" in joined
    assert "no birth_date column" in joined
    assert "equality audit cannot run" in joined


def test_undeclared_columns_are_ignored_with_a_warning() -> None:
    people = persons().assign(name="Alice")
    records, report = check(persons=people)
    assert list(records.persons.columns) == ["person_id", "birth_date"]
    assert any("ignored columns" in w and "name" in w for w in report.warnings)


# ------------------------------------------------------------------ row checks

BAD_CELLS = [
    ("persons", 0, "person_id", "", "person_id: required value missing"),
    (
        "persons",
        1,
        "birth_date",
        "1985-13-01",
        "birth_date: '1985-13-01' is not a valid date (expected YYYY-MM-DD)",
    ),
    (
        "persons",
        1,
        "birth_date",
        "1985-02-30",
        "birth_date: '1985-02-30' is not a valid date (expected YYYY-MM-DD)",
    ),
    (
        "persons",
        1,
        "birth_date",
        "15/06/1985",
        "birth_date: '15/06/1985' is not a valid date (expected YYYY-MM-DD)",
    ),
    (
        "persons",
        1,
        "birth_date",
        "1985-6-15",
        "birth_date: '1985-6-15' is not a valid date (expected YYYY-MM-DD)",
    ),
    (
        "persons",
        1,
        "birth_date",
        "1985-06-15 00:00:00",
        "birth_date: '1985-06-15 00:00:00' is not a valid date (expected YYYY-MM-DD)",
    ),
    ("persons", 1, "birth_date", "2026-11-02", "birth_date: 2026-11-02 is after today (2026-11-01)"),
    (
        "persons",
        1,
        "birth_date",
        "1899-12-31",
        "birth_date: 1899-12-31 is before 1900-01-01 (implausibly early; validation.earliest_date)",
    ),
    (
        "persons",
        1,
        "birth_date",
        "0999-01-01",
        "birth_date: 0999-01-01 is before 1900-01-01 (implausibly early; validation.earliest_date)",
    ),
    ("events", 1, "event_id", "", "event_id: required value missing"),
    ("events", 1, "occurred_date", "", "occurred_date: required value missing"),
    ("events", 1, "recorded_date", "2030-01-01", "recorded_date: 2030-01-01 is after today (2026-11-01)"),
    (
        "events",
        1,
        "recorded_date",
        "2019-12-31",
        "recorded_date 2019-12-31 is before occurred_date 2020-01-01",
    ),
    (
        "events",
        1,
        "occurred_date",
        "1980-01-01",
        "occurred_date 1980-01-01 is before the person's birth_date 1985-06-15",
    ),
    (
        "events",
        1,
        "event_type",
        "arest",
        "event_type 'arest' is not one of: " + ", ".join(EVENT_TYPES),
    ),
    ("events", 1, "event_type", "", "event_type: required value missing"),
    ("events", 1, "offence_code", "", "offence_code: required for crime_victim events"),
    ("events", 3, "offence_code", "", "offence_code: required for conviction events"),
    ("events", 1, "offence_code", "ZZZ", "offence_code 'ZZZ' is not in the offence catalogue (offences.csv)"),
    ("events", 1, "person_id", "P99", "person_id 'P99' is not in persons"),
    ("events", 1, "person_id", "", "person_id: required value missing"),
    (
        "events",
        1,
        "domestic",
        "maybe",
        "domestic: 'maybe' is not a boolean (expected true/false, 1/0, yes/no, y/n or empty)",
    ),
    (
        "events",
        1,
        "weapon",
        "2",
        "weapon: '2' is not a boolean (expected true/false, 1/0, yes/no, y/n or empty)",
    ),
    ("offences", 1, "harm_days", "one", "harm_days: 'one' is not a number"),
    ("offences", 1, "harm_days", "", "harm_days: required value missing"),
    ("offences", 1, "harm_days", "-1", "harm_days: -1.0 is negative"),
    (
        "offences",
        1,
        "harm_days",
        "1.3",
        "harm_days: 1.3 is not a multiple of 0.25 (CCHI days come in quarter days)",
    ),
    ("offences", 1, "harm_days", "inf", "harm_days: 'inf' is not a number"),
    ("offences", 1, "national_count", "lots", "national_count: 'lots' is not a number"),
    ("offences", 1, "description", "", "description: required value missing"),
    ("protected", 1, "person_id", "P77", "person_id 'P77' is not in persons"),
]


@pytest.mark.parametrize(("table", "row", "column", "value", "reason"), BAD_CELLS)
def test_each_defect_quarantines_its_row_with_its_reason(
    table: str, row: int, column: str, value: str, reason: str
) -> None:
    frame = raw_tables()[table].copy()
    frame.loc[row, column] = value
    _, report = check(**{table: frame})
    assert reasons(report, table) == {row + 1: reason}
    assert report.table(table).rows_quarantined == 1
    assert_nothing_lost(report)


def test_quarantine_keeps_original_values_with_source_row_and_reason() -> None:
    ev = events()
    ev.loc[2, "event_type"] = " Arest "
    _, report = check(events=ev)
    q = report.quarantine["events"]
    assert list(q.columns) == ["source_row", "source_line", *EVENT_COLUMNS, "reason"]
    assert q.iloc[0]["source_row"] == 3
    assert q["source_line"].isna().all()  # no file behind these frames: no line numbers
    assert q.iloc[0]["event_type"] == " Arest "  # as in the file
    assert q.iloc[0]["source_ref"] == "CU/7"
    assert report.table("events").reasons == {"event_type: not a valid event type": 1}
    assert report.table("events").examples["event_type: not a valid event type"].startswith("row 3: ")


def test_duplicate_ids_keep_the_first_and_name_it() -> None:
    ev = events()
    ev.loc[4, "event_id"] = "E2"
    ev.loc[5, "event_id"] = "E2"
    records, report = check(events=ev)
    expected = "duplicate event_id 'E2': row 2 has the same event_id and is the one kept"
    assert reasons(report, "events") == {5: expected, 6: expected}
    assert records.events["event_id"].tolist() == ["E1", "E2", "E3", "E4"]
    assert report.table("events").reasons == {"duplicate event_id": 2}


def test_duplicate_persons_and_protected_rows() -> None:
    people = pd.concat([persons(), text_frame(["person_id", "birth_date"], [("P1", "1970-01-01")])])
    prot = pd.concat([protected(), text_frame(["person_id", "Sex", "ethnicity"], [("P1", "x", "y")])])
    records, report = check(persons=people, protected=prot)
    assert reasons(report, "persons") == {
        5: "duplicate person_id 'P1': row 1 has the same person_id and is the one kept"
    }
    assert list(reasons(report, "protected")) == [4]
    assert records.persons["birth_date"].iloc[0] == pd.Timestamp("1990-01-01")


def test_references_to_quarantined_rows_say_so() -> None:
    people = persons()
    people.loc[1, "birth_date"] = "not a date"
    off = offences()
    off.loc[0, "harm_days"] = "-5"
    _, report = check(persons=people, offences=off)
    got = reasons(report, "events")
    assert (
        got[1]
        == "offence_code 'VSO02' is in the offence catalogue (offences.csv) but its row 1 was quarantined"
    )
    assert got[2] == (
        "offence_code 'VSO02' is in the offence catalogue (offences.csv) but its row 1 was "
        "quarantined; person_id 'P2' is in persons but its row 2 was quarantined"
    )
    assert reasons(report, "protected") == {2: "person_id 'P2' is in persons but its row 2 was quarantined"}
    assert report.table("events").reasons["person_id: its row in persons was quarantined"] == 1


def test_several_defects_on_one_row_are_all_named() -> None:
    ev = events()
    ev.loc[0, ["occurred_date", "domestic", "person_id"]] = ["2020-02-31", "perhaps", "nobody"]
    _, report = check(events=ev)
    parts = reasons(report, "events")[1].split("; ")
    assert parts == [
        "occurred_date: '2020-02-31' is not a valid date (expected YYYY-MM-DD)",
        "domestic: 'perhaps' is not a boolean (expected true/false, 1/0, yes/no, y/n or empty)",
        "person_id 'nobody' is not in persons",
    ]


def test_dates_after_an_as_of_but_not_after_today_are_valid() -> None:
    ev = events()
    ev.loc[0, ["occurred_date", "recorded_date"]] = ["2026-11-01", "2026-11-01"]
    records, report = check(events=ev)
    assert report.rows_quarantined == 0
    assert records.events["recorded_date"].max() == pd.Timestamp("2026-11-01")


def test_earliest_date_is_a_setting() -> None:
    people = persons()
    people.loc[0, "birth_date"] = "1905-01-01"
    strict = ValidationSettings(today=TODAY, max_bad_share=1.0, earliest_date=dt.date(1910, 1, 1))
    _, report = validate(raw_tables(persons=people), strict, SOURCES)
    assert report.table("persons").rows_quarantined == 1


# ------------------------------------------------------------------ native (Parquet) types


def native_tables() -> dict[str, pd.DataFrame]:
    """The same records with the types a Parquet file would hold."""
    ev = events()
    native = pd.DataFrame(
        {
            "event_id": ev["event_id"],
            "person_id": ev["person_id"],
            "event_type": ev["event_type"],
            "offence_code": ev["offence_code"].replace("", None),
            "occurred_date": [dt.date.fromisoformat(d) for d in ev["occurred_date"]],
            "recorded_date": pd.to_datetime(ev["recorded_date"]) + pd.Timedelta(hours=13),
            "victim_id": ev["victim_id"].replace("", None),
            "domestic": pd.array([True, True, None, False, False, True], dtype="boolean"),
            "weapon": [0, 0, 0, 1, 0, 1],
            "source_ref": ev["source_ref"].replace("", None),
        }
    )
    off = offences()
    off_native = off.assign(
        harm_days=off["harm_days"].astype(float),
        national_count=pd.array([516757, 525833, None], dtype="Int64"),
    )
    people = pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P3", "P4"],
            "birth_date": pd.to_datetime(["1990-01-01", "1985-06-15", None, "2001-12-31"]).tz_localize(
                "Europe/London"
            ),
        }
    )
    prot = protected().assign(Sex=lambda f: f["Sex"].replace("", None).astype("category"))
    return {"offences": off_native, "persons": people, "events": native, "protected": prot}


def test_native_types_give_the_same_records_as_text() -> None:
    from_text, _ = check()
    from_native, report = validate(native_tables(), LENIENT, SOURCES)
    assert report.rows_quarantined == 0
    for name in ("persons", "events", "offences", "protected"):
        pd.testing.assert_frame_equal(getattr(from_native, name), getattr(from_text, name))


def test_numeric_ids_become_text() -> None:
    people = pd.DataFrame({"person_id": [1, 2, 3, 4], "birth_date": [None] * 4})
    ev = events().assign(person_id=["1", "2", "1", "3", "4", "1"])
    prot = pd.DataFrame({"person_id": [1.0, 2.0], "sex": ["m", "f"]})
    records, report = check(persons=people, events=ev, protected=prot)
    assert report.rows_quarantined == 0
    assert records.persons["person_id"].tolist() == ["1", "2", "3", "4"]
    assert records.protected["person_id"].tolist() == ["1", "2"]


# ------------------------------------------------------------------ table-level errors


def test_missing_required_column_names_file_column_and_example() -> None:
    ev = events().drop(columns=["recorded_date"])
    with pytest.raises(RecordsError) as info:
        check(events=ev)
    message = str(info.value)
    assert message.startswith("events.csv: required column 'recorded_date' is missing")
    assert "event_id='E1'" in message  # the first data row as an example
    assert "recorded_date (date, required)" in message
    assert "offence_code (str, conditional)" in message


def test_missing_offence_code_column_is_an_error() -> None:
    with pytest.raises(RecordsError, match="'offence_code' is missing"):
        check(events=events().drop(columns=["offence_code"]))


def test_table_without_rows_is_an_error() -> None:
    with pytest.raises(RecordsError, match=r"persons\.csv: the persons table has no data rows"):
        check(persons=persons().iloc[:0])
    with pytest.raises(RecordsError, match="remove the file"):
        check(protected=protected().iloc[:0])


def test_repeated_column_is_an_error() -> None:
    people = persons()
    people.columns = ["person_id", "PERSON_ID"]
    with pytest.raises(RecordsError, match="'person_id' appears more than once"):
        check(persons=people)


def test_missing_table_is_an_error() -> None:
    with pytest.raises(RecordsError, match="No events table"):
        check(events=None)


# ------------------------------------------------------------------ the ceiling


def test_too_many_bad_rows_stops_with_a_helpful_message() -> None:
    ev = pd.concat([events()] * 5, ignore_index=True)  # 30 rows
    ev["event_id"] = [f"E{i}" for i in range(len(ev))]
    ev.loc[[3, 8], "event_type"] = "arest"
    ev.loc[11, "person_id"] = "P99"
    ceiling = ValidationSettings(today=TODAY, max_bad_share=0.05)
    with pytest.raises(TooManyBadRows) as info:
        validate(raw_tables(events=ev), ceiling, SOURCES)
    message = str(info.value)
    assert "events.csv: 3 of 30 events rows (10.00%)" in message
    assert "ceiling of 5.00% (setting validation.max_bad_share)" in message
    assert "2  event_type: not a valid event type" in message
    assert "e.g. row 4: event_type 'arest' is not one of" in message
    assert "e.g. row 12: person_id 'P99' is not in persons" in message
    partial = info.value.report
    assert len(partial.quarantine["events"]) == 3
    # at the ceiling is still fine
    at = ValidationSettings(today=TODAY, max_bad_share=0.1)
    _, report = validate(raw_tables(events=ev), at, SOURCES)
    assert report.rows_quarantined == 3


def test_over_the_ceiling_only_a_sample_of_reasons_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate_module, "SAMPLE_WHEN_OVER", 2)
    ev = events()
    ev["event_type"] = "arest"
    with pytest.raises(TooManyBadRows) as info:
        validate(raw_tables(events=ev), ValidationSettings(today=TODAY), SOURCES)
    partial = info.value.report
    assert partial.table("events").rows_quarantined == 6
    assert partial.quarantine["events"]["source_row"].tolist() == [1, 2]


def test_validation_leaves_its_input_untouched() -> None:
    tables = raw_tables()
    tables["events"].loc[0, "event_type"] = " Arest "
    before = {k: v.copy() for k, v in tables.items()}
    validate(tables, LENIENT, SOURCES)
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, before[name])


def test_settings_are_strict() -> None:
    with pytest.raises(pydantic.ValidationError):
        ValidationSettings(max_bad_share=0.1, ceiling=3)  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError):
        ValidationSettings(max_bad_share=1.5)
    with pytest.raises(pydantic.ValidationError, match="earliest_date"):
        ValidationSettings(earliest_date=dt.date(1600, 1, 1))
    assert ValidationSettings().resolved_today() == dt.date.today()


# ------------------------------------------------------------------ nothing is lost

POOL = [
    "",
    " ",
    "x",
    "P1",
    "P2",
    "P9",
    "E1",
    "E3",
    "2020-01-01",
    "2020-02-30",
    "1800-01-01",
    "2999-01-01",
    "1999-12-31",
    "crime_suspect",
    "witness",
    "maybe",
    "yes",
    "VSO02",
    "ZZZ",
    "-1",
    "0.3",
]
CORRUPTIONS = st.lists(
    st.tuples(
        st.sampled_from(["persons", "events", "offences", "protected"]),
        st.integers(0, 5),
        st.integers(0, 9),
        st.sampled_from(POOL),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CORRUPTIONS)
def test_nothing_is_lost_under_random_corruption(changes: list[tuple[str, int, int, str]]) -> None:
    tables = raw_tables()
    for table, row, col, value in changes:
        frame = tables[table]
        frame.iloc[row % len(frame), col % frame.shape[1]] = value
    records, report = validate(tables, LENIENT, SOURCES)
    assert_nothing_lost(report)
    for name in ("persons", "events", "offences", "protected"):
        assert len(getattr(records, name)) == report.table(name).rows_valid
        q = report.quarantine.get(name)
        if q is not None:
            assert (q["reason"].str.len() > 0).all()
            assert q["source_row"].is_unique
    ev = records.events
    assert ev["event_type"].isin(EVENT_TYPES).all()
    assert (ev["recorded_date"] >= ev["occurred_date"]).all()
    assert ev["person_id"].isin(records.persons["person_id"]).all()
    assert ev["offence_code"].dropna().isin(records.offences["offence_code"]).all()
    assert ev["event_id"].is_unique and records.persons["person_id"].is_unique
    assert (records.offences["harm_q"] == records.offences["harm_days"] * 4).all()


# ------------------------------------------------------------------ the document


def test_data_contract_document_is_current() -> None:
    path = REPO / "docs" / "data-contract.md"
    assert path.read_text(encoding="utf-8") == contract_markdown(), (
        "docs/data-contract.md is stale: run "
        "`python -m features.records.contract_doc > docs/data-contract.md`"
    )
