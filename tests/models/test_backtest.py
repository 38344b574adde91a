"""The backtest: held-out months only, calibration after training, every scorer on the same rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.backtest import Candidate, backtest, fit_model
from models.baselines import V100Scorer
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
        ),
    )


def test_predictions_cover_test_months_only(result) -> None:
    _, splits, res = result
    tested = set(pd.to_datetime(res.predictions["as_of"]).unique())
    assert tested == {s.test for s in splits} and len(tested) == 3
    assert len(res.predictions) == 3 * 600


def test_calibration_months_follow_training_and_precede_test(result) -> None:
    matrix, splits, _ = result
    fitted = fit_model(matrix, splits[0], FEATURES, ModelSettings(n_estimators=10), seed=1)
    assert max(fitted.train_dates) < min(fitted.calibration_dates)
    assert max(fitted.calibration_dates) + pd.DateOffset(months=3) <= splits[0].test


def test_every_scorer_evaluated_and_model_is_useful(result) -> None:
    _, _, res = result
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
