"""Reading the record tables from a force's database: the same raw frames as a records directory.

``--data`` may be a SQLAlchemy URL instead of a directory. Each table of the contract
(:data:`features.records.schema.TABLES`) is read with one SELECT of its columns, each aliased to
harmrank's name; ``source.tables`` and ``source.columns`` in the config (:class:`SourceSettings`)
say where the force keeps them, and a table or column not mapped is looked for under its own name
(columns case-insensitively, spaces and hyphens counting as underscores, as in file headers).
Rows come ordered by the table's id, so two reads of the same database give the same frames;
they stream in chunks of ``source.chunk_rows`` into Arrow, so 20M events never sit in memory as
Python objects. Values keep the types the database gives them (text as text, dates as dates,
numbers as numbers), like a Parquet file's, and the same validation follows:
:func:`scoring.records.load_records` treats a row from a database as a row from a file.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from features.errors import RecordsError
from features.records.schema import TABLES, Table
from scoring.db import display_url

if TYPE_CHECKING:  # scoring.config loads every stage's settings: only the CLI and the job need it
    from scoring.config import SourceSettings

log = logging.getLogger(__name__)

DRIVERS: dict[str, str] = {
    "postgresql": "pip install 'psycopg[binary]' (URL postgresql+psycopg://user:password@host/db)",
    "mssql": "pip install pyodbc, and install Microsoft ODBC Driver 18 for SQL Server (URL "
    "mssql+pyodbc://user:password@host/db?driver=ODBC+Driver+18+for+SQL+Server)",
    "oracle": "pip install oracledb (URL oracle+oracledb://user:password@host:1521/?service_name=NAME)",
    "databricks": "pip install databricks-sqlalchemy (URL databricks://token:TOKEN@HOST?http_path=PATH"
    "&catalog=CATALOG&schema=SCHEMA)",
}
"""How to install the driver of each database harmrank has been used with."""


def key_of(table: Table) -> str:
    """The column a table's rows are read in order of: its id, else its first column."""
    return next((c.name for c in table.columns if c.unique), table.columns[0].name)


KEYS: dict[str, str] = {name: key_of(t) for name, t in TABLES.items()}
"""Each list table's id column, by which its rows are read in order."""

_SHOWN_TABLES = 30  # most tables listed when a mapped table is not found


@dataclass(frozen=True)
class _Plan:
    """How one table is read: the SELECT, the names of its columns in the frame, where it is."""

    name: str
    source: str
    select: sa.Select[*tuple[Any, ...]]
    names: list[str]


def canonical(name: str) -> str:
    """A column name as matched: lower case, spaces and hyphens as underscores."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def source_of(ref: str, shown: str) -> str:
    """How messages and the report name a table read from a database."""
    return f"table {ref} in {shown}"


def table_in(source: str) -> str | None:
    """The table of a :func:`source_of` text; ``None`` for a file path."""
    match = re.fullmatch(r"table (.+?) in [A-Za-z][\w+.-]*://.*", source, flags=re.DOTALL)
    return match.group(1) if match else None


def read_database(
    url: str,
    source: SourceSettings,
    tables: Mapping[str, Table] = TABLES,
    required: Sequence[str] | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Read the contract's tables from a database, as raw frames.

    Parameters
    ----------
    url : str
        SQLAlchemy URL of the force's database (its password is never shown).
    source : SourceSettings
        Where the tables and columns are, and how many rows to fetch at a time.
    tables : mapping of str to Table
        The tables to read (default: the list job's; the deaths job passes the death tables).
    required : sequence of str, optional
        Tables that must be there (default: those the contract marks required).

    Returns
    -------
    dict of str to pandas.DataFrame
        persons and events, and offences and protected when the database has them: one column
        per contract column the table has (protected: every column), named as harmrank names it,
        with the database's values and types; rows in order of the table's id.
    dict of str to str
        Where each table was read from (:func:`source_of`), for messages.

    Raises
    ------
    RecordsError
        The URL is not valid, its driver is missing, the database cannot be reached, or a table
        or column (mapped or required) is not there: the message names it and its config key.
    """
    shown = shown_url(url)
    engine = _engine(url, shown)
    try:
        with _database_errors(f"{shown}: could not connect", url), engine.connect():
            pass
        raw: dict[str, pd.DataFrame] = {}
        sources: dict[str, str] = {}
        needed = set(required) if required is not None else {n for n, t in tables.items() if t.required}
        for name, table in tables.items():
            plan = _plan(engine, name, table, name in needed, source, shown, url)
            if plan is None:
                continue
            with _database_errors(f"{plan.source}: reading the {name} table failed", url):
                raw[name] = _fetch(engine, plan, source.chunk_rows)
            sources[name] = plan.source
            log.info("read %d %s rows from %s", len(raw[name]), name, plan.source)
    finally:
        engine.dispose()
    return raw, sources


# ---------------------------------------------------------------- connecting


def shown_url(url: str) -> str:
    """``url`` for messages: without its password (only the scheme if it is not a valid URL)."""
    try:
        return display_url(url)
    except sa.exc.ArgumentError:
        return url.split("://", 1)[0] + "://..."


def _engine(url: str, shown: str) -> Engine:
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise RecordsError(
            f"{shown} is not a database URL. Use dialect+driver://user:password@host/database, e.g. "
            "postgresql+psycopg://analyst@db.force.local/records, or pass a records directory."
        ) from None
    backend = parsed.get_backend_name()
    file = parsed.database if backend == "sqlite" else None
    if file and file != ":memory:" and not file.startswith("file:") and not Path(file).is_file():
        raise RecordsError(f"{shown}: the SQLite file {parsed.database} does not exist.")
    try:
        return sa.create_engine(url)
    except (sa.exc.NoSuchModuleError, ImportError) as error:
        hint = DRIVERS.get(backend, "install the SQLAlchemy dialect and driver the URL names")
        raise RecordsError(f"{shown}: the database driver is not installed ({error}). {hint}.") from None


def _reason(error: BaseException, url: str) -> str:
    """The driver's own words, first line only, never holding the password."""
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    password = make_url(url).password
    return line.replace(str(password), "***") if password else line


@contextmanager
def _database_errors(what: str, url: str) -> Iterator[None]:
    try:
        yield
    except sa.exc.DBAPIError as error:
        raise RecordsError(f"{what}: {_reason(error, url)}.") from None


# ---------------------------------------------------------------- finding tables and columns


def _from(engine: Engine, ref: str) -> sa.TableClause:
    """``ref`` (``table``, ``schema.table``, ``catalog.schema.table``) quoted for the database."""
    quote = engine.dialect.identifier_preparer.quote
    return sa.table(sa.quoted_name(".".join(quote(p.strip()) for p in ref.split(".")), quote=False))


def _columns_found(engine: Engine, ref: str) -> list[str]:
    """The columns of table or view ``ref`` (a query that returns no rows)."""
    probe: sa.Select[*tuple[Any, ...]] = (
        sa.select(sa.literal_column("*")).select_from(_from(engine, ref)).where(sa.text("1 = 0"))
    )
    with engine.connect() as conn:
        result = conn.execute(probe)
        keys = list(result.keys())
        result.close()
    return keys


def _present(engine: Engine, ref: str) -> bool:
    """Whether a table or view ``ref`` exists (asked without an error in the database's log)."""
    try:
        return bool(sa.inspect(engine).has_table(ref))
    except (NotImplementedError, sa.exc.DBAPIError):
        try:
            _columns_found(engine, ref)
        except sa.exc.DBAPIError:
            return False
        return True


def _tables_listed(engine: Engine, ref: str) -> str:
    schema = ref.rpartition(".")[0] or None
    try:
        inspector = sa.inspect(engine)
        names = sorted({*inspector.get_table_names(schema), *inspector.get_view_names(schema)})
    except (NotImplementedError, sa.exc.SQLAlchemyError):
        return ""
    more = f", ... ({len(names) - _SHOWN_TABLES} more)" if len(names) > _SHOWN_TABLES else ""
    where = f" in schema {schema}" if schema else ""
    return f"\n  Tables and views found{where}: {', '.join(names[:_SHOWN_TABLES]) or 'none'}{more}"


def _match(want: str, found: Sequence[str]) -> str | None:
    """The column of ``found`` called ``want``: exactly, else the one that matches canonically."""
    if want in found:
        return want
    alike = [c for c in found if canonical(c) == canonical(want)]
    return alike[0] if len(alike) == 1 else None


def _missing_column(
    src: str, table: Table, column: str, mapped: str | None, found: Sequence[str]
) -> RecordsError:
    key = f"source.columns.{table.name}.{column}"
    described = table.column(column).describe() if column in {c.name for c in table.columns} else column
    if mapped is not None:
        head = f"{src}: {key} maps {column} to {mapped!r}, which the table does not have."
        fix = f"Correct {key} in the config"
    else:
        head = f"{src}: the {table.name} table has no column {described}."
        fix = f"Map it to the force's column in the config: {key}: <column>"
    listed = ", ".join(found) or "none"
    return RecordsError(f"{head}\n  Columns found: {listed}\n  Expected columns: {table.expected()}\n{fix}.")


def _selected(src: str, table: Table, mapping: dict[str, str], found: Sequence[str]) -> list[tuple[str, str]]:
    """(force column, harmrank name) of each column read; protected also keeps its other columns."""
    declared = {c.name for c in table.columns}
    chosen: list[tuple[str, str]] = []
    for column in [*[c.name for c in table.columns], *[c for c in mapping if c not in declared]]:
        mapped = mapping.get(column)
        actual = _match(mapped or column, found)
        if actual is not None:
            chosen.append((actual, column))
        elif mapped is not None or (column in declared and table.column(column).must_be_present):
            raise _missing_column(src, table, column, mapped, found)
    if table.extra_columns:  # in the table's own order, as a file's columns are
        used = {actual for actual, _ in chosen}
        names = {canonical(name) for _, name in chosen}
        chosen += [(c, c) for c in found if c not in used and canonical(c) not in names]
        chosen.sort(key=lambda pair: list(found).index(pair[0]))
    return chosen


def _other_catalogue(name: str, mapping: dict[str, str], found: Sequence[str]) -> bool:
    """Whether an offences table is not in harmrank's layout (a per-Home-Office-code CCHI table or
    the CCHI reference table): read whole, :func:`normalise_catalogue` recognises it or says why not."""
    ours = all(_match(c, found) for c in ("offence_code", "harm_days"))
    return name == "offences" and not mapping and not ours


def _plan(
    engine: Engine, name: str, table: Table, required: bool, settings: SourceSettings, shown: str, url: str
) -> _Plan | None:
    """How to read table ``name``; ``None`` for an optional table that is neither mapped nor there."""
    mapped = name in settings.tables
    ref = settings.tables.get(name, name)
    src = source_of(ref, shown)
    if not mapped and not required and not _present(engine, ref):
        return None
    try:
        found = _columns_found(engine, ref)
    except sa.exc.DBAPIError as error:
        fix = (
            f"Correct source.tables.{name} in the config"
            if mapped
            else f"Map the force's table or view in the config: source.tables.{name}: <schema.table>"
        )
        raise RecordsError(
            f"{shown}: the {name} table cannot be read from {ref!r} "
            f"(source.tables.{name}): {_reason(error, url)}{_tables_listed(engine, ref)}\n{fix}."
        ) from None
    frm = _from(engine, ref)
    mapping = settings.columns.get(name, {})
    if _other_catalogue(name, mapping, found):
        whole: sa.Select[*tuple[Any, ...]] = sa.select(*[sa.column(c) for c in found])
        return _Plan(name, src, whole.select_from(frm).order_by(sa.column(found[0])), list(found))
    chosen = _selected(src, table, mapping, found)
    key = next(actual for actual, column in chosen if column == key_of(table))
    select: sa.Select[*tuple[Any, ...]] = sa.select(*[sa.column(a).label(c) for a, c in chosen])
    return _Plan(name, src, select.select_from(frm).order_by(sa.column(key)), [c for _, c in chosen])


# ---------------------------------------------------------------- fetching


def _array(values: Sequence[Any]) -> pa.Array:
    """One chunk of a column as Arrow, in the type its values have.

    Decimals become whole numbers (scale 0) or float64; a column of mixed or unknown Python
    types (SQLite keeps any value in any column; UUIDs) becomes text.
    """
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.large_string())
    kind = array.type
    if pa.types.is_decimal(kind):
        if kind.scale == 0 and kind.precision <= 18:
            return array.cast(pa.int64())
        return array.cast(pa.float64(), safe=False) if kind.scale > 0 else array.cast(pa.large_string())
    if pa.types.is_string(kind):
        return array.cast(pa.large_string())
    return array


def _unify(chunks: list[pa.Array]) -> pa.ChunkedArray:
    """A column's chunks in one type: their own, numbers widened, dates as timestamps, else text."""
    kinds = {a.type for a in chunks} - {pa.null()}
    if not kinds:
        target = pa.large_string()
    elif len(kinds) == 1:
        target = kinds.pop()
    elif all(pa.types.is_integer(k) or pa.types.is_floating(k) for k in kinds):
        target = pa.float64()
    elif all(pa.types.is_date(k) or (pa.types.is_timestamp(k) and k.tz is None) for k in kinds):
        target = pa.timestamp("us")
    else:  # as text, each value as Python writes it: the same whichever chunk it arrived in
        return pa.chunked_array([_text(a) for a in chunks], type=pa.large_string())
    return pa.chunked_array([a.cast(target) for a in chunks], type=target)


def _text(array: pa.Array) -> pa.Array:
    if pa.types.is_large_string(array.type):
        return array
    return pa.array([None if v is None else str(v) for v in array.to_pylist()], type=pa.large_string())


def _fetch(engine: Engine, plan: _Plan, chunk_rows: int) -> pd.DataFrame:
    """The table's rows, streamed ``chunk_rows`` at a time into Arrow, then as a pandas frame."""
    columns: list[list[pa.Array]] = [[] for _ in plan.names]
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(plan.select)
        for rows in result.partitions():
            for at, values in enumerate(zip(*rows, strict=True)):
                columns[at].append(_array(values))
    table = pa.Table.from_arrays([_unify(chunks) for chunks in columns], names=plan.names)
    del columns
    # As a Parquet file is read: dates as datetime64, Arrow's buffers freed as columns convert.
    return table.to_pandas(date_as_object=False, self_destruct=True, split_blocks=True)
