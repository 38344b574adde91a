"""The one AUC and the one percentile interval that every caller uses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.metrics import roc_auc_score

from models.metrics import auc_from_counts, percentile_interval, weighted_auc


def test_weighted_auc_by_hand() -> None:
    score = np.array([1.0, 2.0, 2.0, 3.0])
    y = np.array([0, 0, 1, 1])
    # pairs (pos, neg): (2, 1) win, (2, 2) tie, (3, 1) win, (3, 2) win -> 3.5 / 4
    weights = np.column_stack([np.ones(4), [2.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0]])
    # column 2: negatives {1, 1}; positives {2, 3}: all wins -> 1; column 3: no positive -> NaN
    out = weighted_auc(score, y, weights)
    assert out[:2] == pytest.approx([0.875, 1.0])
    assert np.isnan(out[2])


def test_auc_from_counts_by_hand_and_per_segment() -> None:
    # ascending runs: (neg 2, pos 0), (neg 1, pos 1), (neg 0, pos 2)
    pos, neg = np.array([0.0, 1.0, 2.0]), np.array([2.0, 1.0, 0.0])
    # positive in run 1 beats 2 negatives and ties 1: 2.5; each positive in run 2 beats 3: 6 -> 8.5 / 9
    assert auc_from_counts(pos, neg)[()] == pytest.approx(8.5 / 9)
    # the same runs twice as two segments, and an empty third segment
    seg = np.array([0, 0, 0, 1, 1, 1])
    out = auc_from_counts(np.r_[pos, pos], np.r_[neg, neg], segment=seg, n_segments=3)
    assert out[:2] == pytest.approx([8.5 / 9, 8.5 / 9])
    assert np.isnan(out[2])


@settings(max_examples=60, deadline=None)
@given(
    scores=hnp.arrays(np.float64, st.integers(2, 60), elements=st.sampled_from([0.1, 0.2, 0.3, 0.5, 0.9])),
    seed=st.integers(0, 2**16),
)
def test_weighted_auc_is_sklearns_auc(scores: np.ndarray, seed: int) -> None:
    y = np.random.default_rng(seed).integers(0, 2, len(scores))
    if y.min() == y.max():
        assert np.isnan(weighted_auc(scores, y, np.ones((len(y), 1)))[0])
        return
    assert weighted_auc(scores, y, np.ones((len(y), 1)))[0] == pytest.approx(
        roc_auc_score(y, scores), abs=1e-12
    )


@settings(max_examples=80, deadline=None)
@given(
    reps=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 4), st.integers(0, 40)),
        elements=st.one_of(st.floats(-1e3, 1e3), st.just(np.nan)),
    ),
    confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_percentile_interval_is_numpys_quantile_bit_for_bit(reps: np.ndarray, confidence: float) -> None:
    lo, hi = percentile_interval(reps, confidence)
    for row, a, b in zip(reps, lo, hi, strict=True):
        finite = row[np.isfinite(row)]
        if finite.size == 0:
            assert np.isnan(a) and np.isnan(b)
            continue
        want = np.quantile(finite, [(1 - confidence) / 2, (1 + confidence) / 2])
        assert (a, b) == (want[0], want[1])  # exact, not approximate


def test_percentile_interval_needs_its_share_of_defined_replicates() -> None:
    reps = np.array([[1.0, 2.0, np.nan, np.nan], [1.0, 2.0, 3.0, np.nan], [np.nan] * 4])
    lo, hi = percentile_interval(reps, 0.5, min_defined=0.5)
    assert lo[0] == 1.25 and hi[0] == 1.75  # 2 of 4 defined: enough
    assert lo[1] == 1.5 and hi[1] == 2.5
    assert np.isnan(lo[2]) and np.isnan(hi[2])
    lo, hi = percentile_interval(reps, 0.5, min_defined=0.75)
    assert np.isnan(lo[0]) and lo[1] == 1.5
    empty_lo, empty_hi = percentile_interval(np.empty((2, 0)), 0.95)
    assert np.isnan(empty_lo).all() and np.isnan(empty_hi).all()
