"""Explanations: exact TreeSHAP on the raw margin, turned into ranked sentences from the catalogue."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from features.errors import PipelineError
from models.backtest import FittedModel
from models.calibrate import Calibrator
from models.train import LightGBMRanker, ModelSettings
from scoring.explain import REASON_COLUMNS, explain, reasons_table, top_reasons

VIOLENT = "suspect_violence_sexual_count_365d"
FEATURES = [VIOLENT, "suspect_harm_365d", "days_since_last_offence", "stop_count_365d"]


def panel(n: int = 2000, seed: int = 4) -> pd.DataFrame:
    """Two monthly as-of dates of made-up feature rows; stop_count_365d is constant (never split on)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            VIOLENT: rng.poisson(1.0, n).astype("int32"),
            "suspect_harm_365d": np.round(rng.gamma(0.6, 300.0, n) * 4) / 4,
            "days_since_last_offence": rng.integers(0, 1095, n).astype("int32"),
            "stop_count_365d": np.zeros(n, dtype="int32"),
        }
    )
    risk = 0.8 * frame[VIOLENT] + frame["suspect_harm_365d"] / 400 - frame["days_since_last_offence"] / 400
    frame["label"] = (rng.random(n) < 1 / (1 + np.exp(1.5 - risk))).astype("int8")
    frame["future_harm"] = np.where(frame["label"] == 1, 365.0, rng.choice([0.0, 10.0], n))
    frame["as_of"] = np.repeat(pd.to_datetime(["2025-01-01", "2025-02-01"]).to_numpy(), n // 2)
    return frame


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return panel()


@pytest.fixture(scope="module", params=["binary", "lambdarank"])
def ranker(request, data) -> LightGBMRanker:
    settings = ModelSettings(objective=request.param, n_estimators=40, min_child_samples=20)
    model = LightGBMRanker(settings, seed=3)
    return model.fit(data[FEATURES], data["label"], harm=data["future_harm"], as_of=data["as_of"])


def listed(data: pd.DataFrame, k: int = 25) -> tuple[pd.DataFrame, list[str]]:
    rows = data[FEATURES].iloc[:k]
    return rows, [f"P{i:03d}" for i in range(k)]


@pytest.mark.filterwarnings("ignore:LightGBM binary classifier with TreeExplainer:UserWarning")
def test_shap_tree_explainer_and_lightgbm_pred_contrib_agree_exactly(ranker, data) -> None:
    shap = pytest.importorskip("shap")
    X, ids = listed(data, 60)
    explanation = explain(ranker, X, ids)
    tree = shap.TreeExplainer(ranker.booster_)  # every tree: no early stopping in this fit
    values = np.asarray(tree.shap_values(X.astype("float64")))
    assert values.shape == (60, len(FEATURES))
    np.testing.assert_allclose(explanation.contributions.to_numpy(), values, rtol=0, atol=1e-9)
    assert explanation.base_value == pytest.approx(float(np.ravel(tree.expected_value)[0]), abs=1e-9)


def test_base_value_plus_contributions_is_the_raw_margin(ranker, data) -> None:
    X, ids = listed(data)
    explanation = explain(ranker, X, ids)
    total = explanation.base_value + explanation.contributions.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, ranker.margin(X), rtol=0, atol=1e-9)
    np.testing.assert_allclose(explanation.model_score.to_numpy(), ranker.margin(X), rtol=0, atol=0)
    by_reason = explanation.reasons.groupby("person_id", sort=False)["contribution"].sum()
    np.testing.assert_allclose(by_reason.to_numpy() + explanation.base_value, ranker.margin(X), atol=1e-9)
    assert list(explanation.contributions.columns) == FEATURES
    assert explanation.contributions.index.tolist() == ids
    assert (explanation.contributions["stop_count_365d"] == 0).all()  # a constant input is never used


def test_a_fitted_model_is_explained_through_its_ranker(data) -> None:
    ranker = LightGBMRanker(ModelSettings(n_estimators=20, min_child_samples=20), seed=1)
    ranker.fit(data[FEATURES], data["label"])
    calibrator = Calibrator("isotonic", scores_are="margin").fit(ranker.margin(data[FEATURES]), data["label"])
    fitted = FittedModel(ranker, calibrator, (), ())
    X, ids = listed(data, 10)
    a, b = explain(fitted, X, ids), explain(ranker, X, ids)
    pd.testing.assert_frame_equal(a.reasons, b.reasons)
    assert a.base_value == b.base_value


def test_reasons_are_ranked_by_size_with_directions_and_catalogue_sentences(ranker, data) -> None:
    X, ids = listed(data)
    X = X.copy()
    X.iloc[0, X.columns.get_loc(VIOLENT)] = 3
    reasons = explain(ranker, X, ids).reasons
    assert list(reasons.columns) == REASON_COLUMNS
    assert len(reasons) == len(ids) * len(FEATURES)
    assert pd.unique(reasons["person_id"]).tolist() == ids  # the list's order, not sorted
    for _, one in reasons.groupby("person_id", sort=False):
        assert one["order"].tolist() == [1, 2, 3, 4]
        assert one["contribution"].abs().is_monotonic_decreasing
        assert one.iloc[-1]["feature"] == "stop_count_365d"  # zero contribution ranks last
    sign = np.sign(reasons["contribution"]).map({1.0: "raises", -1.0: "lowers", 0.0: "no effect"})
    assert (reasons["direction"] == sign).all()
    first = reasons[(reasons["person_id"] == "P000") & (reasons["feature"] == VIOLENT)].iloc[0]
    assert first["value"] == 3.0
    verb = {"raises": "raises the score", "lowers": "lowers the score"}[first["direction"]]
    assert (
        first["sentence"] == f"Named as suspect in 3 violent or sexual offences in the last 12 months: {verb}"
    )
    zero = reasons[reasons["feature"] == "stop_count_365d"].iloc[0]
    assert zero["direction"] == "no effect"
    assert zero["sentence"] == "Stopped and searched 0 times in the last 12 months: no effect on the score"


def test_reasons_table_by_hand() -> None:
    contribs = pd.DataFrame(
        {VIOLENT: [0.5, 0.0], "suspect_harm_365d": [-0.7, 0.2], "days_since_last_offence": [0.0, -0.2]},
        index=pd.Index(["B", "A"], name="person_id"),
    )
    X = pd.DataFrame(
        {VIOLENT: [2, 0], "suspect_harm_365d": [1015.75, 1.0], "days_since_last_offence": [31, 400]},
        index=contribs.index,
    )
    reasons = reasons_table(contribs, X)
    assert reasons["person_id"].tolist() == ["B"] * 3 + ["A"] * 3
    assert reasons["feature"].tolist() == [
        "suspect_harm_365d",
        VIOLENT,
        "days_since_last_offence",
        "suspect_harm_365d",  # |0.2| ties with |-0.2|: column order decides
        "days_since_last_offence",
        VIOLENT,
    ]
    assert reasons["direction"].tolist() == ["lowers", "raises", "no effect", "raises", "lowers", "no effect"]
    assert reasons["sentence"].tolist()[:3] == [
        "Offences alleged in the last 12 months carry 1,015.75 days of CCHI harm (the V100 score): "
        "lowers the score",
        "Named as suspect in 2 violent or sexual offences in the last 12 months: raises the score",
        "Last alleged offence occurred 31 days ago: no effect on the score",
    ]
    assert reasons["order"].tolist() == [1, 2, 3, 1, 2, 3]
    assert reasons["value"].tolist() == [1015.75, 2.0, 31.0, 1.0, 400.0, 0.0]


def test_columns_outside_the_catalogue_and_categories_still_get_a_sentence() -> None:
    contribs = pd.DataFrame({"prior_orders": [0.3], "force_area": [-0.1]}, index=pd.Index(["P1"]))
    X = pd.DataFrame({"prior_orders": [2.5], "force_area": pd.Categorical(["north"])}, index=contribs.index)
    reasons = reasons_table(contribs, X)
    assert reasons["sentence"].tolist() == [
        "prior orders is 2.5: raises the score",
        "force area is north: lowers the score",
    ]
    assert np.isnan(reasons["value"].iloc[1])


def test_top_reasons_are_the_first_n_sentences_with_an_effect() -> None:
    reasons = pd.DataFrame(
        {
            "person_id": ["B", "B", "B", "A", "A", "A"],
            "order": [1, 2, 3, 1, 2, 3],
            "direction": ["raises", "lowers", "raises", "raises", "no effect", "no effect"],
            "sentence": ["b1", "b2", "b3", "a1", "a2", "a3"],
        }
    )
    top = top_reasons(reasons, n=2)
    assert list(top.columns) == ["person_id", "reason_1", "reason_2"]
    assert top.to_dict("list") == {"person_id": ["B", "A"], "reason_1": ["b1", "a1"], "reason_2": ["b2", ""]}
    assert top_reasons(reasons)["reason_3"].tolist() == ["b3", ""]
    with pytest.raises(ValueError, match="at least 1"):
        top_reasons(reasons, n=0)


def test_explanations_are_deterministic(ranker, data) -> None:
    X, ids = listed(data)
    a, b = explain(ranker, X, ids), explain(ranker, X.copy(), list(ids))
    pd.testing.assert_frame_equal(a.reasons, b.reasons)
    pd.testing.assert_frame_equal(a.contributions, b.contributions)


def test_explain_refuses_a_cohort_and_bad_inputs(ranker, data) -> None:
    X, ids = listed(data, 5)
    with pytest.raises(PipelineError, match=re.escape("listed people only (at most 4): lower output.k")):
        explain(ranker, X, ids, max_people=4)
    with pytest.raises(ValueError, match="4 person ids for 5 feature rows"):
        explain(ranker, X, ids[:4])
    with pytest.raises(ValueError, match="person ids repeat"):
        explain(ranker, X, ["P1"] * 5)
    with pytest.raises(ValueError, match="differ from training columns"):
        explain(ranker, X[FEATURES[::-1]], ids)
    with pytest.raises(ValueError, match="no person to explain"):
        explain(ranker, X.iloc[:0], [])
    with pytest.raises(ValueError, match="not fitted"):
        explain(LightGBMRanker(ModelSettings(), seed=1), X, ids)
