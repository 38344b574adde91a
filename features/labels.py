"""Outcome labels: what happened in the horizon after each as-of date.

A label at as-of ``T`` looks at outcome events (``event_types``, default: named as suspect) that
occurred in ``[T, T + horizon)`` and were recorded before ``observed_until`` (the run's as-of date:
nothing later is known). The binary label says whether any of them carries at least
``min_harm_days`` CCHI days (default 365: serious violence, robbery, rape, homicide and the like);
``future_harm`` sums the CCHI days of all of them. A label exists only when the whole horizon is
observed (``T + horizon <= observed_until``); other rows are marked unlabelled rather than guessed.

Vectorised over a whole panel: outcome events are sorted by (person, occurred day) with running
sums of harm and of serious outcomes, and each row reads its horizon as the difference of two
running sums (two binary searches), whatever the number of rows, persons or dates.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from features.records.schema import EVENT_TYPES

_DAY_OFFSET = 2**31  # days since 1970 shifted to be non-negative, below 2**32


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

    @field_validator("event_types")
    @classmethod
    def _known_types(cls, types: list[str]) -> list[str]:
        unknown = sorted(set(types) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"unknown event type(s) {unknown}; valid: {', '.join(EVENT_TYPES)}")
        return types


def horizon_end(as_of: pd.Timestamp, settings: LabelSettings) -> pd.Timestamp:
    """First day after the label horizon that starts at ``as_of``."""
    return pd.Timestamp(as_of) + pd.DateOffset(months=settings.horizon_months)


def _day_keys(person: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Sortable int64 keys of (person code, day): person in the high 32 bits."""
    return (person.astype(np.int64) << 32) | (day.astype(np.int64) + _DAY_OFFSET)


def _days(values: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(values, dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


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
    settings
        Outcome event types, minimum harm and horizon.
    observed_until
        Nothing recorded on or after this date is used; horizons ending after it are unlabelled.

    Returns
    -------
    DataFrame aligned with ``keys``: ``labelled`` (bool), ``label`` (Int8: 1 if a serious-harm
    outcome occurred, <NA> when unlabelled) and ``future_harm`` (CCHI days of all outcome events
    in the horizon, float64, NaN when unlabelled).
    """
    observed_until = pd.Timestamp(observed_until)
    as_of = pd.DatetimeIndex(keys["as_of"])
    dates = as_of.unique()
    ends = pd.DatetimeIndex([horizon_end(d, settings) for d in dates])
    end = ends[dates.get_indexer(as_of)]
    labelled = np.asarray(end <= observed_until)

    chosen = events["event_type"].isin(settings.event_types) & (events["recorded_date"] < observed_until)
    outcome = events.loc[chosen, ["person_id", "occurred_date", "harm_q"]]
    people = pd.Index(keys["person_id"].astype("str").unique())
    code = people.get_indexer(outcome["person_id"].astype("str"))
    known = code >= 0
    order_keys = _day_keys(code[known], _days(outcome["occurred_date"])[known])
    order = np.argsort(order_keys, kind="stable")
    sorted_keys = order_keys[order]
    harm_q = outcome["harm_q"].to_numpy(np.int64)[known][order]
    running_harm = np.concatenate([[0], np.cumsum(harm_q)])
    serious = harm_q >= math.ceil(settings.min_harm_days * 4)
    running_serious = np.concatenate([[0], np.cumsum(serious)])

    row_person = people.get_indexer(keys["person_id"].astype("str"))
    lo = np.searchsorted(sorted_keys, _day_keys(row_person, _days(as_of)), "left")
    hi = np.searchsorted(sorted_keys, _day_keys(row_person, _days(end)), "left")
    label = (running_serious[hi] - running_serious[lo]) > 0
    harm = (running_harm[hi] - running_harm[lo]) / 4.0

    out = pd.DataFrame(index=keys.index)
    out["labelled"] = labelled
    out["label"] = pd.arrays.IntegerArray(np.where(labelled, label, 0).astype(np.int8), ~labelled)
    out["future_harm"] = np.where(labelled, harm, np.nan)
    return out
