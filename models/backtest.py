"""Temporal backtest: train on the past, calibrate on later months, test on the months after.

Any table meeting the feature-matrix contract (person_id, as_of, numeric features, a 0/1
label, future CCHI harm) can be backtested: the event engine's matrix or a force's own
person-level extract. Each candidate model and each baseline is scored on the same test
rows; :func:`models.evaluate.evaluate` turns them into metrics with intervals.

The list is ordered by the model's raw score (its margin). Calibration is monotone, so this
is the order of the calibrated probability, with ties inside an isotonic step broken by the
underlying score rather than by chance.

Calibration is chosen by the backtest too. Every method of :data:`models.calibrate.METHODS` is
fitted on each split's calibration rows (calibrators are cheap; the LightGBM fit is shared) and
scored on its test rows, overall and within each test month's top 1% by the model's score, where
the list is drawn (:attr:`BacktestResult.calibration_comparison`). With ``calibration="auto"``
each candidate takes the method that :func:`~models.calibration_choice.choose_calibration` picks
from its comparison (the rule is :data:`models.calibration_choice.CALIBRATION_RULE`); otherwise
the configured method. The chosen candidate's method is the one the production model is
calibrated with (:func:`resolve_calibration`).

A candidate with a grid of settings is tuned inside each split (:mod:`models.tuning`): the setting
that split is fitted with is chosen on its own training and validation rows, never its test rows;
:attr:`BacktestResult.tuning` records every setting's inner score and which one each split took.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from models.baselines import Scorer
from models.calibrate import METHODS, CalibrationReport, Calibrator, Method
from models.calibration_choice import choose_calibration, compare_calibrations
from models.evaluate import (
    EvaluationResult,
    EvaluationSettings,
    Selection,
    SelectionSettings,
    evaluate,
    select_model,
)
from models.expected_harm import HarmGivenOutcome
from models.splits import PARTS, Split
from models.train import LightGBMRanker, ModelSettings
from models.tuning import TUNING_COLUMNS, Setting, tune

KEYS = ["person_id", "as_of"]
PROBABILITY = "__probability"  # suffix of a candidate's calibrated-probability column
EXPECTED_HARM = "__expected_harm"  # suffix of a candidate's expected-harm column
CalibrationSetting = Method | Literal["auto"]
AUTO_FALLBACK: Method = "beta"
"""``auto`` without a backtest to choose by (backtest disabled or skipped): beta calibration, the
method the backtest chose on the demo world (``bench/calibration.py``)."""


@dataclass
class Candidate:
    """A LightGBM configuration competing in the backtest.

    With a ``grid`` (two or more settings) each split is fitted with the setting chosen on that
    split's own fitting rows (:func:`models.tuning.tune`); ``settings`` is then the configured one.
    """

    name: str
    settings: ModelSettings
    grid: tuple[Setting, ...] = ()


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
    """Everything a model report, MLflow and the promotion rule read.

    ``calibration`` holds each candidate's report for its chosen calibration method;
    ``calibration_comparison`` one row per (candidate, method) of every method tried: candidate,
    method, n, n_top, distinct_top, tied_top, ece, ece_top, brier, brier_top, slope, intercept,
    meets_targets and chosen (see :func:`compare_calibrations`); ``calibration_choice`` the
    method each candidate took.

    ``parts``: one row per (split, part) with split (1-based, the order of ``splits``), part
    (train, validation, calibration, test), rows and positives. ``tuning``: one row per (split,
    candidate with a grid, setting) with :data:`models.tuning.TUNING_COLUMNS`; empty without grids.
    ``settings_used``: per candidate, the model settings each split was fitted with.
    """

    splits: list[Split]
    predictions: pd.DataFrame
    evaluation: EvaluationResult
    selection: Selection
    calibration: dict[str, CalibrationReport]
    fit_seconds: dict[str, float]
    calibration_comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    calibration_choice: dict[str, Method] = field(default_factory=dict)
    calibration_setting: CalibrationSetting = "isotonic"
    parts: pd.DataFrame = field(default_factory=pd.DataFrame)
    tuning: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TUNING_COLUMNS))
    settings_used: dict[str, list[ModelSettings]] = field(default_factory=dict)

    @property
    def calibration_method(self) -> Method:
        """The calibration of the chosen candidate: what the production model is calibrated with."""
        return self.calibration_choice.get(
            self.selection.chosen, resolve_calibration(self.calibration_setting)
        )


def part_counts(split: Split, number: int, as_of: pd.Series, y: np.ndarray) -> list[dict[str, object]]:
    """Rows and rows with the outcome (``y``, 0/1 in matrix order) in each part of one split."""
    parts = split.indices(as_of)
    return [
        {"split": number, "part": p, "rows": len(parts[p]), "positives": int(y[parts[p]].sum())}
        for p in PARTS
    ]


def resolve_calibration(setting: CalibrationSetting, result: BacktestResult | None = None) -> Method:
    """The method to calibrate a production model with: the backtest's choice when there is one,
    else the configured method (``auto``: :data:`AUTO_FALLBACK`)."""
    if result is not None and result.calibration_choice:
        return result.calibration_method
    return AUTO_FALLBACK if setting == "auto" else setting


def _rows(
    matrix: pd.DataFrame, index: np.ndarray, features: Sequence[str], label_col: str, harm_col: str
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    sub = matrix.iloc[index]
    y = sub[label_col].to_numpy(dtype="int8")
    return sub[list(features)], y, sub[harm_col].to_numpy(dtype="float64"), sub["as_of"].to_numpy()


def calibration_rows(split: Split, as_of: pd.Series) -> np.ndarray:
    """Positional rows a split's calibrator is fitted on: its calibration rows (its training rows
    when it has none)."""
    parts = split.indices(as_of)
    return parts["calibration"] if len(parts["calibration"]) else parts["train"]


def fit_model(
    matrix: pd.DataFrame,
    split: Split,
    features: Sequence[str],
    settings: ModelSettings,
    seed: int,
    *,
    label_col: str = "label",
    harm_col: str = "future_harm",
    calibration: CalibrationSetting = "isotonic",
    expected_harm: bool = False,
) -> FittedModel:
    """Fit a ranker on a split's training rows (early stopping on its validation rows) and a
    calibrator on its calibration rows; the test rows are never touched. With ``expected_harm``
    also a :class:`~models.expected_harm.HarmGivenOutcome` on the training rows. ``auto`` has no
    backtest to choose by here and means :data:`AUTO_FALLBACK` (see :func:`resolve_calibration`)."""
    parts = split.indices(matrix["as_of"])
    X, y, harm, as_of = _rows(matrix, parts["train"], features, label_col, harm_col)
    valid = (
        _rows(matrix, parts["validation"], features, label_col, harm_col)
        if len(parts["validation"])
        else None
    )
    ranker = LightGBMRanker(settings, seed).fit(X, y, harm=harm, as_of=as_of, valid=valid)
    cX, cy, _, _ = _rows(matrix, calibration_rows(split, matrix["as_of"]), features, label_col, harm_col)
    method = resolve_calibration(calibration)
    calibrator = Calibrator(method, scores_are="margin").fit(ranker.margin(cX), cy)
    harm_model = HarmGivenOutcome(settings, seed).fit(X, harm, y) if expected_harm else None
    return FittedModel(ranker, calibrator, split.train, split.calibration, harm_model)


def candidate_settings(
    candidate: Candidate,
    matrix: pd.DataFrame,
    split: Split,
    features: Sequence[str],
    seed: int,
    inner_folds: int = 3,
    label_col: str = "label",
    harm_col: str = "future_harm",
) -> tuple[ModelSettings, pd.DataFrame | None]:
    """The settings to fit ``split`` with: the candidate's own, or with a grid the one
    :func:`models.tuning.tune` chooses on the split's fitting rows (and its table of scores).
    For a production fit, pass its split: the choice is made on its own fitting months too."""
    if len(candidate.grid) < 2:
        return candidate.settings, None
    best, table = tune(
        matrix,
        split,
        features,
        candidate.grid,
        seed,
        n_folds=inner_folds,
        label_col=label_col,
        harm_col=harm_col,
    )
    return candidate.grid[best].settings, table


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
    calibration: CalibrationSetting = "isotonic",
    decimals: int = 6,
    expected_harm: bool = False,
    inner_folds: int = 3,
    progress: Callable[[], object] | None = None,
) -> BacktestResult:
    """Score every candidate and baseline on every split's test rows, then evaluate and select.

    Parameters
    ----------
    matrix
        Labelled rows: person_id, as_of, ``features``, ``label_col`` (0/1), ``harm_col`` (CCHI days).
    baselines
        Name -> scorer; fitted on each split's training rows (most learn nothing).
    calibration
        A method of :data:`models.calibrate.METHODS`, or ``auto`` (each candidate's method chosen
        by :func:`choose_calibration`). Every method is fitted and compared either way.
    expected_harm
        Also rank each candidate by expected harm (column ``<name>__expected_harm``), evaluated
        beside it; selection still chooses among the candidates' own rankings.
    inner_folds
        Inner folds a candidate's grid is tuned by when a split has no validation months.
    progress
        Called after each split (a progress bar's advance).
    """
    frames, seconds = [], {c.name: 0.0 for c in candidates}
    calibrated: dict[str, dict[str, list[np.ndarray]]] = {
        c.name: {m: [] for m in METHODS} for c in candidates
    }
    harm_given: dict[str, list[np.ndarray]] = {c.name: [] for c in candidates}
    used: dict[str, list[ModelSettings]] = {c.name: [] for c in candidates}
    counts: list[dict[str, object]] = []
    tuning: list[pd.DataFrame] = []
    y_all = matrix[label_col].to_numpy(dtype="int64")
    for number, split in enumerate(splits, start=1):
        counts += part_counts(split, number, matrix["as_of"], y_all)
        parts = split.indices(matrix["as_of"])
        test = matrix.iloc[parts["test"]]
        cols = [*KEYS, label_col, harm_col] + ([v100_col] if v100_col else [])
        out = test[list(dict.fromkeys(cols))].copy()
        train = matrix.iloc[parts["train"]]
        cal = matrix.iloc[calibration_rows(split, matrix["as_of"])]
        for candidate in candidates:
            start = time.perf_counter()
            settings, table = candidate_settings(
                candidate, matrix, split, features, seed, inner_folds, label_col, harm_col
            )
            if table is not None:
                tuning.append(table.assign(split=number, candidate=candidate.name))
            used[candidate.name].append(settings)
            fitted = fit_model(
                matrix,
                split,
                features,
                settings,
                seed,
                label_col=label_col,
                harm_col=harm_col,
                calibration=calibration,
                expected_harm=expected_harm,
            )
            cal_margin = fitted.ranker.margin(cal[list(features)])
            seconds[candidate.name] += time.perf_counter() - start
            margin = fitted.ranker.margin(test[list(features)])
            out[candidate.name] = margin
            for method in METHODS:
                calibrator = Calibrator(method, scores_are="margin").fit(
                    cal_margin, cal[label_col].to_numpy()
                )
                calibrated[candidate.name][method].append(calibrator.transform(margin))
            if fitted.harm_model is not None:
                harm_given[candidate.name].append(fitted.harm_model.predict(test[list(features)]))
        for name, scorer in baselines.items():
            scorer.fit(train, train[label_col].to_numpy())
            out[name] = scorer.score(test)
        if split.fold is not None:
            out["fold"] = split.fold
        frames.append(out)
        if progress is not None:
            progress()
    predictions = pd.concat(frames, ignore_index=True)
    names = [c.name for c in candidates]
    comparisons, reports, choice = [], {}, {}
    for n in names:
        probabilities = {m: np.concatenate(calibrated[n][m]) for m in METHODS}
        frame, reports[n], choice[n] = _calibration_choice(
            n, probabilities, predictions, label_col, calibration
        )
        comparisons.append(frame)
        predictions[f"{n}{PROBABILITY}"] = probabilities[choice[n]]
        if expected_harm:
            predictions[f"{n}{EXPECTED_HARM}"] = probabilities[choice[n]] * np.concatenate(harm_given[n])
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
    comparison = pd.concat(comparisons, ignore_index=True)
    tuned = (
        pd.concat(tuning, ignore_index=True)[TUNING_COLUMNS]
        if tuning
        else pd.DataFrame(columns=TUNING_COLUMNS)
    )
    return BacktestResult(
        splits,
        predictions,
        result,
        chosen,
        reports,
        seconds,
        comparison,
        choice,
        calibration,
        parts=pd.DataFrame(counts),
        tuning=tuned,
        settings_used=used,
    )


def _calibration_choice(
    name: str,
    probabilities: Mapping[Method, np.ndarray],
    predictions: pd.DataFrame,
    label_col: str,
    calibration: CalibrationSetting,
) -> tuple[pd.DataFrame, CalibrationReport, Method]:
    """One candidate's comparison rows (with ``chosen``), the chosen method's report and the method:
    the configured one, or with ``auto`` the one :func:`choose_calibration` picks."""
    y, score = predictions[label_col].to_numpy(), predictions[name].to_numpy()
    frame, reports = compare_calibrations(name, probabilities, y, score, _groups(predictions))
    method = choose_calibration(frame) if calibration == "auto" else calibration
    frame["chosen"] = frame["method"] == method
    return frame, reports[method], method


def _groups(predictions: pd.DataFrame) -> np.ndarray:
    """The populations a list is drawn from: each test month, or each fold of a single-date matrix."""
    if "fold" in predictions.columns:
        return predictions["fold"].to_numpy()
    return predictions["as_of"].to_numpy()
