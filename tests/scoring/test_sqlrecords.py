"""Records read from a database (SQLite and PostgreSQL), under the force's own table and column names:
the same validated records, report and quarantine as from files, and clear errors naming the config key."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from features.errors import ConfigError, RecordsError
from features.records.schema import Records, ValidationReport, ValidationSettings
from scoring.cli import app
from scoring.config import SourceSettings, load_config
from scoring.records import load_records, read_records, shown
from scoring.sqlrecords import KEYS
from tests.serve.service_fixtures import fresh_database

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OFFENCES = REPO / "configs" / "offences.csv"
SETTINGS = ValidationSettings(today=dt.date(2026, 11, 1))
LENIENT = ValidationSettings(today=dt.date(2026, 11, 1), max_bad_share=1.0)
runner = CliRunner()

TABLES = {
    "persons": "nominal",
    "events": "Occurrence",
    "offences": "offence_ref",
    "protected": "equality_data",
}
"""The force's table of each harmrank table (mixed case and spaces on purpose: they must be quoted)."""
COLUMNS = {
    "persons": {"person_id": "nominal_ref", "birth_date": "DOB"},
    "events": {
        "event_id": "occ_id",
        "person_id": "nominal_ref",
        "event_type": "Occ Type",
        "offence_code": "ho_class",
        "occurred_date": "committed_on",
        "recorded_date": "RecordedOn",
        "victim_id": "victim_ref",
        "domestic": "da_flag",
        "weapon": "weapon_flag",
        "source_ref": "crime_no",
    },
    "offences": {"offence_code": "ho_class", "description": "title", "harm_days": "cchi_days"},
    "protected": {"person_id": "nominal_ref", "ethnicity": "self_defined_ethnicity"},
}
"""The force's column of each harmrank column that is named differently (the rest keep their names)."""


def mapping(schema: str | None, chunk_rows: int = 5_000) -> SourceSettings:
    prefix = f"{schema}." if schema else ""
    tables = {name: prefix + table for name, table in TABLES.items()}
    return SourceSettings(tables=tables, columns=COLUMNS, chunk_rows=chunk_rows)


def write_tables(
    url: str, frames: dict[str, pd.DataFrame], schema: str | None = None, text: bool = False
) -> None:
    """The tables under the force's names; dates as DATE columns unless ``text`` (then every column
    is TEXT, as a legacy system might keep them)."""
    engine = sa.create_engine(url)
    if schema:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    for name, frame in frames.items():
        renamed = frame.rename(columns=COLUMNS[name])
        types = {COLUMNS[name].get(c, c): sa.Date for c in frame.columns if c.endswith("_date") and not text}
        if text:
            types = {c: sa.Text for c in renamed.columns}
        renamed.to_sql(TABLES[name], engine, schema=schema, index=False, dtype=types, chunksize=10_000)
    engine.dispose()


def sorted_frame(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    return frame.sort_values(key, kind="stable").reset_index(drop=True)[sorted(frame.columns)]


def assert_same_records(got: Records, want: Records) -> None:
    for name in ("persons", "events", "offences", "protected"):
        a, b = getattr(got, name), getattr(want, name)
        if a is None or b is None:
            assert a is None and b is None, name
            continue
        pd.testing.assert_frame_equal(sorted_frame(a, KEYS[name]), sorted_frame(b, KEYS[name]), obj=name)


def assert_same_report(got: ValidationReport, want: ValidationReport) -> None:
    """Equal counts and reasons per table, and the same rows quarantined with the same reasons (a reason
    that names where a table came from names the database's table instead of the file)."""
    assert [t.table for t in got.tables] == [t.table for t in want.tables]
    for a, b in zip(got.tables, want.tables, strict=True):
        assert (a.rows_read, a.rows_valid, a.rows_quarantined) == (
            b.rows_read,
            b.rows_valid,
            b.rows_quarantined,
        )
        assert a.reasons == b.reasons, a.table
    assert got.quarantine.keys() == want.quarantine.keys()
    for name, frame in got.quarantine.items():
        key = KEYS[name]
        reasons = frame["reason"]
        for a, b in zip(got.tables, want.tables, strict=True):
            reasons = reasons.str.replace(a.source, b.source, regex=False)
        pd.testing.assert_frame_equal(
            sorted_frame(frame[[key]].assign(reason=reasons), key),
            sorted_frame(want.quarantine[name][[key, "reason"]], key),
        )


# ------------------------------------------------------------------ the small synthetic world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    arguments = ["synth", "--persons", "2000", "--years", "4", "--seed", "7", "--out", str(out)]
    arguments += ["--offences", str(DEFAULT_OFFENCES)]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def world_frames(world: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(world / f"{name}.parquet") for name in TABLES}


@pytest.fixture(scope="module")
def from_files(world: Path) -> tuple[Records, ValidationReport]:
    return load_records(world, SETTINGS, DEFAULT_OFFENCES)


@pytest.fixture(scope="module")
def sqlite_world(tmp_path_factory: pytest.TempPathFactory, world_frames: dict[str, pd.DataFrame]) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'records.db'}"
    write_tables(url, world_frames)
    return url


@pytest.fixture(scope="module")
def postgres_world(postgres_url: str, world_frames: dict[str, pd.DataFrame]) -> Iterator[str]:
    url = fresh_database(postgres_url, "sqlrecords_world")
    write_tables(url, world_frames, schema="crime")
    yield url


def test_world_from_sqlite_equals_the_files(
    sqlite_world: str, from_files: tuple[Records, ValidationReport]
) -> None:
    records, report = load_records(sqlite_world, SETTINGS, DEFAULT_OFFENCES, mapping("main"))
    assert report.table("events").rows_quarantined > 0  # the synthetic world's deliberately broken rows
    assert_same_records(records, from_files[0])
    assert_same_report(report, from_files[1])
    assert report.table("events").source == f"table main.Occurrence in {sqlite_world}"


def test_world_from_postgresql_equals_the_files(
    postgres_world: str, from_files: tuple[Records, ValidationReport]
) -> None:
    records, report = load_records(postgres_world, SETTINGS, DEFAULT_OFFENCES, mapping("crime"))
    assert_same_records(records, from_files[0])
    assert_same_report(report, from_files[1])
    # rows come in order of the table's id, so the quarantine's row numbers are those of the sorted file
    pd.testing.assert_series_equal(
        report.quarantine["events"]["source_row"], from_files[1].quarantine["events"]["source_row"]
    )


def test_chunk_size_does_not_change_the_records(
    sqlite_world: str, from_files: tuple[Records, ValidationReport]
) -> None:
    records, _ = load_records(sqlite_world, SETTINGS, DEFAULT_OFFENCES, mapping(None, chunk_rows=997))
    assert_same_records(records, from_files[0])


def test_database_without_offences_table_uses_the_config_catalogue(
    tmp_path: Path, world_frames: dict[str, pd.DataFrame]
) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    write_tables(url, {n: world_frames[n] for n in ("persons", "events")})
    source = SourceSettings(tables={"persons": "nominal", "events": "Occurrence"}, columns=COLUMNS)
    records, report = load_records(url, SETTINGS, DEFAULT_OFFENCES, source)
    assert report.table("offences").source == str(DEFAULT_OFFENCES)
    assert len(records.offences) == 23 and records.protected is None
    with pytest.raises(RecordsError, match=r"default offence catalogue .*missing\.csv does not exist"):
        load_records(url, SETTINGS, tmp_path / "missing.csv", source)


# ------------------------------------------------------------------ bad rows: as from a file

PERSONS = "person_id,birth_date\nP1,1990-01-01\nP2,\nP3,1975-03-09\nP4,1990-02-30\n"
EVENTS = (
    "event_id,person_id,event_type,offence_code,occurred_date,recorded_date,victim_id,domestic,weapon,source_ref\n"
    "E1,P1,crime_suspect,VSO02,2020-01-01,2020-01-03,P2,y,,CR/1\n"
    "E2,P2,arrest,,2020-01-02,2020-01-02,,,no,CU/2\n"
    "E3,P3,conviction,SHP01,2021-03-04,2021-05-06,,false,1,\n"
    "E4,P1,arrest,,2021-13-45,2022-01-01,,,,\n"
    "E5,P2,arest,,2021-01-01,2021-01-01,,maybe,,\n"
    "E6,P9,crime_suspect,BUR01,2021-01-01,2020-12-01,,,,\n"
    "E7,P3,crime_suspect,VSO06,2021-01-01,2021-01-02,,,,\n"
)
OFFENCES = (
    "offence_code,description,subgroup,category,harm_days,national_count\n"
    "BUR01,Burglary,Residential burglary,Burglary,-40,\n"
    "SHP01,Shoplifting,Shoplifting,Shoplifting,1,\n"
    "VSO02,Violence with injury,Violence with injury,Violence,365.1,\n"
    "VSO06,Rape,Rape offences,Violence,2555,10\n"
)
PROTECTED = "person_id,sex,ethnicity\nP1,male,White\nP3,,Black\nP7,female,\n"


def text_tables(root: Path) -> dict[str, pd.DataFrame]:
    """The bad-row tables as CSV files in ``root``, and as frames of their text (empty cells as "")."""
    root.mkdir()
    frames = {}
    for name, content in (
        ("persons", PERSONS),
        ("events", EVENTS),
        ("offences", OFFENCES),
        ("protected", PROTECTED),
    ):
        (root / f"{name}.csv").write_text(content, encoding="utf-8")
        frames[name] = pd.read_csv(root / f"{name}.csv", dtype=str, keep_default_na=False)
    return frames


def assert_same_quarantine(got: ValidationReport, want: ValidationReport) -> None:
    """Every quarantined row, value for value, with the same reason and row number; only a file has lines."""
    assert_same_report(got, want)
    sources = {a.source: b.source for a, b in zip(got.tables, want.tables, strict=True)}
    for name, frame in got.quarantine.items():
        assert frame["source_line"].isna().all()
        for a, b in sources.items():
            frame = frame.assign(reason=frame["reason"].str.replace(a, b, regex=False))
        pd.testing.assert_frame_equal(
            frame.drop(columns="source_line"), want.quarantine[name].drop(columns="source_line")
        )


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_bad_rows_in_a_database_are_quarantined_as_in_a_file(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    frames = text_tables(tmp_path / "csv")
    if database == "sqlite":
        url, schema = f"sqlite:///{tmp_path / 'records.db'}", None
    else:
        url, schema = fresh_database(request.getfixturevalue("postgres_url"), "sqlrecords_bad_rows"), "legacy"
    write_tables(url, frames, schema=schema, text=True)
    want_records, want = load_records(tmp_path / "csv", LENIENT, DEFAULT_OFFENCES)
    records, got = load_records(url, LENIENT, DEFAULT_OFFENCES, mapping(schema, chunk_rows=3))
    assert_same_records(records, want_records)
    assert_same_quarantine(got, want)
    reasons = dict(zip(got.quarantine["events"]["event_id"], got.quarantine["events"]["reason"], strict=True))
    assert reasons["E4"] == "occurred_date: '2021-13-45' is not a valid date (expected YYYY-MM-DD)"
    assert got.quarantine["offences"]["reason"].tolist() == [
        "harm_days: -40.0 is negative",
        "harm_days: 365.1 is not a multiple of 0.25 (CCHI days come in quarter days)",
    ]


def test_native_postgresql_types_are_checked_as_parquet_values_are(postgres_url: str, tmp_path: Path) -> None:
    persons = pd.DataFrame(
        {"person_id": ["P1", "P2"], "birth_date": pd.to_datetime(["1990-01-01", "2031-01-01"])}
    )
    events = pd.DataFrame(
        {
            "event_id": ["E1", "E2", "E3"],
            "person_id": ["P1", "P1", "P2"],
            "event_type": ["crime_suspect", "ARREST", "arrest"],
            "offence_code": ["VSO02", None, None],
            "occurred_date": pd.to_datetime(["2020-01-01", "2030-06-01", "2020-01-01"]),
            "recorded_date": pd.to_datetime(["2020-01-03", "2030-06-01", "2020-01-01"]),
            "domestic": [True, None, False],
        }
    )
    offences = pd.DataFrame(
        {
            "offence_code": ["VSO02", "BUR01"],
            "description": ["Violence with injury", "Burglary"],
            "subgroup": ["Violence with injury", "Residential burglary"],
            "category": ["Violence", "Burglary"],
            "harm_days": [365.0, -1.5],
        }
    )
    frames = {"persons": persons, "events": events, "offences": offences}
    (tmp_path / "parquet").mkdir()
    for name, frame in frames.items():
        frame.to_parquet(tmp_path / "parquet" / f"{name}.parquet", index=False)
    url = fresh_database(postgres_url, "sqlrecords_native")
    write_tables(url, frames)
    with sa.create_engine(url).begin() as conn:  # harm as NUMERIC: the driver gives Decimals
        conn.execute(sa.text("ALTER TABLE offence_ref ALTER COLUMN cchi_days TYPE numeric(8, 2)"))
    want_records, want = load_records(tmp_path / "parquet", LENIENT, DEFAULT_OFFENCES)
    columns = {n: {k: v for k, v in COLUMNS[n].items() if k in frame} for n, frame in frames.items()}
    source = SourceSettings(tables={n: TABLES[n] for n in frames}, columns=columns)
    records, got = load_records(url, LENIENT, DEFAULT_OFFENCES, source)
    assert_same_records(records, want_records)
    assert_same_report(got, want)
    assert got.table("persons").reasons == {"birth_date: after today": 1}
    assert "occurred_date: after today" in got.table("events").reasons
    assert got.quarantine["offences"]["reason"].tolist() == ["harm_days: -1.5 is negative"]


def test_per_home_office_code_catalogue_in_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    frames = text_tables(tmp_path / "csv")
    events = frames["events"].head(3).assign(offence_code=["008/01", "", "046/00"])
    write_tables(url, {"persons": frames["persons"].head(3), "events": events}, text=True)
    cchi = pd.DataFrame(
        {"HO code": ["008/01", "046/00"], "Offence title": ["Assault", "Theft"], "CCHI Score": [365, 1]}
    )
    cchi.to_sql("cchi", sa.create_engine(url), index=False)
    columns = {n: c for n, c in COLUMNS.items() if n != "offences"}  # the layout is recognised, not mapped
    source = SourceSettings(tables={**TABLES, "offences": "cchi", "protected": "nowhere"}, columns=columns)
    with pytest.raises(RecordsError, match=r"cannot be read from 'nowhere' \(source\.tables\.protected\)"):
        load_records(url, SETTINGS, DEFAULT_OFFENCES, source)
    tables = {"persons": TABLES["persons"], "events": TABLES["events"], "offences": "cchi"}
    source = SourceSettings(tables=tables, columns=columns)
    records, report = load_records(url, SETTINGS, DEFAULT_OFFENCES, source)
    assert records.offences["offence_code"].tolist() == ["008/01", "046/00"]
    assert report.rows_quarantined == 0 and records.protected is None
    assert report.warnings[0].startswith(f"table cchi in {url}: no category or subgroup column")


# ------------------------------------------------------------------ clear errors


def test_missing_mapped_column_names_the_table_column_and_config_key(sqlite_world: str) -> None:
    source = mapping(None)
    columns = {**source.columns, "events": {**source.columns["events"], "occurred_date": "occ_dt"}}
    with pytest.raises(RecordsError) as info:
        load_records(sqlite_world, SETTINGS, DEFAULT_OFFENCES, source.model_copy(update={"columns": columns}))
    message = str(info.value)
    assert message.startswith(f"table Occurrence in {sqlite_world}: source.columns.events.occurred_date maps")
    assert "to 'occ_dt', which the table does not have" in message
    assert "Columns found: occ_id, nominal_ref, Occ Type, ho_class, committed_on" in message


def test_unmapped_required_column_names_the_config_key(sqlite_world: str) -> None:
    source = mapping(None)
    columns = {**source.columns, "persons": {"birth_date": "DOB"}}  # person_id is nominal_ref
    with pytest.raises(RecordsError) as info:
        load_records(sqlite_world, SETTINGS, DEFAULT_OFFENCES, source.model_copy(update={"columns": columns}))
    message = str(info.value)
    assert (
        "table nominal in" in message
        and "the persons table has no column person_id (str, required)" in message
    )
    assert "source.columns.persons.person_id: <column>" in message


def test_missing_table_names_the_config_key_and_lists_the_tables(sqlite_world: str) -> None:
    source = mapping(None)
    tables = {**source.tables, "events": "occurrences"}
    with pytest.raises(RecordsError) as info:
        load_records(sqlite_world, SETTINGS, DEFAULT_OFFENCES, source.model_copy(update={"tables": tables}))
    message = str(info.value)
    assert "the events table cannot be read from 'occurrences' (source.tables.events)" in message
    assert "Tables and views found: Occurrence, equality_data, nominal, offence_ref" in message
    assert "Correct source.tables.events in the config" in message
    with pytest.raises(RecordsError, match=r"source\.tables\.persons: <schema\.table>"):
        load_records(sqlite_world, SETTINGS, DEFAULT_OFFENCES, SourceSettings())  # no table called persons


def test_a_password_is_never_shown(tmp_path: Path) -> None:
    url = "postgresql+psycopg://analyst:s3cret@127.0.0.1:1/records"
    with pytest.raises(RecordsError) as info:
        read_records(url, DEFAULT_OFFENCES)
    assert "s3cret" not in str(info.value)
    assert str(info.value).startswith(
        "postgresql+psycopg://analyst:***@127.0.0.1:1/records: could not connect"
    )
    assert shown(url) == "postgresql+psycopg://analyst:***@127.0.0.1:1/records"
    with pytest.raises(RecordsError, match=r"the SQLite file .*nowhere\.db does not exist"):
        read_records(f"sqlite:///{tmp_path / 'nowhere.db'}", DEFAULT_OFFENCES)
    assert not (tmp_path / "nowhere.db").exists()


def test_values_of_mixed_types_in_one_sqlite_column_are_read_as_text(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # SQLite keeps any value in any column
        conn.execute(sa.text("CREATE TABLE persons (person_id, birth_date)"))
        conn.execute(sa.text("INSERT INTO persons VALUES (7, NULL), ('P2', '1990-01-01'), (8.0, 19900101)"))
        conn.execute(
            sa.text(
                "CREATE TABLE events (event_id, person_id, event_type, offence_code, occurred_date, "
                "recorded_date)"
            )
        )
        conn.execute(sa.text("INSERT INTO events VALUES (1, 7, 'arrest', NULL, '2020-01-01', '2020-01-01')"))
    for chunk_rows in (1, 1000):  # the same text whichever chunk a value arrives in
        raw, _, _ = read_records(url, DEFAULT_OFFENCES, SourceSettings(chunk_rows=chunk_rows))
        assert raw["persons"]["person_id"].tolist() == ["7", "8.0", "P2"]
        assert raw["persons"]["birth_date"].tolist()[1:] == ["19900101", "1990-01-01"]


def test_config_rejects_unknown_tables_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"source": {"tables": {"event": "occurrence"}}}))
    with pytest.raises(ConfigError, match=r"'source.tables' .*unknown table 'event'; harmrank's tables are"):
        load_config(path)
    path.write_text(yaml.safe_dump({"source": {"columns": {"events": {"occurred": "occ_dt"}}}}))
    with pytest.raises(ConfigError, match=r"unknown column events.'occurred'"):
        load_config(path)
    path.write_text(yaml.safe_dump({"source": {"columns": {"protected": {"ethnicity": "eth"}}}}))
    assert load_config(path).source.columns == {"protected": {"ethnicity": "eth"}}


# ------------------------------------------------------------------ harmrank validate <URL>


def config_file(tmp_path: Path, schema: str | None) -> Path:
    source = mapping(schema)
    data = {"offences": str(DEFAULT_OFFENCES), "validation": {"today": "2026-11-01"}}
    data["source"] = {"tables": source.tables, "columns": source.columns}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_validate_command_reads_a_database(
    sqlite_world: str, tmp_path: Path, from_files: tuple[Records, ValidationReport]
) -> None:
    config = config_file(tmp_path, None)
    result = runner.invoke(
        app, ["validate", sqlite_world, "--config", str(config), "--quarantine", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    for table in ("nominal", "offence_ref", "equality_data"):
        assert table in result.output
    events = from_files[1].table("events")
    row = re.search(r"│ events +│ Occurrence +│ +([\d,]+) │ +([\d,]+) │ +([\d,]+) ", result.output)
    assert row is not None, result.output
    assert row.groups() == (f"{events.rows_read:,}", f"{events.rows_valid:,}", f"{events.rows_quarantined:,}")
    for reason in events.reasons:
        assert reason in result.output
    quarantined = pd.read_csv(tmp_path / "quarantine" / "events.csv", dtype=str)
    assert len(quarantined) == events.rows_quarantined


def test_validate_command_hides_the_password(postgres_world: str, tmp_path: Path) -> None:
    url = postgres_world.replace("harmrank@", "harmrank:s3cret@")  # trust authentication ignores it
    result = runner.invoke(app, ["validate", url, "--config", str(config_file(tmp_path, "crime"))])
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output and "Occurrence" in result.output


def test_splits_command_reads_a_database_as_the_files(sqlite_world: str, world: Path, tmp_path: Path) -> None:
    path = config_file(tmp_path, None)
    data = yaml.safe_load(path.read_text())
    data["features"] = {"cohort_lookback_days": 365}  # months enough for splits in 4 years of records
    path.write_text(yaml.safe_dump(data))
    for_db = ["splits", "--as-of", "2026-11-01", "--data", sqlite_world, "--config", str(path)]
    from_db = runner.invoke(app, for_db)
    assert from_db.exit_code == 0, from_db.output
    from_files = runner.invoke(app, [*for_db[:4], str(world), *for_db[5:]])
    assert from_db.output == from_files.output and "Backtest: 11 test months" in from_db.output
