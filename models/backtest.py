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
each candidate takes the method that :func:`choose_calibration` picks from its comparison (the
rule is :data:`CALIBRATION_RULE`); otherwise the configured method. The chosen candidate's method
is the one the production model is calibrated with (:func:`resolve_calibration`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from models.baselines import Scorer
from models.calibrate import METHODS, CalibrationReport, Calibrator, Method, calibration_report, top_rows
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
CalibrationSetting = Method | Literal["auto"]
AUTO_FALLBACK: Method = "beta"
"""``auto`` without a backtest to choose by (backtest disabled or skipped): beta calibration, the
method the backtest chose on the demo world (``bench/calibration.py``)."""
TOP_SHARE = 0.01  # the top of each test month's scores where calibration is judged again
CALIBRATION_TARGETS = {"ece": 0.02, "ece_top": 0.05, "slope_lo": 0.9, "slope_hi": 1.1}
CALIBRATION_RULE = (
    "Only methods that give every distinct score in each test month's top 1% its own probability compete "
    "(a method that is flat there, such as isotonic steps, would show listed people one shared probability), "
    "or every method when none does. Of those, the ones meeting every target on the pooled test months "
    "(ECE <= 0.02 overall, ECE <= 0.05 within each month's top 1% by score, calibration slope between 0.9 "
    "and 1.1) compete, or all of them when none does; the lowest Brier score within the top 1% wins, then "
    "the lowest overall ECE."
)


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
    """Everything a model report, MLflow and the promotion rule read.

    ``calibration`` holds each candidate's report for its chosen calibration method;
    ``calibration_comparison`` one row per (candidate, method) of every method tried: candidate,
    method, n, n_top, distinct_top, tied_top, ece, ece_top, brier, brier_top, slope, intercept,
    meets_targets and chosen (see :func:`compare_calibrations`); ``calibration_choice`` the
    method each candidate took.
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

    @property
    def calibration_method(self) -> Method:
        """The calibration of the chosen candidate: what the production model is calibrated with."""
        return self.calibration_choice.get(
            self.selection.chosen, resolve_calibration(self.calibration_setting)
        )


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


def choose_calibration(comparison: pd.DataFrame) -> Method:
    """The method :data:`CALIBRATION_RULE` picks from one candidate's rows of the comparison
    (columns method, tied_top, meets_targets, brier_top and ece; ties go to the order of METHODS)."""
    rows = comparison
    if (rows["tied_top"] == 0).any():
        rows = rows[rows["tied_top"] == 0]
    if rows["meets_targets"].any():
        rows = rows[rows["meets_targets"]]
    order = rows.assign(_order=rows["method"].map(list(METHODS).index))
    best = order.sort_values(["brier_top", "ece", "_order"], kind="mergesort").iloc[0]
    method: Method = best["method"]
    return method


def meets_targets(report: CalibrationReport) -> bool:
    """Whether a report meets every one of :data:`CALIBRATION_TARGETS`."""
    t = CALIBRATION_TARGETS
    slope = t["slope_lo"] <= report.slope <= t["slope_hi"]
    return bool(report.ece <= t["ece"] and report.ece_top <= t["ece_top"] and slope)


def _distinct(groups: np.ndarray, values: np.ndarray) -> int:
    return len(pd.DataFrame({"g": groups, "v": values}).drop_duplicates())


def compare_calibrations(
    name: str,
    probabilities: Mapping[Method, np.ndarray],
    y: np.ndarray,
    score: np.ndarray,
    groups: np.ndarray,
) -> tuple[pd.DataFrame, dict[Method, CalibrationReport]]:
    """One candidate's comparison rows (see :class:`BacktestResult`) and report per method.

    ``score`` is the candidate's ranking score and ``groups`` the population of each row (test
    month or fold); the top is each group's top :data:`TOP_SHARE` by score. ``tied_top`` counts
    the distinct scores there that share a probability with another (0: the method resolves the top).
    """
    top = top_rows(score, TOP_SHARE, groups=groups)
    scores_top = _distinct(groups[top], score[top])
    reports = {m: calibration_report(p, y, top=top) for m, p in probabilities.items()}
    figures = ("n", "n_top", "distinct_top", "ece", "ece_top", "brier", "brier_top")
    rows = [
        {"candidate": name, "method": m}
        | {k: r.summary()[k] for k in figures}
        | {"tied_top": scores_top - _distinct(groups[top], probabilities[m][top])}
        | {"slope": r.slope, "intercept": r.intercept, "meets_targets": meets_targets(r)}
        for m, r in reports.items()
    ]
    frame = pd.DataFrame(rows)
    counts = ["n", "n_top", "distinct_top", "tied_top"]
    frame[counts] = frame[counts].astype("int64")
    return frame, reports


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
    """
    frames, seconds = [], {c.name: 0.0 for c in candidates}
    calibrated: dict[str, dict[str, list[np.ndarray]]] = {
        c.name: {m: [] for m in METHODS} for c in candidates
    }
    harm_given: dict[str, list[np.ndarray]] = {c.name: [] for c in candidates}
    for split in splits:
        parts = split.indices(matrix["as_of"])
        test = matrix.iloc[parts["test"]]
        cols = [*KEYS, label_col, harm_col] + ([v100_col] if v100_col else [])
        out = test[list(dict.fromkeys(cols))].copy()
        train = matrix.iloc[parts["train"]]
        cal = matrix.iloc[calibration_rows(split, matrix["as_of"])]
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
    return BacktestResult(
        splits, predictions, result, chosen, reports, seconds, comparison, choice, calibration
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
