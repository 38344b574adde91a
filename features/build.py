"""Point-in-time feature engine: the feature matrix the model, explanations and audit rest on.

As-of semantics: at as-of date ``T`` only events with ``recorded_date < T`` exist; windows are
measured back from ``T`` on ``occurred_date``. The cohort at ``T`` is everyone with an event of
the cohort types (default: named as suspect) that occurred in the ``cohort_lookback_days`` before
``T``. One call builds one as-of date or a whole panel of them in a single pass over the events
(:mod:`features.sql`), then :mod:`features.assemble` turns the aggregates into the matrix.
The protected table is never an argument here: it cannot reach the matrix.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, field_validator

from features import sql
from features.assemble import KeyPlan, assemble, plan_keys
from features.catalogue import active_features
from features.catalogue_types import (
    CATEGORIES,
    CATEGORY_SLUGS,
    OTHER_CATEGORY,
    SUSPECT_EVENTS,
    WINDOWS,
    Feature,
    category_slug,
    recency_weights,
)
from features.records.schema import EVENT_TYPES
from features.spark import SparkEngine, SparkSettings

log = logging.getLogger(__name__)


class FeatureSettings(BaseModel):
    """Settings of the feature engine and the cohort it scores."""

    model_config = ConfigDict(extra="forbid")

    cohort_event_types: list[str] = Field(
        ["crime_suspect"],
        min_length=1,
        description="Cohort: persons with an event of these types (default: named as suspect) ...",
    )
    cohort_lookback_days: int = Field(
        1095, gt=0, description="... that occurred within this many days before the as-of date."
    )
    harm_half_life_days: int = Field(
        365,
        gt=0,
        le=3650,
        description="Half-life in days of the recency-weighted harm (suspect_harm_recency).",
    )
    use_age: bool = Field(
        False,
        description="Policy switch: age at the as-of date and age at the first offence as model inputs. "
        "Age is a protected characteristic (Equality Act 2010); the equality report states this setting.",
    )
    use_victimisation: bool = Field(
        False,
        description="Policy switch: times recorded as a victim as model inputs. Off by default: a "
        "victim's own reports raising their score could deter reporting, and DPA 2018 Part 3 keeps "
        "victims and suspects as distinct categories.",
    )
    use_police_activity: bool = Field(
        False,
        description="Policy switch: counts of stop-and-search and intelligence records as model inputs. "
        "They record what the police did, not what the person is alleged to have done, and where the "
        "police look is itself unequal; off by default (measured in bench/policy.py, reasons in the "
        "README).",
    )
    threads: int = Field(2, ge=1, description="DuckDB threads; the matrix does not depend on it.")
    engine: Literal["duckdb", "spark"] = Field(
        "duckdb",
        description="Where the feature SQL runs: duckdb (in this process) or spark (a Spark session, "
        "see spark; needs pip install 'harmrank[spark]'). Both give the same matrix (docs/scale-out.md).",
    )
    spark: SparkSettings = Field(
        default_factory=SparkSettings,
        description="The Spark session: master, remote (Spark Connect) and conf.",
    )

    def policies(self) -> dict[str, bool]:
        """The policy switches by name."""
        return {
            "use_age": self.use_age,
            "use_victimisation": self.use_victimisation,
            "use_police_activity": self.use_police_activity,
        }

    @field_validator("cohort_event_types")
    @classmethod
    def _known_types(cls, types: list[str]) -> list[str]:
        unknown = sorted(set(types) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"unknown event type(s) {unknown}; valid: {', '.join(EVENT_TYPES)}")
        return types


def _codes(values: pd.Series, categories: Sequence[str]) -> np.ndarray:
    """Position of each value in ``categories`` (int16), -1 where missing or not listed."""
    if isinstance(values.dtype, pd.CategoricalDtype) and list(values.cat.categories) == list(categories):
        return values.cat.codes.to_numpy().astype(np.int16)
    array = pa.array(values.astype("str") if values.dtype != "str" else values, from_pandas=True)
    found = pc.index_in(array, value_set=pa.array(list(categories), pa.large_string()))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int16)


def _category(codes: np.ndarray, categories: Sequence[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(categories))


def _days(values: pd.Series) -> np.ndarray:
    """Dates as whole days since 1970-01-01 (int32)."""
    days = values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    if np.isnat(days).any():
        raise ValueError(f"{values.name} is missing in some events; validate the records first")
    return days.astype(np.int32)


def prepare_events(events: pd.DataFrame, offences: pd.DataFrame) -> pd.DataFrame:
    """Keep the columns features and labels need, and join each event to its offence's harm and kind.

    Parameters
    ----------
    events
        Validated events (``Records.events``); domestic, weapon and victim_id may be absent.
    offences
        The offence catalogue (offence_code, subgroup, category, harm_q).

    Returns
    -------
    DataFrame with person_id, event_type (categorical over ``EVENT_TYPES``), offence_code
    (categorical over the catalogue's codes), occurred_date, recorded_date, victim_id, domestic,
    weapon, ``harm_q`` (CCHI days x 4, int64; 0 where the event has no offence), ``category``
    (categorical over the catalogue slugs :data:`~features.catalogue.CATEGORY_SLUGS`) and
    ``subgroup`` (categorical over the catalogue's subgroups).

    Raises
    ------
    ValueError
        If an event type is not one of ``EVENT_TYPES`` (validated records never have one).
    """
    codes = offences["offence_code"].astype("str").tolist()
    types = _codes(events["event_type"], EVENT_TYPES)
    if (types < 0).any():
        bad = sorted(set(events.loc[types < 0, "event_type"].astype("str")))
        raise ValueError(f"unknown event type(s) {bad}; validate the records first")
    which = _codes(events["offence_code"], codes)
    has = which >= 0
    take = np.where(has, which, 0)
    slugs = [category_slug(c) for c in offences["category"]]
    other_name = next(name for slug, name, _ in CATEGORIES if slug == OTHER_CATEGORY).casefold()
    unlisted = {str(c) for c, s in zip(offences["category"], slugs, strict=True) if s == OTHER_CATEGORY}
    unlisted = {c for c in unlisted if c.strip().casefold() != other_name}
    if unlisted:
        log.info("offence categories counted as 'other': %s", ", ".join(sorted(unlisted)))
    slug_codes = np.array([CATEGORY_SLUGS.index(s) for s in slugs], dtype=np.int16)
    subgroups = sorted(set(offences["subgroup"].astype("str")))
    sub_codes = np.array([subgroups.index(s) for s in offences["subgroup"].astype("str")], dtype=np.int16)
    n = len(events)
    out = pd.DataFrame(
        {
            "person_id": events["person_id"],
            "event_type": _category(types, EVENT_TYPES),
            "offence_code": _category(np.where(has, which, -1), codes),
            "occurred_date": events["occurred_date"],
            "recorded_date": events["recorded_date"],
            "victim_id": events["victim_id"] if "victim_id" in events else pd.Series([None] * n, dtype="str"),
            "domestic": events["domestic"].to_numpy(bool) if "domestic" in events else np.zeros(n, bool),
            "weapon": events["weapon"].to_numpy(bool) if "weapon" in events else np.zeros(n, bool),
            "harm_q": np.where(has, offences["harm_q"].to_numpy(np.int64)[take], 0),
            "category": _category(np.where(has, slug_codes[take], -1), CATEGORY_SLUGS),
            "subgroup": _category(np.where(has, sub_codes[take], -1), subgroups),
        },
        index=events.index,
    )
    return out


def _event_table(events: pd.DataFrame) -> pa.Table:
    """The columns the SQL reads, as integers where possible (dates are days since 1970)."""
    sub = events["subgroup"]
    sub_codes = (
        sub.cat.codes.to_numpy() if isinstance(sub.dtype, pd.CategoricalDtype) else pd.factorize(sub)[0]
    )
    person = events["person_id"]
    return pa.table(
        {
            "person_id": pa.array(
                person if person.dtype == "str" else person.astype("str"), from_pandas=True
            ),
            "type": _codes(events["event_type"], EVENT_TYPES).astype(np.int8),
            "cat": _codes(events["category"], CATEGORY_SLUGS).astype(np.int8),
            "subgroup": sub_codes.astype(np.int16),
            "harm_q": events["harm_q"].to_numpy(np.int32),
            "occ": _days(events["occurred_date"]),
            "rec": _days(events["recorded_date"]),
            "domestic": events["domestic"].to_numpy(bool),
            "weapon": events["weapon"].to_numpy(bool),
            "victim": pa.array(events["victim_id"].astype("str"), from_pandas=True),
        }
    )


def _type_table(types: Collection[str]) -> pa.Table:
    return pa.table({"type": np.array(sorted(EVENT_TYPES.index(t) for t in set(types)), dtype=np.int8)})


def _small_tables(
    days: np.ndarray, settings: FeatureSettings, features: Sequence[Feature]
) -> dict[str, pa.Table]:
    """The date, band, weight and type lookup tables the SQL joins to."""
    edges = np.array([w for w in WINDOWS if w is not None], dtype=np.int32)
    lookup = np.arange(days[0] - 1, days[-1] + 1, dtype=np.int32)
    ages = np.arange(edges[-1] + 2, dtype=np.int32)
    weights = recency_weights(settings.harm_half_life_days)
    used = {t for f in features if f.source is not None for t in f.source.event_types} | set(SUSPECT_EVENTS)
    return {
        "dates": pa.table({"j": np.arange(len(days), dtype=np.int32), "t": days}),
        "day_index": pa.table({"day": lookup, "k": np.searchsorted(days, lookup, "right").astype(np.int32)}),
        "age_band": pa.table({"age": ages, "band": np.searchsorted(edges, ages, "left").astype(np.int8)}),
        "edges": pa.table({"b": np.arange(len(edges), dtype=np.int8), "w": edges}),
        "weights": pa.table({"age": np.arange(len(weights), dtype=np.int32), "wq": weights}),
        "cohort_types": _type_table(settings.cohort_event_types),
        "used_types": _type_table(used),
        "item_types": _type_table(SUSPECT_EVENTS),
    }


def _params(days: np.ndarray, settings: FeatureSettings, plan: KeyPlan) -> dict[str, int]:
    widest = max(w for w in WINDOWS if w is not None)
    return {
        "n": len(days),
        "lo": int(days[0]) - 1,
        "hi": int(days[-1]),
        "lookback": settings.cohort_lookback_days,
        "cap": widest + 1,
        "widest": widest,
        # an event moves to a wider band at a later date index only if occ + widest >= T_0 (and n > 1)
        "movable": int(days[0]) if len(days) > 1 else np.iinfo(np.int32).max,
        "oldest": len(recency_weights(settings.harm_half_life_days)) - 1,
        "victim_key": plan.victim_key,
        "subgroup_key": plan.subgroup_key,
    }


def _as_of_days(as_of_dates: Sequence[date | pd.Timestamp]) -> np.ndarray:
    stamps = pd.DatetimeIndex([pd.Timestamp(d) for d in as_of_dates])
    if (stamps != stamps.normalize()).any():
        raise ValueError("as-of dates must be whole days (midnight)")
    return np.unique(stamps.to_numpy().astype("datetime64[D]").astype(np.int32))


def _engine(settings: FeatureSettings) -> sql.SqlEngine:
    if settings.engine == "spark":
        return SparkEngine(settings.spark)
    return sql.DuckDBEngine(settings.threads)


def build_matrix(
    events: pd.DataFrame,
    persons: pd.DataFrame,
    as_of_dates: Sequence[date | pd.Timestamp],
    settings: FeatureSettings,
) -> pd.DataFrame:
    """The feature matrix for every as-of date, in one pass over the events.

    Parameters
    ----------
    events
        Output of :func:`prepare_events`.
    persons
        person_id and birth_date (read only when ``use_age`` is on); other columns are ignored.
    as_of_dates
        As-of dates (whole days, any order, duplicates ignored).
    settings
        Cohort, recency half-life, policy switches and threads.

    Returns
    -------
    DataFrame with person_id (str), as_of (datetime64) and one column per active catalogue feature
    (:func:`model_feature_names`), typed as the catalogue declares, with declared imputations
    applied; one row per cohort member and date, sorted by as_of then person_id.
    """
    features = active_features(**settings.policies())
    days = _as_of_days(as_of_dates)
    if len(days) == 0:
        raise ValueError("no as-of date given")
    plan = plan_keys(features)
    aggregates = sql.aggregate(
        {"events": _event_table(events), **_small_tables(days, settings, features)},
        _params(days, settings, plan),
        plan.keymap,
        _engine(settings),
    )
    births = None  # only the age features read persons, and only the birth date
    if settings.use_age:
        dates = persons["birth_date"] if "birth_date" in persons else pd.Series(pd.NaT, index=persons.index)
        births = pd.Series(dates.to_numpy(), index=persons["person_id"].astype("str"))
    return assemble(aggregates, features, plan, days, births)


def features_at(
    events: pd.DataFrame,
    persons: pd.DataFrame,
    as_of: date | pd.Timestamp,
    settings: FeatureSettings,
) -> pd.DataFrame:
    """The feature matrix at one as-of date (see :func:`build_matrix`), sorted by person_id."""
    return build_matrix(events, persons, [as_of], settings)


def model_feature_names(settings: FeatureSettings) -> list[str]:
    """The columns of the matrix that are model inputs, in catalogue order."""
    return [f.name for f in active_features(**settings.policies())]
