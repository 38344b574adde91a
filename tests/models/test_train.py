"""The LightGBM ranker: determinism, both objectives, query groups under LightGBM's cap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.train import LIGHTGBM_GROUP_CAP, LightGBMRanker, ModelSettings, query_groups, relevance


def panel(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"harm": rng.exponential(50, n), "count": rng.poisson(2, n).astype(float)})
    logit = -3 + 0.02 * X["harm"] + 0.3 * X["count"]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    harm = np.where(y == 1, rng.choice([365.0, 2555.0], n), rng.choice([0.0, 2.0], n))
    as_of = np.repeat(pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]).to_numpy(), n // 3)
    return X, y, harm, as_of


def test_relevance_bands() -> None:
    assert list(relevance(np.array([0, 0.5, 1, 364, 365, 2555, 6000]), [1, 365, 2555])) == [
        0,
        0,
        1,
        1,
        2,
        3,
        3,
    ]


def test_query_groups_respect_size_and_dates() -> None:
    as_of = np.repeat(np.array(["2024-01-01", "2024-02-01"], dtype="datetime64[ns]"), [12_001, 50])
    groups = query_groups(as_of, 5000, seed=1)
    sizes = pd.Series(groups).value_counts()
    assert sizes.max() <= 5000 < LIGHTGBM_GROUP_CAP
    assert len(sizes) == 3 + 1  # 12,001 rows -> 3 groups; 50 rows -> 1
    frame = pd.DataFrame({"g": groups, "d": as_of})
    assert (frame.groupby("g")["d"].nunique() == 1).all()  # a group never mixes dates
    assert (query_groups(as_of, 5000, seed=1) == groups).all()


@pytest.mark.parametrize("objective", ["binary", "lambdarank"])
def test_fit_is_deterministic_and_ranks_risk(objective: str) -> None:
    X, y, harm, as_of = panel()
    settings = ModelSettings(objective=objective, n_estimators=60, min_child_samples=20)
    first = LightGBMRanker(settings, seed=3).fit(X, y, harm=harm, as_of=as_of)
    second = LightGBMRanker(settings, seed=3).fit(X, y, harm=harm, as_of=as_of)
    assert np.array_equal(first.margin(X), second.margin(X))
    score = first.score(X)
    top = np.argsort(-score, kind="stable")[:300]
    assert y[top].mean() > 2 * y.mean()
    if objective == "binary":
        assert ((score >= 0) & (score <= 1)).all()


def test_threads_do_not_change_the_model() -> None:
    X, y, _, _ = panel()
    one = LightGBMRanker(ModelSettings(n_estimators=40, threads=1), seed=3).fit(X, y)
    two = LightGBMRanker(ModelSettings(n_estimators=40, threads=2), seed=3).fit(X, y)
    assert np.array_equal(one.margin(X), two.margin(X))


def test_early_stopping_uses_validation_rows() -> None:
    X, y, _, _ = panel()
    vX, vy, vh, va = panel(seed=9)
    settings = ModelSettings(
        n_estimators=400, learning_rate=0.3, early_stopping_rounds=5, min_child_samples=5
    )
    model = LightGBMRanker(settings, seed=3).fit(X, y, valid=(vX, vy, vh, va))
    assert 0 < model.best_iteration_ < 400


def test_lambdarank_needs_harm() -> None:
    X, y, _, _ = panel()
    with pytest.raises(ValueError, match="lambdarank needs future harm"):
        LightGBMRanker(ModelSettings(objective="lambdarank"), seed=1).fit(X, y)


def test_scoring_refuses_other_columns() -> None:
    X, y, _, _ = panel()
    model = LightGBMRanker(ModelSettings(n_estimators=5), seed=1).fit(X, y)
    with pytest.raises(ValueError, match="differ from training columns"):
        model.score(X[["count", "harm"]])


def catalogue_panel(n: int = 4000, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    """Catalogue-named features (so their declared directions apply) with a non-monotone truth:
    robberies lower the risk here, and more days since the last offence raise it."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "suspect_harm_365d": rng.exponential(200, n),
            "suspect_robbery_count_all": rng.poisson(0.6, n).astype(float),
            "days_since_last_offence": rng.integers(1, 1000, n).astype(float),
            "noise": rng.random(n),
        }
    )
    logit = -2 + 0.004 * X["suspect_harm_365d"] - 0.8 * X["suspect_robbery_count_all"]
    logit += 0.002 * X["days_since_last_offence"]
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def test_monotone_constraints_hold_even_against_the_data() -> None:
    X, y = catalogue_panel()
    settings = ModelSettings(n_estimators=60, min_child_samples=20, early_stopping_rounds=0)
    constrained = LightGBMRanker(settings, seed=1).fit(X, y)
    free = LightGBMRanker(settings.model_copy(update={"monotone_constraints": False}), seed=1).fit(X, y)
    rows = X.head(300)

    def change(model: LightGBMRanker, column: str, step: float) -> np.ndarray:
        return model.margin(rows.assign(**{column: rows[column] + step})) - model.margin(rows)

    assert (change(constrained, "suspect_robbery_count_all", 2) >= -1e-12).all()  # never lower
    assert (change(constrained, "days_since_last_offence", 300) <= 1e-12).all()  # never higher
    assert (change(free, "suspect_robbery_count_all", 2) < 0).any()  # the data alone would say so
    assert (change(free, "days_since_last_offence", 300) > 0).any()
    params = constrained.booster_.params
    assert params["monotone_constraints"] == [1, 1, -1, 0]  # noise is not in the catalogue: free
    assert "monotone_constraints" not in free.booster_.params


def test_a_constrained_feature_at_its_floor_never_raises_a_score() -> None:
    """With an increasing constraint, zero robberies is the lowest value: its SHAP value is never
    positive, so no reason can say that zero of something raised the score."""
    from models.importance import tree_shap

    X, y = catalogue_panel()
    model = LightGBMRanker(ModelSettings(n_estimators=60, min_child_samples=20), seed=1).fit(X, y)
    shap = tree_shap(model.booster_, X.head(1000), model.best_iteration_)
    at_floor = X.head(1000)["suspect_robbery_count_all"] == 0
    assert at_floor.sum() > 100
    assert (shap.loc[at_floor, "suspect_robbery_count_all"] <= 1e-12).all()
    longest = X.head(1000)["days_since_last_offence"] >= X["days_since_last_offence"].max() - 1
    assert (shap.loc[longest, "days_since_last_offence"] <= 1e-12).all()


def test_negative_subsampling_keeps_every_positive_and_weights_the_rest() -> None:
    X, y, harm, as_of = panel(4000, seed=3)
    ranker = LightGBMRanker(ModelSettings(negative_rate=0.25), seed=11)
    values, label, sizes, weight = ranker._rows(X, y, harm, as_of, sample=True)
    assert sizes is None and weight is not None
    assert int(label.sum()) == int(y.sum())  # every positive kept
    negatives = int((y == 0).sum())
    kept = int((label == 0).sum())
    assert abs(kept - 0.25 * negatives) < 4 * np.sqrt(negatives * 0.25 * 0.75)  # a binomial draw
    np.testing.assert_array_equal(weight, np.where(label == 1, 1.0, 4.0))
    # the weighted rows stand for the whole: weighted negatives within sampling error of the true count
    assert abs(weight[label == 0].sum() - negatives) < 4 * 4 * np.sqrt(negatives * 0.25 * 0.75)
    again = ranker._rows(X, y, harm, as_of, sample=True)[0]
    pd.testing.assert_frame_equal(again, values)  # seeded: the same sample every time
    assert ranker._rows(X, y, harm, as_of)[3] is None  # validation rows are never subsampled


def test_a_subsampled_fit_keeps_the_probabilities_and_the_order() -> None:
    X, y, harm, as_of = panel(21_000, seed=5)
    full = LightGBMRanker(ModelSettings(n_estimators=80), seed=1).fit(X, y)
    sampled = LightGBMRanker(ModelSettings(n_estimators=80, negative_rate=0.2), seed=1).fit(X, y)
    p_full, p_sampled = full.score(X), sampled.score(X)
    # weighted by 1/rate, the mean probability stays at the outcome rate (unweighted it would be ~4x)
    assert abs(p_sampled.mean() - y.mean()) < 0.01 and abs(p_full.mean() - y.mean()) < 0.01
    assert np.corrcoef(p_full, p_sampled)[0, 1] > 0.95
    lambdarank = ModelSettings(objective="lambdarank", negative_rate=0.2)
    rows = LightGBMRanker(lambdarank, seed=1)._rows(X, y, harm, as_of, sample=True)
    assert len(rows[0]) == len(X) and rows[3] is None  # lambdarank ranks within groups: never subsampled
