"""Category decisions by victim group: shares, the circumstances' prediction, the difference and
its interval, speed, and suppression of small groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairness.deaths import age_band, decisions_by_group
from models.deaths.settings import EqualitySettings
from tests.models.deaths.conftest import reports


def _decided(n_a: int, n_b: int, closed_a: int, closed_b: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    for group, n, closed in (("A", n_a, closed_a), ("B", n_b, closed_b)):
        for k in range(n):
            category = "unexpected_not_suspicious" if k < closed else "unexpected_under_investigation"
            rows.append({"x": 0.0, "y": 0.0, "day": k, "category": category, "group": group})
    frame = reports(rows)
    frame["classified_date"] = frame["reported_date"] + pd.to_timedelta(
        np.where(frame["group"] == "A", 5, 40), unit="D"
    )
    return frame, frame[["group"]]


def test_same_circumstances_predict_the_overall_share() -> None:
    deaths, groups = _decided(40, 60, closed_a=36, closed_b=30)  # 90% and 50%; overall 66%
    table = decisions_by_group(deaths, groups, EqualitySettings(n_boot=500), seed=1).set_index("group")
    assert table.loc["A", "closed_share"] == pytest.approx(0.9)
    assert table.loc["B", "closed_share"] == pytest.approx(0.5)
    # identical circumstances: the (regularised) model predicts about the overall share for everyone
    assert table.loc["A", "predicted_share"] == pytest.approx(0.66, abs=0.01)
    assert table.loc["A", "difference"] == pytest.approx(0.9 - table.loc["A", "predicted_share"])
    assert table.loc["A", "difference_low"] > 0 > table.loc["B", "difference_high"]
    assert table.loc["A", "median_days_to_close"] == 5 and table.loc["B", "median_days_to_close"] == 40


def test_small_groups_are_suppressed() -> None:
    deaths, groups = _decided(40, 6, closed_a=20, closed_b=6)
    table = decisions_by_group(deaths, groups, EqualitySettings(min_group=10), seed=1).set_index("group")
    assert bool(table.loc["B", "suppressed"]) and table.loc["B", "reports"] == 6
    assert np.isnan(table.loc["B", "closed_share"]) and np.isnan(table.loc["B", "median_days_to_close"])
    assert not table.loc["A", "suppressed"]


def test_age_bands() -> None:
    bands = age_band(pd.Series([0.0, 17.0, 18.0, 64.0, 65.0, np.nan]))
    assert bands.tolist() == ["0-17", "0-17", "18-24", "50-64", "65+", "not recorded"]


def test_wilson_interval_stays_honest_for_a_small_group_all_closed() -> None:
    from fairness.deaths import wilson

    low, high = wilson(16, 16, 0.95)
    assert low == pytest.approx(0.8064, abs=1e-4) and high == pytest.approx(1.0)
    low, high = wilson(5, 10, 0.95)
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    deaths, groups = _decided(40, 12, closed_a=20, closed_b=12)  # a small group, every report closed
    table = decisions_by_group(deaths, groups, EqualitySettings(), seed=1).set_index("group")
    b = table.loc["B"]
    assert b["difference_high"] == pytest.approx(1.0 - b["predicted_share"])
    assert b["difference_low"] < b["difference"] - 0.1  # not collapsed onto the estimate
