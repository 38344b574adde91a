"""What drives a difference: score percentiles by group and reason-family gaps, on hand-built numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from fairness.drivers import family_gaps, score_distribution


def test_score_percentiles_by_group_within_each_month() -> None:
    # Two months of 10 rows; group b holds the top 2 rows of each month, group a the rest.
    scores = pd.Series(list(range(10)) * 2, dtype="float64")
    months = pd.Series(["2026-01-01"] * 10 + ["2026-02-01"] * 10)
    groups = pd.DataFrame({"grp": pd.Series((["a"] * 8 + ["b"] * 2) * 2, dtype="str")})
    table = score_distribution(scores, months, groups, min_cell=3).set_index("group")
    # percentiles are 10, 20, ..., 100 within each month; b holds 90 and 100 in both months
    assert table.loc["b", "p50"] == pytest.approx(95.0)
    assert table.loc["a", "p50"] == pytest.approx(45.0)
    assert table.loc["a", "p25"] == pytest.approx(27.5) and table.loc["a", "p90"] == pytest.approx(75.0)
    assert list(table.columns) == ["characteristic", "p25", "p50", "p75", "p90"]  # no count is published
    small = score_distribution(scores, months, groups, min_cell=5)
    assert set(small["group"]) == {"a"}  # b has 4 rows: left out


def test_family_gaps_add_up_to_the_difference_in_mean_score() -> None:
    # Two features of one family (violence) and one of another (frequency); the catalogue names them.
    contributions = pd.DataFrame(
        {
            "suspect_violence_sexual_count_365d": [0.4, 0.6, 0.0, 0.1, 0.1, 0.1],
            "weapon_count_all": [0.2, 0.2, 0.0, 0.0, 0.0, 0.0],
            "suspect_count_365d": [-0.1, -0.1, 0.3, 0.2, 0.2, 0.2],
            "base_value": [-3.0] * 6,
        }
    )
    groups = pd.DataFrame({"grp": pd.Series(["b", "b", "a", "a", "a", "a"], dtype="str")})
    gaps = family_gaps(contributions, groups, {"grp": "a"}, min_cell=2)
    by = gaps.set_index("family")
    # b's mean violence contribution is (0.6 + 0.8) / 2 = 0.7; a's is 0.075: +0.625
    assert by.loc["violence", "difference"] == pytest.approx(0.625)
    # frequency: -0.1 against 0.225: -0.325; the gap in mean score is 0.625 - 0.325 = 0.3
    assert by.loc["frequency", "difference"] == pytest.approx(-0.325)
    assert gaps["difference"].sum() == pytest.approx(0.3)
    assert by.loc["violence", "share_of_gap"] == pytest.approx(0.625 / 0.3)
    assert gaps["family"].tolist()[0] == "violence"  # largest absolute difference first
    assert set(gaps["group"]) == {"b"} and (gaps["reference"] == "a").all()
    assert "persons" not in gaps.columns  # counts could undo the cohort's suppression
    assert family_gaps(contributions, groups, {"grp": "a"}, min_cell=3).empty  # b has 2 persons
