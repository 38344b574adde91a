"""The reference feature implementation: plain pandas, one as-of date and one feature at a time.

It reads each catalogue declaration literally (filter the known events by source and window,
group by person, aggregate) and is slow on purpose: it exists so the fast engine
(:mod:`features.build`) can be checked against it exactly (``tests/features/test_reference.py``)
and so the benchmark can state a speed-up. It shares only the catalogue with the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from features.build import FeatureSettings
from features.catalogue import active_features
from features.catalogue_types import (
    DAYS_PER_MONTH_16THS,
    DAYS_PER_YEAR,
    OFFENCE_FREE_CAP_MONTHS,
    RECENCY_DIVISOR,
    SUSPECT,
    TREND_BASE_DAYS,
    Feature,
    Source,
    recency_weights,
)


def _select(known: pd.DataFrame, source: Source) -> pd.DataFrame:
    rows = known[known["event_type"].isin(source.event_types)]
    if source.category is not None:
        rows = rows[rows["category"] == source.category]
    if source.flag is not None:
        rows = rows[rows[source.flag]]
    return rows


def _within(rows: pd.DataFrame, as_of: pd.Timestamp, window: int | None) -> pd.DataFrame:
    """Events that occurred at most ``window`` days before ``as_of`` (all of them for ``None``)."""
    if window is None:
        return rows
    return rows[(as_of - rows["occurred_date"]).dt.days <= window]


class _Person:
    """Per-person aggregates over one as-of date's known events, reindexed to the cohort."""

    def __init__(self, known: pd.DataFrame, cohort: pd.Index, as_of: pd.Timestamp) -> None:
        self.known, self.cohort, self.as_of = known, cohort, as_of

    def rows(self, source: Source | None, window: int | None = None) -> pd.DataFrame:
        return _within(_select(self.known, source or SUSPECT), self.as_of, window)

    def agg(self, rows: pd.DataFrame, column: str, how: str, fill: float) -> pd.Series:
        grouped = rows.groupby("person_id", observed=True)[column].agg(how)
        return grouped.reindex(self.cohort).fillna(fill)

    def count(self, source: Source | None, window: int | None) -> pd.Series:
        return self.agg(self.rows(source, window), "harm_q", "size", 0).astype(np.int64)

    def harm_q(self, window: int | None) -> pd.Series:
        return self.agg(self.rows(SUSPECT, window), "harm_q", "sum", 0).astype(np.int64)

    def occurred(self, how: str) -> pd.Series:
        return self.agg(self.rows(SUSPECT), "occurred_date", how, np.nan)


def _value(f: Feature, p: _Person, births: pd.Series, half_life: int) -> pd.Series:
    """One feature for the cohort, straight from its declaration."""
    as_of, w = p.as_of, f.window_days
    kind = f.aggregation
    if kind == "count":
        return p.count(f.source, w)
    if kind == "harm_sum":
        return p.harm_q(w) / 4
    if kind == "harm_max":
        return p.agg(p.rows(SUSPECT, w), "harm_q", "max", 0) / 4
    if kind == "harm_recency":
        rows = p.rows(SUSPECT)
        weights = recency_weights(half_life)
        ages = (as_of - rows["occurred_date"]).dt.days.clip(0, len(weights) - 1)
        weighted = rows.assign(w=rows["harm_q"] * weights[ages.to_numpy()])
        return p.agg(weighted, "w", "sum", 0).astype(np.int64) / RECENCY_DIVISOR
    if kind in ("distinct_victims", "distinct_subgroups"):
        column = "victim_id" if kind == "distinct_victims" else "subgroup"
        return p.agg(p.rows(SUSPECT, w).dropna(subset=[column]), column, "nunique", 0)
    last, first = p.occurred("max"), p.occurred("min")
    never = last.isna()
    since_last = (as_of - last).dt.days
    career = ((last - first).dt.days / DAYS_PER_YEAR).where(~never, 0.0)
    if kind == "days_since_last":
        return since_last.where(~never, f.impute)
    if kind == "days_since_first":
        return (as_of - first).dt.days.where(~never, f.impute)
    if kind == "offence_free_months":
        return (
            (since_last * 16 // DAYS_PER_MONTH_16THS)
            .clip(upper=OFFENCE_FREE_CAP_MONTHS)
            .where(~never, f.impute)
        )
    if kind == "career_years":
        return career
    if kind == "copas_rate":
        with np.errstate(divide="ignore"):
            return np.log(p.count(SUSPECT, None) / (10 + career)).where(~never, f.impute)
    if kind in ("trend_count", "trend_harm"):
        if w is None:
            raise ValueError(f"{f.name}: a trend needs a finite window")
        if kind == "trend_count":
            recent, year = p.count(SUSPECT, w), p.count(SUSPECT, TREND_BASE_DAYS)
            return recent - (year - recent) * w / (TREND_BASE_DAYS - w)
        recent, year = p.harm_q(w), p.harm_q(TREND_BASE_DAYS)
        return (recent - (year - recent) * w / (TREND_BASE_DAYS - w)) / 4
    born = births.reindex(p.cohort)
    if kind == "age":
        return ((as_of - born).dt.days / DAYS_PER_YEAR).fillna(f.impute)
    if kind == "age_at_first":
        return ((first - born).dt.days / DAYS_PER_YEAR).fillna(f.impute)
    raise ValueError(f"unknown aggregation {kind!r}")


def reference_features_at(
    events: pd.DataFrame, persons: pd.DataFrame, as_of: date | pd.Timestamp, settings: FeatureSettings
) -> pd.DataFrame:
    """The feature matrix at one as-of date, computed the slow, literal way.

    Same contract as :func:`features.build.features_at`: ``events`` from
    :func:`features.build.prepare_events`, rows sorted by person_id.
    """
    as_of = pd.Timestamp(as_of)
    known = events[events["recorded_date"] < as_of]
    qualifying = known[known["event_type"].isin(settings.cohort_event_types)]
    qualifying = _within(qualifying, as_of, settings.cohort_lookback_days)
    cohort = pd.Index(sorted(qualifying["person_id"].astype("str").unique()), dtype="str")
    columns = ["person_id", "event_type", "category", "subgroup", "victim_id", "domestic", "weapon"]
    known = known.loc[known["person_id"].isin(cohort), [*columns, "harm_q", "occurred_date"]]
    known = known.assign(person_id=known["person_id"].astype("str"))
    person = _Person(known, cohort, as_of)
    births = persons.set_index("person_id")["birth_date"]
    out = {"person_id": pd.Series(cohort, dtype="str"), "as_of": pd.Series(as_of, index=range(len(cohort)))}
    for f in active_features(**settings.policies()):
        values = _value(f, person, births, settings.harm_half_life_days)
        out[f.name] = values.to_numpy().astype(f.dtype)
    return pd.DataFrame(out).astype({"as_of": "datetime64[ns]"})


def reference_matrix(
    events: pd.DataFrame,
    persons: pd.DataFrame,
    as_of_dates: Sequence[date | pd.Timestamp],
    settings: FeatureSettings,
) -> pd.DataFrame:
    """:func:`reference_features_at` for each date, stacked in date order."""
    dates = sorted({pd.Timestamp(d) for d in as_of_dates})
    frames = [reference_features_at(events, persons, d, settings) for d in dates]
    return pd.concat(frames, ignore_index=True)
