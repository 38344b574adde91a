"""Baselines order small hand-made tables as documented, through the shared fit/score interface."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.errors import PipelineError
from models.baselines import (
    ColumnScorer,
    LogisticBaseline,
    OracleScorer,
    RFGScorer,
    V100Scorer,
    band_points,
)
from models.ranking import rank_order


def people() -> pd.DataFrame:
    """Five people; RFG points by hand (recency / frequency / gravity):

    a: 10 days (4), 12 offences (4), 2000 days (4) -> 12
    b: 100 days (2), 4 offences (2), 365 days (3) -> 7
    c: 400 days (0), 0 offences (0), 0 days (0) -> 0
    d: never (imputed 36500: 0), 1 offence (1), 1 day (1) -> 2
    e: 30 days (4, on the boundary), 5 offences (3), 364.75 days (2) -> 9
    """
    return pd.DataFrame(
        {
            "days_since_last": [10, 100, 400, 36500, 30],
            "count_365d": [12, 4, 0, 1, 5],
            "count_all": [30, 4, 2, 1, 9],
            "harm_365d": [2000.0, 365.0, 0.0, 1.0, 364.75],
            "career_days": [3652.5, 100.0, 4000.0, 0.0, 3652.5],
            "propensity": [0.9, 0.1, 0.3, 0.2, 0.5],
        },
        index=list("abcde"),
    )


def order(scores: np.ndarray, index: pd.Index) -> list[str]:
    return list(pd.Series(scores, index=index).sort_values(ascending=False, kind="mergesort").index)


def test_v100_orders_by_recent_harm_and_treats_missing_as_none() -> None:
    X = people()
    X.loc["c", "harm_365d"] = np.nan
    scorer = V100Scorer("harm_365d")
    assert scorer.fit(X, np.zeros(5)) is scorer
    assert order(scorer.score(X), X.index) == ["a", "b", "e", "d", "c"]
    assert scorer.score(X)[2] == 0.0


def test_rfg_points_by_hand() -> None:
    X = people()
    rfg = RFGScorer("days_since_last", "count_365d", "harm_365d").fit(X)
    points = rfg.points(X)
    assert points.loc["a"].tolist() == [4, 4, 4]
    assert points.loc["b"].tolist() == [2, 2, 3]
    assert points.loc["e"].tolist() == [4, 3, 2]
    assert rfg.score(X).tolist() == [12.0, 7.0, 0.0, 2.0, 9.0]
    assert order(rfg.score(X), X.index) == ["a", "e", "b", "d", "c"]


def test_band_points_edges_and_missing() -> None:
    values = np.array([0, 30, 31, 365, 366, np.nan])
    recency = band_points(values, ((30, 4), (90, 3), (180, 2), (365, 1)), at_most=True)
    assert recency.tolist() == [4, 4, 3, 1, 0, 0]
    assert band_points(np.array([0.0, 1, 9, 10]), ((10, 4), (1, 1)), at_most=False).tolist() == [0, 1, 1, 4]


def test_logistic_design_copas_rate() -> None:
    X = people()
    model = LogisticBaseline(["count_365d", "count_all"], "count_all", "career_days")
    design = model.design(X)
    assert list(design.columns) == ["log1p_count_365d", "log1p_count_all", "copas_rate"]
    # e: 9 offences over a 10-year career -> ln((9 + 1) / (10 + 10)) = ln(0.5)
    assert design.loc["e", "copas_rate"] == pytest.approx(np.log(0.5))
    assert design.loc["d", "copas_rate"] == pytest.approx(np.log(2 / 10))
    with_age = LogisticBaseline(["count_365d"], "count_all", age_col="age").design(X.assign(age=30.0))
    assert list(with_age.columns) == ["log1p_count_365d", "copas_rate", "age"]


def test_logistic_learns_more_offending_is_more_risk_and_is_deterministic() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    X = pd.DataFrame({"count_365d": rng.poisson(2, n), "career_days": rng.uniform(0, 7000, n)})
    X["count_all"] = X["count_365d"] + rng.poisson(3, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X["count_365d"] - 4)))).astype(int)
    first = LogisticBaseline(["count_365d"], "count_all", "career_days", seed=1).fit(X, y)
    second = LogisticBaseline(["count_365d"], "count_all", "career_days", seed=1).fit(X, y)
    assert first.coefficients()["log1p_count_365d"] > 0
    np.testing.assert_array_equal(first.score(X), second.score(X))
    ladder = pd.DataFrame({"count_365d": [0, 2, 5, 10], "count_all": 10, "career_days": 1000.0})
    scores = first.score(ladder)
    assert (np.diff(scores) > 0).all() and ((scores > 0) & (scores < 1)).all()


def test_oracle_and_column_scorers() -> None:
    X = people()
    oracle = OracleScorer("propensity").fit(X, np.zeros(5))
    assert order(oracle.score(X), X.index) == ["a", "e", "c", "d", "b"]
    X.loc["b", "propensity"] = np.nan
    with pytest.raises(PipelineError, match="missing values"):
        OracleScorer("propensity").score(X)
    assert ColumnScorer("propensity", fill_value=-1.0).score(X)[1] == -1.0


def test_a_column_with_missing_values_can_rank_them_last() -> None:
    X = pd.DataFrame({"person_id": list("abcde"), "force_score": [3.0, np.nan, -2.0, np.nan, 7.0]})
    scorer = ColumnScorer("force_score", missing_last=True).fit(X, np.zeros(5))
    scores = scorer.score(X)
    np.testing.assert_array_equal(scores, [3.0, -3.0, -2.0, -3.0, 7.0])  # one below the lowest value
    assert scorer.missing(X) == 2 and np.isfinite(scores).all()
    ranked = rank_order(X.assign(score=scores, v100=0.0), "score", "v100", decimals=6)
    assert ranked["person_id"].tolist() == ["e", "a", "c", "b", "d"]  # missing last, then by person_id
    none = X.assign(force_score=np.nan)
    np.testing.assert_array_equal(scorer.score(none), np.zeros(5))
    with pytest.raises(PipelineError, match="missing values"):
        ColumnScorer("force_score").score(X)  # without the option, still refused


def test_missing_columns_are_named() -> None:
    X = people()
    with pytest.raises(PipelineError, match="force_score"):
        ColumnScorer("force_score").fit(X, np.zeros(5))
    with pytest.raises(PipelineError, match="recency_x"):
        RFGScorer("recency_x", "count_365d", "harm_365d").score(X)
    with pytest.raises(PipelineError, match="age"):
        LogisticBaseline(["count_365d"], "count_all", age_col="age").fit(X, np.zeros(5))
