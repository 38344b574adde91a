"""Choosing a candidate's model settings inside each backtest split, never on its test rows.

A candidate with a grid (``backtest.search`` entries beside the configured model, or the small-table
grid of matrix mode) is tuned split by split: every setting is fitted and scored on *inner* held-out
rows drawn from that split's own fitting rows, and the split's model is fitted with the best one.
The split's test rows and calibration rows take no part, so the figures the backtest reports are
not the figures the choice was made on (choosing on the reported months flatters the winner).

Inner held-out rows
    A temporal split with validation months: each setting is trained on the training months,
    early-stopped on the validation months (as :func:`models.backtest.fit_model` does) and scored on
    them: one inner fold, forward in time like the backtest itself. Otherwise (a single-date table's
    folds, or no validation months): ``inner_folds`` seeded folds of the training and validation rows,
    stratified by outcome and grouped by person (nobody on both sides), each early-stopped on its own
    held-out rows as ``lightgbm.cv`` does (the same mild optimism for every setting).
Criterion
    :data:`TUNING_METRIC`, the average precision of the model's score on the held-out rows (the mean
    over inner folds). It weighs the top of the ranking most, like precision@k, but uses every held-out
    row, so on a few hundred rows it is far steadier than precision@100. The highest wins; ties go to the
    first setting in the grid (put the configured model first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedGroupKFold

from models.splits import Split
from models.train import LightGBMRanker, ModelSettings

TUNING_METRIC = "average_precision"
ONE_THREAD_ROWS = 50_000
"""Inner fits on fewer rows use one LightGBM thread: results do not depend on the thread count, and on
a few thousand rows a second thread costs more than it saves (1,300 rows, binary: 0.19 s a fit with
two threads, 0.07 s with one)."""
TUNING_COLUMNS = ["split", "candidate", "setting", "inner_folds", TUNING_METRIC, "chosen", "note"]


@dataclass(frozen=True)
class Setting:
    """One member of a grid: the words for it and the full model settings."""

    label: str
    settings: ModelSettings


def setting_label(overrides: dict[str, float | int]) -> str:
    """Words for a grid entry: ``configured model`` or ``num_leaves 4, min_child_samples 20``."""
    if not overrides:
        return "configured model"
    return ", ".join(f"{key} {value:g}" for key, value in overrides.items())


def inner_folds(
    split: Split, as_of: pd.Series, y: np.ndarray, persons: np.ndarray, n_folds: int, seed: int
) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """(fit rows, held-out rows) pairs of positional indices, and a note (empty when all is well).

    The split's validation rows when it is temporal and has some; else ``n_folds`` stratified,
    person-grouped folds of its training and validation rows. No pair when there are too few outcomes.
    """
    parts = split.indices(as_of)
    if split.rows is None and len(parts["validation"]) and len(parts["train"]):
        return [(parts["train"], parts["validation"])], ""
    rows = np.sort(np.concatenate([parts["train"], parts["validation"]]))
    counts = np.bincount(y[rows].astype("int64"), minlength=2)
    if counts.min() < n_folds:
        note = (
            f"too few rows with and without the outcome ({counts[1]:,} and {counts[0]:,}) for {n_folds} "
            "inner folds: the first setting of the grid was used"
        )
        return [], note
    folds = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    pairs = folds.split(np.zeros(len(rows)), y[rows], groups=persons[rows])
    return [(rows[fit], rows[held]) for fit, held in pairs], ""


def _score(
    setting: ModelSettings,
    matrix: pd.DataFrame,
    features: Sequence[str],
    fit: np.ndarray,
    held: np.ndarray,
    seed: int,
    label_col: str,
    harm_col: str,
) -> float:
    """Average precision on ``held`` of ``setting`` trained on ``fit`` (early-stopped on ``held``)."""

    def rows(index: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
        sub = matrix.iloc[index]
        return (
            sub[list(features)],
            sub[label_col].to_numpy(dtype="int8"),
            sub[harm_col].to_numpy(dtype="float64"),
            sub["as_of"].to_numpy(),
        )

    X, y, harm, as_of = rows(fit)
    valid = rows(held)
    if len(fit) < ONE_THREAD_ROWS:
        setting = setting.model_copy(update={"threads": 1})
    ranker = LightGBMRanker(setting, seed).fit(X, y, harm=harm, as_of=as_of, valid=valid)
    if valid[1].min() == valid[1].max():
        return float("nan")  # no outcome (or only outcomes) held out: nothing to rank
    return float(average_precision_score(valid[1], ranker.margin(valid[0])))


def _mean(values: list[float]) -> float:
    """Mean of the finite values; NaN when there is none."""
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def tune(
    matrix: pd.DataFrame,
    split: Split,
    features: Sequence[str],
    grid: Sequence[Setting],
    seed: int,
    *,
    n_folds: int = 3,
    label_col: str = "label",
    harm_col: str = "future_harm",
) -> tuple[int, pd.DataFrame]:
    """The position in ``grid`` of the setting to fit ``split`` with, and one row per setting.

    Rows have setting, inner_folds, average_precision (NaN when not scored), chosen and note;
    the caller adds split and candidate. The result depends on the split's training and validation
    rows only (its calibration and test rows can change without changing it).
    """
    y = matrix[label_col].to_numpy(dtype="int8")
    persons = matrix["person_id"].astype("str").to_numpy()
    pairs, note = inner_folds(split, matrix["as_of"], y, persons, n_folds, seed)
    cols = (label_col, harm_col)
    scores = []
    for g in grid:
        scores.append(_mean([_score(g.settings, matrix, features, a, b, seed, *cols) for a, b in pairs]))
    finite = [i for i, v in enumerate(scores) if np.isfinite(v)]
    chosen = max(finite, key=lambda i: (scores[i], -i)) if finite else 0
    if pairs and not finite:
        note = "no inner held-out rows had both outcomes: the first setting of the grid was used"
    table = pd.DataFrame(
        {
            "setting": [s.label for s in grid],
            "inner_folds": len(pairs),
            TUNING_METRIC: scores,
            "chosen": [i == chosen for i in range(len(grid))],
            "note": note,
        }
    )
    return chosen, table
