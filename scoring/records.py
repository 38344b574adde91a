"""Reading a records directory or database and writing its quarantine: the I/O edge of the data contract.

A records directory holds one file per table, ``<table>.csv``, ``<table>.csv.gz`` or
``<table>.parquet``: persons and events are required, offences (else the default catalogue)
and protected are optional. Nothing else in the directory is read; in particular a
``truth/`` folder of a synthetic world is never opened. Records may instead be read from a
force's database, given by its SQLAlchemy URL (:mod:`scoring.sqlrecords`); the same checks follow.
The checks themselves are pure and live in :mod:`features.records.validate`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Group
from rich.table import Table

from features.errors import RecordsError
from features.records.death_tables import DEATH_TABLES, DeathRecords
from features.records.death_validate import validate_deaths
from features.records.offences import normalise_catalogue
from features.records.schema import TABLES, FileRows, Records, ValidationReport, ValidationSettings
from features.records.schema import Table as ContractTable
from features.records.validate import validate
from scoring.csvfile import read_csv_accounted, read_header
from scoring.db import is_url
from scoring.io import private_dir, write_csv
from scoring.sqlrecords import read_database, shown_url, table_in
from scoring.terminal import plain, safe

if TYPE_CHECKING:
    from scoring.config import SourceSettings

Location = Path | str
"""Where records are: a records directory, or a database's SQLAlchemy URL (a str holding ``://``)."""

SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".parquet")
"""File endings a table may have (matched case-insensitively)."""

_REQUIRED = tuple(name for name, t in TABLES.items() if t.required)
_READ_ERRORS = (pa.ArrowException, OSError, ValueError, EOFError)
_SEPARATORS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def _layout() -> str:
    tables = ", ".join(f"{n}.csv" if t.required else f"{n}.csv (optional)" for n, t in TABLES.items())
    return f"{tables}; each may also be .csv.gz or .parquet"


def _table_files(
    data_dir: Path, tables: Mapping[str, ContractTable] = TABLES
) -> tuple[dict[str, list[Path]], list[str]]:
    """Files per table in ``data_dir`` (top level only), and every entry's name."""
    entries = sorted(data_dir.iterdir())
    files: dict[str, list[Path]] = {name: [] for name in tables}
    for path in entries:
        if path.is_file():
            for name in tables:
                if path.name.lower() in {name + s for s in SUFFIXES}:
                    files[name].append(path)
    return files, [p.name + ("/" if p.is_dir() else "") for p in entries]


def _read_csv(path: Path) -> tuple[pd.DataFrame, FileRows]:
    """Every column as text, empty cells as ``""``; blank lines are skipped; every line of the
    file is accounted for (:mod:`scoring.csvfile`)."""
    try:
        header = read_header(path)
    except UnicodeDecodeError as error:
        raise RecordsError(
            f"{path}: the header is not UTF-8 text ({error.reason}). Save the file as UTF-8 "
            "(in Excel: CSV UTF-8)."
        ) from None
    except _READ_ERRORS as error:
        raise RecordsError(f"{path} could not be read: {error}.") from None
    if not header:
        raise RecordsError(f"{path} is empty; expected a header row and data rows.")
    if len(header) == 1:
        seps = [s for s in _SEPARATORS if s in header[0]]
        if seps:
            raise RecordsError(
                f"{path} has only one column ({header[0]!r}); expected comma-separated values. "
                f"It looks {_SEPARATORS[seps[0]]}-separated: save it with commas as separators."
            )
    try:
        table = read_csv_accounted(path, header)
    except _READ_ERRORS as error:
        raise RecordsError(f"{path} could not be read as CSV: {error}.") from None
    return table.frame, FileRows(table.lines, table.unreadable)


def _read(path: Path) -> tuple[pd.DataFrame, FileRows]:
    if path.name.lower().endswith(".parquet"):
        try:
            # Dates arrive as datetime64 rather than Python objects: fast for 30M rows.
            return pq.read_table(path).to_pandas(date_as_object=False), FileRows()
        except _READ_ERRORS as error:
            raise RecordsError(
                f"{path} is not a readable Parquet file ({error}). Export it again, or supply "
                "the table as CSV."
            ) from None
    return _read_csv(path)


def records_at(text: str) -> Location:
    """Where ``--data`` points: a database URL (text holding ``://``) stays text, else a directory."""
    return text if is_url(text) else Path(text)


def shown(data: Location) -> str:
    """Where records are, for messages and the manifest: a database URL without its password."""
    return shown_url(data) if isinstance(data, str) and is_url(data) else str(data)


def _default_catalogue(lacks: str, add: str, default_offences: Path) -> Path:
    """The config's offence catalogue, for records that ``lacks`` one (``add`` says how to give one)."""
    if not default_offences.is_file():
        raise RecordsError(
            f"{lacks} and the default offence catalogue {default_offences} does not exist. {add}, "
            "or set offences in the config to the catalogue's path."
        )
    return default_offences


def read_records(
    data: Location, default_offences: Path, source: SourceSettings | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, str], dict[str, FileRows]]:
    """Read each table from a records directory or a database, as raw frames.

    Parameters
    ----------
    data : Path or str
        The records directory, or a database's SQLAlchemy URL (a str holding ``://``).
    default_offences : Path
        Offence catalogue used when the records have no offences table.
    source : SourceSettings, optional
        Where a database keeps the tables and columns (default: under harmrank's names).

    Returns
    -------
    dict of str to pandas.DataFrame
        Raw frames: persons, events, offences, and protected if present. CSV columns are
        all text with empty cells as ``""``; Parquet and database columns keep their types.
    dict of str to str
        Where each table was read from: its path, or its table in the database.
    dict of str to FileRows
        Where each row starts in its file, and the rows that could not be read as they stand.

    Raises
    ------
    RecordsError
        The directory, database or a required table is missing, a table is in two files, or a
        file, table or column cannot be read.
    """
    if is_url(data):
        return _read_database(str(data), default_offences, source)
    data_dir = Path(data)
    if not data_dir.exists():
        raise RecordsError(
            f"Records directory {data_dir} does not exist. Point --data (or data_dir in the "
            f"config) at a folder holding {_layout()}, or make a synthetic one with "
            "`harmrank synth`."
        )
    if not data_dir.is_dir():
        raise RecordsError(f"{data_dir} is a file; expected a records directory holding {_layout()}.")
    files, entries = _table_files(data_dir)
    paths: dict[str, Path] = {}
    for name, found in files.items():
        if len(found) > 1:
            raise RecordsError(
                f"{data_dir}: the {name} table is in more than one file "
                f"({', '.join(p.name for p in found)}). Keep exactly one."
            )
        if found:
            paths[name] = found[0]
        elif name in _REQUIRED:
            raise RecordsError(
                f"{data_dir}: no {name} file. Expected {name}.csv, {name}.csv.gz or "
                f"{name}.parquet. Found: {', '.join(entries) or 'nothing'}. A records directory "
                f"holds {_layout()}."
            )
    if "offences" not in paths:
        lacks = f"{data_dir} has no offences file"
        paths["offences"] = _default_catalogue(lacks, "Add offences.csv to the records", default_offences)
    order = [name for name in TABLES if name in paths]
    read = {name: _read(paths[name]) for name in order}
    return (
        {name: frame for name, (frame, _) in read.items()},
        {name: str(paths[name]) for name in order},
        {name: rows for name, (_, rows) in read.items()},
    )


def _read_database(
    url: str, default_offences: Path, source: SourceSettings | None
) -> tuple[dict[str, pd.DataFrame], dict[str, str], dict[str, FileRows]]:
    if source is None:
        from scoring.config import SourceSettings

        source = SourceSettings()
    raw, sources = read_database(url, source)
    if "offences" not in raw:  # as for a directory: the catalogue the config names
        lacks = f"{shown_url(url)} has no offences table"
        add = "Map the force's offence catalogue with source.tables.offences"
        path = _default_catalogue(lacks, add, default_offences)
        raw["offences"], _ = _read(path)
        sources["offences"] = str(path)
    order = [name for name in TABLES if name in raw]
    return {n: raw[n] for n in order}, {n: sources[n] for n in order}, {n: FileRows() for n in order}


def load_records(
    data: Location,
    settings: ValidationSettings,
    default_offences: Path,
    source: SourceSettings | None = None,
) -> tuple[Records, ValidationReport]:
    """Read, normalise the offence catalogue, and validate a records directory or database.

    Parameters
    ----------
    data : Path or str
        The records directory, or a database's SQLAlchemy URL (a str holding ``://``).
    settings : ValidationSettings
        Validation strictness.
    default_offences : Path
        Offence catalogue used when the records have no offences table.
    source : SourceSettings, optional
        Where a database keeps the tables and columns (the config's ``source``).

    Returns
    -------
    Records
        The valid rows in contract types.
    ValidationReport
        What was read, kept and quarantined, with warnings (catalogue warnings first).

    Raises
    ------
    RecordsError
        See :func:`read_records` and :func:`features.records.validate.validate`;
        :class:`~features.errors.TooManyBadRows` when a table has too many bad rows.
    """
    raw, sources, files = read_records(data, default_offences, source)
    notes: list[str] = []
    catalogue = normalise_catalogue(raw["offences"], sources["offences"], notes)
    if len(catalogue) != len(raw["offences"]):  # built from the CCHI reference table: rows are new
        files["offences"] = FileRows()
    raw["offences"] = catalogue
    records, report = validate(raw, settings, sources, files)
    if notes:
        report = dataclasses.replace(report, warnings=(*notes, *report.warnings))
    return records, report


def has_death_records(data: Location) -> bool:
    """Whether a records directory holds a deaths table (a file :func:`load_death_records` reads)."""
    return isinstance(data, Path) and data.is_dir() and bool(_table_files(data, DEATH_TABLES)[0]["deaths"])


def load_death_records(
    data: Location, settings: ValidationSettings, source: SourceSettings | None = None
) -> tuple[DeathRecords, ValidationReport]:
    """Read and validate the death-report tables of a records directory or a database.

    Parameters
    ----------
    data : Path or str
        The records directory (``deaths`` and, optionally, ``death_protected``,
        ``expected_deaths`` and ``death_links``, each ``.csv``, ``.csv.gz`` or ``.parquet``), or a
        database's SQLAlchemy URL (the tables mapped by ``source``, as for the list's tables).
    settings : ValidationSettings
        Validation strictness.
    source : SourceSettings, optional
        Where a database keeps the tables and columns (default: under harmrank's names).

    Raises
    ------
    RecordsError
        The directory, the database or its deaths table is missing, a table is in two files, or a
        table breaks the contract's structure; :class:`~features.errors.TooManyBadRows` when a
        table has too many bad rows.
    """
    if is_url(data):
        if source is None:
            from scoring.config import SourceSettings

            source = SourceSettings()
        raw, sources = read_database(str(data), source, DEATH_TABLES, required=("deaths",))
        return validate_deaths(raw, settings, sources)
    data_dir = Path(data)
    if not data_dir.is_dir():
        raise RecordsError(f"Records directory {data_dir} does not exist or is not a directory.")
    files, entries = _table_files(data_dir, DEATH_TABLES)
    for name, found in files.items():
        if len(found) > 1:
            raise RecordsError(
                f"{data_dir}: the {name} table is in more than one file "
                f"({', '.join(p.name for p in found)}). Keep exactly one."
            )
    if not files["deaths"]:
        raise RecordsError(
            f"{data_dir}: no deaths file. Expected deaths.csv, deaths.csv.gz or deaths.parquet "
            f"(docs/data-contract.md, the deaths table). Found: {', '.join(entries) or 'nothing'}."
        )
    read = {name: _read(found[0]) for name, found in files.items() if found}
    raw = {name: frame for name, (frame, _) in read.items()}
    sources = {name: str(found[0]) for name, found in files.items() if found}
    return validate_deaths(raw, settings, sources, {name: rows for name, (_, rows) in read.items()})


def write_quarantine(report: ValidationReport, run_dir: Path) -> dict[str, Path]:
    """Write ``run_dir/quarantine/<table>.csv`` for each table with quarantined rows.

    Columns: source_row (1-based data row in the file), source_line (the line of the file on
    which the row starts; empty for Parquet), the row's original values, reason.
    UTF-8, ``\\n`` line ends, so equal reports give equal bytes; a text cell that a spreadsheet
    would run as a formula is made inert (:func:`scoring.io.spreadsheet_safe`). A stale file of a table
    that the report read and that now has no quarantined rows is removed; the files of tables it did
    not read (the other job's) are left alone.

    Returns
    -------
    dict of str to Path
        The file written per table.
    """
    folder = Path(run_dir) / "quarantine"
    written: dict[str, Path] = {}
    read = {t.table for t in report.tables}  # another job's tables are not this report's to tidy
    for name in (n for n in (*TABLES, *DEATH_TABLES) if n in read):
        path = folder / f"{name}.csv"
        frame = report.quarantine.get(name)
        if frame is None or frame.empty:
            path.unlink(missing_ok=True)
            continue
        if not Path(run_dir).exists():
            private_dir(run_dir)
        private_dir(folder)
        write_csv(frame, path)
        written[name] = path
    return written


def validation_table(report: ValidationReport, reasons_shown: int = 8) -> Group:
    """Rich tables of what was read, kept and quarantined per table, and why rows were quarantined.

    Parameters
    ----------
    report : ValidationReport
        Result of validation.
    reasons_shown : int
        Most reasons listed per table; the rest are summarised as "... more".
    """
    counts = Table(title="Records", title_justify="left")
    for column, justify in (
        ("table", "left"),
        ("file", "left"),
        ("read", "right"),
        ("valid", "right"),
        ("quarantined", "right"),
    ):
        counts.add_column(column, justify=justify)  # type: ignore[arg-type]
    reasons = Table(title="Quarantined rows by reason", title_justify="left")
    reasons.add_column("table")
    reasons.add_column("rows", justify="right")
    reasons.add_column("reason", overflow="fold")
    for t in report.tables:
        counts.add_row(
            t.table,
            plain(table_in(t.source) or Path(t.source).name),
            f"{t.rows_read:,}",
            f"{t.rows_valid:,}",
            f"{t.rows_quarantined:,}" + (f" ({t.bad_share:.2%})" if t.rows_quarantined else ""),
        )
        for reason, n in list(t.reasons.items())[:reasons_shown]:
            reasons.add_row(t.table, f"{n:,}", plain(reason))
        if len(t.reasons) > reasons_shown:
            reasons.add_row(t.table, "", f"... {len(t.reasons) - reasons_shown} more reasons")
    if report.warnings:
        counts.caption = "\n".join(f"warning: {safe(w)}" for w in report.warnings)
        counts.caption_justify = "left"
    return Group(counts, reasons) if reasons.row_count else Group(counts)
