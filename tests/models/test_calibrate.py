"""Calibration fitted on held-out rows fixes a miscalibrated score; the report's figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression

from features.errors import PipelineError
from models.calibrate import Calibrator, calibration_report, fit_logistic_1d, reliability_table
from models.evaluate import EvaluationSettings, evaluate


def world(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True probability p, outcome y ~ Bernoulli(p), and an over-confident score sigmoid(2.5 logit(p) + 1)."""
    rng = np.random.default_rng(seed)
    p = expit(rng.normal(-2.5, 1.0, n))
    y = (rng.random(n) < p).astype(int)
    return p, y, expit(2.5 * logit(p) + 1.0)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_held_out_calibration_improves_ece(method: str) -> None:
    _, y_cal, s_cal = world(20_000, seed=1)  # calibration period
    _, y_test, s_test = world(20_000, seed=2)  # a later, untouched period
    before = calibration_report(s_test, y_test)
    calibrated = Calibrator(method).fit(s_cal, y_cal).transform(s_test)  # type: ignore[arg-type]
    after = calibration_report(calibrated, y_test)
    assert before.ece > 0.05
    assert after.ece < before.ece / 4
    assert after.brier < before.brier
    assert abs(after.slope - 1) < 0.15 and abs(before.slope - 0.4) < 0.05  # 1 / 2.5


def test_sigmoid_on_margin_recovers_platt_parameters() -> None:
    rng = np.random.default_rng(3)
    margin = rng.normal(0, 1.5, 50_000)
    y = (rng.random(len(margin)) < expit(2.0 * margin - 1.0)).astype(int)
    cal = Calibrator("sigmoid", scores_are="margin").fit(margin, y)
    assert cal.slope_ == pytest.approx(2.0, abs=0.05)
    assert cal.intercept_ == pytest.approx(-1.0, abs=0.05)


def test_isotonic_is_monotone_and_clipped() -> None:
    _, y, s = world(5000, seed=4)
    cal = Calibrator().fit(s, y)
    grid = np.linspace(0, 1, 201)
    out = cal.transform(grid)
    assert (np.diff(out) >= 0).all() and out.min() >= 0 and out.max() <= 1


def test_report_on_calibrated_probabilities() -> None:
    p, y, _ = world(40_000, seed=5)
    report = calibration_report(p, y)
    assert report.slope == pytest.approx(1.0, abs=0.08)
    assert report.intercept == pytest.approx(0.0, abs=0.25)
    assert report.ece < 0.01
    table = report.reliability
    assert len(table) == 10 and table["n"].sum() == len(y)
    assert list(table.columns) == ["bin", "n", "mean_predicted", "observed_rate", "lo", "hi"]
    assert ((table["lo"] <= table["observed_rate"]) & (table["observed_rate"] <= table["hi"])).all()
    assert set(report.summary()) >= {"brier", "log_loss", "ece", "slope", "intercept"}


def test_report_figures_by_hand() -> None:
    p = np.array([0.1, 0.1, 0.9, 0.9])
    y = np.array([0, 1, 1, 1])
    report = calibration_report(p, y, n_bins=2)
    assert report.brier == pytest.approx((0.01 + 0.81 + 0.01 + 0.01) / 4)
    assert report.log_loss == pytest.approx(-(np.log(0.9) * 3 + np.log(0.1)) / 4)
    # bins: {0.1, 0.1} observed 0.5, {0.9, 0.9} observed 1.0 -> ECE = (2 x 0.4 + 2 x 0.1) / 4
    assert report.ece == pytest.approx(0.25)
    assert reliability_table(p, y, 2)["observed_rate"].tolist() == [0.5, 1.0]


def test_report_ece_is_the_evaluation_ece() -> None:
    _, y, s = world(3000, seed=6)
    frame = pd.DataFrame({"person_id": np.arange(3000).astype(str), "as_of": 0, "label": y, "h": 0.0, "s": s})
    res = evaluate(
        frame, {"m": "s"}, EvaluationSettings(ks=[10], n_boot=0), 0, harm_col="h", probabilistic={"m"}
    )
    assert res.value("m", "ece") == pytest.approx(calibration_report(s, y).ece)


def test_logistic_fit_matches_sklearn() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(0, 1, 5000)
    y = (rng.random(5000) < expit(0.7 * x + 0.3)).astype(int)
    reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(x[:, None], y)
    a, b = fit_logistic_1d(x, y.astype(float))
    assert a == pytest.approx(reference.coef_[0, 0], abs=1e-5)
    assert b == pytest.approx(reference.intercept_[0], abs=1e-5)


def test_bad_calibration_input_is_refused() -> None:
    with pytest.raises(PipelineError, match="only outcome 0"):
        Calibrator().fit(np.array([0.1, 0.2]), np.array([0, 0]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Calibrator("sigmoid").fit(np.array([-1.0, 2.0]), np.array([0, 1]))


def test_band_is_the_wilson_interval_of_the_score_bin() -> None:
    scores = np.arange(10, dtype=float)
    y = np.array([0, 0, 1, 0, 0, 1, 1, 0, 1, 1])
    cal = Calibrator("isotonic", scores_are="margin", band_rows=5).fit(scores, y)
    lo, hi = cal.band(np.array([-3.0, 2.0, 4.9, 5.0, 50.0]))
    # bin 1: scores 0-4, 1 positive of 5; bin 2: scores 5-9, 4 of 5 (Wilson by hand below)
    z = 1.959964

    def wilson(k: int, n: int) -> tuple[float, float]:
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return centre - half, centre + half

    first, second = wilson(1, 5), wilson(4, 5)
    np.testing.assert_allclose(lo, [first[0]] * 3 + [second[0]] * 2)
    np.testing.assert_allclose(hi, [first[1]] * 3 + [second[1]] * 2)
    assert round(first[0], 4) == 0.0362 and round(first[1], 4) == 0.6245


def test_short_last_band_bin_is_folded_into_the_one_before() -> None:
    scores = np.arange(12, dtype=float)
    y = np.array([0, 1] * 6)
    cal = Calibrator("sigmoid", scores_are="margin", band_rows=5).fit(scores, y)
    assert cal.band_n_.tolist() == [5, 7]
    assert cal.band_positives_.tolist() == [2, 4]
