"""Label bias on the synthetic world: recorded against true offending, and the list against the oracle.

The model learns from what was recorded (named as suspect), not from what happened. On the synthetic
world the truth is known, so two checks show reviewers what label bias looks like:

- :func:`recording_rates`: by group, the share of rows whose person truly committed a serious
  offence in the horizon (recorded or not) against the share labelled. With the recording bias on,
  the bias group's ``recorded_to_true`` is higher than the others' at the same true rate.
- :func:`selection_vs_oracle`: by group, the share of the model's monthly top-k against the share
  of the top-k by true propensity (:func:`true_propensity`: the chance of truly committing a serious
  offence in the horizon, recorded or not). :func:`features.synthetic.world.oracle_risk` is the other
  oracle: the chance of being *recorded* for one, so it carries the recording bias and is the best
  a model of the recorded label can do, not the fair benchmark.

Evaluation only: the truth frames are passed in by a benchmark or a test, never by the pipeline,
and nothing here becomes a model input. Pure functions, no file I/O.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import sparse

from fairness.groups import largest_recorded
from fairness.mitigation import listed
from models.metrics import ratio, resample_weights

_CHUNK_ELEMENTS = 4_000_000  # row x draw weights held at once (32 MB of float64)
RECORDING_COLUMNS = [
    "characteristic",
    "group",
    "n",
    "persons",
    "true_rate",
    "recorded_rate",
    "recorded_to_true",
    "recorded_to_true_lo",
    "recorded_to_true_hi",
    "reference",
    "relative",
    "relative_lo",
    "relative_hi",
]
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
    *,
    n_boot: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """True against recorded serious-harm rates by group, and each group's recording against a reference.

    Parameters
    ----------
    rows
        person_id, as_of and label (0/1: the recorded outcome) per row, e.g. the labelled matrix.
    groups
        Same index as ``rows``: one str column per characteristic.
    truth_offences, offences, min_harm_days, horizon_months
        See :func:`true_outcome`; use the label's own ``min_harm_days`` and ``horizon_months``.
    n_boot, seed, confidence
        Person-bootstrap resamples (all of a person's rows together) for the intervals; 0: none.

    Returns
    -------
    DataFrame with columns ``RECORDING_COLUMNS``: n (rows, i.e. person-months), persons (distinct
    persons, for small-number suppression), true_rate (share with
    a true serious offence in the horizon), recorded_rate (share labelled 1), recorded_to_true
    (their ratio; NaN when true_rate is 0) with its interval, reference (the characteristic's
    group with most persons, "not recorded" excepted) and relative = the group's recorded_to_true
    divided by the reference's, with its interval: above 1, the group's offending is recorded more
    often than the reference group's at the same true offending. Intervals are NaN without
    resamples. Characteristics in ``groups`` column order, groups sorted.
    """
    if rows.empty or groups.columns.empty:
        return pd.DataFrame(columns=RECORDING_COLUMNS)
    truth = true_outcome(rows, truth_offences, offences, min_harm_days, horizon_months)
    values = np.column_stack([truth, rows["label"].to_numpy(dtype="float64"), np.ones(len(rows))])
    persons = pd.factorize(rows["person_id"].astype("str"))[0]
    factorized = [pd.factorize(groups[name].astype("str"), sort=True) for name in groups.columns]
    sums = _resampled_sums(values, persons, [codes for codes, _ in factorized], n_boot, seed)
    tails = ((1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100)
    frames = []
    for name, (codes, names), (t_sum, r_sum, n) in zip(groups.columns, factorized, sums, strict=True):
        to_true = ratio(r_sum, t_sum)  # (G, 1 + B): recorded / true, point first
        people = pd.Series(persons).groupby(codes).nunique().reindex(range(len(names)), fill_value=0)
        ref = largest_recorded([str(g) for g in names], people.to_numpy())
        relative = ratio(to_true, to_true[[ref]])
        none = np.full((2, len(names)), np.nan)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN replicates: no interval
            to_true_ci, relative_ci = (
                np.nanpercentile(x[:, 1:], tails, axis=1) if n_boot > 0 else none for x in (to_true, relative)
            )
        frames.append(
            pd.DataFrame(
                {
                    "characteristic": str(name),
                    "group": [str(g) for g in names],
                    "n": n[:, 0].astype("int64"),
                    "persons": people.to_numpy(dtype="int64"),
                    "true_rate": ratio(t_sum[:, 0], n[:, 0]),
                    "recorded_rate": ratio(r_sum[:, 0], n[:, 0]),
                    "recorded_to_true": to_true[:, 0],
                    "recorded_to_true_lo": to_true_ci[0],
                    "recorded_to_true_hi": to_true_ci[1],
                    "reference": str(names[ref]),
                    "relative": relative[:, 0],
                    "relative_lo": relative_ci[0],
                    "relative_hi": relative_ci[1],
                }
            ).sort_values("group", kind="stable")
        )
    if not frames:
        return pd.DataFrame(columns=RECORDING_COLUMNS)
    return pd.concat(frames, ignore_index=True).reindex(columns=RECORDING_COLUMNS)


def _resampled_sums(
    values: np.ndarray, persons: np.ndarray, codes: list[np.ndarray], n_boot: int, seed: int
) -> list[tuple[np.ndarray, ...]]:
    """Per characteristic, the group sums (G, 1 + n_boot) of each column of ``values`` (n, Q):
    the point sums first, then one per resample of persons (drawn in chunks of rows x draws, so
    memory stays bounded on large panels)."""
    n = len(values)
    indicators = [
        sparse.csr_matrix((np.ones(n), (c, np.arange(n))), shape=(int(c.max(initial=-1)) + 1, n))
        for c in codes
    ]
    blocks: list[list[np.ndarray]] = [[ind @ values] for ind in indicators]  # point: weights 1
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, _CHUNK_ELEMENTS // max(n, 1)))
    for start in range(0, n_boot if n else 0, chunk):
        w = resample_weights(rng, persons, min(chunk, n_boot - start))  # (n, c)
        weighted = (w[:, :, None] * values[:, None, :]).reshape(n, -1)  # (n, c * Q)
        for out, ind in zip(blocks, indicators, strict=True):
            out.append((ind @ weighted).reshape(ind.shape[0], -1, values.shape[1]).transpose(0, 2, 1))
    result = []
    for out in blocks:
        point = out[0][:, :, None]  # (G, Q, 1)
        stacked = np.concatenate([point, *out[1:]], axis=2)  # (G, Q, 1 + B)
        result.append(tuple(stacked[:, q, :] for q in range(values.shape[1])))
    return result


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
