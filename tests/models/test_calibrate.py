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


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_isotonic_band_is_the_wilson_interval_of_the_step() -> None:
    scores = np.arange(10, dtype=float)
    y = np.array([0, 0, 1, 0, 0, 1, 1, 0, 1, 1])
    cal = Calibrator("isotonic", scores_are="margin", min_step_rows=1).fit(scores, y)
    # pool-adjacent-violators by hand: [0 0] [1 0 0] -> 1/3, [1 1 0] -> 2/3, [1 1]
    np.testing.assert_allclose(cal.transform(scores), [0, 0, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 1, 1])
    assert cal.band_n_.tolist() == [2, 3, 3, 2] and cal.band_positives_.tolist() == [0, 1, 2, 2]
    lo, hi = cal.band(np.array([3.0, 6.0, 9.0]))
    expected = [wilson(1, 3), wilson(2, 3), wilson(2, 2)]
    np.testing.assert_allclose(lo, [e[0] for e in expected])
    np.testing.assert_allclose(hi, [e[1] for e in expected])
    assert round(expected[2][0], 4) == 0.3424  # two of two: the band is wide, as it should be


def test_small_isotonic_steps_merge_with_a_neighbour() -> None:
    scores = np.arange(10, dtype=float)
    y = np.array([0, 0, 1, 0, 0, 1, 1, 0, 1, 1])
    cal = Calibrator("isotonic", scores_are="margin", min_step_rows=3).fit(scores, y)
    # steps [0 0] [1 0 0] [1 1 0] [1 1]: the first merges up (1/5), the last merges down (4/5)
    assert cal.band_n_.tolist() == [5, 5] and cal.band_positives_.tolist() == [1, 4]
    np.testing.assert_allclose(cal.transform(np.array([-5.0, 4.0, 5.0, 99.0])), [0.2, 0.2, 0.8, 0.8])
    assert (np.diff(cal.transform(np.linspace(-1, 11, 50))) >= 0).all()


def test_band_always_holds_the_probability() -> None:
    rng = np.random.default_rng(8)
    scores = rng.normal(size=3000)
    y = (rng.random(3000) < expit(scores - 2)).astype(int)
    probe = np.concatenate([rng.normal(size=500) * 2, [-9.0, 9.0]])
    for method in ("isotonic", "sigmoid"):
        cal = Calibrator(method, scores_are="margin").fit(scores, y)
        p = cal.transform(probe)
        lo, hi = cal.band(probe)
        assert (lo <= p + 1e-12).all() and (p <= hi + 1e-12).all(), method
        assert (hi - lo).max() < 1 and (hi - lo).min() > 0


def test_sigmoid_band_narrows_with_more_calibration_rows() -> None:
    rng = np.random.default_rng(9)

    def width(n: int) -> float:
        scores = rng.normal(size=n)
        y = (rng.random(n) < expit(scores)).astype(int)
        lo, hi = Calibrator("sigmoid", scores_are="margin").fit(scores, y).band(np.array([1.0]))
        return float(hi[0] - lo[0])

    assert width(40_000) < width(400) / 5  # about sqrt(100) = 10 times narrower
