"""Calibration fitted on held-out rows fixes a miscalibrated score; the report's figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression

from features.errors import PipelineError
from models.calibrate import (
    METHODS,
    Calibrator,
    calibration_report,
    fit_logistic_1d,
    reliability_table,
    top_rows,
)
from models.evaluate import EvaluationSettings, evaluate


def world(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True probability p, outcome y ~ Bernoulli(p), and an over-confident score sigmoid(2.5 logit(p) + 1)."""
    rng = np.random.default_rng(seed)
    p = expit(rng.normal(-2.5, 1.0, n))
    y = (rng.random(n) < p).astype(int)
    return p, y, expit(2.5 * logit(p) + 1.0)


@pytest.mark.parametrize("method", METHODS)
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
    for method in METHODS:
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


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(60, 2000),
    shift=st.floats(-3, 1),
    slope=st.floats(-1, 3),
    kind=st.sampled_from(["margin", "probability"]),
)
def test_every_method_is_non_decreasing_in_the_score(seed, n, shift, slope, kind) -> None:
    rng = np.random.default_rng(seed)
    margin = rng.normal(0, 2, n)
    y = (rng.random(n) < expit(slope * margin + shift)).astype(int)
    y[:2] = [0, 1]  # both outcomes, whatever the draw
    scores = margin if kind == "margin" else expit(margin)
    probe = np.sort(np.concatenate([scores, np.linspace(scores.min() - 1, scores.max() + 1, 200)]))
    if kind == "probability":
        probe = np.clip(probe, 0, 1)
    for method in METHODS:
        cal = Calibrator(method, scores_are=kind, min_step_rows=10).fit(scores, y)
        p = cal.transform(probe)
        lo, hi = cal.band(probe)
        assert (np.diff(p) >= -1e-12).all(), method
        assert ((p >= 0) & (p <= 1)).all() and (lo <= p + 1e-12).all() and (p <= hi + 1e-12).all(), method


def test_the_top_gets_distinct_probabilities_where_isotonic_collapses() -> None:
    rng = np.random.default_rng(11)
    margin = rng.normal(-2, 1.2, 20_000)
    y = (rng.random(len(margin)) < expit(1.3 * margin + 0.5)).astype(int)
    later = np.sort(rng.normal(-2, 1.2, 20_000))[::-1][:100]  # a later cohort's top 100
    stepped = Calibrator("isotonic", "margin").fit(margin, y).transform(later)
    assert len(np.unique(stepped)) <= 3  # the top 100 sit on a step or two
    for method in ("beta", "sigmoid"):
        p = Calibrator(method, "margin").fit(margin, y).transform(later)
        assert len(np.unique(p.round(6))) == 100, method
    interp = Calibrator("isotonic_interp", "margin").fit(margin, y).transform(later)
    assert len(np.unique(interp.round(6))) > 10


def test_isotonic_interp_by_hand() -> None:
    scores = np.arange(10, dtype=float)
    y = np.array([0, 0, 1, 0, 0, 1, 1, 0, 1, 1])
    cal = Calibrator("isotonic_interp", scores_are="margin", min_step_rows=1).fit(scores, y)
    # steps [0 1] -> 0 (centre 0.5), [2 3 4] -> 1/3 (centre 3), [5 6 7] -> 2/3 (centre 6), [8 9] -> 1 (8.5)
    np.testing.assert_allclose(cal.band_centres_, [0.5, 3, 6, 8.5])
    probe = np.array([-4.0, 0.5, 2.0, 4.5, 7.0, 9.0, 20.0])
    expected = [0, 0, 1.5 / 2.5 / 3, 1 / 3 + 1.5 / 3 / 3, 2 / 3 + 1 / 2.5 / 3, 1, 1]
    np.testing.assert_allclose(cal.transform(probe), expected)
    lo, hi = cal.band(np.array([3.0, 4.5]))
    steps = [wilson(1, 3), wilson(2, 3)]
    np.testing.assert_allclose(lo, [steps[0][0], (steps[0][0] + steps[1][0]) / 2])
    np.testing.assert_allclose(hi, [steps[0][1], (steps[0][1] + steps[1][1]) / 2])


def beta_design(m: np.ndarray) -> np.ndarray:
    s = expit(m)
    return np.column_stack([np.log(s), -np.log(1 - s), np.ones_like(m)])


def test_beta_with_three_scores_fits_each_rate_exactly() -> None:
    # three distinct margins and three coefficients: the fit reproduces each group's mean smoothed
    # target (Platt: an outcome counts (N+ + 1) / (N+ + 2), none 1 / (N- + 2)), with N+ 12 and N- 18
    margin = np.repeat([-1.0, 0.0, 2.0], 10)
    y = np.zeros(30, dtype=int)
    y[[0]] = 1
    y[10:13] = 1
    y[20:28] = 1
    t_pos, t_neg = 13 / 14, 1 / 20
    expected = np.array([(k * t_pos + (10 - k) * t_neg) / 10 for k in (1, 3, 8)])
    cal = Calibrator("beta", scores_are="margin").fit(margin, y)
    np.testing.assert_allclose(cal.transform(np.array([-1.0, 0.0, 2.0])), expected, atol=1e-8)
    assert (cal.coef_[:2] >= 0).all()
    np.testing.assert_allclose(
        beta_design(np.array([-1.0, 0.0, 2.0])) @ cal.coef_, logit(expected), atol=1e-6
    )


def test_beta_is_the_identity_on_calibrated_log_odds_and_recovers_a_tilt() -> None:
    rng = np.random.default_rng(12)
    margin = rng.normal(0, 2, 200_000)
    y = (rng.random(len(margin)) < expit(margin)).astype(int)
    cal = Calibrator("beta", scores_are="margin").fit(margin, y)
    np.testing.assert_allclose(cal.coef_, [1, 1, 0], atol=0.06)
    # lower margins too flat, higher ones too steep: logit p = 0.5 ln s - 2 ln(1 - s)
    tilted = (rng.random(len(margin)) < expit(beta_design(margin) @ [0.5, 2.0, 0.0])).astype(int)
    fit = Calibrator("beta", scores_are="margin").fit(margin, tilted)
    np.testing.assert_allclose(fit.coef_, [0.5, 2.0, 0.0], atol=0.08)
    assert calibration_report(fit.transform(margin), tilted).ece < 0.005


def test_beta_keeps_slopes_non_negative() -> None:
    rng = np.random.default_rng(13)
    margin = rng.normal(0, 2, 20_000)
    # the outcome falls with the margin below 0 and rises above it: a < 0 unconstrained
    y = (rng.random(len(margin)) < expit(np.abs(margin) - 2)).astype(int)
    cal = Calibrator("beta", scores_are="margin").fit(margin, y)
    assert cal.coef_[0] == 0 and cal.coef_[1] > 0
    assert cal.band_cov_[0].tolist() == [0, 0, 0]  # a fixed coefficient adds no uncertainty
    # falling everywhere: both slopes fixed at 0, a constant at the smoothed base rate
    down = (rng.random(len(margin)) < expit(-margin)).astype(int)
    flat = Calibrator("beta", scores_are="margin").fit(margin, down)
    assert flat.coef_[:2].tolist() == [0, 0]
    assert np.ptp(flat.transform(margin)) == 0


def test_beta_band_is_the_delta_method_interval() -> None:
    rng = np.random.default_rng(14)
    margin = rng.normal(-1, 1.5, 5000)
    y = (rng.random(5000) < expit(margin)).astype(int)
    cal = Calibrator("beta", scores_are="margin").fit(margin, y)
    x = beta_design(np.array([2.5]))
    se = float(np.sqrt(x @ cal.band_cov_ @ x.T)[0, 0])
    eta = float((x @ cal.coef_)[0])
    lo, hi = cal.band(np.array([2.5]))
    assert lo[0] == pytest.approx(expit(eta - 1.959964 * se))
    assert hi[0] == pytest.approx(expit(eta + 1.959964 * se))


def test_report_figures_within_the_top_by_hand() -> None:
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
    y = np.array([0, 0, 1, 0, 1, 0, 1, 1])
    report = calibration_report(p, y, n_bins=2, top_share=0.25, top_bins=1)
    # top 25% by p: 0.8 and 0.9, both had the outcome
    assert report.n_top == 2 and report.distinct_top == 2
    assert report.brier_top == pytest.approx((0.2**2 + 0.1**2) / 2)
    assert report.ece_top == pytest.approx(abs(0.85 - 1.0))
    assert report.mean_predicted_top == pytest.approx(0.85) and report.observed_rate_top == 1.0
    mask = np.array([True, False, False, False, False, False, False, True])  # a caller's own top
    chosen = calibration_report(p, y, n_bins=2, top=mask, top_bins=2)
    assert chosen.n_top == 2 and chosen.brier_top == pytest.approx((0.01 + 0.01) / 2)
    assert chosen.ece_top == pytest.approx((0.1 + 0.1) / 2)
    assert {"ece_top", "brier_top", "n_top"} <= set(report.summary())


def test_top_rows_takes_the_share_within_each_group() -> None:
    score = np.array([5, 1, 3, 3, 9, 2, 8, 7], dtype=float)
    groups = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert top_rows(score, 0.5, groups).tolist() == [True, False, True, False, True, False, True, False]
    assert top_rows(score, 0.01).tolist() == [False, False, False, False, True, False, False, False]
