"""Control charts: the expectation, the over-dispersion, the limit and its false-alarm chance,
checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import nbinom, poisson

from models.deaths.pattern import control_charts, monthly_counts

MONTHS = pd.date_range("2020-01-01", "2026-10-01", freq="MS")


def test_same_season_of_earlier_years_sets_the_expectation() -> None:
    # October 2026: the reference months are Sep, Oct and Nov of 2021 to 2025 (15 months)
    counts = pd.DataFrame({"g": np.arange(len(MONTHS), dtype=float)}, index=MONTHS)
    chart = control_charts(counts, MONTHS[-1:], reference_years=5, alpha=0.01)
    ref = [MONTHS.get_loc(pd.Timestamp(f"{y}-{m:02d}-01")) for y in range(2021, 2026) for m in (9, 10, 11)]
    values = np.array(ref, dtype=float)
    mu, phi = values.mean(), max(1.0, values.var(ddof=1) / values.mean())
    row = chart.iloc[0]
    assert row["expected"] == pytest.approx(mu)
    assert row["dispersion"] == pytest.approx(phi)
    size = mu / (phi - 1)
    assert row["upper"] == nbinom.ppf(0.99, size, size / (size + mu))
    assert row["false_alarm"] == pytest.approx(nbinom.sf(row["upper"], size, size / (size + mu)))
    assert row["false_alarm"] <= 0.01


def test_without_over_dispersion_the_limit_is_poisson_and_a_jump_is_flagged() -> None:
    counts = pd.DataFrame({"steady": 5.0, "jump": 5.0}, index=MONTHS)
    counts.loc[MONTHS[-1], "jump"] = 14.0
    chart = control_charts(counts, MONTHS[-1:], 5, 0.01).set_index("group")
    assert chart.loc["steady", "dispersion"] == 1.0
    assert chart.loc["steady", "upper"] == poisson.ppf(0.99, 5.0) == 11
    assert not chart.loc["steady", "beyond"] and chart.loc["jump", "beyond"]
    assert chart.loc["jump", "p_value"] == pytest.approx(poisson.sf(13, 5.0))


def test_context_scales_the_expectation_by_its_change() -> None:
    counts = pd.DataFrame({"A": 10.0}, index=MONTHS)
    context = pd.DataFrame({"A": 2.0}, index=MONTHS)
    context.loc[MONTHS[-1], "A"] = 3.0  # other organisations expect 50% more this month
    chart = control_charts(counts, MONTHS[-1:], 5, 0.01, context)
    assert chart["expected"].iloc[0] == pytest.approx(15.0)


def test_a_short_history_uses_the_previous_twelve_months() -> None:
    # October 2026 has only two months of its season a year back (Oct and Nov 2025): too few
    months = pd.date_range("2025-10-01", "2026-10-01", freq="MS")
    counts = pd.DataFrame({"g": np.r_[[0.0], np.full(11, 3.0), [4.0]]}, index=months)
    chart = control_charts(counts, months[-1:], 5, 0.01)
    assert chart["expected"].iloc[0] == pytest.approx((0 + 11 * 3.0) / 12)


def test_monthly_counts_fill_empty_months() -> None:
    dates = pd.Series(pd.to_datetime(["2026-01-05", "2026-01-20", "2026-03-02"]))
    table = monthly_counts(
        dates, pd.Series(["a", "b", "a"]), pd.date_range("2026-01-01", "2026-03-01", freq="MS")
    )
    assert table.to_dict("list") == {"a": [1, 0, 1], "b": [1, 0, 0]}
