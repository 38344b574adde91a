"""From the SQL aggregates to the feature matrix: cumulative sums, the catalogue's formulas, imputation.

The SQL (:mod:`features.sql`) returns changes per (person, key, date index, band). Here they are
scattered into a dense (date, person, band) grid, summed cumulatively over dates (values at each
as-of date) and over bands (nested windows), and read at the cohort's rows. Work here is
proportional to the output, not to the number of events. Sums of integers held in float64 are exact
(far below 2**53), so the order of summation never changes a value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from features.catalogue_types import (
    CATEGORY_SLUGS,
    DAYS_PER_MONTH_16THS,
    DAYS_PER_YEAR,
    OFFENCE_FREE_CAP_MONTHS,
    RECENCY_DIVISOR,
    SUSPECT,
    TREND_BASE_DAYS,
    WINDOWS,
    Feature,
    Source,
)
from features.records.schema import EVENT_TYPES
from features.sql import Aggregates

_ADDITIVE = ("count", "harm_sum")
_SUSPECT_ONLY = (
    "harm_max",
    "harm_recency",
    "distinct_victims",
    "distinct_subgroups",
    "days_since_last",
    "days_since_first",
    "offence_free_months",
    "career_years",
    "copas_rate",
    "trend_count",
    "trend_harm",
    "age_at_first",
)


@dataclass(frozen=True)
class KeyPlan:
    """Which SQL key each source gets: sources, then distinct victims and subgroups, then harm levels.

    Attributes
    ----------
    sources
        Key of each source of an additive feature (always including the suspect source).
    victim_key, subgroup_key
        Keys of the distinct-victim and distinct-subgroup items.
    level_base
        A suspect event of harm ``harm_q > 0`` also feeds key ``level_base + harm_q`` (for maxima,
        when ``maxima`` is true).
    """

    sources: dict[Source, int]
    victim_key: int
    subgroup_key: int
    level_base: int
    maxima: bool

    def keymap(self, combos: pa.Table) -> pa.Table:
        """One row per (event combination, key it feeds); see :func:`features.sql.aggregate`."""
        cols = {name: combos.column(name).to_numpy(zero_copy_only=False) for name in combos.column_names}
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        for source, key in self.sources.items():
            rows = np.flatnonzero(_matches(source, cols))
            parts.append((rows, np.full(rows.size, key, np.int64)))
        rows = np.flatnonzero(_matches(SUSPECT, cols) & (cols["harm_q"] > 0) & self.maxima)
        parts.append((rows, self.level_base + cols["harm_q"][rows].astype(np.int64)))
        take = np.concatenate([p[0] for p in parts])
        out = {name: values[take] for name, values in cols.items()}
        out["key"] = np.concatenate([p[1] for p in parts]).astype(np.int64)
        return pa.table(out)


def _matches(source: Source, cols: dict[str, np.ndarray]) -> np.ndarray:
    mask = np.isin(cols["type"], [EVENT_TYPES.index(t) for t in source.event_types])
    if source.category is not None:
        mask &= cols["cat"] == CATEGORY_SLUGS.index(source.category)
    if source.flag is not None:
        mask &= cols[source.flag]
    return mask


def plan_keys(features: Sequence[Feature]) -> KeyPlan:
    """The key plan for ``features``.

    Raises
    ------
    ValueError
        If a non-additive feature draws on anything but the suspect source (the engine computes
        maxima, distinct counts, recency and career from suspect events only).
    """
    sources = [SUSPECT]
    for f in features:
        if f.aggregation in _SUSPECT_ONLY and f.source != SUSPECT:
            raise ValueError(f"{f.name}: {f.aggregation} is computed from suspect events only")
        if f.aggregation in _ADDITIVE and f.source not in sources:
            if f.source is None:
                raise ValueError(f"{f.name}: {f.aggregation} needs a source of events")
            sources.append(f.source)
    keys = {s: i for i, s in enumerate(sources)}
    maxima = any(f.aggregation == "harm_max" for f in features)
    return KeyPlan(keys, len(keys), len(keys) + 1, len(keys) + 2, maxima)


@dataclass(frozen=True)
class _Layout:
    """Dense (date, person) grids, flattened date-major, and where the cohort's rows sit in them.

    Attributes
    ----------
    persons, dates
        Grid shape: everyone in the cohort at some date, and the as-of dates.
    at
        Flat index ``j * persons + p`` of each cohort row, ascending: date-major, then person_id order.
    """

    persons: int
    dates: int
    at: np.ndarray

    @classmethod
    def of_cohort(cls, cohort: dict[str, np.ndarray], persons: int, dates: int) -> _Layout:
        """Cohort rows: (person, date) cells where the running count of qualifying events is positive."""
        empty = cls(persons, dates, np.zeros(0, np.int64))
        members = empty.running_sum(cohort["p"], cohort["j"], cohort["d"]).ravel() > 0
        return cls(persons, dates, np.flatnonzero(members))

    def flat(self, p: np.ndarray, j: np.ndarray) -> np.ndarray:
        return j.astype(np.int64) * self.persons + p

    def running_sum(
        self, p: np.ndarray, j: np.ndarray, d: np.ndarray, bands: np.ndarray | None = None
    ) -> np.ndarray:
        """Grid (dates, persons[, bands]) of the running sum over dates of changes ``d``."""
        width = 1 if bands is None else len(WINDOWS)
        flat = self.flat(p, j) * width + (0 if bands is None else bands)
        grid = np.bincount(flat, weights=d, minlength=self.dates * self.persons * width)
        grid = grid.reshape(self.dates, self.persons * width)
        return np.cumsum(grid, axis=0, out=grid)

    def cells(self, p: np.ndarray, j: np.ndarray, v: np.ndarray, fill: float) -> np.ndarray:
        """Grid (dates, persons) holding ``v`` at cells (p, j) and ``fill`` elsewhere."""
        grid = np.full(self.dates * self.persons, fill, np.asarray(v).dtype)
        grid[self.flat(p, j)] = v
        return grid.reshape(self.dates, self.persons)

    def running(self, p: np.ndarray, j: np.ndarray, v: np.ndarray, op: np.ufunc, fill: int) -> np.ndarray:
        """The running ``op`` (maximum or minimum) over dates of values ``v``, at the cohort's rows."""
        return op.accumulate(self.cells(p, j, v, fill), axis=0).ravel()[self.at]


class _Windows:
    """Window values per key at the cohort's rows.

    Values of the ``keep`` key and of the last key asked for are kept (features of one key are
    neighbours in the catalogue); others are recomputed when asked for again.
    """

    def __init__(self, bands: dict[str, np.ndarray], layout: _Layout, keep: int) -> None:
        order = np.argsort(bands["key"], kind="stable")
        self.bands = {name: values[order] for name, values in bands.items()}
        ordered = self.bands["key"]
        self.keys = ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if ordered.size else ordered
        self.layout, self.keep = layout, keep
        self.cache: dict[tuple[int, str], np.ndarray] = {}

    def __call__(self, key: int, what: str = "n", cache: bool = True) -> np.ndarray:
        """(rows, windows) array: count (``n``) or summed harm_q (``harm``) per window, exact integers."""
        if (key, what) not in self.cache:
            if not cache:
                return self._compute(key, what)
            for old in [k for k in self.cache if k[0] not in (key, self.keep)]:
                del self.cache[old]
            self.cache[(key, what)] = self._compute(key, what)
        return self.cache[(key, what)]

    def _compute(self, key: int, what: str) -> np.ndarray:
        lo, hi = np.searchsorted(self.bands["key"], [key, key + 1])
        part = {name: values[lo:hi] for name, values in self.bands.items()}
        grid = self.layout.running_sum(part["p"], part["j"], part[what], part["band"])
        values = np.take(grid.reshape(-1, len(WINDOWS)), self.layout.at, axis=0)
        for band in range(1, len(WINDOWS)):  # bands -> nested windows
            values[:, band] += values[:, band - 1]
        return values

    def levels(self, base: int) -> np.ndarray:
        """The harm levels (harm_q) that occur, ascending."""
        return (self.keys[self.keys >= base] - base).astype(np.int64)


@dataclass
class _Rows:
    """Everything the catalogue's formulas read, at the cohort's rows."""

    windows: _Windows
    plan: KeyPlan
    t: np.ndarray
    last: np.ndarray
    first: np.ndarray
    has: np.ndarray
    recency: np.ndarray
    birth: np.ndarray
    _max: np.ndarray | None = None

    def window(self, feature: Feature, what: str = "n") -> np.ndarray:
        if feature.source is None:
            raise ValueError(f"{feature.name}: {feature.aggregation} needs a source of events")
        return self.windows(self.plan.sources[feature.source], what)[:, WINDOWS.index(feature.window_days)]

    def suspect(self, window: int | None, what: str = "n") -> np.ndarray:
        return self.windows(self.plan.sources[SUSPECT], what)[:, WINDOWS.index(window)]

    def harm_max(self, feature: Feature) -> np.ndarray:
        """Highest harm level present in the window (each level's count is a key of its own)."""
        if self._max is None:
            self._max = np.zeros((len(self.t), len(WINDOWS)))
            for level in self.windows.levels(self.plan.level_base):
                present = self.windows(self.plan.level_base + int(level), cache=False) > 0
                self._max[present] = level
        return self._max[:, WINDOWS.index(feature.window_days)] / 4

    def career(self) -> np.ndarray:
        return np.where(self.has, (self.last - self.first) / DAYS_PER_YEAR, 0.0)

    def trend(self, feature: Feature, what: str) -> np.ndarray:
        window = feature.window_days
        if window is None:
            raise ValueError(f"{feature.name}: a trend needs a finite window")
        recent = self.suspect(window, what)
        earlier = self.suspect(TREND_BASE_DAYS, what) - recent
        return recent - earlier * window / (TREND_BASE_DAYS - window)


def _since(r: _Rows, f: Feature, day: np.ndarray) -> np.ndarray:
    return np.where(r.has, r.t - day, f.impute)


def _free_months(r: _Rows, f: Feature) -> np.ndarray:
    months = (r.t - r.last) * 16 // DAYS_PER_MONTH_16THS
    return np.where(r.has, np.minimum(months, OFFENCE_FREE_CAP_MONTHS), f.impute)


def _copas(r: _Rows, f: Feature) -> np.ndarray:
    offences = r.suspect(None)
    with np.errstate(divide="ignore"):
        rate = np.log(offences / (10 + r.career()))
    return np.where(r.has, rate, f.impute)


def _age_at(r: _Rows, f: Feature, day: np.ndarray) -> np.ndarray:
    age = (day - r.birth) / DAYS_PER_YEAR
    return np.where(np.isnan(age), f.impute, age)


FORMULAS: dict[str, Callable[[_Rows, Feature], np.ndarray]] = {
    "count": lambda r, f: r.window(f),
    "harm_sum": lambda r, f: r.window(f, "harm") / 4,
    "harm_max": lambda r, f: r.harm_max(f),
    "harm_recency": lambda r, f: r.recency,
    "distinct_victims": lambda r, f: r.windows(r.plan.victim_key)[:, WINDOWS.index(f.window_days)],
    "distinct_subgroups": lambda r, f: r.windows(r.plan.subgroup_key)[:, WINDOWS.index(f.window_days)],
    "days_since_last": lambda r, f: _since(r, f, r.last),
    "days_since_first": lambda r, f: _since(r, f, r.first),
    "offence_free_months": _free_months,
    "career_years": lambda r, f: r.career(),
    "copas_rate": _copas,
    "trend_count": lambda r, f: r.trend(f, "n"),
    "trend_harm": lambda r, f: r.trend(f, "harm") / 4,
    "age": lambda r, f: _age_at(r, f, r.t.astype(np.float64)),
    "age_at_first": lambda r, f: _age_at(r, f, np.where(r.has, r.first, np.nan)),
}
"""How each aggregation becomes a column: the engine's half of the catalogue's definitions."""


def _recency(agg: Aggregates, layout: _Layout) -> np.ndarray:
    rec = agg.recency
    return layout.cells(rec["p"], rec["j"], rec["wharm"], 0).ravel()[layout.at] / RECENCY_DIVISOR


def _birth_days(births: pd.Series | None, people: pd.Series, pp: np.ndarray) -> np.ndarray:
    """Birth dates of the rows' persons as days since 1970 (float, nan where unknown or unused)."""
    if births is None:
        return np.full(len(pp), np.nan)
    known = births.reindex(pd.Index(people)).to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    days = np.where(np.isnat(known), np.nan, known.astype(np.int64).astype(np.float64))
    return days[pp]


def assemble(
    agg: Aggregates, features: Sequence[Feature], plan: KeyPlan, days: np.ndarray, births: pd.Series | None
) -> pd.DataFrame:
    """The feature matrix from the SQL aggregates (see :func:`features.build.build_matrix`).

    Parameters
    ----------
    agg
        Output of :func:`features.sql.aggregate`.
    features
        The active catalogue features, in column order.
    plan
        The keys the aggregates were computed with.
    days
        The as-of dates as days since 1970, ascending.
    births
        birth_date by person_id, or ``None`` when age is not used.
    """
    people = pd.Series(agg.people.to_pylist(), dtype="str")
    layout = _Layout.of_cohort(agg.cohort, len(people), len(days))
    jj, pp = np.divmod(layout.at, max(len(people), 1))
    lf = agg.last_first
    last = layout.running(lf["p"], lf["j"], lf["last"].astype(np.int64), np.maximum, np.iinfo(np.int64).min)
    rows = _Rows(
        windows=_Windows(agg.bands, layout, keep=plan.sources[SUSPECT]),
        plan=plan,
        t=days[jj].astype(np.int64),
        last=last,
        first=layout.running(
            lf["p"], lf["j"], lf["first"].astype(np.int64), np.minimum, np.iinfo(np.int64).max
        ),
        has=last > np.iinfo(np.int64).min,
        recency=_recency(agg, layout),
        birth=_birth_days(births, people, pp),
    )
    out = {
        "person_id": people.take(pp).reset_index(drop=True),
        "as_of": pd.Series(days[jj].astype("datetime64[D]").astype("datetime64[ns]")),
    }
    for f in features:
        out[f.name] = FORMULAS[f.aggregation](rows, f).astype(f.dtype)
    return pd.DataFrame(out)
