"""Point-in-time feature engine: the feature matrix the model, explanations and audit rest on.

As-of semantics: at as-of date ``T`` only events with ``recorded_date < T`` exist;
windows are measured back from ``T`` on ``occurred_date``. The cohort at ``T`` is
everyone named as suspect (occurred) in the ``cohort_lookback_days`` before ``T``.
The protected table is never an argument here: it cannot reach the matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from features.catalogue import CATALOGUE, SUSPECT_EVENTS, Feature


class FeatureSettings(BaseModel):
    """Settings of the feature engine and the cohort it scores."""

    model_config = ConfigDict(extra="forbid")

    cohort_lookback_days: int = Field(
        1095,
        gt=0,
        description="Cohort: persons named as suspect within this many days before the as-of date.",
    )
    use_age: bool = Field(
        False,
        description="Policy switch: add age at the as-of date as a model input. Age is a protected "
        "characteristic (Equality Act 2010); the equality report states this setting.",
    )


def prepare_events(events: pd.DataFrame, offences: pd.DataFrame) -> pd.DataFrame:
    """Join each event to its CCHI harm, as whole quarter-days, keeping only what features need.

    Returns
    -------
    DataFrame with person_id, event_type, occurred_date, recorded_date and ``harm_q``
    (CCHI days x 4, int64; 0 where the event has no offence).
    """
    harm = offences.set_index("offence_code")["harm_q"]
    out = events[["person_id", "event_type", "offence_code", "occurred_date", "recorded_date"]].copy()
    out["harm_q"] = out["offence_code"].map(harm).fillna(0).astype("int64")
    return out.drop(columns="offence_code")


def cohort_at(events: pd.DataFrame, as_of: pd.Timestamp, settings: FeatureSettings) -> np.ndarray:
    """Sorted person_ids named as suspect within the look-back window and known before ``as_of``."""
    start = as_of - pd.Timedelta(days=settings.cohort_lookback_days)
    mask = (
        events["event_type"].isin(SUSPECT_EVENTS)
        & (events["recorded_date"] < as_of)
        & (events["occurred_date"] >= start)
    )
    return np.sort(events.loc[mask, "person_id"].unique())


def _aggregate(known: pd.DataFrame, feature: Feature, as_of: pd.Timestamp) -> pd.Series:
    """One feature's value per person from the events known at ``as_of``."""
    rows = known[known["event_type"].isin(feature.event_types)]
    if feature.window_days is not None:
        rows = rows[rows["occurred_date"] >= as_of - pd.Timedelta(days=feature.window_days)]
    grouped = rows.groupby("person_id", sort=True)
    if feature.aggregation == "count":
        return grouped.size().astype("float64")
    if feature.aggregation == "harm_sum":
        return grouped["harm_q"].sum() / 4.0
    if feature.aggregation == "days_since_last":
        return (as_of - grouped["occurred_date"].max()).dt.days.astype("float64")
    raise ValueError(f"unknown aggregation {feature.aggregation!r}")


def features_at(
    events: pd.DataFrame,
    persons: pd.DataFrame,
    as_of: date | pd.Timestamp,
    settings: FeatureSettings,
) -> pd.DataFrame:
    """Feature rows for the cohort at one as-of date.

    Parameters
    ----------
    events
        Output of :func:`prepare_events`.
    persons
        The validated persons table (person_id, birth_date).
    as_of
        The as-of date; records with ``recorded_date >= as_of`` are invisible.

    Returns
    -------
    DataFrame with person_id, as_of and one float64 column per catalogue feature
    (plus ``age`` when the policy switch is on), sorted by person_id.
    """
    as_of = pd.Timestamp(as_of)
    cohort = cohort_at(events, as_of, settings)
    known = events[events["recorded_date"] < as_of]
    known = known[known["person_id"].isin(cohort)]
    out = pd.DataFrame({"person_id": pd.Series(cohort, dtype="str")})
    out["as_of"] = as_of
    index = pd.Index(cohort)
    for feature in CATALOGUE:
        values = _aggregate(known, feature, as_of).reindex(index)
        out[feature.name] = values.fillna(feature.impute).to_numpy(dtype="float64")
    if settings.use_age:
        births = persons.set_index("person_id")["birth_date"].reindex(index)
        out["age"] = ((as_of - births).dt.days / 365.25).to_numpy(dtype="float64")
    return out


def build_matrix(
    events: pd.DataFrame,
    persons: pd.DataFrame,
    as_of_dates: Sequence[date | pd.Timestamp],
    settings: FeatureSettings,
) -> pd.DataFrame:
    """Feature rows for every as-of date, stacked in date order then person order."""
    frames = [features_at(events, persons, as_of, settings) for as_of in as_of_dates]
    return pd.concat(frames, ignore_index=True)


def model_feature_names(settings: FeatureSettings) -> list[str]:
    """The columns of the matrix that are model inputs, in a fixed order."""
    names = [f.name for f in CATALOGUE]
    if settings.use_age:
        names.append("age")
    return names
