"""Rank intervals from the person bootstrap: which listed people the data cannot tell apart.

A list is one model's ranking, but a model fitted on a slightly different sample of people
would rank them somewhat differently. :func:`rank_intervals` refits the production model's
LightGBM settings on ``B`` bootstrap resamples of the training persons (person_ids drawn with
replacement, each drawn person bringing all their rows as often as drawn), with the number of
boosting rounds fixed to the production model's best iteration and no early stopping, scores
the current cohort with each refit and ranks it. A listed person's interval is the 2.5 and 97.5
percentiles of their ranks (numpy's linear percentile, then rounded outward to whole ranks),
widened to hold their published rank where it falls outside (a refit's ranks need not centre on
the production model's). Two people whose intervals overlap cannot be told apart at that level.

The bootstrap measures how much the ranking depends on which people the model learned from; it
says nothing of errors every resample shares (what the records leave out, or how they were
made). Deterministic: the resamples are drawn from one ``numpy.random.Generator`` seeded with
``seed``, and every refit uses ``seed`` and the deterministic LightGBM settings.

Cost: one LightGBM fit per resample, on as many rows as the production fit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from models.train import LightGBMRanker, ModelSettings


def bootstrap_rows(persons: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positional rows of one person-bootstrap resample, in row order: each person drawn ``c``
    times (of as many draws as there are persons) brings all their rows ``c`` times."""
    codes, uniques = pd.factorize(pd.Series(persons))
    counts = np.bincount(rng.integers(0, len(uniques), len(uniques)), minlength=len(uniques))
    return np.repeat(np.arange(len(codes)), counts[codes])


def list_ranks(score: np.ndarray) -> np.ndarray:
    """1-based rank of each row (shape (n,)) by ``score`` descending; equal scores keep row order
    (rows are in list order, so the published order breaks ties)."""
    order = np.argsort(-np.asarray(score, dtype="float64"), kind="stable")
    ranks = np.empty(len(order), dtype="int64")
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


def percentile_ranks(ranks: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper percentile of each column of ``ranks`` (shape (B, k)), rounded outward."""
    tail = 100 * (1 - confidence) / 2
    lo, hi = np.percentile(ranks, [tail, 100 - tail], axis=0, method="linear")
    return np.floor(lo + 1e-9).astype("int64"), np.ceil(hi - 1e-9).astype("int64")


def rank_intervals(
    train: pd.DataFrame,
    features: list[str],
    cohort: pd.DataFrame,
    settings: ModelSettings,
    n_estimators: int,
    *,
    k: int,
    n_resamples: int,
    seed: int,
    label_col: str = "label",
    harm_col: str = "future_harm",
    confidence: float = 0.95,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Bootstrap rank intervals of the first ``k`` people of ``cohort``.

    Parameters
    ----------
    train
        The production model's training rows: person_id, as_of, ``features``, ``label_col`` (0/1)
        and ``harm_col`` (future CCHI days, read by lambdarank).
    cohort
        The people scored at the as-of date, in list order (published rank 1 first), with
        ``features``.
    settings, n_estimators
        The production model's settings and its best iteration (the rounds every refit uses).
    n_resamples
        Bootstrap resamples ``B`` (each one LightGBM fit); at least 1.
    progress
        Called with the number of refits done after each one.

    Returns
    -------
    One row per listed person in list order: rank (published, 1..k), rank_lo and rank_hi (int64),
    and the replicates' ranks as ``attrs["replicates"]`` (shape (B, k)).
    """
    if n_resamples < 1:
        raise ValueError("rank intervals need at least one resample")
    refit = settings.model_copy(update={"n_estimators": n_estimators, "early_stopping_rounds": 0})
    rng = np.random.default_rng(seed)
    persons = train["person_id"].to_numpy()
    k = min(k, len(cohort))
    replicates = np.empty((n_resamples, k), dtype="int64")
    X = cohort[features]
    for b in range(n_resamples):
        rows = train.iloc[bootstrap_rows(persons, rng)]
        ranker = LightGBMRanker(refit, seed).fit(
            rows[features],
            rows[label_col].to_numpy(dtype="int8"),
            harm=rows[harm_col].to_numpy(dtype="float64"),
            as_of=rows["as_of"].to_numpy(),
        )
        replicates[b] = list_ranks(ranker.margin(X))[:k]
        if progress is not None:
            progress(b + 1)
    published = np.arange(1, k + 1)
    lo, hi = percentile_ranks(replicates, confidence)
    out = pd.DataFrame(
        {"rank": published, "rank_lo": np.minimum(lo, published), "rank_hi": np.maximum(hi, published)}
    )
    out.attrs["replicates"] = replicates
    return out


def add_rank_intervals(ranked: pd.DataFrame, intervals: pd.DataFrame | None) -> pd.DataFrame:
    """``ranked`` with nullable ``rank_lo`` and ``rank_hi`` (Int64) from ``intervals`` (by rank);
    <NA> for people without an interval (beyond the list, or intervals off: ``None``)."""
    out = ranked.copy()
    for col in ("rank_lo", "rank_hi"):
        values = pd.Series(pd.NA, index=out.index, dtype="Int64")
        if intervals is not None:
            values = out["rank"].map(intervals.set_index("rank")[col]).astype("Int64")
        out[col] = values
    return out


def interval_widths(intervals: pd.DataFrame, at: tuple[int, ...] = (1, 10, 50, 100)) -> dict[int, int]:
    """Width (rank_hi - rank_lo) of the intervals at the given published ranks, for logs and benches."""
    by_rank = intervals.set_index("rank")
    return {r: int(by_rank.at[r, "rank_hi"] - by_rank.at[r, "rank_lo"]) for r in at if r in by_rank.index}
