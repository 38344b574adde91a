"""The equality audit: hand-computed group figures, agreement with Fairlearn, suppression,
disparities with their correction, and the result's outputs."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, count, false_positive_rate, selection_rate
from sklearn.metrics import precision_score, recall_score, roc_auc_score

from fairness.audit import adjust, audit
from fairness.groups import attach_groups
from fairness.settings import FairnessSettings
from features.errors import ConfigError, PipelineError

M1, M2 = pd.Timestamp("2026-01-01"), pd.Timestamp("2026-02-01")
# Two months of the same eight people; groups A (p1, p3, p5, p7) and B (p2, p4, p6, p8).
HAND = pd.DataFrame(
    {
        "person_id": [f"p{i}" for i in range(1, 9)] * 2,
        "as_of": [M1] * 8 + [M2] * 8,
        "score": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.35],
        "label": [1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0],
        "future_harm": [10, 0, 5, 20, 0, 0, 3, 0, 0, 8, 0, 2, 4, 0, 0, 0.0],
        "probability": [0.5] * 16,
    }
)
HAND_GROUPS = pd.DataFrame({"grp": pd.Series(list("ABABABAB") * 2, dtype="str")})


def _hand_audit(**settings: object) -> pd.DataFrame:
    s = FairnessSettings(**{"ks": [3], "n_boot": 0, "min_cell": 1, "gate": {"k": 3}, **settings})
    return audit(HAND, HAND_GROUPS, "score", s, seed=1, probability_col="probability").groups


def _value(table: pd.DataFrame, group: str, metric: str, k: int | None, scope: str = "pooled") -> float:
    t = table[(table["scope"] == scope) & (table["group"] == group) & (table["metric"] == metric)]
    t = t[t["k"].isna()] if k is None else t[t["k"] == k]
    assert len(t) == 1, (group, metric, k, scope)
    return float(t["value"].iloc[0])


def test_group_metrics_match_a_hand_computed_table() -> None:
    g = _hand_audit()
    # Lists (k = 3): January p1, p2, p3; February p2, p3, p4.
    # Pooled A: 8 rows, listed 3 (p1, p3, p3), hits 2, outcomes 4, non-outcomes 4, harm 22 (15 listed).
    # Pooled B: 8 rows, listed 3 (p2, p2, p4), hits 2, outcomes 3, non-outcomes 5, harm 30 (10 listed).
    expected = {
        ("A", "precision"): 2 / 3,
        ("A", "recall"): 2 / 4,
        ("A", "fpr"): 1 / 4,
        ("A", "fnr"): 2 / 4,
        ("A", "selection_rate"): 3 / 8,
        ("A", "list_share"): 3 / 6,
        ("A", "harm_captured"): 15 / 22,
        ("B", "precision"): 2 / 3,
        ("B", "recall"): 2 / 3,
        ("B", "fpr"): 1 / 5,
        ("B", "harm_captured"): 10 / 30,
    }
    for (group, metric), value in expected.items():
        assert _value(g, group, metric, 3) == pytest.approx(value), (group, metric)
    assert _value(g, "A", "base_rate", None) == pytest.approx(4 / 8)
    assert _value(g, "B", "calibration_in_large", None) == pytest.approx(0.5 / (3 / 8))
    assert _value(g, "A", "size", None) == 8 and _value(g, "A", "cohort_share", None) == 0.5
    # AUC of A: outcomes scored .9 .7 .3 .6 against non-outcomes .5 .1 .8 .4: 4 + 3 + 1 + 3 of 16 pairs.
    assert _value(g, "A", "auc", None) == pytest.approx(11 / 16)
    # One month: February, group B: p2 and p4 listed, both with the outcome.
    assert _value(g, "B", "precision", 3, "2026-02-01") == 1.0
    assert _value(g, "B", "recall", 3, "2026-02-01") == 1.0
    assert _value(g, "all", "precision", 3) == pytest.approx(4 / 6)
    n = g[(g["scope"] == "pooled") & (g["group"] == "A") & (g["k"] == 3)].set_index("metric")["n"]
    assert (n["precision"], n["recall"], n["fpr"], n["selection_rate"]) == (2, 4, 4, 4)  # distinct persons


def test_ties_at_the_cut_off_go_to_the_lower_person_id() -> None:
    frame = HAND.copy()
    frame.loc[(frame["as_of"] == M1) & frame["person_id"].isin(["p3", "p4"]), "score"] = 0.7
    frame = frame.iloc[::-1].reset_index(drop=True)  # row order must not matter
    groups = HAND_GROUPS.iloc[::-1].reset_index(drop=True)
    s = FairnessSettings(ks=[3], n_boot=0, min_cell=1, gate={"k": 3})
    g = audit(frame, groups, "score", s, seed=1).groups
    # January p1, p2 and then p3 (tied with p4 at 0.7): A has 2 listed in January.
    assert _value(g, "A", "selection_rate", 3, "2026-01-01") == pytest.approx(2 / 4)


def _random_frame(n: int = 600, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    persons = np.array([f"P{i:04d}" for i in range(n)])
    grp = rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2])
    frames = []
    for m in (M1, M2):
        score = rng.normal(size=n) + (grp == "y") * 0.3
        frames.append(
            pd.DataFrame(
                {
                    "person_id": persons,
                    "as_of": m,
                    "score": score,
                    "label": (rng.random(n) < 1 / (1 + np.exp(-(score - 1.5)))).astype(int),
                    "future_harm": rng.exponential(100, n),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    return frame, pd.DataFrame({"grp": pd.Series(np.tile(grp, 2), dtype="str")})


def test_vectorised_figures_agree_with_fairlearn_metricframe() -> None:
    frame, groups = _random_frame()
    k = 60
    s = FairnessSettings(ks=[k], n_boot=0, min_cell=1, gate={"k": k})
    g = audit(frame, groups, "score", s, seed=1).groups
    ranked = frame.sort_values(["as_of", "score", "person_id"], ascending=[True, False, True])
    listed = (ranked.groupby("as_of").cumcount() < k).reindex(frame.index).astype(int)
    for scope, rows in (("pooled", frame.index), ("2026-02-01", frame.index[frame["as_of"] == M2])):
        mf = MetricFrame(
            metrics={
                "precision": precision_score,
                "recall": recall_score,
                "fpr": false_positive_rate,
                "selection_rate": selection_rate,
                "size": count,
            },
            y_true=frame.loc[rows, "label"],
            y_pred=listed[rows],
            sensitive_features=groups.loc[rows, "grp"],
        )
        auc = MetricFrame(
            metrics=roc_auc_score,
            y_true=frame.loc[rows, "label"],
            y_pred=frame.loc[rows, "score"],
            sensitive_features=groups.loc[rows, "grp"],
        ).by_group
        for group in ("x", "y", "z"):
            for metric in ("precision", "recall", "fpr", "selection_rate"):
                assert _value(g, group, metric, k, scope) == pytest.approx(mf.by_group.loc[group, metric])
            assert _value(g, group, "size", None, scope) == mf.by_group.loc[group, "size"]
            assert _value(g, group, "auc", None, scope) == pytest.approx(auc.loc[group])


def test_two_groups_hide_each_other_when_one_is_too_small() -> None:
    frame, groups = _disparity_world(shift=1.0, seed=4)
    s = FairnessSettings(ks=[100, 300], n_boot=20, gate={"k": 100})
    g = audit(frame, groups, "score", s, seed=2).groups
    at_100 = g[(g["scope"] == "pooled") & (g["characteristic"] == "grp") & (g["k"] == 100)]
    # b has fewer than 10 listed people at k = 100; a would give b away as the total minus a.
    assert at_100["suppressed"].all() and at_100["value"].isna().all()
    assert not g.loc[(g["characteristic"] == "overall") & (g["k"] == 100), "suppressed"].any()
    assert not g.loc[(g["scope"] == "pooled") & (g["k"] == 300), "suppressed"].any()


def test_intersections_summed_from_joint_groups_match_a_direct_audit(monkeypatch) -> None:
    frame, groups = _random_frame()
    rng = np.random.default_rng(5)
    groups["sex"] = pd.Series(np.tile(rng.choice(["F", "M"], 600), 2), dtype="str")
    groups["grp x sex"] = (groups["grp"] + " | " + groups["sex"]).astype("str")
    s = FairnessSettings(ks=[40], n_boot=20, min_cell=1, gate={"k": 40})
    joint = audit(frame, groups, "score", s, seed=3)
    for name in ("grp", "grp x sex"):
        alone = audit(frame, groups[[name]], "score", s, seed=3)
        a = joint.groups[joint.groups["characteristic"] == name].reset_index(drop=True)
        b = alone.groups[alone.groups["characteristic"] == name].reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, rtol=1e-9)
    import fairness.audit as module

    monkeypatch.setattr(module, "_MAX_ATOMS", 2)  # too many joint groups: one characteristic at a time
    pd.testing.assert_frame_equal(audit(frame, groups, "score", s, seed=3).groups, joint.groups, rtol=1e-9)


def test_small_groups_are_suppressed_with_a_second_group_and_no_count() -> None:
    frame, groups = _random_frame()
    people = frame["person_id"].str[1:].astype(int)
    groups["grp"] = np.where(people < 5, "tiny", np.where(people < 40, "small", groups["grp"]))
    s = FairnessSettings(ks=[50], n_boot=20, gate={"k": 50})
    result = audit(frame, groups, "score", s, seed=1)
    g = result.groups[(result.groups["scope"] == "pooled") & (result.groups["metric"] == "size")]
    shown = g.set_index("group")
    assert shown.loc["tiny", "suppressed"] and np.isnan(shown.loc["tiny", "value"])
    assert pd.isna(shown.loc["tiny", "n"])
    # 'tiny' (5 people) alone could be recovered from the total; 'small' (35) is the next smallest.
    assert shown.loc["small", "suppressed"] and not shown.loc["x", "suppressed"]
    d = result.disparities
    assert d.loc[d["group"] == "tiny", "suppressed"].all()
    assert d.loc[d["group"] == "tiny", ["ratio", "p_value"]].isna().all().all()
    assert not d.loc[d["group"] == "tiny", "flagged"].any()
    assert all(np.isfinite(v) for v in result.mlflow_metrics().values())
    assert not any(".tiny." in key for key in result.mlflow_metrics())


def _disparity_world(shift: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """3 months of 3,000 people; group b's scores are lowered by ``shift`` at the same outcome rates."""
    rng = np.random.default_rng(seed)
    n = 3_000
    persons = np.array([f"P{i:05d}" for i in range(n)])
    grp = np.where(rng.random(n) < 0.4, "b", "a")
    risk = rng.normal(size=n)
    frames = []
    for m in pd.date_range("2026-01-01", periods=3, freq="MS"):
        label = (rng.random(n) < 1 / (1 + np.exp(-(2 * risk - 3)))).astype(int)
        score = risk + rng.normal(scale=0.5, size=n) - shift * (grp == "b")
        frames.append(
            pd.DataFrame(
                {"person_id": persons, "as_of": m, "score": score, "label": label, "future_harm": 1.0}
            )
        )
    return pd.concat(frames, ignore_index=True), pd.DataFrame(
        {"grp": pd.Series(np.tile(grp, 3), dtype="str")}
    )


@pytest.mark.parametrize("correction", ["holm", "bh"])
def test_a_clear_disparity_is_flagged_and_none_is_not(correction: str) -> None:
    s = FairnessSettings(ks=[200, 400], n_boot=100, correction=correction, gate={"k": 200})
    frame, groups = _disparity_world(shift=0.7, seed=4)
    d = audit(frame, groups, "score", s, seed=2).disparities
    pooled = d[(d["scope"] == "pooled") & (d["metric"] == "selection_rate")].set_index("k")
    assert (pooled["reference"] == "a").all()
    assert pooled["flagged"].all()
    assert (pooled["ratio_hi"] < 1).all() and (pooled["ratio"] < 0.4).all()
    assert (pooled["p_adjusted"] >= pooled["p_value"]).all()
    frame, groups = _disparity_world(shift=0.0, seed=4)
    d = audit(frame, groups, "score", s, seed=2).disparities
    assert not d.loc[d["scope"] == "pooled", "flagged"].any()
    assert d["p_value"].between(0, 1).all()


def test_holm_and_benjamini_hochberg_adjustments() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    np.testing.assert_allclose(adjust(p, "holm"), [0.03, 0.06, 0.06, 0.02, np.nan])
    np.testing.assert_allclose(adjust(p, "bh"), [0.02, 0.04, 0.04, 0.02, np.nan])


def test_result_outputs_are_json_safe_mlflow_safe_and_deterministic() -> None:
    frame, groups = _random_frame(n=300)
    s = FairnessSettings(ks=[30], n_boot=30, min_cell=2, gate={"k": 30}, reference={"grp": "z"})
    a = audit(frame, groups, "score", s, seed=9)
    b = audit(frame.sample(frac=1, random_state=0), groups.sample(frac=1, random_state=0), "score", s, seed=9)
    pd.testing.assert_frame_equal(a.groups, b.groups)
    pd.testing.assert_frame_equal(a.disparities, b.disparities)
    assert set(a.disparities["reference"]) == {"z"}
    assert list(a.groups.columns) == [
        "scope", "characteristic", "group", "k", "metric", "value", "lo", "hi", "n", "suppressed",
    ]  # fmt: skip
    assert a.groups["k"].dtype == "Int64" and a.groups["n"].dtype == "Int64"
    text = json.dumps(a.to_dict(), allow_nan=False)
    assert '"months": ["2026-01-01", "2026-02-01"]' in text
    metrics = a.mlflow_metrics()
    x = a.disparities.set_index(["scope", "group", "metric", "k"]).loc[("pooled", "x", "precision", 30)]
    assert metrics["audit.disparity.grp.x.precision_at_30.ratio"] == pytest.approx(x["ratio"])
    # headline only: the four list measures at one k, no whole-score measure and no group figure
    assert {key.split(".")[4] for key in metrics if key != "audit.flagged"} == {
        "selection_rate_at_30", "precision_at_30", "recall_at_30", "fpr_at_30"
    }  # fmt: skip
    summary = json.loads(json.dumps(a.summary(30), allow_nan=False))
    assert summary["headline_k"] == 30 and len(summary["headline"]) == len(a.headline(30))
    assert summary["counts"]["comparisons_pooled"] == int((a.disparities["scope"] == "pooled").sum())
    assert all(re.fullmatch(r"[A-Za-z0-9_\-./ ]+", key) for key in metrics)
    assert any("too few for stable group figures" in note for note in a.notes)
    cov = a.coverage
    assert list(cov.columns) == ["month", "characteristic", "recorded", "total", "recorded_share"]
    assert cov["total"].tolist() == [300, 300]


def test_bad_inputs_raise_errors_that_say_what_to_do() -> None:
    s = FairnessSettings(ks=[3], n_boot=0, gate={"k": 3})
    with pytest.raises(PipelineError, match="more than one row"):
        audit(pd.concat([HAND, HAND.head(1)], ignore_index=True), pd.concat([HAND_GROUPS] * 2).head(17)
              .reset_index(drop=True), "score", s, seed=1)  # fmt: skip
    with pytest.raises(PipelineError, match="same index"):
        audit(HAND, HAND_GROUPS.iloc[::-1], "score", s, seed=1)
    with pytest.raises(PipelineError, match=r"lack columns \['future_harm'\]"):
        audit(HAND.drop(columns="future_harm"), HAND_GROUPS, "score", s, seed=1)
    with pytest.raises(ConfigError, match=r"fairness\.reference\.grp = 'C' is not a group"):
        audit(HAND, HAND_GROUPS, "score", s.model_copy(update={"reference": {"grp": "C"}}), seed=1)


def _world_audit(bias: float | None) -> pd.DataFrame:
    """Pooled ethnicity disparities of the V100 list on a generated world (50k persons, 4 years);
    ``bias`` None: the default world's recording bias (configs/synthetic.yaml)."""
    from datetime import date
    from pathlib import Path

    from features.build import FeatureSettings, build_matrix, prepare_events
    from features.catalogue import V100_FEATURE
    from features.labels import LabelSettings, build_labels
    from features.records.schema import ValidationSettings
    from features.records.validate import validate
    from features.synthetic.settings import SyntheticConfig
    from features.synthetic.world import generate_world

    offences = pd.read_csv(Path(__file__).resolve().parents[2] / "configs" / "offences.csv")
    config = SyntheticConfig(persons=50_000, years=4)
    if bias is not None:
        config = config.model_copy(update={"recording_bias": bias})
    world = generate_world(config, offences)
    sources = {name: name for name in world.records}
    records, _ = validate(dict(world.records), ValidationSettings(today=date(2100, 1, 1)), sources)
    events = prepare_events(records.events, records.offences)
    dates = list(pd.date_range("2024-11-01", "2025-10-01", freq="MS"))
    matrix = build_matrix(events, records.persons, dates, FeatureSettings(threads=1))
    labels = build_labels(matrix[["person_id", "as_of"]], events, LabelSettings(), pd.Timestamp("2026-11-01"))
    rows = matrix[["person_id", "as_of", V100_FEATURE]].assign(
        label=labels["label"].astype("int8").to_numpy(), future_harm=labels["future_harm"].to_numpy()
    )
    s = FairnessSettings(
        characteristics=["ethnicity"],
        intersections=[],
        ks=[300],
        n_boot=100,
        disparity_metrics=["base_rate", "selection_rate", "precision", "recall", "fpr"],
        gate={"k": 300},
    )
    groups = attach_groups(rows[["person_id", "as_of"]], records.protected, records.persons, s)
    d = audit(rows, groups, V100_FEATURE, s, seed=1).disparities
    return d[(d["scope"] == "pooled") & (d["characteristic"] == "ethnicity")].set_index(["group", "metric"])


@pytest.mark.slow
def test_a_generated_world_shows_recording_bias_only_when_it_is_injected() -> None:
    # The default world's recording bias: Black people's offences are named, and they are stopped,
    # twice as often at the same true propensity (their recorded outcome rate rises ~1.5x).
    from features.synthetic.settings import SyntheticConfig

    assert SyntheticConfig().recording_bias == 1.0
    biased = _world_audit(None)
    black = biased.loc["Black"]
    assert black.loc["base_rate", "flagged"] and black.loc["base_rate", "ratio"] > 1.2
    assert black.loc["selection_rate", "flagged"] and black.loc["selection_rate", "ratio_lo"] > 1
    fair = _world_audit(0.0)
    assert not fair["flagged"].any()
