"""Proxy audit: a perfect proxy is found and flagged, noise is not; AUC arithmetic by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fairness.proxies import ALL, one_per_person, proxy_audit, stratified_subsample
from fairness.proxy_settings import LightGBMSmall, ProxySettings
from features.errors import PipelineError

SMALL = ProxySettings(
    n_folds=3, n_boot=40, min_group=20, classifier=LightGBMSmall(n_estimators=20, min_child_samples=10)
)


def frame(n: int = 600, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features (proxy: the group plus a little noise; noise: unrelated) and two characteristics."""
    rng = np.random.default_rng(seed)
    sex = np.where(rng.random(n) < 0.5, "A", "B").astype(object)
    sex[:30] = "not recorded"
    colour = rng.choice(["red", "blue", "green"], size=n, p=[0.45, 0.5, 0.05])  # green: 30 people
    X = pd.DataFrame(
        {
            "proxy": (sex == "A") * 10.0 + rng.normal(0, 0.1, n),
            "noise": rng.normal(0, 1, n),
            "kind": pd.Categorical(rng.choice(["x", "y"], size=n)),
        },
        index=pd.RangeIndex(100, 100 + n),
    )
    groups = pd.DataFrame({"sex": sex.astype(str), "colour": colour.astype(str)}, index=X.index)
    return X, groups


@pytest.fixture(scope="module")
def result():
    X, groups = frame()
    return proxy_audit(X, groups, SMALL.model_copy(update={"min_group": 40}), seed=7)


def test_perfect_proxy_is_flagged_and_noise_is_not(result) -> None:
    chars = result.characteristics.set_index(["characteristic", "target"])
    assert chars.loc[("sex", "A"), "cv_auc"] > 0.99
    assert chars.loc[("sex", "A"), "flagged"]
    assert chars.loc[("sex", ALL), "flagged"]
    # one model serves both groups of a two-group characteristic: the AUCs are equal
    assert chars.loc[("sex", "B"), "cv_auc"] == pytest.approx(chars.loc[("sex", "A"), "cv_auc"])
    lo, hi = chars.loc[("sex", "A"), ["auc_lo", "auc_hi"]]
    assert lo <= chars.loc[("sex", "A"), "cv_auc"] <= hi
    feats = result.features.set_index(["characteristic", "target", "feature"])
    assert feats.loc[("sex", "A", "proxy"), "association"] == pytest.approx(1.0)
    assert feats.loc[("sex", "A", "proxy"), "flagged"]
    assert feats.loc[("sex", "A", "noise"), "association"] < 0.15
    assert not feats.loc[("sex", "A", "noise"), "flagged"]
    assert result.flagged_features("sex") == ["proxy"]


def test_unrelated_characteristic_is_not_flagged(result) -> None:
    colour = result.characteristics[result.characteristics["characteristic"] == "colour"]
    assert set(colour["target"]) == {"blue", "red", ALL}  # green (30 people) is below min_group
    assert (colour["cv_auc"].between(0.35, 0.65)).all()
    assert not colour["flagged"].any()
    assert result.flagged_features("colour") == []


def test_not_recorded_is_never_a_target_nor_counted(result) -> None:
    sex = result.characteristics[result.characteristics["characteristic"] == "sex"].set_index("target")
    assert "not recorded" not in sex.index
    assert sex.loc[ALL, "n"] == 570
    assert sex.loc["A", "n"] + sex.loc["B", "n"] == 570


def test_tables_have_contract_columns_and_serialise(result) -> None:
    assert list(result.characteristics.columns) == [
        "characteristic",
        "target",
        "cv_auc",
        "auc_lo",
        "auc_hi",
        "n",
        "flagged",
    ]
    assert list(result.features.columns) == ["characteristic", "target", "feature", "association", "flagged"]
    assert result.features["association"].between(0, 1).all()
    doc = json.loads(json.dumps(result.to_dict()))
    assert doc["threshold_auc"] == 0.65 and doc["threshold_association"] == 0.2
    assert len(doc["features"]) == len(result.features)


def test_deterministic() -> None:
    X, groups = frame(200)
    settings = SMALL.model_copy(update={"n_boot": 10})
    a = proxy_audit(X, groups[["sex"]], settings, seed=1)
    b = proxy_audit(X, groups[["sex"]], settings, seed=1)
    pd.testing.assert_frame_equal(a.characteristics, b.characteristics)
    pd.testing.assert_frame_equal(a.features, b.features)


def test_keys_keep_one_row_per_person() -> None:
    keys = pd.DataFrame(
        {
            "person_id": ["p2", "p1", "p2", "p1", "p3"],
            "as_of": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-02-01", "2024-01-01", "2024-01-01"]),
        }
    )
    assert one_per_person(keys).tolist() == [1, 2, 4]


def test_misaligned_groups_are_refused() -> None:
    X, groups = frame(100)
    with pytest.raises(PipelineError, match="same rows and index"):
        proxy_audit(X, groups.reset_index(drop=True), SMALL, seed=1)


def test_categorical_association_orders_categories_by_share() -> None:
    X = pd.DataFrame({"c": pd.Categorical(["u", "u", "v", "v", "w", "w"])}, index=range(6))
    groups = pd.DataFrame({"g": ["A", "A", "B", "B", "A", "B"]}, index=range(6))
    settings = SMALL.model_copy(update={"min_group": 2, "n_folds": 2, "n_boot": 0})
    result = proxy_audit(X, groups, settings, seed=0)
    row = result.features.set_index(["target", "feature"]).loc[("A", "c")]
    # shares of A: u 1, w 0.5, v 0: A scores (1, 1, .5), B scores (0, 0, .5) -> AUC (6 + 2 + .5) / 9
    assert row["association"] == pytest.approx(2 * 8.5 / 9 - 1)
    assert result.characteristics["auc_lo"].isna().all()  # no resamples: no interval


def test_stratified_subsample_keeps_shares() -> None:
    labels = np.array(["a"] * 800 + ["b"] * 200)
    kept = stratified_subsample(labels, 100, seed=0)
    assert len(kept) == 100 and (labels[kept] == "b").sum() == 20
    assert (np.diff(kept) > 0).all()


def test_intersections_are_audited_only_when_asked() -> None:
    X, groups = frame()
    groups["sex x colour"] = groups["sex"] + " | " + groups["colour"]
    settings = SMALL.model_copy(update={"min_group": 40, "n_boot": 0})
    parts = proxy_audit(X, groups, settings, seed=7)
    assert list(parts.characteristics["characteristic"].unique()) == ["sex", "colour"]
    every = proxy_audit(X, groups, settings.model_copy(update={"intersections": True}), seed=7)
    assert list(every.characteristics["characteristic"].unique()) == ["sex", "colour", "sex x colour"]
    inter = every.characteristics.set_index(["characteristic", "target"])
    assert inter.loc[("sex x colour", "A | blue"), "cv_auc"] > 0.75  # the proxy carries its sex part
