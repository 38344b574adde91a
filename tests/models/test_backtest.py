"""The backtest: held-out months only, calibration after training, every scorer on the same rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.backtest import (
    AUTO_FALLBACK,
    Candidate,
    backtest,
    choose_calibration,
    fit_model,
    resolve_calibration,
)
from models.baselines import V100Scorer
from models.calibrate import METHODS
from models.evaluate import EvaluationSettings, SelectionSettings
from models.splits import SplitSettings, kfold_splits, temporal_splits
from models.train import ModelSettings

FEATURES = ["harm_365d", "count_365d"]


def monthly_panel(months: int = 20, per_month: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-01-01", periods=months, freq="MS")
    n = months * per_month
    risk = rng.gamma(0.5, 1.0, n)
    frame = pd.DataFrame(
        {
            "person_id": [f"P{i % per_month:05d}" for i in range(n)],
            "as_of": np.repeat(dates.to_numpy(), per_month),
            "harm_365d": np.round(risk * 40 + rng.exponential(5, n)),
            "count_365d": rng.poisson(1 + risk).astype(float),
        }
    )
    frame["label"] = (rng.random(n) < 1 - np.exp(-0.3 * risk)).astype("int8")
    frame["future_harm"] = np.where(frame["label"] == 1, 365.0, rng.choice([0.0, 2.0], n))
    return frame


@pytest.fixture(scope="module")
def result():
    matrix = monthly_panel()
    splits = temporal_splits(matrix["as_of"].unique(), 3, SplitSettings(test_months=3, history_months=6))
    model = ModelSettings(n_estimators=40, min_child_samples=20, early_stopping_rounds=5)
    done: list[int] = []
    return (
        matrix,
        splits,
        backtest(
            matrix,
            FEATURES,
            splits,
            [Candidate("lightgbm", model)],
            {"v100": V100Scorer("harm_365d")},
            seed=1,
            evaluation=EvaluationSettings(ks=[50], n_boot=50),
            selection=SelectionSettings(k=50),
            v100_col="harm_365d",
            progress=lambda: done.append(len(done) + 1),
        ),
        done,
    )


def test_predictions_cover_test_months_only(result) -> None:
    _, splits, res, done = result
    assert done == [1, 2, 3]  # progress reported after each of the 3 splits (the run's progress bar)
    tested = set(pd.to_datetime(res.predictions["as_of"]).unique())
    assert tested == {s.test for s in splits} and len(tested) == 3
    assert len(res.predictions) == 3 * 600


def test_calibration_months_follow_training_and_precede_test(result) -> None:
    matrix, splits, _, _ = result
    fitted = fit_model(matrix, splits[0], FEATURES, ModelSettings(n_estimators=10), seed=1)
    assert max(fitted.train_dates) < min(fitted.calibration_dates)
    assert max(fitted.calibration_dates) + pd.DateOffset(months=3) <= splits[0].test


def test_every_scorer_evaluated_and_model_is_useful(result) -> None:
    _, _, res, _ = result
    table = res.evaluation.table
    assert {"lightgbm", "v100", "lightgbm__probability"} <= set(table["model"])
    precision = res.evaluation.value("lightgbm", "precision", k=50)
    base_rate = res.predictions["label"].mean()
    assert precision > 1.5 * base_rate
    assert res.selection.chosen == "lightgbm"
    probability = res.predictions["lightgbm__probability"]
    assert probability.between(0, 1).all()
    assert abs(probability.mean() - base_rate) < 0.05  # calibrated in the large


def test_single_date_matrix_uses_folds() -> None:
    matrix = monthly_panel(months=1, per_month=3000)
    splits = kfold_splits(matrix["label"], matrix["as_of"].iloc[0], SplitSettings(n_folds=3), seed=2)
    res = backtest(
        matrix,
        FEATURES,
        splits,
        [Candidate("lightgbm", ModelSettings(n_estimators=20))],
        {},
        seed=1,
        evaluation=EvaluationSettings(ks=[50], n_boot=20),
        selection=SelectionSettings(k=50),
    )
    assert "k-fold" in splits[0].note or "fold" in splits[0].note
    assert len(res.predictions) == 3000 and res.predictions["person_id"].is_unique


def comparison(rows: list[tuple[str, int, float, float, float, float, float]]) -> pd.DataFrame:
    """Comparison rows from (method, tied_top, ece, ece_top, brier, brier_top, slope)."""
    columns = ["method", "tied_top", "ece", "ece_top", "brier", "brier_top", "slope"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["meets_targets"] = (
        (frame["ece"] <= 0.02) & (frame["ece_top"] <= 0.05) & frame["slope"].between(0.9, 1.1)
    )
    return frame


def test_auto_takes_methods_resolving_the_top_then_meeting_targets_then_lowest_top_brier() -> None:
    rows = [
        ("isotonic", 40, 0.001, 0.001, 0.05, 0.100, 1.0),  # best figures, but flat at the top
        ("isotonic_interp", 3, 0.010, 0.030, 0.06, 0.120, 1.05),  # flat above its top step's centre
        ("sigmoid", 0, 0.030, 0.020, 0.06, 0.150, 0.80),  # lowest top Brier of the rest, misses targets
        ("beta", 0, 0.015, 0.040, 0.06, 0.190, 0.95),
    ]
    assert choose_calibration(comparison(rows)) == "beta"
    none_meet = [(m, t, 0.05, e_top, b, b_top, s) for m, t, _, e_top, b, b_top, s in rows]
    assert choose_calibration(comparison(none_meet)) == "sigmoid"  # lowest top Brier of the two
    all_tied = [(m, 5, *figures) for m, _, *figures in rows]
    assert choose_calibration(comparison(all_tied)) == "isotonic"  # none resolves the top: all compete
    tie = [("beta", 0, 0.012, 0.03, 0.06, 0.18, 1.0), ("sigmoid", 0, 0.011, 0.03, 0.06, 0.18, 1.0)]
    assert choose_calibration(comparison(tie)) == "sigmoid"  # equal top Brier: lower overall ECE
    same = [("beta", 0, 0.01, 0.03, 0.06, 0.18, 1.0), ("sigmoid", 0, 0.01, 0.03, 0.06, 0.18, 1.0)]
    assert choose_calibration(comparison(same)) == "sigmoid"  # all equal: the order of METHODS


def test_auto_backtest_compares_every_method_and_uses_its_choice(result) -> None:
    matrix, splits, fixed, _ = result
    assert fixed.calibration_choice == {"lightgbm": "isotonic"}  # a configured method is kept ...
    assert set(fixed.calibration_comparison["method"]) == set(METHODS)  # ... and every one compared
    res = backtest(
        matrix,
        FEATURES,
        splits,
        [
            Candidate(
                "lightgbm", ModelSettings(n_estimators=40, min_child_samples=20, early_stopping_rounds=5)
            )
        ],
        {"v100": V100Scorer("harm_365d")},
        seed=1,
        evaluation=EvaluationSettings(ks=[50], n_boot=0),
        selection=SelectionSettings(k=50),
        v100_col="harm_365d",
        calibration="auto",
    )
    table = res.calibration_comparison
    assert len(table) == len(METHODS) and table["chosen"].sum() == 1
    assert (table.set_index("method").loc[["sigmoid", "beta"], "tied_top"] == 0).all()
    assert table.set_index("method").at["isotonic", "tied_top"] > 0
    assert (table["n"] == len(res.predictions)).all() and (
        table["n_top"] == 3 * 6
    ).all()  # 1% of 600, 3 months
    method = choose_calibration(table)
    assert res.calibration_choice == {"lightgbm": method} and res.calibration_method == method
    assert table.loc[table["chosen"], "method"].item() == method
    chosen = res.calibration["lightgbm"]
    assert chosen.brier == pytest.approx(table.loc[table["chosen"], "brier"].item())
    # the candidate's probability column is the chosen method's
    assert res.evaluation.value("lightgbm__probability", "brier") == pytest.approx(chosen.brier)
    # the ranking, and so precision, does not depend on the calibration
    precision = res.evaluation.value("lightgbm", "precision", k=50)
    assert precision == fixed.evaluation.value("lightgbm", "precision", k=50)
    assert resolve_calibration("auto", res) == method and resolve_calibration("auto") == AUTO_FALLBACK
    assert resolve_calibration("sigmoid") == "sigmoid" and resolve_calibration("sigmoid", res) == method
    fitted = fit_model(
        matrix, splits[0], FEATURES, ModelSettings(n_estimators=10), seed=1, calibration="auto"
    )
    assert fitted.calibrator.method == AUTO_FALLBACK
