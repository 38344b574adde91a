"""Label bias on the synthetic world: recorded against true offending, and the list against the oracle.

The model learns from what was recorded (named as suspect), not from what happened. On the synthetic
world the truth is known, so two checks show reviewers what label bias looks like:

- :func:`recording_rates`: by group, the share of rows whose person truly committed a serious
  offence in the horizon (recorded or not) against the share labelled. With the recording bias on,
  the bias group's ``recorded_to_true`` is higher than the others' at the same true rate.
- :func:`selection_vs_oracle`: by group, the share of the model's monthly top-k against the share
  of the top-k by true propensity (:func:`true_propensity`: the chance of truly committing a serious
  offence in the horizon, recorded or not). :func:`features.synthetic.oracle_risk` is the other
  oracle: the chance of being *recorded* for one, so it carries the recording bias and is the best
  a model of the recorded label can do, not the fair benchmark.

Evaluation only: the truth frames are passed in by a benchmark or a test, never by the pipeline,
and nothing here becomes a model input. Pure functions, no file I/O.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairness.mitigation import listed

RECORDING_COLUMNS = ["characteristic", "group", "n", "true_rate", "recorded_rate", "recorded_to_true"]
SELECTION_COLUMNS = ["characteristic", "group", "model_share", "oracle_share", "ratio"]


def _days(values: pd.Series | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def true_outcome(
    rows: pd.DataFrame,
    truth_offences: pd.DataFrame,
    offences: pd.DataFrame,
    min_harm_days: float,
    horizon_months: int,
) -> np.ndarray:
    """Bool per row: the person truly committed an offence of at least ``min_harm_days`` CCHI days that
    occurred in ``[as_of, as_of + horizon_months)``, whether or not it was ever recorded.

    Parameters
    ----------
    rows
        person_id and as_of per row (n rows).
    truth_offences
        Every true offence: person_id, offence_code, occurred_date (``World.truth["offences"]``).
    offences
        The offence catalogue: offence_code, harm_days.
    """
    harm = offences.set_index(offences["offence_code"].astype("str"))["harm_days"]
    codes = truth_offences["offence_code"].astype("str")
    serious = truth_offences[(codes.map(harm).fillna(0.0) >= min_harm_days).to_numpy()]
    people = pd.Index(rows["person_id"].astype("str").unique())
    who = people.get_indexer(serious["person_id"].astype("str"))
    known = who >= 0
    keys = np.sort((who[known].astype(np.int64) << 32) | (_days(serious["occurred_date"])[known] + 2**31))
    as_of = pd.DatetimeIndex(pd.to_datetime(rows["as_of"]))
    end = as_of + pd.DateOffset(months=horizon_months)
    row_person = people.get_indexer(rows["person_id"].astype("str")).astype(np.int64) << 32
    lo = np.searchsorted(keys, row_person | (_days(as_of) + 2**31), "left")
    hi = np.searchsorted(keys, row_person | (_days(end) + 2**31), "left")
    return hi > lo


def true_propensity(monthly: pd.DataFrame, as_of: pd.Timestamp, horizon_months: int) -> pd.DataFrame:
    """Each offender's chance of truly committing at least one serious offence in the horizon.

    Parameters
    ----------
    monthly
        ``World.truth["monthly"]``: person_id, month (first day), serious_rate (expected true offences
        of 365+ CCHI days in the month).
    as_of
        First day of the horizon (a month start: whole months are summed).

    Returns
    -------
    DataFrame with person_id (str) and true_risk = 1 - exp(-expected serious offences in
    ``[as_of, as_of + horizon_months)``), one row per person in ``monthly``; persons absent from it
    (the non-offender class) have no true risk (0).
    """
    start = pd.Timestamp(as_of)
    end = start + pd.DateOffset(months=horizon_months)
    month = pd.to_datetime(monthly["month"])
    inside = ((month >= start) & (month < end)).to_numpy()
    people = monthly["person_id"].astype("str").to_numpy()
    expected = (
        pd.Series(monthly["serious_rate"].to_numpy(dtype="float64")[inside])
        .groupby(people[inside], sort=True)
        .sum()
    )
    every = pd.Index(np.unique(people))
    risk = -np.expm1(-expected.reindex(every, fill_value=0.0).to_numpy())
    return pd.DataFrame({"person_id": every.astype("str"), "true_risk": risk})


def recording_rates(
    rows: pd.DataFrame,
    groups: pd.DataFrame,
    truth_offences: pd.DataFrame,
    offences: pd.DataFrame,
    min_harm_days: float,
    horizon_months: int,
) -> pd.DataFrame:
    """True against recorded serious-harm rates by group.

    Parameters
    ----------
    rows
        person_id, as_of and label (0/1: the recorded outcome) per row, e.g. the labelled matrix.
    groups
        Same index as ``rows``: one str column per characteristic.
    truth_offences, offences, min_harm_days, horizon_months
        See :func:`true_outcome`; use the label's own ``min_harm_days`` and ``horizon_months``.

    Returns
    -------
    DataFrame with columns ``RECORDING_COLUMNS``: n (rows, i.e. person-months), true_rate (share with
    a true serious offence in the horizon), recorded_rate (share labelled 1) and recorded_to_true
    (their ratio; NaN when true_rate is 0). Characteristics in ``groups`` column order, groups sorted.
    """
    truth = true_outcome(rows, truth_offences, offences, min_harm_days, horizon_months)
    label = rows["label"].to_numpy(dtype="float64")
    frames = []
    for name in groups.columns:
        frame = pd.DataFrame({"group": groups[name].astype("str").to_numpy(), "t": truth, "r": label})
        table = frame.groupby("group", sort=True).agg(
            n=("t", "size"), true_rate=("t", "mean"), recorded_rate=("r", "mean")
        )
        table.insert(0, "characteristic", str(name))
        frames.append(table.reset_index())
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RECORDING_COLUMNS)
    out["recorded_to_true"] = out["recorded_rate"] / out["true_rate"].where(out["true_rate"] > 0)
    return out.reindex(columns=RECORDING_COLUMNS).astype({"n": "int64", "true_rate": "float64"})


def selection_vs_oracle(
    predictions: pd.DataFrame, groups: pd.DataFrame, score_col: str, oracle_col: str, k: int
) -> pd.DataFrame:
    """Each group's share of the model's top-k against its share of the oracle's top-k.

    Parameters
    ----------
    predictions
        person_id, as_of (optional: one list without it), ``score_col`` and ``oracle_col`` (true
        propensity, e.g. ``oracle_risk``), higher first; ties broken by person_id.
    groups
        Same index as ``predictions``: one str column per characteristic.
    k
        List length per month; both lists are pooled over months.

    Returns
    -------
    DataFrame with columns ``SELECTION_COLUMNS``: model_share and oracle_share (shares of the pooled
    lists, summing to 1 per characteristic) and ratio = model_share / oracle_share (NaN when the
    oracle lists nobody of the group; > 1: the model lists the group more than true propensity does).
    """
    frame = predictions[["person_id"]].copy()
    frame["as_of"] = predictions["as_of"].to_numpy() if "as_of" in predictions else pd.Timestamp(0)
    none = np.zeros(len(frame))
    model = listed(frame, predictions[score_col].to_numpy(dtype="float64"), none, k)
    oracle = listed(frame, predictions[oracle_col].to_numpy(dtype="float64"), none, k)
    frames = []
    for name in groups.columns:
        table = pd.DataFrame({"group": groups[name].astype("str").to_numpy(), "m": model, "o": oracle})
        sums = table.groupby("group", sort=True)[["m", "o"]].sum().astype("float64")
        shares = sums / sums.sum()
        out = pd.DataFrame(
            {
                "characteristic": str(name),
                "group": shares.index,
                "model_share": shares["m"].to_numpy(),
                "oracle_share": shares["o"].to_numpy(),
            }
        )
        frames.append(out)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SELECTION_COLUMNS)
    out["ratio"] = out["model_share"] / out["oracle_share"].where(out["oracle_share"] > 0)
    return out.reindex(columns=SELECTION_COLUMNS)
