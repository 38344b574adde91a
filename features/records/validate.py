"""Check raw tables against the records contract and quarantine the rows that break it.

Vectorised throughout: columns are parsed once (low-cardinality columns through their
distinct values), ids are matched with Arrow hash kernels, and Python loops run only over
the rows that are quarantined, to write their reasons.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from features.errors import RecordsError, TooManyBadRows
from features.records.parsing import (
    NAT,
    Defects,
    as_text,
    coded,
    first_rows,
    lookup,
    parse_bools,
    parse_dates,
    parse_numbers,
)
from features.records.schema import (
    EVENT_TYPES,
    HARM_QUANTUM,
    NOT_RECORDED,
    OFFENCE_REQUIRED_FOR,
    TABLES,
    UNREADABLE,
    ColumnType,
    FileRows,
    Need,
    Records,
    Table,
    TableReport,
    ValidationReport,
    ValidationSettings,
)

_BOOLS = "true/false, 1/0, yes/no, y/n or empty"
SAMPLE_WHEN_OVER = 10_000
"""Quarantined rows kept (the first ones) for a table that breaks the ceiling."""


# ---------------------------------------------------------------- one table


def _canonical(name: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).replace("\ufeff", "").strip().lower())


def _columns(table: Table, raw: pd.DataFrame, source: str) -> tuple[pd.DataFrame, list[int]]:
    """The raw frame's kept columns under canonical names, and their positions in ``raw``."""
    names = [_canonical(c) for c in raw.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise RecordsError(
            f"{source}: column {repeated[0]!r} appears more than once in the header "
            "(headers match case-insensitively). Keep one column per name."
        )
    missing = [c for c in table.columns if c.must_be_present and c.name not in names]
    if missing:
        example = (
            ", ".join(f"{c}={raw.iloc[0, i]!r}" for i, c in enumerate(raw.columns))
            if len(raw)
            else "(the file has no data rows)"
        )
        which = ", ".join(repr(c.name) for c in missing)
        raise RecordsError(
            f"{source}: required column {which} is missing from the {table.name} table.\n"
            f"  Columns found: {', '.join(map(str, raw.columns))}\n"
            f"  First data row: {example}\n"
            f"  Expected columns: {table.expected()}\n"
            "Add the column (header names are matched case-insensitively)."
        )
    if len(raw) == 0:
        fix = "Supply the records." if table.required else "Supply rows or remove the file."
        raise RecordsError(f"{source}: the {table.name} table has no data rows. {fix}")
    declared = {c.name for c in table.columns}
    kept = [i for i, n in enumerate(names) if n in declared or table.extra_columns]
    frame = raw.iloc[:, kept].reset_index(drop=True)
    frame.columns = [names[i] for i in kept]
    return frame, kept


def _parse(table: Table, frame: pd.DataFrame, rows: Defects, settings: ValidationSettings) -> dict[str, Any]:
    """Parse every declared column and flag the checks that need only that column."""
    n, out = len(frame), {}
    today, earliest = np.datetime64(settings.resolved_today(), "D"), settings.earliest_date
    for col in table.columns:
        name = col.name
        s = frame[name] if name in frame else pd.Series(np.full(n, np.nan), dtype="str")
        if col.type is ColumnType.DATE:
            days, bad = parse_dates(s)
            rows.flag(
                f"{name}: not a valid date (expected YYYY-MM-DD)",
                bad,
                f"{name}: {{v!r}} is not a valid date (expected YYYY-MM-DD)",
                v=s,
            )
            missing = np.isnat(days) & ~bad
            rows.flag(f"{name}: after today", days > today, f"{name}: {{v}} is after today ({today})", v=days)
            rows.flag(
                f"{name}: before {earliest} (implausibly early)",
                days < np.datetime64(earliest, "D"),
                f"{name}: {{v}} is before {earliest} (implausibly early; validation.earliest_date)",
                v=days,
            )
            out[name] = days
        elif col.type is ColumnType.BOOL:
            truth, bad = parse_bools(s)
            rows.flag(
                f"{name}: not a boolean",
                bad,
                f"{name}: {{v!r}} is not a boolean (expected {_BOOLS})",
                v=s,
            )
            missing, out[name] = np.zeros(n, dtype=bool), truth
        elif col.type is ColumnType.NUMBER:
            v, missing, bad = parse_numbers(s)
            rows.flag(f"{name}: not a number", bad, f"{name}: {{v!r}} is not a number", v=s)
            if not col.signed:
                rows.flag(f"{name}: negative", v < 0, f"{name}: {{v}} is negative", v=v)
            out[name] = v
        else:
            text = as_text(s)
            missing = text.isna().to_numpy()
            out[name] = text
        if col.need is Need.REQUIRED:
            rows.flag(f"{name}: required value missing", missing)
    return out


def _flag_duplicates(rows: Defects, name: str, values: pd.Series, first: np.ndarray) -> None:
    rows.flag(
        f"duplicate {name}",
        (first >= 0) & (first != np.arange(len(first))),
        f"duplicate {name} {{v!r}}: row {{k}} has the same {name} and is the one kept",
        v=values,
        k=first + 1,
    )


def flag_references(
    rows: Defects,
    name: str,
    values: pd.Series,
    target: tuple[str, str],
    ok_keys: pd.Series,
    all_keys: pd.Series,
) -> np.ndarray:
    """Flag values not among ``ok_keys``; say when the target row was quarantined.

    ``target`` names the referenced table briefly (for the reason's key) and fully (for
    each row's reason). Returns each row's position in ``ok_keys`` (-1 where missing or
    not found).
    """
    brief, full = target
    at = lookup(values, ok_keys)
    lost = (at < 0) & values.notna().to_numpy()
    if lost.any():
        first = np.full(len(values), -1)
        first[lost] = lookup(values[lost], all_keys)
        quarantined = first >= 0
        rows.flag(
            f"{name}: not in {brief}", lost & ~quarantined, f"{name} {{v!r}} is not in {full}", v=values
        )
        rows.flag(
            f"{name}: its row in {brief} was quarantined",
            quarantined,
            f"{name} {{v!r}} is in {full} but its row {{k}} was quarantined",
            v=values,
            k=first + 1,
        )
    return at


def valid_frame(table: Table, parsed: dict[str, Any], keep: np.ndarray) -> pd.DataFrame:
    """The valid rows in contract types, in file order, with a fresh RangeIndex."""
    every = bool(keep.all())
    out: dict[str, pd.Series] = {}
    for col in table.columns:
        v = parsed[col.name]
        v = v.array if isinstance(v, pd.Series) else v  # masking an array skips index work
        v = v if every else v[keep]
        if col.type is ColumnType.DATE:
            out[col.name] = pd.Series(v.astype("datetime64[ns]"))
        elif col.type is ColumnType.STR:
            out[col.name] = pd.Series(v, dtype="str")
        else:
            out[col.name] = pd.Series(v)
    return pd.DataFrame(out, copy=False)


# ---------------------------------------------------------------- all tables


class Validation:
    """Validation state across tables: reports so far, quarantines, warnings."""

    def __init__(
        self,
        settings: ValidationSettings,
        sources: dict[str, str],
        pool: Executor,
        files: Mapping[str, FileRows] | None = None,
        tables: Mapping[str, Table] = TABLES,
    ) -> None:
        self.settings, self.sources, self.pool, self.tables = settings, sources, pool, tables
        self.files = dict(files or {})
        self._unique: list[tuple[str, pd.Series, Future[np.ndarray]]] = []
        self.reports: dict[str, TableReport] = {}
        self.quarantine: dict[str, pd.DataFrame] = {}
        self.warnings: list[str] = []

    def source(self, name: str) -> str:
        return self.sources.get(name, f"the {name} table")

    def start(self, name: str, raw: pd.DataFrame) -> tuple[pd.DataFrame, Defects, dict[str, Any]]:
        """Check the table's columns, parse them, and run the single-column checks."""
        table, source = self.tables[name], self.source(name)
        frame, kept = _columns(table, raw, source)
        ignored = [str(c) for i, c in enumerate(raw.columns) if i not in set(kept)]
        if ignored:
            self.warnings.append(
                f"{source}: ignored columns that are not in the {name} contract: " + ", ".join(ignored)
            )
        absent = [c.name for c in table.columns if c.name not in frame]
        for col, what in (
            ("birth_date", "every person's age is unknown"),
            ("source_ref", "officers cannot look up the records behind a listing"),
        ):
            if col in absent:
                self.warnings.append(f"{source}: no {col} column, so {what}.")
        self._kept = [raw.columns[i] for i in kept]
        rows = Defects(len(frame))
        _unreadable(rows, self.files.get(name, FileRows()), len(frame), source)
        parsed = _parse(table, frame, rows, self.settings)
        # Finding repeated ids is the costliest hash pass: run it beside the other checks.
        self._unique = [
            (c.name, parsed[c.name], self.pool.submit(first_rows, parsed[c.name]))
            for c in table.columns
            if c.unique
        ]
        return frame, rows, parsed

    def finish(self, name: str, raw: pd.DataFrame, rows: Defects) -> np.ndarray:
        """Report the table, keep its quarantine, enforce the ceiling; return the keep mask."""
        for column, values, first in self._unique:
            _flag_duplicates(rows, column, values, first.result())
        counts, examples = rows.summary()
        bad = int(rows.bad.sum())
        report = TableReport(name, self.source(name), rows.n, rows.n - bad, bad, counts, examples)
        self.reports[name] = report
        over = report.bad_share > self.settings.max_bad_share
        if bad:
            bad_pos, texts = rows.texts(limit=SAMPLE_WHEN_OVER if over else None)
            q = raw.loc[:, self._kept].iloc[bad_pos].reset_index(drop=True)
            q.insert(0, "source_row", bad_pos + 1)
            lines = self.files.get(name, FileRows()).lines
            at = (
                pd.array(lines[bad_pos], dtype="Int64")
                if lines is not None
                else pd.array([None] * len(bad_pos), dtype="Int64")
            )
            q.insert(1, "source_line", at)
            q["reason"] = pd.Series(texts, dtype="str")
            self.quarantine[name] = q
        if over:
            raise TooManyBadRows(_too_many(report, self.settings.max_bad_share), self.report())
        return ~rows.bad

    def report(self) -> ValidationReport:
        return ValidationReport(tuple(self.reports.values()), dict(self.quarantine), tuple(self.warnings))


def _unreadable(rows: Defects, file: FileRows, n: int, source: str) -> None:
    """Flag the rows that reading already found bad, each with its reason's text."""
    if file.lines is not None and len(file.lines) != n:
        raise RecordsError(f"{source}: {len(file.lines)} line numbers for {n} rows (a bug in the reader)")
    for reason, found in file.unreadable.items():
        pos = found.index.to_numpy(dtype=np.int64)
        mask = np.zeros(n, dtype=bool)
        mask[pos] = True
        values = {}
        for column in found.columns:
            full = np.full(n, None, dtype=object)
            full[pos] = found[column].to_numpy(dtype=object)
            values[column] = full
        rows.flag(reason, mask, UNREADABLE[reason], **values)


def _too_many(report: TableReport, ceiling: float) -> str:
    lines = [
        f"{report.source}: {report.rows_quarantined:,} of {report.rows_read:,} {report.table} "
        f"rows ({report.bad_share:.2%}) break the data contract, more than the ceiling of "
        f"{ceiling:.2%} (setting validation.max_bad_share).",
        "Most common reasons:",
    ]
    for key in list(report.reasons)[:5]:
        lines.append(f"  {report.reasons[key]:>9,}  {key}")
        lines.append(f"             e.g. {report.examples[key]}")
    lines.append("Fix the file, or raise validation.max_bad_share if leaving these rows out is acceptable.")
    return "\n".join(lines)


def _offences(run: Validation, raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    _, rows, parsed = run.start("offences", raw)
    harm = parsed["harm_days"]
    quarters = harm / HARM_QUANTUM
    rows.flag(
        f"harm_days: not a multiple of {HARM_QUANTUM}",
        np.isfinite(quarters) & (quarters != np.round(quarters)),
        f"harm_days: {{v}} is not a multiple of {HARM_QUANTUM} (CCHI days come in quarter days)",
        v=harm,
    )
    keep = run.finish("offences", raw, rows)
    out = valid_frame(TABLES["offences"], parsed, keep)
    out.insert(
        out.columns.get_loc("harm_days") + 1,
        "harm_q",
        np.round(out["harm_days"].to_numpy() / HARM_QUANTUM).astype(np.int64),
    )
    return out, parsed["offence_code"]


def _persons(run: Validation, raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    _, rows, parsed = run.start("persons", raw)
    keep = run.finish("persons", raw, rows)
    return valid_frame(TABLES["persons"], parsed, keep), parsed["person_id"]


def _events(
    run: Validation,
    raw: pd.DataFrame,
    persons: tuple[pd.DataFrame, pd.Series],
    offences: tuple[pd.DataFrame, pd.Series],
) -> pd.DataFrame:
    _, rows, p = run.start("events", raw)
    codes, uniques = coded(p["event_type"], lower=True)
    known = np.append(uniques.isin(EVENT_TYPES), True)[codes]
    rows.flag(
        "event_type: not a valid event type",
        ~known,
        "event_type {v!r} is not one of: " + ", ".join(EVENT_TYPES),
        v=p["event_type"],
    )
    needs = np.append(uniques.isin(OFFENCE_REQUIRED_FOR), False)[codes]
    rows.flag(
        "offence_code: required for " + ", ".join(OFFENCE_REQUIRED_FOR) + " events",
        needs & p["offence_code"].isna().to_numpy(),
        "offence_code: required for {v} events",
        v=p["event_type"],
    )
    catalogue = ("the offence catalogue", f"the offence catalogue ({run.source('offences')})")
    flag_references(rows, "offence_code", p["offence_code"], catalogue, *_keys(offences, "offence_code"))
    people = ("persons", "persons")
    at = flag_references(rows, "person_id", p["person_id"], people, *_keys(persons, "person_id"))
    occurred, recorded = p["occurred_date"], p["recorded_date"]
    rows.flag(
        "recorded_date before occurred_date",
        recorded < occurred,
        "recorded_date {r} is before occurred_date {o}",
        r=recorded,
        o=occurred,
    )
    births = persons[0]["birth_date"].to_numpy().astype("datetime64[D]")
    birth = np.append(births, NAT)[at]
    rows.flag(
        "occurred_date before the person's birth_date",
        occurred < birth,
        "occurred_date {o} is before the person's birth_date {b}",
        o=occurred,
        b=birth,
    )
    keep = run.finish("events", raw, rows)
    out = valid_frame(TABLES["events"], p, keep)
    out["event_type"] = out["event_type"].str.lower()
    return out


def _keys(done: tuple[pd.DataFrame, pd.Series], column: str) -> tuple[pd.Series, pd.Series]:
    """Valid keys and all keys (quarantined rows included, in file order) of a table."""
    return done[0][column], done[1]


def _protected(
    run: Validation, raw: pd.DataFrame, persons: tuple[pd.DataFrame, pd.Series], has_birth: bool
) -> pd.DataFrame:
    frame, rows, p = run.start("protected", raw)
    flag_references(rows, "person_id", p["person_id"], ("persons", "persons"), *_keys(persons, "person_id"))
    keep = run.finish("protected", raw, rows)
    out = valid_frame(TABLES["protected"], p, keep)
    traits = [c for c in frame.columns if c != "person_id"]
    if not traits:
        run.warnings.append(
            f"{run.source('protected')}: no characteristic columns besides person_id, so the "
            "equality audit has nothing to compare."
        )
    for c in traits:
        out[c] = as_text(frame[c])[keep].reset_index(drop=True).fillna(NOT_RECORDED).astype("str")
    if "age_band" in traits:
        run.warnings.append(
            f"{run.source('protected')} has its own age_band column. "
            + (
                "The equality audit ignores it and uses bands from persons.birth_date at each as-of "
                "date (fairness.age_bands), which follow each person's age; drop the column to "
                "silence this warning."
                if has_birth
                else "There are no birth dates, so the equality audit uses this column as given; it "
                "cannot follow a person's age from month to month."
            )
        )
    return out


def validate(
    raw: dict[str, pd.DataFrame],
    settings: ValidationSettings,
    sources: dict[str, str],
    files: Mapping[str, FileRows] | None = None,
) -> tuple[Records, ValidationReport]:
    """Check raw tables against the contract, quarantining the rows that break it.

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        ``persons``, ``events`` and ``offences`` (catalogue layout, see
        :func:`features.records.offences.normalise_catalogue`), optionally ``protected``. Frames
        read from CSV hold every value as text (empty cells as ``""``); frames read from
        Parquet may hold native types.
    settings : ValidationSettings
        Ceiling on bad rows, plausible date range.
    sources : dict of str to str
        Where each table came from (a file path), used in messages.
    files : mapping of str to FileRows, optional
        Per table, the line on which each row starts in its file and the rows the reader could
        not read as they stand (quarantined with the reader's detail).

    Returns
    -------
    Records
        The valid rows in contract types.
    ValidationReport
        Counts, reasons and quarantined rows per table, and warnings.

    Raises
    ------
    RecordsError
        A table is missing, lacks a required column, repeats a column, or has no rows.
    TooManyBadRows
        A table's quarantined share exceeds ``settings.max_bad_share``; the exception's
        ``report`` attribute holds the :class:`ValidationReport` up to that table (for the
        failing table, only its first :data:`SAMPLE_WHEN_OVER` quarantined rows).
    """
    for name in ("persons", "events", "offences"):
        if raw.get(name) is None:
            raise RecordsError(f"No {name} table was given; the records need one.")
    with ThreadPoolExecutor(max_workers=1) as pool:
        run = Validation(settings, sources, pool, files)
        offences = _offences(run, raw["offences"])
        persons = _persons(run, raw["persons"])
        events = _events(run, raw["events"], persons, offences)
        protected = None
        if raw.get("protected") is not None:
            has_birth = bool(persons[0]["birth_date"].notna().any())
            protected = _protected(run, raw["protected"], persons, has_birth)
    if protected is None:
        run.warnings.append(
            "No protected table: the equality audit cannot run. Add protected.csv (person_id, "
            "then characteristics such as sex, ethnicity, religion, disability) to the records."
        )
    records = Records(persons=persons[0], events=events, offences=offences[0], protected=protected)
    return records, run.report()
