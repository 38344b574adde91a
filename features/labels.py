"""Outcome labels: what happened in the horizon after each as-of date.

A label at as-of ``T`` looks at events that occurred in ``[T, T + horizon)`` and were
recorded before ``observed_until`` (the run's as-of date: nothing later is known).
A label exists only when the whole horizon is observed (``T + horizon <= observed_until``);
other rows are marked unlabelled rather than guessed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field


class LabelSettings(BaseModel):
    """What counts as the serious-harm outcome."""

    model_config = ConfigDict(extra="forbid")

    event_types: list[str] = Field(
        ["crime_suspect"], min_length=1, description="Event types that count as the outcome."
    )
    min_harm_days: float = Field(
        365, ge=0, description="Minimum CCHI days of an offence for it to count as serious harm."
    )
    horizon_months: int = Field(
        12, gt=0, description="How far after the as-of date the outcome is looked for."
    )


def horizon_end(as_of: pd.Timestamp, settings: LabelSettings) -> pd.Timestamp:
    """First day after the label horizon that starts at ``as_of``."""
    return pd.Timestamp(as_of) + pd.DateOffset(months=settings.horizon_months)


def build_labels(
    keys: pd.DataFrame,
    events: pd.DataFrame,
    settings: LabelSettings,
    observed_until: pd.Timestamp,
) -> pd.DataFrame:
    """Labels for each (person_id, as_of) row of ``keys``.

    Parameters
    ----------
    keys
        person_id and as_of columns (for example the feature matrix).
    events
        Output of :func:`features.build.prepare_events` (has ``harm_q``).
    observed_until
        Nothing recorded on or after this date is used; horizons ending after it are unlabelled.

    Returns
    -------
    DataFrame aligned with ``keys``: ``labelled`` (bool), ``label`` (Int8: 1 if a serious-harm
    outcome occurred, <NA> when unlabelled) and ``future_harm`` (CCHI days of all outcome-type
    events in the horizon, float64, NaN when unlabelled).
    """
    observed_until = pd.Timestamp(observed_until)
    ev = events[events["event_type"].isin(settings.event_types) & (events["recorded_date"] < observed_until)]
    serious_q = round(settings.min_harm_days * 4)
    out = pd.DataFrame(index=keys.index)
    out["labelled"] = False
    out["label"] = pd.array([pd.NA] * len(keys), dtype="Int8")
    out["future_harm"] = np.nan
    for as_of in keys["as_of"].unique():
        as_of = pd.Timestamp(as_of)
        end = horizon_end(as_of, settings)
        rows = keys.index[keys["as_of"] == as_of]
        if end > observed_until:
            continue
        window = ev[(ev["occurred_date"] >= as_of) & (ev["occurred_date"] < end)]
        harm = window.groupby("person_id")["harm_q"].sum()
        serious = window.loc[window["harm_q"] >= serious_q, "person_id"].unique()
        people = keys.loc[rows, "person_id"]
        out.loc[rows, "labelled"] = True
        out.loc[rows, "label"] = people.isin(serious).astype("int8").to_numpy()
        out.loc[rows, "future_harm"] = (people.map(harm).fillna(0) / 4.0).to_numpy()
    return out
