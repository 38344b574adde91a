"""Protected-characteristic groups of each audited row.

Groups are attached to rows (person, as-of month), not to persons, because the age band moves
with the as-of date. Every value is text; a missing value, an empty cell or a person absent from
the protected table is the group ``"not recorded"``, audited like any other group.

Age band
    Completed years of age at the row's as-of date, from ``birth_date`` (a person with only a
    ``birth_year`` is taken to be born on 1 July of that year), cut at
    :attr:`FairnessSettings.age_bands`. An unknown birth date is ``"not recorded"``. A protected
    table's own ``age_band`` column is used only when there are no birth dates: bands from birth
    dates follow each person's age at every as-of date, a fixed column cannot (the records
    validation warns which is used).
Intersections
    A column named ``"sex x ethnicity"`` with values like ``"Male | Black"``; a combination with
    a ``"not recorded"`` part is its own group (``"Male | not recorded"``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from fairness.settings import AGE_BAND, GROUP_SEP, INTERSECTION_SEP, NOT_RECORDED, FairnessSettings
from features.errors import ConfigError, RecordsError

log = logging.getLogger(__name__)


def resolve_characteristics(
    protected_columns: list[str], has_birth: bool, settings: FairnessSettings
) -> tuple[list[str], list[list[str]]]:
    """The characteristics and intersections that can be audited with these tables.

    Parameters
    ----------
    protected_columns
        Columns of the protected table (person_id is ignored).
    has_birth
        Whether birth dates are available to derive the age band.

    Returns
    -------
    characteristics, intersections
        Intersections naming an unavailable characteristic are dropped with a logged warning.

    Raises
    ------
    ConfigError
        A characteristic named in the settings is not available.
    """
    available = [c for c in protected_columns if c != "person_id"]
    if has_birth and AGE_BAND not in available:
        available.append(AGE_BAND)
    wanted = available if settings.characteristics is None else list(settings.characteristics)
    missing = [c for c in wanted if c not in available]
    if missing:
        hint = " (age_band needs persons.birth_date)" if AGE_BAND in missing else ""
        raise ConfigError(
            f"fairness.characteristics names {missing}, which the protected table does not hold{hint}; "
            f"available: {available}. Remove them from the config or supply the column."
        )
    intersections = []
    for combo in settings.intersections:
        absent = [c for c in combo if c not in wanted]
        if absent:
            log.warning("intersection %s skipped: %s not audited", INTERSECTION_SEP.join(combo), absent)
        else:
            intersections.append(list(combo))
    return list(dict.fromkeys(wanted)), intersections


def _as_text(values: pd.Series) -> pd.Series:
    """Values as stripped text, with missing or empty cells as NOT_RECORDED."""
    text = values.astype("str").str.strip()
    text = text.where(values.notna() & (text != ""), NOT_RECORDED)
    return text.astype("str")


def age_bands(as_of: pd.Series, birth: pd.Series, settings: FairnessSettings) -> pd.Series:
    """Age band of each row at its as-of date.

    Parameters
    ----------
    as_of, birth
        Dates of the same length (birth may be NaT).

    Returns
    -------
    pandas.Series
        ``str`` labels from :meth:`FairnessSettings.band_labels`, ``"not recorded"`` where the
        birth date is unknown, on ``as_of``'s index.
    """
    a = pd.DatetimeIndex(pd.to_datetime(as_of))
    b = pd.DatetimeIndex(pd.to_datetime(birth))
    before_birthday = (a.month < b.month) | ((a.month == b.month) & (a.day < b.day))
    age = np.asarray(a.year - b.year - before_birthday.astype("int64"), dtype="float64")
    age[np.asarray(b.isna())] = np.nan
    band = np.searchsorted(np.asarray(settings.age_bands), age, side="right")
    labels = np.asarray([*settings.band_labels(), NOT_RECORDED], dtype=object)
    band[np.isnan(age)] = len(labels) - 1
    return pd.Series(labels[band], index=as_of.index, dtype="str")


def _birth_dates(birth: pd.DataFrame) -> pd.Series:
    """birth_date by person_id, filled from birth_year (1 July) where the date is missing."""
    dates = pd.Series(pd.NaT, index=birth.index, dtype="datetime64[ns]")
    if "birth_date" in birth:
        dates = pd.to_datetime(birth["birth_date"], errors="coerce").astype("datetime64[ns]")
    if "birth_year" in birth:
        year = pd.to_numeric(birth["birth_year"], errors="coerce")
        mid = pd.to_datetime(year.astype("Int64").astype("str") + "-07-01", errors="coerce")
        dates = dates.fillna(mid.astype("datetime64[ns]"))
    if "birth_date" not in birth and "birth_year" not in birth:
        raise RecordsError("persons needs a birth_date or birth_year column to derive the age band.")
    return pd.Series(dates.to_numpy(), index=birth["person_id"].astype("str"))


def attach_groups(
    rows: pd.DataFrame,
    protected: pd.DataFrame,
    birth: pd.DataFrame | None,
    settings: FairnessSettings,
) -> pd.DataFrame:
    """One text column per audited characteristic and intersection, aligned to ``rows``.

    Parameters
    ----------
    rows
        Audited rows (n): person_id, as_of.
    protected
        person_id (unique) and characteristic columns.
    birth
        person_id with birth_date and/or birth_year, or None (no age band).
    settings
        Which characteristics, intersections and age bands.

    Returns
    -------
    pandas.DataFrame
        Index of ``rows``; the characteristics in order, then the intersections
        (e.g. ``"sex x ethnicity"``), every column ``str`` with no missing values.

    Raises
    ------
    RecordsError
        Duplicate person_id in ``protected`` or no birth column in ``birth``.
    ConfigError
        A configured characteristic is not available.
    """
    if protected["person_id"].duplicated().any():
        dup = protected.loc[protected["person_id"].duplicated(), "person_id"].iloc[0]
        raise RecordsError(f"protected has more than one row for person_id {dup!r}; keep one row per person.")
    characteristics, intersections = resolve_characteristics(
        list(protected.columns), birth is not None, settings
    )
    at = pd.Index(protected["person_id"].astype("str")).get_indexer(rows["person_id"].astype("str"))
    out = pd.DataFrame(index=rows.index)
    for name in characteristics:
        if name == AGE_BAND and birth is not None:
            assert birth is not None
            births = _birth_dates(birth)
            born = births.to_numpy()[births.index.get_indexer(rows["person_id"].astype("str"))]
            born[births.index.get_indexer(rows["person_id"].astype("str")) < 0] = np.datetime64("NaT")
            out[name] = age_bands(rows["as_of"], pd.Series(born, index=rows.index), settings)
        else:
            values = protected[name].to_numpy(dtype=object)[at]
            values[at < 0] = None
            out[name] = _as_text(pd.Series(values, index=rows.index))
    for combo in intersections:
        label = out[combo[0]]
        for part in combo[1:]:
            label = label + GROUP_SEP + out[part]
        out[INTERSECTION_SEP.join(combo)] = label.astype("str")
    return out


def coverage(as_of: pd.Series, groups: pd.DataFrame) -> pd.DataFrame:
    """How often each characteristic is recorded, by month.

    Parameters
    ----------
    as_of
        Month of each row (n).
    groups
        The row's groups (n rows), as from :func:`attach_groups`.

    Returns
    -------
    pandas.DataFrame
        month (Timestamp), characteristic, recorded (rows with a recorded value; for an
        intersection, with every part recorded), total (rows), recorded_share.
    """
    month_codes, months = pd.factorize(pd.to_datetime(as_of), sort=True)
    total = np.bincount(month_codes, minlength=len(months))
    frames = []
    for name in groups.columns:
        codes, values = pd.factorize(groups[name])
        parts = [v.split(GROUP_SEP) if INTERSECTION_SEP in name else [v] for v in values]
        known = np.array([NOT_RECORDED not in p for p in parts], dtype=bool)  # one per distinct value
        recorded = np.bincount(month_codes, weights=known[codes], minlength=len(months)).astype("int64")
        frames.append(
            pd.DataFrame(
                {
                    "month": months,
                    "characteristic": name,
                    "recorded": recorded,
                    "total": total,
                    "recorded_share": recorded / np.maximum(total, 1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def largest_recorded(names: list[str], persons: np.ndarray) -> int:
    """Index of the group with most persons, groups with a "not recorded" part excepted (unless
    every group has one); the first in ``names`` order on ties. The default reference group."""
    recorded = np.array([NOT_RECORDED not in n.split(GROUP_SEP) for n in names])
    size = np.where(recorded, persons, -1) if recorded.any() else persons
    return int(np.argmax(size))


def reference_index(
    characteristic: str, names: list[str], persons: np.ndarray, reference: str | Mapping[str, str] = "largest"
) -> int:
    """Index of a characteristic's reference group: the one configured for it in ``reference``
    (:attr:`FairnessSettings.reference`), or the largest recorded group (name order on ties)."""
    if isinstance(reference, Mapping) and characteristic in reference:
        wanted = reference[characteristic]
        if wanted not in names:
            raise ConfigError(
                f"fairness.reference.{characteristic} = {wanted!r} is not a group of {characteristic}; "
                f"groups: {names}"
            )
        return names.index(wanted)
    return largest_recorded(names, persons)


def margins(characteristic: str, names: list[str]) -> list[np.ndarray]:
    """Sets of groups (indices into ``names``) whose counts add up to a total a reader can know.

    Every characteristic's groups partition the cohort; an intersection's groups sharing one
    part's value (every "Male | *") also add up to that part's group, shown elsewhere.
    """
    blocks = [np.arange(len(names))]
    if INTERSECTION_SEP in characteristic:
        parts = np.array([n.split(GROUP_SEP) for n in names], dtype=object)
        for i in range(parts.shape[1]):
            column = parts[:, i]
            blocks += [np.flatnonzero(column == v) for v in sorted(set(column))]
    return [b for b in blocks if len(b) > 1]


def _protect(flags: np.ndarray, counts: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Where a row (R, C) holds exactly one suppressed count, suppress the smallest other count too,
    so that the lone one cannot be recovered from the total.

    The complement is the smallest non-empty count that is not in ``keep`` (the reference group);
    then the reference; an empty cell (0) only when nothing else is left. An empty cell protects
    nothing when another total shows it is empty (a group with nobody listed is empty in every
    intersection), so it is the last resort. Ties go to the first column.
    """
    lone = flags.sum(axis=1) == 1
    if not lone.any():
        return flags
    last = np.zeros(flags.shape[1]) if keep is None else np.where(keep, 1e12, 0.0)
    key = np.where(flags, np.inf, counts + last + np.where(counts == 0, 1e18, 0.0))
    pick = key.argmin(axis=1)
    rows = np.flatnonzero(lone & np.isfinite(key.min(axis=1)))
    out = flags.copy()
    out[rows, pick[rows]] = True
    return out


def suppress(
    counts: np.ndarray,
    min_cell: int,
    blocks: list[np.ndarray],
    already: np.ndarray | None = None,
    keep: int | None = None,
) -> np.ndarray:
    """Small-number suppression flags for one characteristic's counts of people.

    Parameters
    ----------
    counts
        Shape (S, G): distinct persons per scope (row 0 pooled, then one row per month) and group.
    min_cell
        Counts from 1 to ``min_cell - 1`` are suppressed (primary). A count of 0 describes nobody
        and is shown (unless nothing else is left to serve as a complement).
    blocks
        Index sets of groups adding up to a known total (:func:`margins`).
    already
        Flags (S, G) suppressed for another reason (the group itself is too small).
    keep
        Index of a group to hide only when nothing else can protect a cell: the reference group,
        whose figures every comparison needs.

    Returns
    -------
    numpy.ndarray
        Bool (S, G). Secondary suppression repeats until stable: in any block (and across the
        months of one group, whose list places add up to the pooled figure) with exactly one
        suppressed count, the smallest other non-empty count (the reference group last) is
        suppressed as well.
    """
    flags = (counts > 0) & (counts < min_cell)
    if already is not None:
        flags = flags | already
    counts = counts.astype("float64")
    reference = np.zeros(counts.shape[1], dtype=bool)
    if keep is not None:
        reference[keep] = True
    while True:
        before = int(flags.sum())
        for idx in blocks:
            flags[:, idx] = _protect(flags[:, idx], counts[:, idx], reference[idx])
        if flags.shape[0] > 2:
            flags[1:] = _protect(flags[1:].T, counts[1:].T).T
        if int(flags.sum()) == before:
            return flags
