"""Drift in a scoring month: has this month's cohort moved away from the months the champion learned on?

A scoring month (the champion scores the list; nothing is trained) checks each model input, and
the champion's own score, against the rows of the months the champion was fitted on. The measure is
the population stability index (PSI) over ten bins cut at the reference's deciles:

    PSI = sum over bins of (current share - reference share) * ln(current share / reference share)

A bin empty on one side counts as a share of 1e-4, so an empty bin adds a large but finite term.
The conventional reading, used here: below 0.1 stable, 0.1 to 0.25 a moderate shift, 0.25 or
more a major shift (a reason to retrain before the usual three months are up).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

MODERATE, MAJOR = 0.1, 0.25
FLOOR = 1e-4
SAMPLE = 200_000
QUANTILES = (0.5, 0.9, 0.99)


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """The population stability index of ``current`` against ``reference`` (see the module).

    Bins are cut at the reference's quantiles; tied quantiles merge bins, so a feature that is
    mostly zero gets fewer, wider bins rather than empty ones. NaN when either side is empty.
    """
    reference = np.asarray(reference, dtype="float64")
    current = np.asarray(current, dtype="float64")
    if reference.size == 0 or current.size == 0:
        return float("nan")
    edges = np.unique(np.quantile(reference, np.arange(1, bins) / bins))
    ref = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=edges.size + 1)
    cur = np.bincount(np.searchsorted(edges, current, side="right"), minlength=edges.size + 1)
    r = np.maximum(ref / reference.size, FLOOR)
    c = np.maximum(cur / current.size, FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def level(value: float) -> str:
    """stable, moderate or major (see the module); 'not measured' for NaN."""
    if np.isnan(value):
        return "not measured"
    return "major" if value >= MAJOR else "moderate" if value >= MODERATE else "stable"


@dataclass(frozen=True)
class Drift:
    """This month's cohort against the champion's fitting months.

    Attributes
    ----------
    features
        feature, reference_mean, current_mean, psi, level; largest PSI first.
    scores
        quantile (0.5, 0.9, 0.99), reference and current champion score (raw margin).
    score_psi
        PSI of the champion's score.
    reference_months, reference_rows, current_rows
        What was compared: the fitting months, and the rows on each side (the reference is a
        seeded sample of at most 200,000 rows).
    """

    features: pd.DataFrame
    scores: pd.DataFrame
    score_psi: float
    reference_months: list[pd.Timestamp]
    reference_rows: int
    current_rows: int

    def shifted(self, at: float = MAJOR) -> list[str]:
        """Features whose PSI is at least ``at``, largest first."""
        return self.features.loc[self.features["psi"] >= at, "feature"].tolist()


def measure(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    names: Sequence[str],
    reference_scores: np.ndarray,
    current_scores: np.ndarray,
    months: Sequence[pd.Timestamp],
) -> Drift:
    """Drift of each feature in ``names`` and of the score, ``current`` against ``reference`` rows."""
    rows = []
    for name in names:
        ref, cur = reference[name].to_numpy("float64"), current[name].to_numpy("float64")
        value = psi(ref, cur)
        rows.append((name, float(ref.mean()), float(cur.mean()), value, level(value)))
    features = pd.DataFrame(rows, columns=["feature", "reference_mean", "current_mean", "psi", "level"])
    features = features.sort_values(["psi", "feature"], ascending=[False, True], kind="stable")
    scores = pd.DataFrame(
        {
            "quantile": list(QUANTILES),
            "reference": np.quantile(reference_scores, QUANTILES),
            "current": np.quantile(current_scores, QUANTILES),
        }
    )
    return Drift(
        features.reset_index(drop=True),
        scores,
        psi(reference_scores, current_scores),
        sorted(pd.Timestamp(m) for m in months),
        len(reference),
        len(current),
    )


def sample(rows: pd.DataFrame, seed: int, size: int = SAMPLE) -> pd.DataFrame:
    """At most ``size`` rows, a seeded draw in their original order (all of them when fewer)."""
    if len(rows) <= size:
        return rows
    keep = np.sort(np.random.default_rng(seed).choice(len(rows), size, replace=False))
    return rows.iloc[keep]
