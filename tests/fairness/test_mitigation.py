"""Mitigation analysis: the trade-off table on a small synthetic frame, and its pieces by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairness.mitigation import (
    EG_ERROR,
    EG_TPR,
    NO_PROXIES,
    PRODUCTION,
    TRADEOFF_COLUMNS,
    _disparity,
    listed,
    mitigation_analysis,
    mitigation_split,
)
from fairness.proxy_settings import LightGBMSmall, MitigationSettings
from features.errors import PipelineError

SETTINGS = MitigationSettings(
    max_train_rows=2500,
    test_months=2,
    model=LightGBMSmall(n_estimators=20, min_child_samples=20),
    eg_max_iter=5,
    min_group=100,
)
FEATURES = ["x1", "x2", "proxy"]


def small_world(persons: int = 1000, months: int = 5, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``persons`` x ``months`` rows; group B's outcome is more often recorded, and ``proxy`` tracks B."""
    rng = np.random.default_rng(seed)
    group = np.where(rng.random(persons) < 0.35, "B", "A")
    group[:40] = "not recorded"
    n = persons * months
    g = np.tile(group, months)
    x1 = rng.normal(0, 1, n)
    logit = -2.2 + 1.5 * x1 + 0.6 * (g == "B")
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("int8")
    matrix = pd.DataFrame(
        {
            "person_id": np.tile([f"P{i:04d}" for i in range(persons)], months),
            "as_of": np.repeat(pd.date_range("2024-01-01", periods=months, freq="MS"), persons),
            "x1": x1,
            "x2": rng.normal(0, 1, n),
            "proxy": (g == "B") + rng.normal(0, 0.3, n),
            "label": label,
            "future_harm": label * rng.choice([365.0, 2555.0], size=n) + rng.integers(0, 20, n),
        }
    )
    return matrix, pd.DataFrame({"ethnicity": g}, index=matrix.index)


@pytest.fixture(scope="module")
def world() -> tuple[pd.DataFrame, pd.DataFrame, tuple[np.ndarray, np.ndarray]]:
    matrix, groups = small_world()
    return matrix, groups, mitigation_split(matrix["as_of"], 1, 2, 12)


@pytest.fixture(scope="module")
def table(world) -> pd.DataFrame:
    matrix, groups, split = world
    return mitigation_analysis(
        matrix, FEATURES, groups, split, "ethnicity", SETTINGS, seed=5, flagged_features=["proxy"], k=50
    )


def test_table_has_contract_columns_and_sane_values(table) -> None:
    assert list(table.columns) == TRADEOFF_COLUMNS
    assert table["approach"].tolist() == [PRODUCTION, EG_ERROR, EG_TPR, NO_PROXIES]
    assert (table["characteristic"] == "ethnicity").all()
    assert table["precision_at_100"].between(0, 1).all()
    assert table["harm_captured_at_100"].between(0, 1).all()
    assert (table["largest_disparity"] >= 0).all()
    # the ratio itself, not its distance from parity: |1 - ratio| = largest_disparity
    assert np.allclose((1 - table["largest_ratio"]).abs(), table["largest_disparity"])
    assert set(table["largest_group"]) <= {"B", "C", "D"} and (table["largest_group"] != "").all()
    for r in table.itertuples():
        assert f"largest gap: {r.largest_group} at {r.largest_ratio:.2f}" in r.notes
    assert (table["disparity_metric"] == "selection rate@k ratio to A (largest group)").all()
    # x1 drives the outcome: the production list beats the 20% base rate by far
    assert table.loc[0, "precision_at_100"] > 0.5
    assert "dropped 1: proxy" in table.loc[3, "notes"]
    assert "top 50 in each of 2 test months" in table.loc[0, "notes"]


def test_deterministic(world, table) -> None:
    matrix, groups, split = world
    again = mitigation_analysis(
        matrix, FEATURES, groups, split, "ethnicity", SETTINGS, seed=5, flagged_features=["proxy"], k=50
    )
    pd.testing.assert_frame_equal(table, again)


def test_without_flags_repeats_the_production_model(world) -> None:
    matrix, groups, split = world
    settings = SETTINGS.model_copy(update={"eg_max_iter": 1, "disparity_metric": "fpr"})
    out = mitigation_analysis(matrix, FEATURES, groups, split, "ethnicity", settings, seed=5, k=50)
    assert out.loc[3, "notes"].startswith("no feature flagged; same as the production model")
    cols = ["precision_at_100", "harm_captured_at_100", "largest_disparity"]
    assert out.loc[3, cols].tolist() == out.loc[0, cols].tolist()
    assert out.loc[0, "disparity_metric"].startswith("FPR@k")


def test_missing_characteristic_is_refused(world) -> None:
    matrix, groups, split = world
    with pytest.raises(PipelineError, match="'sex'"):
        mitigation_analysis(matrix, FEATURES, groups, split, "sex", SETTINGS, seed=5)


def test_split_tests_latest_months_and_trains_on_closed_horizons() -> None:
    as_of = pd.Series(pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-04-01"]))
    train, test = mitigation_split(as_of, horizon_months=2, test_months=1, history_months=12)
    assert test.tolist() == [3, 4]  # April
    assert train.tolist() == [0, 1]  # Jan and Feb end their 2-month horizon by April; March does not
    with pytest.raises(PipelineError, match="label horizon"):
        mitigation_split(as_of, horizon_months=6, test_months=1, history_months=12)


def test_listed_is_top_k_per_month_with_person_tie_break() -> None:
    test = pd.DataFrame(
        {
            "person_id": ["b", "a", "c", "d", "e"],
            "as_of": pd.to_datetime(["2024-01-01"] * 3 + ["2024-02-01"] * 2),
        }
    )
    score = np.array([1.0, 1.0, 0.5, 0.1, 0.2])
    secondary = np.zeros(5)
    assert listed(test, score, secondary, 1).tolist() == [False, True, False, False, True]
    assert listed(test, score, np.array([1.0, 0, 0, 0, 0]), 1).tolist() == [True, False, False, False, True]


def test_disparity_by_hand() -> None:
    # A: 10 rows, 2 listed (0.2); B: 5 rows, 2 listed (0.4 -> ratio 2); C: 2 rows (too few)
    groups = np.array(["A"] * 10 + ["B"] * 5 + ["C"] * 2)
    on_list = np.array([1, 1] + [0] * 8 + [1, 1, 0, 0, 0] + [1, 1], dtype=bool)
    y = np.zeros(17, dtype="int64")
    settings = SETTINGS.model_copy(update={"min_group": 3})
    gap, ratio, worst, description, note = _disparity(on_list, y, groups, settings)
    assert gap == pytest.approx(1.0) and ratio == pytest.approx(2.0) and worst == "B"
    assert description == "selection rate@k ratio to A (largest group)"
    assert note == "largest gap: B at 2.00; fewest listed: A (2)"
