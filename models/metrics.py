"""Vectorised metric core: one model's scores over one population, weighted ``B`` ways at once.

A bootstrap resample is a vector of row weights (how often each row was drawn); the point
estimate is the same computation with all weights 1. Every metric function here takes a
:class:`Sample` (weights of shape (n, B)) and returns shape (B,), so point values and
intervals share one code path. :func:`list_churn` compares published lists and is not
resampled. The metric registry and the evaluation live in :mod:`models.evaluate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np
import pandas as pd

from models.ranking import rank_order

Ties = Literal["list", "worst", "best"]


@dataclass(frozen=True)
class EvalData:
    """One model's scores over one population of ``n`` rows, arranged for vectorised metrics.

    ``orders`` maps ``list``, ``worst_label``, ``best_label``, ``worst_harm`` and ``best_harm`` to
    row permutations (shape (n,)), each grouped by month (months ascending) and in list order inside
    a month; ``month_starts`` (shape (m,)) are the offsets where each month begins in every order.
    ``by_score`` sorts rows by unrounded score descending; ``score_starts`` are the offsets of runs of
    equal scores in it. ``values`` (shape (n, 3)) stacks 1, y and harm (CCHI days) by row;
    ``ece_terms`` (shape (bins, n)) holds p - y in the row of the ECE bin of each column.
    """

    y: np.ndarray
    harm: np.ndarray
    values: np.ndarray
    prob: np.ndarray | None
    orders: dict[str, np.ndarray]
    month_starts: np.ndarray
    by_score: np.ndarray
    score_starts: np.ndarray
    ece_terms: np.ndarray | None


class Sample:
    """``B`` weighted copies of an :class:`EvalData`, caching sums that several metrics share.

    ``weights`` has shape (n, B): column b holds how often each row is in copy b (all ones for
    the point estimate). Rows first, so that gathering rows in list order reads contiguous memory.
    """

    def __init__(self, data: EvalData, weights: np.ndarray) -> None:
        self.data = data
        self.weights = weights
        self._top: dict[tuple[int, str], np.ndarray] = {}
        self._totals: np.ndarray | None = None
        self._groups: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def totals(self) -> np.ndarray:
        """Rows, outcomes and harm (CCHI days) in each copy, shape (B, 3)."""
        if self._totals is None:
            self._totals = self.weights.T @ self.data.values
        return self._totals

    def top(self, k: int, order: str = "list") -> np.ndarray:
        """People listed, outcomes and harm among the first ``k`` of each month's list, shape (B, 3).

        Only a prefix of each month's order is read: it grows until every copy has ``k`` people
        in it (a person drawn twice fills two places; a copy short of ``k`` people lists all).
        """
        key = (k, order)
        if key not in self._top:
            perm = self.data.orders[order]
            bounds = np.append(self.data.month_starts, len(perm))
            out = np.zeros((self.weights.shape[1], 3))
            for start, end in pairwise(bounds):
                width = min(end - start, 2 * k + 64)
                while True:
                    rows = perm[start : start + width]
                    w = self.weights[rows]
                    ahead = np.cumsum(w, axis=0) - w
                    if width == end - start or (ahead[-1] + w[-1] >= k).all():
                        break
                    width = min(end - start, 2 * width)
                out += np.minimum(np.maximum(k - ahead, 0.0), w).T @ self.data.values[rows]
            self._top[key] = out
        return self._top[key]

    def score_groups(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Weight with and without the outcome per run of equal scores, best score first, and their
        running sums (the outcomes and non-outcomes scoring at least as high): four arrays (G, B)."""
        if self._groups is None:
            d = self.data
            w = self.weights[d.by_score]
            pos = w * d.y[d.by_score, None]
            if len(d.score_starts) < len(d.by_score):  # some scores are tied
                pos = np.add.reduceat(pos, d.score_starts, axis=0)
                w = np.add.reduceat(w, d.score_starts, axis=0)
            neg = w - pos
            self._groups = (pos, neg, np.cumsum(pos, axis=0), np.cumsum(neg, axis=0))
        return self._groups


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` elementwise, NaN where ``den`` is not positive (no outcome, nobody listed)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def auc_from_counts(
    pos: np.ndarray,
    neg: np.ndarray,
    *,
    axis: int = 0,
    segment: np.ndarray | None = None,
    n_segments: int = 0,
) -> np.ndarray:
    """AUC-ROC from weighted positives and negatives per run of equal scores: the chance that a
    random positive outscores a random negative, ties counting one half. NaN without a positive
    or without a negative.

    ``pos`` and ``neg`` hold one entry per run, runs in ascending score order along ``axis`` (any
    further axes are resamples or groups). With ``segment`` (1-D, non-decreasing, one per run along
    axis 0; runs ascending by score within each segment), one AUC per segment, shape
    ``(n_segments,)``. The one AUC of harmrank: the backtest's metric, the audit's group AUCs
    (exact, and from score bins for its resamples) and the proxy audit's AUCs all come from here.
    """
    if segment is None:
        below = np.cumsum(neg, axis=axis) - neg
        return ratio((pos * (below + 0.5 * neg)).sum(axis=axis), pos.sum(axis=axis) * neg.sum(axis=axis))
    before = np.cumsum(neg) - neg
    below = before - before[np.searchsorted(segment, segment)]  # negatives lower in the same segment
    num = np.bincount(segment, pos * (below + 0.5 * neg), minlength=n_segments)
    n_pos = np.bincount(segment, pos, minlength=n_segments)
    return ratio(num, n_pos * np.bincount(segment, neg, minlength=n_segments))


def weighted_auc(score: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUC of ``score`` for 0/1 ``y`` under row weights (n, B), shape (B,); ties count one half.

    Column b of ``weights`` says how often each row is in resample b (all ones: the plain AUC).
    NaN where a resample has no positive or no negative row.
    """
    order = np.argsort(score, kind="stable")
    s = score[order]
    w = weights[order]
    pos = w * y[order, None]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    if len(starts) < len(s):
        pos = np.add.reduceat(pos, starts, axis=0)
        w = np.add.reduceat(w, starts, axis=0)
    return auc_from_counts(pos, w - pos)


def percentile_interval(
    replicates: np.ndarray, confidence: float, min_defined: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval over the last axis of ``replicates``.

    The ends are the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of the finite
    replicates by numpy's default (linear) rule, equal bit for bit to ``np.quantile`` of them. NaN
    where no replicate is finite or fewer than ``min_defined`` (a share) of them are. The one
    interval of harmrank: the backtest's figures and the audit's group figures use it.
    """
    reps = np.asarray(replicates, dtype=np.float64)
    n_boot = reps.shape[-1]
    finite = np.isfinite(reps)
    n = finite.sum(axis=-1)
    srt = np.sort(np.where(finite, reps, np.inf), axis=-1)  # the finite replicates first
    ends = []
    for q in ((1 - confidence) / 2, (1 + confidence) / 2):
        at = np.maximum(n - 1, 0) * q
        below = np.floor(at).astype(np.int64)
        above = np.minimum(below + 1, np.maximum(n - 1, 0))
        if n_boot:
            a = np.take_along_axis(srt, below[..., None], axis=-1)[..., 0]
            b = np.take_along_axis(srt, above[..., None], axis=-1)[..., 0]
        else:
            a = b = at * np.nan
        t = at - below
        with np.errstate(invalid="ignore"):
            diff = b - a
            value = np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)  # numpy's _lerp
        ends.append(np.where((n > 0) & (n >= min_defined * n_boot), value, np.nan))
    return ends[0], ends[1]


def _order(ties: Ties, target: str) -> str:
    return "list" if ties == "list" else f"{ties}_{target}"


def precision_at_k(s: Sample, k: int | None, ties: Ties = "list") -> np.ndarray:
    """Share of listed people with the outcome (people listed = min(k, cohort) per month)."""
    t = s.top(int(k or 0), _order(ties, "label"))
    return ratio(t[:, 1], t[:, 0])


def recall_at_k(s: Sample, k: int | None, ties: Ties = "list") -> np.ndarray:
    """Share of people with the outcome who are listed."""
    return ratio(s.top(int(k or 0), _order(ties, "label"))[:, 1], s.totals()[:, 1])


def harm_captured_at_k(s: Sample, k: int | None, ties: Ties = "list") -> np.ndarray:
    """Share of next-horizon CCHI harm (days) caused by the listed people."""
    return ratio(s.top(int(k or 0), _order(ties, "harm"))[:, 2], s.totals()[:, 2])


def auc_roc(s: Sample, k: int | None = None, ties: Ties = "list") -> np.ndarray:
    """Probability that a random person with the outcome outscores one without (ties count half)."""
    pos, neg, _, _ = s.score_groups()
    return auc_from_counts(pos[::-1], neg[::-1])  # score groups run from the highest score


def average_precision(s: Sample, k: int | None = None, ties: Ties = "list") -> np.ndarray:
    """Mean precision at each distinct score threshold, weighted by the recall gained there."""
    pos, _, tp, fp = s.score_groups()
    listed = tp + fp  # a run with nobody at or above it has no outcome in it either: precision 0
    precision = np.divide(tp, listed, out=np.zeros_like(tp), where=listed > 0)
    return ratio((pos * precision).sum(axis=0), tp[-1])


def brier(s: Sample, k: int | None = None, ties: Ties = "list") -> np.ndarray:
    """Mean squared difference between probability and outcome."""
    d = s.data
    assert d.prob is not None
    return ratio((d.prob - d.y) ** 2 @ s.weights, s.totals()[:, 0])


def ece(s: Sample, k: int | None = None, ties: Ties = "list") -> np.ndarray:
    """Expected calibration error: sum over equal-count bins of |sum of (p - y)| / n."""
    assert s.data.ece_terms is not None
    return ratio(np.abs(s.data.ece_terms @ s.weights).sum(axis=0), s.totals()[:, 0])


def quantile_bins(p: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-count bin (0..n_bins-1) of each probability, shape (n,); equal values share a bin."""
    edges = np.quantile(p, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.searchsorted(edges, p, side="right")


def prepare(
    frame: pd.DataFrame, score_col: str, cols: Mapping[str, str], decimals: int, ece_bins: int | None
) -> EvalData:
    """Arrange one model's scores over one population for the metrics.

    Parameters
    ----------
    frame
        The population's rows (n), one per (person, month).
    score_col
        The model's score column (higher = listed first).
    cols
        Column names under the keys person, month, label (0/1), harm (CCHI days) and v100
        (the list's tie-break; an empty name ranks ties by person alone).
    decimals
        Scores are rounded to this many decimals for the list order, as in :func:`rank_order`.
    ece_bins
        Number of equal-count ECE bins, or None when the score is not a probability.
    """
    n = len(frame)
    y = frame[cols["label"]].to_numpy(dtype="float64")
    harm = frame[cols["harm"]].to_numpy(dtype="float64")
    month = pd.factorize(frame[cols["month"]], sort=True)[0]
    score = frame[score_col].to_numpy(dtype="float64")
    tie = frame[cols["v100"]].to_numpy(dtype="float64") if cols.get("v100") else np.zeros(n)
    table = pd.DataFrame({"person_id": frame[cols["person"]].to_numpy(), "s": score, "v": tie})
    table["_row"] = np.arange(n)
    ranked = rank_order(table, "s", "v", decimals)
    rows = ranked["_row"].to_numpy()
    list_order = rows[np.argsort(month[rows], kind="stable")]
    rounded = np.empty(n)
    rounded[rows] = ranked["s"].to_numpy()
    position = np.empty(n, dtype="int64")
    position[list_order] = np.arange(n)
    orders = {"list": list_order}
    for target, values in (("label", y), ("harm", harm)):
        orders[f"worst_{target}"] = np.lexsort((position, values, -rounded, month))
        orders[f"best_{target}"] = np.lexsort((position, -values, -rounded, month))
    by_score = np.argsort(-score, kind="stable")
    sorted_scores = score[by_score]
    score_starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ece_terms = None
    if ece_bins is not None:
        ece_terms = np.zeros((ece_bins, n))
        ece_terms[quantile_bins(score, ece_bins), np.arange(n)] = score - y
    return EvalData(
        y=y,
        harm=harm,
        values=np.column_stack([np.ones(n), y, harm]),
        prob=score if ece_bins is not None else None,
        orders=orders,
        month_starts=np.searchsorted(month[list_order], np.unique(month)),
        by_score=by_score,
        score_starts=score_starts,
        ece_terms=ece_terms,
    )


def resample_weights(rng: np.random.Generator, persons: np.ndarray, n_draws: int) -> np.ndarray:
    """Row weights of ``n_draws`` resamples of persons, shape (n rows, n_draws).

    ``persons`` (shape (n,)) are integer person codes 0..P-1; each resample draws P persons with
    replacement, and a row's weight is how often its person was drawn (all of a person's rows
    share it).
    """
    n_persons = int(persons.max()) + 1
    draws = rng.integers(0, n_persons, size=(n_draws, n_persons))
    flat = (draws * n_draws + np.arange(n_draws)[:, None]).ravel()  # (person, draw) cell
    counts = np.bincount(flat, minlength=n_persons * n_draws).reshape(n_persons, n_draws)
    if len(persons) == n_persons and (persons == np.arange(n_persons)).all():
        return counts.astype("float64")  # one row per person, already in row order
    return counts[persons].astype("float64")


def month_label(value: object) -> str:
    """ISO date for a date-like month, the text otherwise."""
    is_date = isinstance(value, (pd.Timestamp, np.datetime64))
    return pd.Timestamp(value).date().isoformat() if is_date else str(value)


def list_churn(
    frame: pd.DataFrame, score_col: str, k: int, cols: Mapping[str, str], decimals: int
) -> pd.Series:
    """Share of each month's top ``k`` who were not on the previous month's list.

    Returns a Series indexed by month label, from the second month on (float, 0 = same list).
    """
    lists: dict[str, set[object]] = {}
    for month, sub in frame.groupby(cols["month"], sort=True):
        table = pd.DataFrame(
            {
                "person_id": sub[cols["person"]].to_numpy(),
                "s": sub[score_col].to_numpy(dtype="float64"),
                "v": sub[cols["v100"]].to_numpy(dtype="float64") if cols.get("v100") else 0.0,
            }
        )
        lists[month_label(month)] = set(rank_order(table, "s", "v", decimals)["person_id"].head(k))
    labels = list(lists)
    return pd.Series(
        {b: 1 - len(lists[b] & lists[a]) / max(len(lists[b]), 1) for a, b in pairwise(labels)},
        dtype="float64",
    )
