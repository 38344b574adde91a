"""The population stability index and a scoring month's drift, on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.drift import Drift, level, measure, psi, sample


def test_psi_on_a_hand_computed_case() -> None:
    reference = np.array([0.0] * 50 + [1.0] * 50)  # two bins, split at the median 0.5: shares 0.5, 0.5
    current = np.array([0.0] * 80 + [1.0] * 20)  # shares 0.8, 0.2
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert psi(reference, current, bins=2) == pytest.approx(expected) == pytest.approx(0.415888, abs=1e-6)
    assert psi(reference, reference, bins=2) == 0.0
    # an empty bin counts as a share of 1e-4: large, but finite
    empty = (1 - 0.5) * math.log(1 / 0.5) + (1e-4 - 0.5) * math.log(1e-4 / 0.5)
    assert psi(reference, np.zeros(100), bins=2) == pytest.approx(empty) == pytest.approx(4.604319, abs=1e-6)
    assert math.isnan(psi(reference, np.array([])))


def test_psi_with_ten_bins_sees_a_shift_and_not_a_reshuffle() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(0, 1, 50_000)
    assert psi(reference, rng.permutation(reference)) == 0.0
    assert psi(reference, rng.normal(0, 1, 50_000)) < 0.01  # a fresh draw of the same distribution
    # a shift of the mean by 0.4 and by 0.7 standard deviations (PSI close to the shift squared)
    assert level(psi(reference, rng.normal(0.4, 1, 50_000))) == "moderate"
    assert level(psi(reference, rng.normal(0.7, 1, 50_000))) == "major"


def test_levels() -> None:
    assert [level(v) for v in (0.0, 0.099, 0.1, 0.249, 0.25, 3.0)] == [
        "stable",
        "stable",
        "moderate",
        "moderate",
        "major",
        "major",
    ]
    assert level(float("nan")) == "not measured"


def test_measure_orders_inputs_by_shift_and_reads_the_score() -> None:
    rng = np.random.default_rng(1)
    n = 5000
    reference = pd.DataFrame({"a": rng.poisson(2, n), "b": rng.normal(0, 1, n), "c": rng.normal(0, 1, n)})
    current = pd.DataFrame({"a": rng.poisson(2, n), "b": rng.normal(0, 1, n), "c": rng.normal(1, 1, n)})
    months = [pd.Timestamp("2025-02-01"), pd.Timestamp("2025-01-01")]
    found = measure(
        reference, current, ["a", "b", "c"], reference["c"].to_numpy(), current["c"].to_numpy(), months
    )
    assert isinstance(found, Drift)
    assert found.features["feature"].iloc[0] == "c" and found.shifted() == ["c"]
    assert found.features["psi"].is_monotonic_decreasing
    row = found.features.set_index("feature").loc["c"]
    assert row["reference_mean"] == pytest.approx(reference["c"].mean())
    assert row["current_mean"] == pytest.approx(current["c"].mean())
    assert found.score_psi == pytest.approx(row["psi"])  # the score here is feature c itself
    assert list(found.scores["quantile"]) == [0.5, 0.9, 0.99]
    assert found.scores["current"].iloc[0] == pytest.approx(np.quantile(current["c"], 0.5))
    assert found.reference_months == sorted(months) and found.reference_rows == found.current_rows == n


def test_sample_is_seeded_and_keeps_order() -> None:
    rows = pd.DataFrame({"x": np.arange(1000)})
    picked = sample(rows, seed=3, size=100)
    assert len(picked) == 100 and picked["x"].is_monotonic_increasing
    pd.testing.assert_frame_equal(picked, sample(rows, seed=3, size=100))
    assert sample(rows, seed=3, size=5000) is rows
