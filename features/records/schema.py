"""The records contract: which tables and columns the engine reads, and what it hands on.

The contract is declared once, as data (:data:`TABLES`). The validator
(:mod:`features.records.validate`) checks raw tables against it, ``docs/data-contract.md`` is
generated from it (:mod:`features.records.contract_doc`), and the rest of the pipeline relies on
the types of :class:`Records`. Nothing here touches the file system.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

EVENT_TYPES: tuple[str, ...] = (
    "crime_suspect",
    "crime_victim",
    "witness",
    "arrest",
    "charge",
    "conviction",
    "intelligence",
    "stop_search",
    "order",
    "incident",
)
"""Valid values of ``events.event_type``."""

OFFENCE_REQUIRED_FOR: tuple[str, ...] = ("crime_suspect", "crime_victim", "charge", "conviction")
"""Event types whose ``offence_code`` must be given."""

TRUE_WORDS: tuple[str, ...] = ("true", "1", "yes", "y")
FALSE_WORDS: tuple[str, ...] = ("false", "0", "no", "n")
"""Accepted spellings of booleans (case-insensitive); an empty cell means false."""

NOT_RECORDED = "not recorded"
"""The group that a missing protected characteristic falls into."""

HARM_QUANTUM = 0.25
"""CCHI days come in quarter days; ``harm_q = harm_days / HARM_QUANTUM`` is a whole number."""

EARLIEST_SUPPORTED = date(1678, 1, 1)
"""First date that ``datetime64[ns]`` can hold (with a margin)."""


class ColumnType(enum.StrEnum):
    """Type of a column as the contract states it."""

    STR = "str"
    DATE = "date"
    BOOL = "bool"
    NUMBER = "number"


class Need(enum.StrEnum):
    """Whether a column must be in the file and every row must give a value."""

    REQUIRED = "required"
    """The column must be present and every row must give a value."""
    CONDITIONAL = "conditional"
    """The column must be present; some rows must give a value (see the meaning)."""
    OPTIONAL = "optional"
    """The column may be absent; an empty cell means missing (or the default)."""


@dataclass(frozen=True)
class Column:
    """One column of the contract.

    Attributes
    ----------
    name : str
        Column name (file headers are matched case-insensitively; spaces and hyphens
        count as underscores).
    type : ColumnType
        How values are parsed: ISO ``YYYY-MM-DD`` dates, booleans as in
        :data:`TRUE_WORDS` / :data:`FALSE_WORDS`, numbers as decimals.
    need : Need
        Whether the column and its values are required.
    meaning : str
        One sentence for the data contract document.
    unique : bool
        Values must not repeat (the first occurrence is kept).
    references : str or None
        ``"table.column"`` that every given value must exist in.
    signed : bool
        A number that may be negative (a longitude); other numbers must not be.
    """

    name: str
    type: ColumnType
    need: Need
    meaning: str
    unique: bool = False
    references: str | None = None
    signed: bool = False

    @property
    def must_be_present(self) -> bool:
        """Whether a file without this column breaks the contract."""
        return self.need is not Need.OPTIONAL

    def describe(self) -> str:
        """Short form for error messages, e.g. ``"person_id (str, required)"``."""
        return f"{self.name} ({self.type}, {self.need})"


@dataclass(frozen=True)
class Table:
    """One table of the contract.

    Attributes
    ----------
    name : str
        Table name, also the file stem (``persons.csv``, ``events.parquet``, ...).
    required : bool
        Whether the records directory must hold this table.
    meaning : str
        One paragraph for the data contract document.
    columns : tuple of Column
        The declared columns, in output order.
    extra_columns : str or None
        Meaning of further, undeclared columns if the table keeps them (protected);
        ``None`` if undeclared columns are ignored.
    """

    name: str
    required: bool
    meaning: str
    columns: tuple[Column, ...]
    extra_columns: str | None = None

    def column(self, name: str) -> Column:
        """The declared column called ``name``."""
        return next(c for c in self.columns if c.name == name)

    def expected(self) -> str:
        """Comma-separated list of the declared columns with types, for messages."""
        listed = ", ".join(c.describe() for c in self.columns)
        if self.extra_columns:
            listed += ", then any further columns"
        return listed


S, D, B, N = ColumnType.STR, ColumnType.DATE, ColumnType.BOOL, ColumnType.NUMBER
REQ, COND, OPT = Need.REQUIRED, Need.CONDITIONAL, Need.OPTIONAL

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "persons",
            True,
            "One row per person the force holds records about. Nothing else personal is needed.",
            (
                Column("person_id", S, REQ, "The force's identifier of the person.", unique=True),
                Column("birth_date", D, OPT, "Date of birth; missing means the age is unknown."),
            ),
        ),
        Table(
            "events",
            True,
            "One row per recorded event about a person: crimes they are suspected of or were "
            "the victim of, arrests, charges, convictions, intelligence, stops, orders, incidents. "
            "Events dated after a run's as-of date are valid; the feature engine filters them.",
            (
                Column("event_id", S, REQ, "Identifier of the event row.", unique=True),
                Column("person_id", S, REQ, "The person the event is about.", references="persons.person_id"),
                Column("event_type", S, REQ, "One of (any case): " + ", ".join(EVENT_TYPES) + "."),
                Column(
                    "offence_code",
                    S,
                    COND,
                    "Offence, a code of the offence catalogue; required for "
                    + ", ".join(OFFENCE_REQUIRED_FOR)
                    + " events.",
                    references="offences.offence_code",
                ),
                Column("occurred_date", D, REQ, "When the event happened."),
                Column(
                    "recorded_date",
                    D,
                    REQ,
                    "When the force recorded it: the knowledge date that the point-in-time "
                    "filter uses. Not before occurred_date.",
                ),
                Column(
                    "victim_id",
                    S,
                    OPT,
                    "A person_id of the victim; not checked against persons (victims need not "
                    "be in the persons table).",
                ),
                Column("domestic", B, OPT, "Domestic abuse flag; empty means false."),
                Column("weapon", B, OPT, "Weapon involved; empty means false."),
                Column(
                    "source_ref",
                    S,
                    OPT,
                    "Recommended: the record reference an officer can look up (crime number, "
                    "intelligence log, custody record).",
                ),
            ),
        ),
        Table(
            "offences",
            False,
            "The offence catalogue with its harm weights. When absent, the default built from "
            "the Cambridge Crime Harm Index subgroup medians (configs/offences.csv) is used. A "
            "per-Home-Office-code CCHI table (columns like HO_CODE, FULL_OFFENCE_TITLE, "
            "CCHI Score, optionally Offence Group and Offence Subgroup) is accepted too.",
            (
                Column("offence_code", S, REQ, "Code that events refer to.", unique=True),
                Column("description", S, REQ, "Plain-language name of the offence."),
                Column("subgroup", S, REQ, "Home Office offence subgroup."),
                Column("category", S, REQ, "Home Office headline offence category."),
                Column(
                    "harm_days",
                    N,
                    REQ,
                    "CCHI harm weight in days of custody, >= 0, a multiple of 0.25 "
                    "(the engine adds the whole numbers harm_q = harm_days * 4).",
                ),
                Column("national_count", N, OPT, "Offences recorded nationally in a year."),
            ),
        ),
        Table(
            "protected",
            False,
            "Protected characteristics, read only by the equality audit and never by the model. "
            "Without this table the equality audit cannot run.",
            (
                Column(
                    "person_id",
                    S,
                    REQ,
                    "The person the characteristics describe.",
                    unique=True,
                    references="persons.person_id",
                ),
            ),
            extra_columns=(
                "Any characteristic columns (sex, ethnicity, religion, disability, ...); an "
                f"empty cell becomes the group '{NOT_RECORDED}'. Age is derived from "
                "persons.birth_date by the audit."
            ),
        ),
    )
}
"""The contract: every table the engine reads, in document order."""


class ValidationSettings(BaseModel):
    """How strict validation is.

    Attributes
    ----------
    max_bad_share : float
        Ceiling on the share of a table's rows that may be quarantined; above it the
        run stops with :class:`~features.errors.TooManyBadRows`.
    earliest_date : date
        Dates before it are implausibly early and quarantined.
    today : date or None
        Dates after it are impossible and quarantined; ``None`` means the real today.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_bad_share: float = Field(0.01, ge=0.0, le=1.0)
    earliest_date: date = date(1900, 1, 1)
    today: date | None = None

    @model_validator(mode="after")
    def _dates_in_range(self) -> ValidationSettings:
        if self.earliest_date < EARLIEST_SUPPORTED:
            raise ValueError(f"earliest_date must be on or after {EARLIEST_SUPPORTED}")
        if self.earliest_date >= self.resolved_today():
            raise ValueError("earliest_date must be before today")
        return self

    def resolved_today(self) -> date:
        """``today``, or the real today when it is ``None``."""
        return self.today if self.today is not None else date.today()


@dataclass(frozen=True, eq=False)
class Records:
    """Validated records, the input of the feature engine.

    Every frame has a fresh ``RangeIndex`` and keeps file order. Id and text columns have
    the pandas ``str`` dtype (missing optional values are NaN); dates are
    ``datetime64[ns]`` at midnight (NaT where optional and missing).

    Attributes
    ----------
    persons : pandas.DataFrame
        person_id, birth_date.
    events : pandas.DataFrame
        event_id, person_id, event_type (lower case), offence_code, occurred_date,
        recorded_date, victim_id, domestic (bool), weapon (bool), source_ref.
    offences : pandas.DataFrame
        offence_code, description, subgroup, category, harm_days (float64, CCHI days),
        harm_q (int64, quarter days), national_count (float64).
    protected : pandas.DataFrame or None
        person_id, then each characteristic as ``str`` with ``"not recorded"`` for
        missing; ``None`` when the table was not supplied.
    """

    persons: pd.DataFrame
    events: pd.DataFrame
    offences: pd.DataFrame
    protected: pd.DataFrame | None


@dataclass(frozen=True, eq=False)
class FileRows:
    """What reading a table's file found about its rows, beside the rows themselves.

    Attributes
    ----------
    lines : numpy.ndarray or None
        The physical line (1-based; the header is line 1) on which each row starts in its file,
        shape (rows,); ``None`` for a file without lines (Parquet).
    unreadable : mapping of str to pandas.DataFrame
        Rows that could not be read as they stand, by reason (a key of :data:`UNREADABLE`):
        one row per such row of the table, indexed by its position, with the values its
        reason's text needs. Validation quarantines them with that text.
    """

    lines: np.ndarray | None = None
    unreadable: Mapping[str, pd.DataFrame] = field(default_factory=dict)


UNREADABLE: dict[str, str] = {
    "row has the wrong number of fields": (
        "line {line}: {fields} field(s) where the header has {width}; look for an unquoted comma "
        "or a missing or extra field"
    ),
    "text is not UTF-8": (
        "line {line}: column {column} holds the byte {byte}, which is not UTF-8 text; save the "
        "file as UTF-8 (in Excel: CSV UTF-8)"
    ),
}
"""Why a row of a file could not be read as it stands, and the text a quarantined row gets."""


@dataclass(frozen=True)
class TableReport:
    """What validation did to one table.

    Attributes
    ----------
    table, source : str
        Table name and where it was read from.
    rows_read, rows_valid, rows_quarantined : int
        ``rows_valid + rows_quarantined == rows_read``.
    reasons : dict of str to int
        Rows per reason, most frequent first (a row with two defects counts twice).
    examples : dict of str to str
        For each reason, the first row that has it, e.g. ``"row 17: event_type 'x' ..."``.
    """

    table: str
    source: str
    rows_read: int
    rows_valid: int
    rows_quarantined: int
    reasons: dict[str, int]
    examples: dict[str, str]

    @property
    def bad_share(self) -> float:
        """Share of rows quarantined (0 for an empty table)."""
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0


@dataclass(frozen=True, eq=False)
class ValidationReport:
    """Everything validation found, per table.

    Attributes
    ----------
    tables : tuple of TableReport
        One per table read, in validation order (offences, persons, events, protected).
    quarantine : dict of str to pandas.DataFrame
        Quarantined rows per table (only tables with any): ``source_row`` (1-based data
        row in the file), ``source_line`` (the line of the file on which the row starts; empty
        for a Parquet file), the row's original values, then ``reason``.
    warnings : tuple of str
        Things the analyst should know that do not stop a run.
    """

    tables: tuple[TableReport, ...]
    quarantine: dict[str, pd.DataFrame]
    warnings: tuple[str, ...] = ()

    def table(self, name: str) -> TableReport:
        """The report of table ``name``; ``KeyError`` if it was not read."""
        for report in self.tables:
            if report.table == name:
                return report
        raise KeyError(name)

    @property
    def rows_read(self) -> int:
        """Rows read over all tables."""
        return sum(t.rows_read for t in self.tables)

    @property
    def rows_valid(self) -> int:
        """Rows that passed over all tables."""
        return sum(t.rows_valid for t in self.tables)

    @property
    def rows_quarantined(self) -> int:
        """Rows quarantined over all tables."""
        return sum(t.rows_quarantined for t in self.tables)

    @property
    def reasons(self) -> dict[str, int]:
        """Rows per reason over all tables, keyed ``"<table>: <reason>"``."""
        return {f"{t.table}: {k}": v for t in self.tables for k, v in t.reasons.items()}
