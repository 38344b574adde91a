"""Temporal backtest: train on the past, calibrate on later months, test on the months after.

Any table meeting the feature-matrix contract (person_id, as_of, numeric features, a 0/1
label, future CCHI harm) can be backtested: the event engine's matrix or a force's own
person-level extract. Each candidate model and each baseline is scored on the same test
rows; :func:`models.evaluate.evaluate` turns them into metrics with intervals.

The list is ordered by the model's raw score (its margin). Calibration is monotone, so this
is the order of the calibrated probability, with ties inside an isotonic step broken by the
underlying score rather than by chance.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.baselines import Scorer
from models.calibrate import CalibrationReport, Calibrator, Method, calibration_report
from models.evaluate import (
    EvaluationResult,
    EvaluationSettings,
    Selection,
    SelectionSettings,
    evaluate,
    select_model,
)
from models.expected_harm import HarmGivenOutcome
from models.splits import Split
from models.train import LightGBMRanker, ModelSettings

KEYS = ["person_id", "as_of"]
PROBABILITY = "__probability"  # suffix of a candidate's calibrated-probability column
EXPECTED_HARM = "__expected_harm"  # suffix of a candidate's expected-harm column


@dataclass
class Candidate:
    """A LightGBM configuration competing in the backtest."""

    name: str
    settings: ModelSettings


@dataclass
class FittedModel:
    """A ranker and the calibrator fitted on later months than its training rows."""

    ranker: LightGBMRanker
    calibrator: Calibrator
    train_dates: tuple[pd.Timestamp, ...]
    calibration_dates: tuple[pd.Timestamp, ...]
    harm_model: HarmGivenOutcome | None = None

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """``margin`` (ranking score), calibrated ``probability`` and its band (``probability_lo``,
        ``probability_hi``) per row of ``X``; with a harm model also ``expected_harm`` (CCHI days)."""
        margin = self.ranker.margin(X)
        lo, hi = self.calibrator.band(margin)
        out = pd.DataFrame(
            {
                "margin": margin,
                "probability": self.calibrator.transform(margin),
                "probability_lo": lo,
                "probability_hi": hi,
            },
            index=X.index,
        )
        if self.harm_model is not None:
            out["expected_harm"] = out["probability"].to_numpy() * self.harm_model.predict(X)
        return out


@dataclass
class BacktestResult:
    """Everything a model report, MLflow and the promotion rule read."""

    splits: list[Split]
    predictions: pd.DataFrame
    evaluation: EvaluationResult
    selection: Selection
    calibration: dict[str, CalibrationReport]
    fit_seconds: dict[str, float]


def fit_model(
    matrix: pd.DataFrame,
    split: Split,
    features: Sequence[str],
    settings: ModelSettings,
    seed: int,
    *,
    label_col: str = "label",
    harm_col: str = "future_harm",
    calibration: Method = "isotonic",
    expected_harm: bool = False,
) -> FittedModel:
    """Fit a ranker on a split's training rows (early stopping on its validation rows) and a
    calibrator on its calibration rows; the test rows are never touched. With ``expected_harm``
    also a :class:`~models.expected_harm.HarmGivenOutcome` on the training rows."""
    parts = split.indices(matrix["as_of"])

    def rows(part: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
        sub = matrix.iloc[parts[part]]
        y = sub[label_col].to_numpy(dtype="int8")
        return sub[list(features)], y, sub[harm_col].to_numpy(dtype="float64"), sub["as_of"].to_numpy()

    X, y, harm, as_of = rows("train")
    valid = rows("validation") if len(parts["validation"]) else None
    ranker = LightGBMRanker(settings, seed).fit(X, y, harm=harm, as_of=as_of, valid=valid)
    cX, cy, _, _ = rows("calibration") if len(parts["calibration"]) else rows("train")
    calibrator = Calibrator(calibration, scores_are="margin").fit(ranker.margin(cX), cy)
    harm_model = HarmGivenOutcome(settings, seed).fit(X, harm, y) if expected_harm else None
    return FittedModel(ranker, calibrator, split.train, split.calibration, harm_model)


def backtest(
    matrix: pd.DataFrame,
    features: Sequence[str],
    splits: list[Split],
    candidates: Sequence[Candidate],
    baselines: Mapping[str, Scorer],
    *,
    seed: int,
    evaluation: EvaluationSettings,
    selection: SelectionSettings,
    label_col: str = "label",
    harm_col: str = "future_harm",
    v100_col: str | None = None,
    calibration: Method = "isotonic",
    decimals: int = 6,
    expected_harm: bool = False,
) -> BacktestResult:
    """Score every candidate and baseline on every split's test rows, then evaluate and select.

    Parameters
    ----------
    matrix
        Labelled rows: person_id, as_of, ``features``, ``label_col`` (0/1), ``harm_col`` (CCHI days).
    baselines
        Name -> scorer; fitted on each split's training rows (most learn nothing).
    expected_harm
        Also rank each candidate by expected harm (column ``<name>__expected_harm``), evaluated
        beside it; selection still chooses among the candidates' own rankings.
    """
    frames, seconds = [], {c.name: 0.0 for c in candidates}
    for split in splits:
        parts = split.indices(matrix["as_of"])
        test = matrix.iloc[parts["test"]]
        cols = [*KEYS, label_col, harm_col] + ([v100_col] if v100_col else [])
        out = test[list(dict.fromkeys(cols))].copy()
        train = matrix.iloc[parts["train"]]
        for candidate in candidates:
            start = time.perf_counter()
            fitted = fit_model(
                matrix,
                split,
                features,
                candidate.settings,
                seed,
                label_col=label_col,
                harm_col=harm_col,
                calibration=calibration,
                expected_harm=expected_harm,
            )
            seconds[candidate.name] += time.perf_counter() - start
            predicted = fitted.predict(test[list(features)])
            out[candidate.name] = predicted["margin"].to_numpy()
            out[f"{candidate.name}{PROBABILITY}"] = predicted["probability"].to_numpy()
            if expected_harm:
                out[f"{candidate.name}{EXPECTED_HARM}"] = predicted["expected_harm"].to_numpy()
        for name, scorer in baselines.items():
            scorer.fit(train, train[label_col].to_numpy())
            out[name] = scorer.score(test)
        if split.fold is not None:
            out["fold"] = split.fold
        frames.append(out)
    predictions = pd.concat(frames, ignore_index=True)
    names = [c.name for c in candidates]
    score_cols = {name: name for name in [*names, *baselines]}
    score_cols |= {f"{n}{PROBABILITY}": f"{n}{PROBABILITY}" for n in names}
    if expected_harm:
        score_cols |= {f"{n}{EXPECTED_HARM}": f"{n}{EXPECTED_HARM}" for n in names}
    result = evaluate(
        predictions,
        score_cols,
        evaluation,
        seed,
        label_col=label_col,
        harm_col=harm_col,
        v100_col=v100_col,
        probabilistic=[f"{n}{PROBABILITY}" for n in names],
        decimals=decimals,
    )
    chosen = select_model(result, selection, candidates=names)
    reports = {
        n: calibration_report(predictions[f"{n}{PROBABILITY}"].to_numpy(), predictions[label_col].to_numpy())
        for n in names
    }
    return BacktestResult(splits, predictions, result, chosen, reports, seconds)
