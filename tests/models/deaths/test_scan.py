"""The prospective space-time permutation scan: a hand-computed likelihood ratio, a planted
emerging cluster found with a small p-value, and nothing strong in a calm period."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.deaths.scan import scan


def _grid(side: int = 10, spacing: float = 800.0) -> np.ndarray:
    col, row = np.meshgrid(np.arange(side), np.arange(side))
    return np.column_stack([col.ravel() * spacing, row.ravel() * spacing]).astype(float)


def test_likelihood_ratio_by_hand() -> None:
    # Two areas 10 km apart, 2 weeks. Area 0 has 3 reports in week 0 and 1 in week 1; area 1 has
    # 0 in week 0 and 4 in week 1. Cylinder (area 0, week 0): c = 3, mu = 4 * 3 / 8 = 1.5.
    area = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    week = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    centres = np.array([[0.0, 0.0], [10_000.0, 0.0]])
    result = scan(area, week, centres, np.array(["A", "B"]), 1, 1_000, 1, 99, seed=1)
    top = result.clusters.iloc[0]
    c, mu, total = 3, 1.5, 8
    llr = c * math.log(c / mu) + (total - c) * math.log((total - c) / (total - mu))
    assert (top["centre_area"], top["weeks"], top["observed"]) == ("A", 1, 3)
    assert top["expected"] == pytest.approx(mu) and top["llr"] == pytest.approx(llr)
    assert top["recurrence_years"] == pytest.approx(1 / top["p_value"] / 12)


def test_an_emerging_cluster_is_found() -> None:
    rng = np.random.default_rng(4)
    centres = _grid()
    area = rng.integers(0, 100, 600)
    week = rng.integers(0, 52, 600)
    # 12 reports in the last two weeks around area 55
    burst_area = np.array([55, 55, 56, 45, 55, 56, 54, 55, 65, 55, 56, 45])
    result = scan(
        np.r_[area, burst_area],
        np.r_[week, rng.integers(0, 2, 12)],
        centres,
        np.arange(100).astype(str),
        8,
        1_200,
        6,
        999,
        seed=2,
    )
    top = result.clusters.iloc[0]
    assert "55" in top["area_codes"].split(";")
    assert top["weeks"] <= 2 and top["p_value"] == pytest.approx(0.001)
    assert top["recurrence_years"] == pytest.approx(1000 / 12)


def test_a_calm_period_has_no_strong_cluster_and_the_scan_is_repeatable() -> None:
    rng = np.random.default_rng(6)
    area, week = rng.integers(0, 100, 600), rng.integers(0, 52, 600)
    args = (area, week, _grid(), np.arange(100).astype(str), 8, 1_200, 6, 199)
    result = scan(*args, seed=3)
    assert result.clusters["p_value"].min() > 0.05
    assert result.clusters.equals(scan(*args, seed=3).clusters)
    used = [set(codes.split(";")) for codes in result.clusters["area_codes"]]
    assert all(not (a & b) for i, a in enumerate(used) for b in used[i + 1 :])  # no shared area


def test_a_period_without_reports_has_no_cluster() -> None:
    empty = np.zeros(0, dtype=np.int64)
    result = scan(empty, empty, np.zeros((0, 2)), np.zeros(0, dtype=str), 8, 1_200, 6, 99, seed=1)
    assert result.reports == 0 and result.clusters.empty
