"""Global feature importance: mean |SHAP| from LightGBM's own TreeSHAP on a seeded sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.importance import contributions, importance_table, sample_rows, shap_importance
from models.train import LightGBMRanker, ModelSettings
from tests.models.test_backtest import monthly_panel

FEATURES = ["harm_365d", "count_365d", "noise"]


@pytest.fixture(scope="module")
def fitted() -> tuple[LightGBMRanker, pd.DataFrame]:
    frame = monthly_panel(months=2, per_month=1500, seed=3)
    frame["noise"] = np.random.default_rng(9).random(len(frame))
    model = LightGBMRanker(ModelSettings(n_estimators=30, min_child_samples=20), seed=1)
    return model.fit(frame[FEATURES], frame["label"].to_numpy()), frame[FEATURES]


def test_contributions_sum_to_the_raw_margin(fitted) -> None:
    model, X = fitted
    contribs = contributions(model.booster_, X.head(300), model.best_iteration_)
    assert list(contribs.columns) == [*FEATURES, "base_value"]
    assert contribs.shape == (300, len(FEATURES) + 1)
    np.testing.assert_allclose(contribs.sum(axis=1), model.margin(X.head(300)), rtol=0, atol=1e-9)
    assert contribs["base_value"].nunique() == 1  # the expected raw score, the same for every row


def test_importance_table_shape_shares_and_order(fitted) -> None:
    model, X = fitted
    table = shap_importance(model, X, sample=500, seed=4)
    assert list(table.columns) == ["rank", "feature", "mean_abs_shap", "share", "mean_shap"]
    assert sorted(table["feature"]) == sorted(FEATURES) and table.attrs["rows"] == 500
    assert table["rank"].tolist() == [1, 2, 3]
    assert table["mean_abs_shap"].is_monotonic_decreasing and (table["mean_abs_shap"] >= 0).all()
    assert table["share"].sum() == pytest.approx(1.0)
    assert table["feature"].iloc[0] == "harm_365d"  # the label is driven by the risk behind harm


def test_importance_is_mean_absolute_contribution_of_the_sample(fitted) -> None:
    model, X = fitted
    rows = sample_rows(X, 400, seed=2)
    by_hand = contributions(model.booster_, rows, model.best_iteration_).drop(columns="base_value")
    table = shap_importance(model, X, sample=400, seed=2).set_index("feature")
    np.testing.assert_allclose(table.loc[FEATURES, "mean_abs_shap"], by_hand.abs().mean().loc[FEATURES])
    np.testing.assert_allclose(table.loc[FEATURES, "mean_shap"], by_hand.mean().loc[FEATURES])


def test_sample_is_seeded_without_replacement_in_input_order(fitted) -> None:
    _, X = fitted
    a, b, c = sample_rows(X, 100, seed=1), sample_rows(X, 100, seed=1), sample_rows(X, 100, seed=2)
    assert a.index.equals(b.index) and not a.index.equals(c.index)
    assert a.index.is_unique and a.index.is_monotonic_increasing
    assert sample_rows(X, None, seed=1) is X and sample_rows(X, 10**9, seed=1) is X
    with pytest.raises(ValueError, match="at least 1"):
        sample_rows(X, 0, seed=1)


def test_same_inputs_same_table_and_booster_accepted(fitted) -> None:
    model, X = fitted
    first = shap_importance(model, X, seed=5)
    pd.testing.assert_frame_equal(first, shap_importance(model, X, seed=5))
    assert first.attrs["rows"] == 2000  # the default sample
    from_booster = shap_importance(model.booster_, X, sample=None)
    assert from_booster.attrs["rows"] == len(X)
    with pytest.raises(ValueError, match="differ from training columns"):
        shap_importance(model, X[FEATURES[::-1]])


def test_zero_contributions_give_zero_shares() -> None:
    contribs = pd.DataFrame({"a": [0.0, 0.0], "b": [0.0, 0.0], "base_value": [1.0, 1.0]})
    table = importance_table(contribs)
    assert table["share"].tolist() == [0.0, 0.0] and table["feature"].tolist() == ["a", "b"]


def test_shap_tree_explainer_equals_lightgbm_pred_contrib_on_the_best_trees(fitted) -> None:
    """The list is explained with shap's TreeExplainer; it must give LightGBM's own numbers, on the
    ranker's best_iteration_ trees only (an early-stopped booster holds more)."""
    from models.importance import tree_shap

    model, X = fitted
    rows = X.head(200)
    for iterations in (model.best_iteration_, 7):
        by_shap = tree_shap(model.booster_, rows, iterations)
        by_lightgbm = contributions(model.booster_, rows, iterations)
        assert list(by_shap.columns) == list(by_lightgbm.columns)
        np.testing.assert_allclose(by_shap.to_numpy(), by_lightgbm.to_numpy(), rtol=0, atol=1e-9)
    margin7 = model.booster_.predict(rows.astype("float64"), raw_score=True, num_iteration=7)
    np.testing.assert_allclose(tree_shap(model.booster_, rows, 7).sum(axis=1), margin7, rtol=0, atol=1e-9)
