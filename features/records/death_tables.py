"""The death-report tables of the records contract, read by the death investigations job only.

``harmrank deaths`` reads these beside the persons and events tables; ``harmrank run`` never
opens them. They are declared as data, like :data:`features.records.schema.TABLES`, checked by
:mod:`features.records.death_validate` and listed in ``docs/data-contract.md``. The victims'
protected characteristics are a table of their own (``death_protected``), read only by the
equality section of the report, as on the offender side.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from features.records.schema import NOT_RECORDED, Column, ColumnType, Need, Table

PLACE_TYPES: tuple[str, ...] = (
    "home",
    "other_residential",
    "care_home",
    "hospital",
    "custody",
    "public_open_space",
    "churchyard_cemetery",
    "street",
    "water",
    "workplace",
    "vehicle",
    "other",
    "unknown",
)
"""Valid values of ``deaths.place_type``."""

CATEGORIES: tuple[str, ...] = (
    "expected",
    "unexpected_not_suspicious",
    "unexpected_under_investigation",
    "homicide",
    "not_yet_classified",
)
"""Valid values of ``deaths.category``, from least to most police interest."""

SUBSTANCES: tuple[str, ...] = (
    "ghb_gbl",
    "opioids",
    "cocaine",
    "amphetamines",
    "benzodiazepines",
    "ketamine",
    "alcohol",
    "prescription",
    "other",
    "none",
    "unknown",
)
"""Codes of ``deaths.substances`` (several in one cell, separated by ``;`` or ``|``)."""

SEXES: tuple[str, ...] = ("male", "female", "other")
"""Valid values of ``deaths.sex``; an empty cell is ``"not recorded"``."""

FLAGS: tuple[str, ...] = ("found_by_stranger", "note_found", "signs_of_struggle", "moved_after_death")
"""Circumstance flags of a death report (booleans)."""

LINKED_PERSONS: tuple[str, ...] = ("finder_id", "reporter_id", "last_seen_with_id", "household_ids")
"""Columns naming people around a death; each may match ``persons.person_id``."""

MAX_AGE = 120


def canonical_code(value: str) -> str:
    """A coded value as the contract spells it: lower case, runs of other characters as ``_``.

    ``"Unexpected - not suspicious"`` and ``"unexpected_not_suspicious"`` are the same code.
    """
    out = "".join(ch if ch.isalnum() else "_" for ch in value.strip().lower())
    return "_".join(part for part in out.split("_") if part)


S, D, B, N = ColumnType.STR, ColumnType.DATE, ColumnType.BOOL, ColumnType.NUMBER
REQ, OPT = Need.REQUIRED, Need.OPTIONAL


def _one_of(values: tuple[str, ...]) -> str:
    return "One of (any case; spaces and hyphens count as underscores): " + ", ".join(values) + "."


DEATH_TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "deaths",
            False,
            "One row per death reported to the police, for the death investigations job "
            "(`harmrank deaths`); the list job never reads it. Reports recorded on or after a "
            "run's as-of date are valid; the job leaves them out. Each row needs a location: "
            "easting and northing (metres, British National Grid) or latitude and longitude.",
            (
                Column("death_id", S, REQ, "The force's identifier of the death report.", unique=True),
                Column("reported_date", D, REQ, "When the death was reported to the police."),
                Column("found_date", D, OPT, "When the person was found dead; empty: the reported date."),
                Column(
                    "recorded_date",
                    D,
                    REQ,
                    "When the force recorded the report: the knowledge date the point-in-time "
                    "filter uses. Not before reported_date.",
                ),
                Column("easting", N, OPT, "Easting in metres (with northing)."),
                Column("northing", N, OPT, "Northing in metres (with easting)."),
                Column("latitude", N, OPT, "Latitude in degrees, -90 to 90 (with longitude).", signed=True),
                Column(
                    "longitude", N, OPT, "Longitude in degrees, -180 to 180 (with latitude).", signed=True
                ),
                Column("area_code", S, REQ, "The small area of the location: LSOA or ward code."),
                Column("place_type", S, REQ, _one_of(PLACE_TYPES)),
                Column("category", S, REQ, _one_of(CATEGORIES)),
                Column(
                    "classified_date",
                    D,
                    OPT,
                    "When the category was decided; empty while not yet classified. Not before "
                    "reported_date.",
                ),
                Column("age", N, OPT, f"Age of the person who died, in years (0 to {MAX_AGE})."),
                Column("sex", S, OPT, _one_of(SEXES)[:-1] + f"; empty: '{NOT_RECORDED}'."),
                Column(
                    "substances",
                    S,
                    OPT,
                    "Substances found, codes separated by semicolons (or vertical bars): "
                    + ", ".join(SUBSTANCES)
                    + ". "
                    "Empty: unknown.",
                ),
                Column(
                    "cause_group", S, OPT, "Cause-of-death group in the force's words (e.g. drug poisoning)."
                ),
                Column("found_by_stranger", B, OPT, "Found by someone who did not know them."),
                Column("note_found", B, OPT, "A note was found."),
                Column("signs_of_struggle", B, OPT, "Signs of a struggle."),
                Column("moved_after_death", B, OPT, "Signs the body was moved after death."),
                Column("finder_id", S, OPT, "Who found them; may be a persons.person_id."),
                Column("reporter_id", S, OPT, "Who reported the death; may be a persons.person_id."),
                Column(
                    "last_seen_with_id", S, OPT, "Who they were last seen with; may be a persons.person_id."
                ),
                Column(
                    "household_ids",
                    S,
                    OPT,
                    "People of their household, separated by semicolons (or vertical bars); each may "
                    "be a persons.person_id.",
                ),
                Column(
                    "address_id", S, OPT, "The force's identifier of the address (same address, same id)."
                ),
                Column("source_ref", S, OPT, "The report reference an officer can look up."),
            ),
        ),
        Table(
            "death_protected",
            False,
            "Protected characteristics of the people who died, read only by the equality section "
            "of the death investigations report. Age and sex are in the deaths table, because "
            "the pair scores compare victim profiles.",
            (
                Column(
                    "death_id",
                    S,
                    REQ,
                    "The death report the characteristics describe.",
                    unique=True,
                    references="deaths.death_id",
                ),
            ),
            extra_columns=(
                "Any characteristic columns (ethnicity, religion, sexual orientation, disability, "
                f"...); an empty cell becomes the group '{NOT_RECORDED}'."
            ),
        ),
        Table(
            "expected_deaths",
            False,
            "Context from other organisations (ONS deaths, drug-poisoning deaths, NHS figures): "
            "the death reports expected in an area and month. When given, the pattern section "
            "scales the force's own history by it.",
            (
                Column("area_code", S, REQ, "The area, as in deaths.area_code."),
                Column("month", D, REQ, "First day of the month the figure is for."),
                Column("expected", N, REQ, "Death reports expected in the area that month."),
                Column("source", S, OPT, "Where the figure comes from."),
            ),
        ),
        Table(
            "death_links",
            False,
            "Pairs of death reports that a review or investigation found linked or not linked. "
            "When there are enough, the pair scores learn their likelihood ratios from them; "
            "otherwise the declared priors are used (docs/deaths.md).",
            (
                Column("death_id_a", S, REQ, "One report of the pair.", references="deaths.death_id"),
                Column("death_id_b", S, REQ, "The other report.", references="deaths.death_id"),
                Column("linked", B, REQ, "Whether the two deaths were found linked."),
            ),
        ),
    )
}
"""The death-report tables, in document order."""


@dataclass(frozen=True, eq=False)
class DeathRecords:
    """Validated death-report tables, the input of the death investigations job.

    Attributes
    ----------
    deaths : pandas.DataFrame
        The columns of the contract, plus ``x`` and ``y`` (metres; easting and northing, or
        latitude and longitude projected onto a local plane), codes in canonical spelling,
        ``sex`` with ``"not recorded"`` for missing, and ``substances`` as a ``;``-joined sorted
        code list (``"unknown"`` when empty).
    protected : pandas.DataFrame or None
        death_id, then each characteristic as ``str`` with ``"not recorded"`` for missing.
    expected : pandas.DataFrame or None
        area_code, month, expected, source.
    links : pandas.DataFrame or None
        death_id_a, death_id_b, linked.
    """

    deaths: pd.DataFrame
    protected: pd.DataFrame | None
    expected: pd.DataFrame | None
    links: pd.DataFrame | None
