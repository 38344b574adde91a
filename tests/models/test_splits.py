"""Backtest splits: no fitted label horizon reaches into the test period; held-out dates follow training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from features.errors import PipelineError
from models.splits import Split, SplitSettings, kfold_splits, split_table, temporal_splits


def months(start: str, n: int) -> list[pd.Timestamp]:
    return list(pd.date_range(start, periods=n, freq="MS"))


def plus(day: pd.Timestamp, n: int) -> pd.Timestamp:
    return day + pd.DateOffset(months=n)


def check_rules(split: Split, horizon: int, gap: int) -> None:
    fitted = [*split.train, *split.validation, *split.calibration]
    assert all(plus(d, horizon) <= split.test for d in fitted)  # labels end before the test month
    assert len(set(fitted)) == len(fitted)  # the parts do not share a date
    held_out = [*split.validation, *split.calibration]
    if held_out:
        assert max(split.train) < min(held_out)
        assert all(plus(d, gap) <= min(held_out) for d in split.train)
    if split.validation and split.calibration:
        assert max(split.validation) < min(split.calibration)
    assert list(split.train) == sorted(split.train)


def test_hand_made_split() -> None:
    s = SplitSettings(test_months=2, history_months=3, validation_months=1, calibration_months=1)
    splits = temporal_splits(months("2022-01-01", 24), horizon_months=6, settings=s)
    assert [sp.test for sp in splits] == [pd.Timestamp("2023-11-01"), pd.Timestamp("2023-12-01")]
    first = splits[0]  # latest date whose 6-month horizon ends by 2023-11-01 is 2023-05-01
    assert first.calibration == (pd.Timestamp("2023-05-01"),)
    assert first.validation == (pd.Timestamp("2023-04-01"),)
    assert first.train == tuple(pd.date_range("2023-01-01", periods=3, freq="MS"))


def test_default_settings_twelve_monthly_splits() -> None:
    splits = temporal_splits(months("2019-01-01", 72), 12, SplitSettings())
    assert len(splits) == 12
    assert all(len(sp.train) == 24 for sp in splits)
    for sp in splits:
        check_rules(sp, 12, 0)


def test_gap_keeps_training_labels_before_held_out_dates() -> None:
    s = SplitSettings(test_months=1, history_months=6, gap_months=12)
    (split,) = temporal_splits(months("2020-01-01", 48), 12, s)
    assert all(plus(d, 12) <= split.validation[0] for d in split.train)
    assert plus(split.train[-1], 12) == split.validation[0]


def test_too_few_dates_is_a_clear_error() -> None:
    with pytest.raises(PipelineError, match="no backtest split fits"):
        temporal_splits(months("2024-01-01", 6), 12, SplitSettings())


def test_settings_refuse_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        SplitSettings(test_month=3)  # type: ignore[call-arg]


def brute_force_fits(dates: list[pd.Timestamp], test: pd.Timestamp, horizon: int, s: SplitSettings) -> bool:
    eligible = [d for d in dates if plus(d, horizon) <= test]
    held = s.validation_months + s.calibration_months
    if len(eligible) < held:
        return False
    first = eligible[len(eligible) - held] if held else test
    train = [d for d in eligible[: len(eligible) - held] if plus(d, s.gap_months) <= first]
    return len(train) >= s.min_history_months


@settings(max_examples=150, deadline=None)
@given(
    start=st.dates(min_value=pd.Timestamp("2010-01-01").date(), max_value=pd.Timestamp("2030-01-01").date()),
    n=st.integers(1, 60),
    keep=st.lists(st.booleans(), min_size=60, max_size=60),
    horizon=st.integers(1, 24),
    test_months=st.integers(1, 12),
    history=st.integers(1, 36),
    validation=st.integers(0, 3),
    calibration=st.integers(0, 3),
    gap=st.integers(0, 12),
)
def test_split_rules_hold_for_random_date_ranges(
    start: object,
    n: int,
    keep: list[bool],
    horizon: int,
    test_months: int,
    history: int,
    validation: int,
    calibration: int,
    gap: int,
) -> None:
    dates = [d for d, k in zip(months(pd.Timestamp(start).replace(day=1), n), keep, strict=False) if k]
    s = SplitSettings(
        test_months=test_months,
        history_months=history,
        validation_months=validation,
        calibration_months=calibration,
        gap_months=gap,
    )
    expected = [t for t in dates[-test_months:] if brute_force_fits(dates, t, horizon, s)]
    if not expected:
        with pytest.raises(PipelineError):
            temporal_splits(dates, horizon, s)
        return
    splits = temporal_splits(dates, horizon, s)
    assert [sp.test for sp in splits] == expected
    for sp in splits:
        check_rules(sp, horizon, gap)
        assert 1 <= len(sp.train) <= history
        assert (len(sp.validation), len(sp.calibration)) == (validation, calibration)
        assert set([*sp.train, *sp.validation, *sp.calibration]) <= set(dates)


def test_indices_select_rows_by_date() -> None:
    s = SplitSettings(test_months=1, history_months=2)
    (split,) = temporal_splits(months("2023-01-01", 8), 3, s)
    as_of = pd.Series(np.repeat(months("2023-01-01", 8), 2))
    idx = split.indices(as_of)
    assert idx["test"].tolist() == [14, 15]  # 2023-08-01
    assert idx["calibration"].tolist() == [8, 9]  # 2023-05-01: horizon ends 2023-08-01
    assert idx["validation"].tolist() == [6, 7]
    assert idx["train"].tolist() == [2, 3, 4, 5]


def test_kfold_fallback_for_a_single_date() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(1000) < 0.1).astype(int)
    s = SplitSettings(n_folds=5)
    splits = kfold_splits(y, "2025-01-01", s, seed=3)
    assert len(splits) == 5 and all("single as-of date" in sp.note for sp in splits)
    tests = np.concatenate([sp.indices(np.zeros(len(y)))["test"] for sp in splits])
    assert sorted(tests.tolist()) == list(range(1000))  # each row tested exactly once
    for sp in splits:
        parts = sp.indices(np.zeros(len(y)))
        assert sum(len(v) for v in parts.values()) == 1000
        assert len(np.unique(np.concatenate(list(parts.values())))) == 1000  # disjoint
        for rows in parts.values():
            assert abs(y[rows].mean() - y.mean()) < 0.03  # stratified
        assert len(parts["calibration"]) == pytest.approx(160, abs=2)
    again = kfold_splits(y, "2025-01-01", s, seed=3)
    assert all((a.rows["test"] == b.rows["test"]).all() for a, b in zip(splits, again, strict=True))  # type: ignore[index]
    with pytest.raises(PipelineError, match="5-fold"):
        kfold_splits(np.array([1, 0, 0, 0, 0, 0]), "2025-01-01", s, seed=3)


def test_split_table() -> None:
    splits = temporal_splits(months("2022-01-01", 24), 6, SplitSettings(test_months=2, history_months=3))
    table = split_table(splits)
    assert table["test"].astype(str).tolist() == ["2023-11-01", "2023-12-01"]
    assert table.loc[0, "train_from"] == pd.Timestamp("2023-01-01").date()
    assert (table["last_label_end"] <= table["test"]).all()
    assert table["train_dates"].tolist() == [3, 3]
    folds = split_table(kfold_splits(np.tile([0, 1], 50), "2025-01-01", SplitSettings(), seed=0))
    assert folds["note"].str.contains("single as-of date").all()
    assert folds["rows"].str.contains("test 20").all()
