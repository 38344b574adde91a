"""Top-k metrics on hand-computed cases, tie handling, bootstrap intervals, churn and selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from features.errors import PipelineError
from models.evaluate import (
    METRICS,
    POOLED,
    EvaluationResult,
    EvaluationSettings,
    SelectionSettings,
    evaluate,
    select_model,
)
from models.metrics import Sample, list_churn, prepare, resample_weights

COLS = {"label": "label", "harm": "future_harm", "month": "as_of", "person": "person_id", "v100": "v100"}


def ten_people() -> pd.DataFrame:
    """Ten people, one month.

    List order (score desc): A B C D E F G H I J. Outcomes: A, C, E, H (4). Harm total 2000 days.
    top 3 = A, B, C:
      precision@3 = 2/3; recall@3 = 2/4 = 0.5; harm captured@3 = (400 + 10 + 1000) / 2000 = 0.705.
    AUC: A outscores all 6 negatives (6), C outscores D F G I J (5), E outscores F G I J (4),
      H outscores I J (2): 17 / (4 x 6) = 17/24.
    Average precision: precision at each outcome A 1/1, C 2/3, E 3/5, H 4/8 -> mean = 83/120.
    Brier: sum of (p - y)^2 = 2.2525 over 10 people = 0.22525.
    """
    return pd.DataFrame(
        {
            "person_id": list("ABCDEFGHIJ"),
            "as_of": pd.Timestamp("2025-01-01"),
            "score": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05],
            "label": [1, 0, 1, 0, 1, 0, 0, 1, 0, 0],
            "future_harm": [400.0, 10, 1000, 0, 365, 5, 0, 200, 20, 0],
            "v100": 0.0,
        }
    )


def synthetic(n: int, seed: int, months: int = 1) -> pd.DataFrame:
    """People with propensity p, outcome ~ Bernoulli(p), more harm with the outcome; same people monthly."""
    rng = np.random.default_rng(seed)
    frames = []
    base = rng.beta(1, 15, n)
    for m in range(months):
        p = np.clip(base * rng.lognormal(0, 0.2, n), 0, 1)
        y = (rng.random(n) < p).astype(int)
        frames.append(
            pd.DataFrame(
                {
                    "person_id": [f"P{i:05d}" for i in range(n)],
                    "as_of": pd.Timestamp("2025-01-01") + pd.DateOffset(months=m),
                    "label": y,
                    "future_harm": np.where(y == 1, rng.exponential(500, n), rng.exponential(3, n)),
                    "score": p,
                    "noisy": np.clip(p + rng.normal(0, 0.03, n), 0, 1),
                    "v100": rng.integers(0, 4, n) * 10.0,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def run(frame: pd.DataFrame, n_boot: int = 0, **kw: object) -> EvaluationResult:
    settings = EvaluationSettings(ks=kw.pop("ks", [3]), n_boot=n_boot)  # type: ignore[arg-type]
    return evaluate(frame, kw.pop("scores", {"m": "score"}), settings, seed=7, v100_col="v100", **kw)  # type: ignore[arg-type]


def test_hand_computed_ten_people() -> None:
    res = run(ten_people(), probabilistic={"m"})
    assert res.value("m", "precision", 3) == pytest.approx(2 / 3)
    assert res.value("m", "recall", 3) == pytest.approx(0.5)
    assert res.value("m", "harm_captured", 3) == pytest.approx(0.705)
    assert res.value("m", "auc_roc") == pytest.approx(17 / 24)
    assert res.value("m", "average_precision") == pytest.approx(83 / 120)
    assert res.value("m", "brier") == pytest.approx(0.22525)
    assert set(res.table["ties"]) == {"list"}  # no tie anywhere
    assert res.value("m", "precision", 3, month="2025-01-01") == res.value("m", "precision", 3)


def test_registry_declares_direction() -> None:
    assert all(isinstance(m.greater_is_better, bool) for m in METRICS.values())
    assert not METRICS["brier"].greater_is_better and not METRICS["ece"].greater_is_better
    assert METRICS["precision"].needs_k and not METRICS["auc_roc"].needs_k
    with pytest.raises(ValueError, match="unknown metrics"):
        EvaluationSettings(metrics=["accuracy"])


def tied_five(v100: list[float]) -> pd.DataFrame:
    """P1 alone on top; P2, P3, P4 tied (0.5 and 0.5000001 round to the same 6 decimals); k = 2."""
    return pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P3", "P4", "P5"],
            "as_of": pd.Timestamp("2025-01-01"),
            "score": [0.9, 0.5, 0.5000001, 0.5, 0.1],
            "label": [1, 0, 1, 0, 0],
            "future_harm": [100.0, 0, 900, 50, 0],
            "v100": v100,
        }
    )


def test_ties_straddling_cut_off_report_worst_and_best() -> None:
    # The list's tie-break (V100 desc, then person_id) puts P2 (no outcome) second.
    res = run(tied_five([0, 5, 1, 1, 0]), ks=[2])
    assert res.value("m", "precision", 2) == 0.5
    assert res.value("m", "precision", 2, ties="worst") == 0.5
    assert res.value("m", "precision", 2, ties="best") == 1.0
    assert res.value("m", "recall", 2, ties="best") == 1.0
    # harm: the worst tie order lists P2 (0 days), the best P3 (900 days), of 1050 in total
    assert res.value("m", "harm_captured", 2, ties="worst") == pytest.approx(100 / 1050)
    assert res.value("m", "harm_captured", 2, ties="best") == pytest.approx(1000 / 1050)
    # the tie-break is the documented one: with P3 highest on V100, the list takes P3
    assert run(tied_five([0, 1, 5, 1, 0]), ks=[2]).value("m", "precision", 2) == 1.0


def test_ties_not_straddling_cut_off_add_no_rows() -> None:
    for k in (1, 4):  # the tied block lies wholly outside (k=1) or wholly inside (k=4) the list
        res = run(tied_five([0, 5, 1, 1, 0]), ks=[k])
        assert set(res.table["ties"]) == {"list"}


def test_threshold_free_metrics_match_sklearn_with_ties() -> None:
    frame = synthetic(3000, seed=1)
    frame["score"] = frame["score"].round(2)  # many ties
    res = run(frame, probabilistic={"m"})
    assert res.value("m", "auc_roc") == pytest.approx(roc_auc_score(frame["label"], frame["score"]))
    ap = average_precision_score(frame["label"], frame["score"])
    assert res.value("m", "average_precision") == pytest.approx(ap)


def test_weights_equal_explicit_duplication() -> None:
    frame = synthetic(400, seed=2)
    data = prepare(frame, "score", COLS, 6, ece_bins=None)
    weights = resample_weights(np.random.default_rng(0), np.arange(len(frame)), 3)
    sample = Sample(data, weights)
    for b in range(3):
        explicit = frame.loc[np.repeat(np.arange(len(frame)), weights[:, b].astype(int))]
        one = Sample(prepare(explicit, "score", COLS, 6, ece_bins=None), np.ones((len(explicit), 1)))
        for name in ("precision", "recall", "harm_captured", "auc_roc", "average_precision"):
            function = METRICS[name].function
            assert function is not None
            k = 40 if METRICS[name].needs_k else None
            assert function(sample, k, "list")[b] == pytest.approx(function(one, k, "list")[0])


def test_bootstrap_contains_point_narrows_with_n_and_is_seeded() -> None:
    # lists of 5% of the cohort, so that every figure is a share of a growing sample
    small = run(synthetic(500, 3), 300, ks=[25], probabilistic={"m"})
    large = run(synthetic(8000, 3), 300, ks=[400], probabilistic={"m"})
    for res in (small, large):
        rows = res.table[res.table["metric"] != "ece"]  # ECE is biased up under resampling
        assert ((rows["lo"] <= rows["value"]) & (rows["value"] <= rows["hi"])).all()
    widths = [(r.table["hi"] - r.table["lo"]).to_numpy() for r in (small, large)]
    assert (widths[1] < widths[0]).all()
    assert widths[1].mean() < widths[0].mean() / 2  # 16 times the people: about a quarter of the width
    again = run(synthetic(500, 3), 300, ks=[25], probabilistic={"m"})
    pd.testing.assert_frame_equal(small.table, again.table)


def test_pooled_months_resample_persons_with_all_their_rows() -> None:
    frame = synthetic(50, 4, months=3)
    persons = pd.factorize(frame["person_id"])[0]
    weights = resample_weights(np.random.default_rng(0), persons, 20)
    for code in range(50):
        rows = np.flatnonzero(persons == code)
        assert (weights[rows] == weights[rows[:1]]).all()
    assert (weights.sum(axis=0) == len(frame)).all()  # 50 persons drawn, 3 rows each


def test_pooled_top_k_is_one_list_per_month() -> None:
    frame = synthetic(200, 5, months=3)
    res = run(frame, 50, ks=[10])
    hits = sum(
        sub.nlargest(10, "score")["label"].sum() for _, sub in frame.groupby("as_of")
    )  # continuous scores: no ties
    assert res.value("m", "precision", 10) == pytest.approx(hits / 30)
    months = res.table.loc[res.table["metric"] == "precision", "month"]
    assert set(months) == {"2025-01-01", "2025-02-01", "2025-03-01", POOLED}


def test_compare_is_paired() -> None:
    res = run(synthetic(2000, 6), 200, ks=[100], scores={"m": "score", "noisy": "noisy"})
    assert res.compare("m", "m", "precision", 100) == (0.0, 0.0, 0.0)
    value, lo, hi = res.compare("m", "noisy", "auc_roc")
    assert lo <= value <= hi
    assert value == pytest.approx(res.value("m", "auc_roc") - res.value("noisy", "auc_roc"))


def test_churn_between_consecutive_months() -> None:
    frame = pd.DataFrame(
        {
            "person_id": ["A", "B", "C", "A", "B", "C", "A", "B", "C"],
            "as_of": pd.to_datetime(["2025-01-01"] * 3 + ["2025-02-01"] * 3 + ["2025-03-01"] * 3),
            "score": [0.9, 0.8, 0.1, 0.9, 0.1, 0.8, 0.9, 0.1, 0.8],
            "v100": 0.0,
        }
    )
    churn = list_churn(frame, "score", 2, COLS, 6)  # lists {A,B}, {A,C}, {A,C}
    assert churn.to_dict() == {"2025-02-01": 0.5, "2025-03-01": 0.0}


def test_missing_values_are_refused() -> None:
    frame = ten_people()
    frame.loc[2, "score"] = np.nan
    with pytest.raises(PipelineError, match="'score' has 1 missing"):
        run(frame)


def monthly_result(values: dict[str, list[float]]) -> EvaluationResult:
    rows = [
        {"model": m, "month": f"2025-0{i + 1}-01", "metric": "precision", "k": 100, "ties": "list"}
        | {"value": v}
        for m, vs in values.items()
        for i, v in enumerate(vs)
    ]
    table = pd.DataFrame(rows).astype({"k": "Int64"})
    return EvaluationResult(table=table, replicates={}, settings=EvaluationSettings(), seed=0)


def test_selection_penalises_variance_and_reports_regret() -> None:
    res = monthly_result({"steady": [0.30, 0.30, 0.30, 0.30], "jumpy": [0.50, 0.10, 0.50, 0.18]})
    # jumpy: mean 0.32, sample std 0.2 ; steady: mean 0.30, std 0
    assert select_model(res, SelectionSettings(std_penalty=0.0)).chosen == "jumpy"
    chosen = select_model(res, SelectionSettings(std_penalty=0.5))  # 0.32 - 0.1 < 0.30
    assert chosen.chosen == "steady"
    # regret per month: 0.2, 0, 0.2, 0 -> mean 0.1, max 0.2
    assert chosen.regret["regret"].tolist() == pytest.approx([0.2, 0.0, 0.2, 0.0])
    assert chosen.mean_regret == pytest.approx(0.1) and chosen.max_regret == pytest.approx(0.2)
    assert chosen.ranking["model"].tolist() == ["steady", "jumpy"]


def test_monthly_intervals_can_be_skipped_without_changing_pooled_figures() -> None:
    frame = synthetic(300, 8, months=2)
    full = evaluate(frame, {"m": "score"}, EvaluationSettings(ks=[20], n_boot=100), seed=1)
    quick_settings = EvaluationSettings(ks=[20], n_boot=100, monthly_intervals=False)
    quick = evaluate(frame, {"m": "score"}, quick_settings, seed=1)
    monthly = quick.table[(quick.table["month"] != POOLED) & (quick.table["metric"] != "churn")]
    assert monthly["lo"].isna().all() and monthly["value"].notna().all()
    pooled = [r.table[r.table["month"] == POOLED].reset_index(drop=True) for r in (full, quick)]
    pd.testing.assert_frame_equal(pooled[0], pooled[1])


def test_probability_metrics_only_for_probability_scores() -> None:
    res = run(ten_people(), scores={"p": "score", "v100": "v100"}, probabilistic={"p"})
    assert {"brier", "ece"} <= set(res.table.loc[res.table["model"] == "p", "metric"])
    assert not {"brier", "ece"} & set(res.table.loc[res.table["model"] == "v100", "metric"])
