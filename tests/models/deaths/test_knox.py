"""The Knox test against a hand-computed case, its permutation p-value and its invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.deaths.knox import knox


def test_four_reports_by_hand() -> None:
    # Two pairs close in space (0-1 and 2-3, 100 m apart; the pairs 5 km apart). Only reports 0 and
    # 1 are close in time (10 days). Of 6 pairs: NS = 2, NT = 1, NST = 1; expected 2 * 1 / 6.
    x = np.array([0.0, 100.0, 5_000.0, 5_100.0])
    y = np.zeros(4)
    t = np.array([0, 10, 100, 200])
    k = knox(x, y, t, distance_m=500, days=30, permutations=9_999, seed=7)
    assert (k.n, k.pairs, k.close_space, k.close_time, k.close_both) == (4, 6, 2, 1, 1)
    assert k.expected == pytest.approx(1 / 3)
    assert k.ratio == pytest.approx(3.0)
    # Shuffling the dates puts days 0 and 10 on one of the two close pairs with chance
    # 2 * (2! * 2!) / 4! = 1/3, which is the exact p-value.
    assert k.p_value == pytest.approx(1 / 3, abs=0.015)
    assert k.p_poisson == pytest.approx(1 - math.exp(-1 / 3))


def test_thresholds_are_inclusive() -> None:
    k = knox(np.array([0.0, 500.0]), np.zeros(2), np.array([0, 30]), 500, 30, 99, 1)
    assert (k.close_space, k.close_time, k.close_both) == (1, 1, 1)


def test_same_seed_same_p_value_and_too_few_reports() -> None:
    rng = np.random.default_rng(3)
    x, y, t = rng.uniform(0, 5_000, 200), rng.uniform(0, 5_000, 200), rng.integers(0, 365, 200)
    first = knox(x, y, t, 800, 20, 499, seed=11)
    assert knox(x, y, t, 800, 20, 499, seed=11) == first
    assert knox(x[:1], y[:1], t[:1], 800, 20, 499, seed=11).p_value == 1.0


def test_space_time_clustering_is_found_and_its_absence_is_not() -> None:
    rng = np.random.default_rng(5)
    n = 300
    x, y, t = rng.uniform(0, 20_000, n), rng.uniform(0, 20_000, n), rng.integers(0, 365, n).astype(float)
    calm = knox(x, y, t, 1_000, 30, 999, seed=1)
    assert calm.p_value > 0.05
    # 15 reports within 300 m and 20 days of one another
    x2 = np.concatenate([x, 10_000 + rng.normal(0, 100, 15)])
    y2 = np.concatenate([y, 10_000 + rng.normal(0, 100, 15)])
    t2 = np.concatenate([t, 200 + rng.integers(0, 20, 15)])
    busy = knox(x2, y2, t2, 1_000, 30, 999, seed=1)
    assert busy.p_value == pytest.approx(0.001)
    assert busy.close_both > 1.5 * busy.expected


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 40), st.integers(0, 10_000))
def test_counts_agree_with_brute_force(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y, t = rng.uniform(0, 3_000, n), rng.uniform(0, 3_000, n), rng.integers(0, 100, n)
    k = knox(x, y, t, 700, 15, 99, seed)
    i, j = np.triu_indices(n, 1)
    space = np.hypot(x[i] - x[j], y[i] - y[j]) <= 700
    time = np.abs(t[i] - t[j]) <= 15
    assert (k.close_space, k.close_time, k.close_both) == (space.sum(), time.sum(), (space & time).sum())
    assert k.expected == pytest.approx(space.sum() * time.sum() / (n * (n - 1) / 2))
    assert 0 < k.p_value <= 1
