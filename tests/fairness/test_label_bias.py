"""Label bias: recorded against true rates, true propensity and selection against the oracle, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairness.label_bias import (
    RECORDING_COLUMNS,
    SELECTION_COLUMNS,
    recording_rates,
    selection_vs_oracle,
    true_outcome,
    true_propensity,
)
from fairness.settings import NOT_RECORDED

CATALOGUE = pd.DataFrame({"offence_code": ["SER", "MIN"], "harm_days": [365.0, 10.0]})


def test_recording_rates_by_hand() -> None:
    rows = pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P3", "P4", "P1"],
            "as_of": pd.to_datetime(["2024-01-01"] * 4 + ["2025-03-01"]),
            "label": [1, 0, 0, 0, 0],
        }
    )
    groups = pd.DataFrame({"ethnicity": ["A", "A", "B", "B", "A"]})
    truth = pd.DataFrame(
        {
            "person_id": ["P1", "P1", "P2", "P3", "P4", "P9"],
            "offence_code": ["SER", "SER", "SER", "MIN", "SER", "SER"],
            "occurred_date": pd.to_datetime(
                [
                    "2023-12-31",  # P1: before the horizon
                    "2024-03-05",  # P1: inside -> true
                    "2025-01-01",  # P2: on the horizon's end (excluded) -> false
                    "2024-02-01",  # P3: inside but minor -> false
                    "2024-01-01",  # P4: on the as-of date (included), never recorded -> true
                    "2024-02-01",  # P9: not in rows
                ]
            ),
        }
    )
    assert true_outcome(rows, truth, CATALOGUE, 365, 12).tolist() == [True, False, False, True, False]
    out = recording_rates(rows, groups, truth, CATALOGUE, min_harm_days=365, horizon_months=12)
    assert list(out.columns) == RECORDING_COLUMNS
    # A: rows P1 (true, labelled), P2 (neither), P1 in 2025 (neither) -> true 1/3, recorded 1/3
    # B: P3 (neither), P4 (true, not labelled) -> true 1/2, recorded 0
    expected = pd.DataFrame(
        {
            "characteristic": ["ethnicity", "ethnicity"],
            "group": ["A", "B"],
            "n": np.array([3, 2], dtype="int64"),
            "persons": np.array([2, 2], dtype="int64"),  # A: P1 (twice) and P2
            "true_rate": [1 / 3, 0.5],
            "recorded_rate": [1 / 3, 0.0],
            "recorded_to_true": [1.0, 0.0],
            "recorded_to_true_lo": [np.nan, np.nan],  # no resamples: no intervals
            "recorded_to_true_hi": [np.nan, np.nan],
            "reference": ["A", "A"],  # two persons each: the first largest group
            "relative": [1.0, 0.0],
            "relative_lo": [np.nan, np.nan],
            "relative_hi": [np.nan, np.nan],
        }
    )
    pd.testing.assert_frame_equal(out, expected, check_dtype=False)
    assert out["n"].dtype == "int64"


def test_recording_bias_of_twice_as_often_is_found_with_an_interval_excluding_parity() -> None:
    # 4,000 people with a true serious offence on their as-of date; group B's are recorded 60% of
    # the time, group A's 30% (and "not recorded", the biggest, is never the reference)
    rng = np.random.default_rng(3)
    n = 4_000
    group = np.where(np.arange(n) < 1_500, "B", np.where(np.arange(n) < 3_000, "A", NOT_RECORDED))
    rows = pd.DataFrame(
        {
            "person_id": [f"P{i}" for i in range(n)],
            "as_of": pd.Timestamp("2024-01-01"),
            "label": (rng.random(n) < np.where(group == "B", 0.6, 0.3)).astype(int),
        }
    )
    truth = pd.DataFrame(
        {"person_id": rows["person_id"], "offence_code": "SER", "occurred_date": pd.Timestamp("2024-02-01")}
    )
    out = recording_rates(
        rows, pd.DataFrame({"ethnicity": group}), truth, CATALOGUE, 365, 12, n_boot=200, seed=1
    ).set_index("group")
    assert (out["reference"] == "A").all()  # the largest recorded group
    b = out.loc["B"]
    assert b["relative"] == pytest.approx(
        rows["label"][group == "B"].mean() / rows["label"][group == "A"].mean()
    )
    assert (
        1.8 < b["relative"] < 2.2
        and b["relative_lo"] > 1.5
        and b["relative_lo"] < b["relative"] < b["relative_hi"]
    )
    a = out.loc["A"]
    assert a["relative"] == a["relative_lo"] == a["relative_hi"] == 1.0
    assert a["recorded_to_true_lo"] < a["recorded_to_true"] < a["recorded_to_true_hi"]


def test_no_rows_give_an_empty_table() -> None:
    rows = pd.DataFrame({"person_id": pd.Series([], dtype="str"), "as_of": pd.to_datetime([]), "label": []})
    truth = pd.DataFrame(
        {"person_id": pd.Series([], dtype="str"), "offence_code": [], "occurred_date": pd.to_datetime([])}
    )
    out = recording_rates(
        rows, pd.DataFrame({"sex": pd.Series([], dtype="str")}), truth, CATALOGUE, 365, 12, n_boot=5
    )
    assert out.empty and list(out.columns) == RECORDING_COLUMNS


def test_recorded_to_true_is_nan_without_true_offending() -> None:
    rows = pd.DataFrame({"person_id": ["P1"], "as_of": pd.to_datetime(["2024-01-01"]), "label": [1]})
    truth = pd.DataFrame(
        {"person_id": pd.Series([], dtype="str"), "offence_code": [], "occurred_date": pd.to_datetime([])}
    )
    out = recording_rates(rows, pd.DataFrame({"sex": ["F"]}), truth, CATALOGUE, 365, 12)
    assert out.loc[0, "recorded_rate"] == 1.0 and np.isnan(out.loc[0, "recorded_to_true"])


def test_true_propensity_sums_the_horizon_months() -> None:
    monthly = pd.DataFrame(
        {
            "person_id": pd.Categorical(["P1", "P1", "P1", "P2"]),
            "month": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2023-12-01"]),
            "serious_rate": np.array([0.1, 0.2, 5.0, 1.0], dtype="float32"),
        }
    )
    out = true_propensity(monthly, pd.Timestamp("2024-01-01"), horizon_months=2)
    assert out["person_id"].tolist() == ["P1", "P2"]
    assert out["true_risk"].to_numpy() == pytest.approx([1 - np.exp(-0.3), 0.0], rel=1e-6)


def test_selection_vs_oracle_by_hand() -> None:
    predictions = pd.DataFrame(
        {
            "person_id": ["a", "b", "c", "d", "a", "b", "c", "d"],
            "as_of": pd.to_datetime(["2024-01-01"] * 4 + ["2024-02-01"] * 4),
            "score": [4, 3, 2, 1, 4, 3, 2, 1],
            "oracle": [1, 2, 3, 4, 4, 1, 3, 2],
        }
    )
    groups = pd.DataFrame({"ethnicity": ["X", "X", "Y", "Y"] * 2})
    out = selection_vs_oracle(predictions, groups, "score", "oracle", k=2)
    assert list(out.columns) == SELECTION_COLUMNS
    # model lists a, b twice (4 X); oracle lists c, d then a, c (1 X, 3 Y)
    assert out["group"].tolist() == ["X", "Y"]
    assert out["model_share"].tolist() == [1.0, 0.0]
    assert out["oracle_share"].tolist() == [0.25, 0.75]
    assert out["ratio"].tolist() == [4.0, 0.0]


def test_selection_without_as_of_is_one_list() -> None:
    predictions = pd.DataFrame({"person_id": ["a", "b", "c"], "score": [1, 1, 0], "oracle": [0, 1, 1]})
    groups = pd.DataFrame({"sex": ["F", "M", "M"]})
    out = selection_vs_oracle(predictions, groups, "score", "oracle", k=1).set_index("group")
    # model: a and b tie, a (person_id) first; oracle: b and c tie, b first
    assert out.loc["F", "model_share"] == 1.0 and out.loc["M", "oracle_share"] == 1.0
    assert np.isnan(out.loc["F", "ratio"])
