"""Person-bootstrap rank intervals: resamples of people, intervals that hold the published rank."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.rank_intervals import (
    add_rank_intervals,
    bootstrap_rows,
    interval_widths,
    list_ranks,
    percentile_ranks,
    rank_intervals,
)
from models.train import LightGBMRanker, ModelSettings
from tests.models.test_backtest import FEATURES, monthly_panel

SMALL = ModelSettings(n_estimators=25, min_child_samples=20, early_stopping_rounds=0)


def test_a_resample_draws_people_with_all_their_rows() -> None:
    persons = np.array(["a", "b", "a", "c", "b", "a", "d"])
    rows = bootstrap_rows(persons, np.random.default_rng(3))
    assert (np.diff(rows) >= 0).all()  # row order kept
    drawn = pd.Series(persons[rows]).value_counts()
    own_rows = pd.Series(persons).value_counts()
    times = drawn / own_rows.reindex(drawn.index)
    assert (times == times.round()).all()  # each drawn person brings every row, as often as drawn
    assert int(times.sum()) == 4  # as many draws as people
    assert rows.tolist() == bootstrap_rows(persons, np.random.default_rng(3)).tolist()


def test_list_ranks_break_ties_by_list_order() -> None:
    assert list_ranks(np.array([0.3, 0.9, 0.3, 0.1, 0.9])).tolist() == [3, 1, 4, 5, 2]


def test_percentiles_are_rounded_outward() -> None:
    ranks = np.array([[1, 5], [2, 6], [3, 9], [4, 6]])
    lo, hi = percentile_ranks(ranks)
    # linear percentiles: column 0 -> 1.075 and 3.925, column 1 -> 5.075 and 8.775
    assert lo.tolist() == [1, 5] and hi.tolist() == [4, 9]
    assert percentile_ranks(np.array([[2], [2], [2]]))[0].tolist() == [2]  # whole ranks stay


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    panel = monthly_panel(months=5, per_month=800, seed=4)
    train, current = (
        panel[panel["as_of"] < panel["as_of"].max()],
        panel[panel["as_of"] == panel["as_of"].max()],
    )
    ranker = LightGBMRanker(SMALL, seed=1).fit(train[FEATURES], train["label"].to_numpy())
    margin = ranker.margin(current[FEATURES])
    cohort = current.iloc[np.argsort(-margin, kind="stable")].reset_index(drop=True)
    intervals = rank_intervals(train, FEATURES, cohort, SMALL, 25, k=50, n_resamples=12, seed=7)
    return train, cohort, intervals


def test_intervals_hold_the_published_rank_and_are_deterministic(fitted) -> None:
    train, cohort, intervals = fitted
    assert intervals["rank"].tolist() == list(range(1, 51))
    assert (intervals["rank_lo"] <= intervals["rank"]).all() and (
        intervals["rank"] <= intervals["rank_hi"]
    ).all()
    assert (intervals["rank_lo"] >= 1).all() and (intervals["rank_hi"] <= len(cohort)).all()
    replicates = intervals.attrs["replicates"]
    assert replicates.shape == (12, 50) and (replicates >= 1).all()
    assert len(np.unique(replicates, axis=0)) > 1  # the refits differ
    again = rank_intervals(train, FEATURES, cohort, SMALL, 25, k=50, n_resamples=12, seed=7)
    pd.testing.assert_frame_equal(again, intervals)
    np.testing.assert_array_equal(again.attrs["replicates"], replicates)
    other = rank_intervals(train, FEATURES, cohort, SMALL, 25, k=50, n_resamples=12, seed=8)
    assert not np.array_equal(other.attrs["replicates"], replicates)


def test_intervals_are_the_replicates_percentiles_widened_to_the_rank(fitted) -> None:
    _, _, intervals = fitted
    lo, hi = np.percentile(intervals.attrs["replicates"], [2.5, 97.5], axis=0)
    ranks = intervals["rank"].to_numpy()
    np.testing.assert_array_equal(intervals["rank_lo"], np.minimum(np.floor(lo), ranks))
    np.testing.assert_array_equal(intervals["rank_hi"], np.maximum(np.ceil(hi), ranks))
    widths = interval_widths(intervals, (1, 10, 50))
    assert set(widths) == {1, 10, 50} and all(w >= 0 for w in widths.values())


def test_ranked_frame_gets_nullable_columns(fitted) -> None:
    _, cohort, intervals = fitted
    ranked = pd.DataFrame({"rank": np.arange(1, len(cohort) + 1), "person_id": cohort["person_id"]})
    out = add_rank_intervals(ranked, intervals)
    assert str(out["rank_lo"].dtype) == "Int64" and str(out["rank_hi"].dtype) == "Int64"
    assert out["rank_lo"].head(50).tolist() == intervals["rank_lo"].tolist()
    assert out["rank_hi"].iloc[50:].isna().all()
    off = add_rank_intervals(ranked, None)
    assert off["rank_lo"].isna().all() and str(off["rank_hi"].dtype) == "Int64"
    assert list(off.columns) == ["rank", "person_id", "rank_lo", "rank_hi"]


def test_lambdarank_refits_too() -> None:
    panel = monthly_panel(months=3, per_month=400, seed=5)
    panel["future_harm"] = panel["future_harm"] * panel["label"]
    train, current = (
        panel[panel["as_of"] < panel["as_of"].max()],
        panel[panel["as_of"] == panel["as_of"].max()],
    )
    settings = SMALL.model_copy(update={"objective": "lambdarank", "query_group_size": 200})
    out = rank_intervals(
        train, FEATURES, current.reset_index(drop=True), settings, 10, k=20, n_resamples=3, seed=1
    )
    assert len(out) == 20 and (out["rank_lo"] <= out["rank"]).all()
    with pytest.raises(ValueError, match="at least one"):
        rank_intervals(train, FEATURES, current, settings, 10, k=20, n_resamples=0, seed=1)
