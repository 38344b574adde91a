"""The model report: a self-contained, escaped, deterministic page built from a backtest."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from models.backtest import BacktestResult, Candidate, backtest
from models.baselines import OracleScorer, V100Scorer
from models.evaluate import EvaluationResult, EvaluationSettings, SelectionSettings
from models.importance import shap_importance
from models.splits import SplitSettings, kfold_splits, temporal_splits
from models.train import LightGBMRanker, ModelSettings
from scoring.reports.charts import base
from scoring.reports.charts import model as svg
from scoring.reports.model import feature_label, listed_range, render_model_report
from scoring.reports.summary import Models, versus
from tests.models.test_backtest import monthly_panel

FEATURES = ["suspect_harm_365d", "suspect_count_365d"]
NAMES = {"v100": "V100 list", "oracle": "oracle (true propensity)"}
SMALL = ModelSettings(n_estimators=30, min_child_samples=20, early_stopping_rounds=5)


def panel(months: int, per_month: int) -> pd.DataFrame:
    frame = monthly_panel(months=months, per_month=per_month)
    frame = frame.rename(columns={"harm_365d": FEATURES[0], "count_365d": FEATURES[1]})
    frame["truth"] = frame[FEATURES[0]] + np.random.default_rng(7).normal(0, 3, len(frame))
    return frame


def run(matrix: pd.DataFrame, splits: list, candidates: list[Candidate]) -> BacktestResult:
    return backtest(
        matrix,
        FEATURES,
        splits,
        candidates,
        {"v100": V100Scorer(FEATURES[0]), "oracle": OracleScorer("truth")},
        seed=1,
        evaluation=EvaluationSettings(ks=[50, 100], n_boot=40),
        selection=SelectionSettings(k=50),
        v100_col=FEATURES[0],
    )


@pytest.fixture(scope="module")
def temporal() -> tuple[BacktestResult, pd.DataFrame]:
    matrix = panel(months=14, per_month=500)
    splits = temporal_splits(matrix["as_of"].unique(), 3, SplitSettings(test_months=3, history_months=6))
    candidates = [
        Candidate("lightgbm_binary", SMALL),
        Candidate("lightgbm_lambdarank", SMALL.model_copy(update={"objective": "lambdarank"})),
    ]
    result = run(matrix, splits, candidates)
    model = LightGBMRanker(SMALL, seed=1).fit(matrix[FEATURES], matrix["label"].to_numpy())
    return result, shap_importance(model, matrix[FEATURES], sample=500, seed=0)


def render(result: BacktestResult, importance: pd.DataFrame | None, notes: list[str] | None = None) -> str:
    return render_model_report(
        result,
        as_of="2023-02-01",
        importance=importance,
        notes=notes or [],
        baseline_names=NAMES,
        oracle="oracle",
    )


def test_page_holds_every_section(temporal) -> None:
    result, importance = temporal
    page = render(result, importance)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    chosen = result.selection.chosen
    assert f"{chosen} was chosen" in page and f"{chosen} (chosen)" in page
    assert "Precision@100 is the share of the 100 listed people who were later named as suspect" in page
    assert "records policing as much as offending" in page
    assert "Precision@100 was" in page and "Harm captured@100 was" in page and "for the V100 list" in page
    assert "of the oracle&#39;s precision@100" in page
    for split in result.splits:
        assert split.test.date().isoformat() in page
    assert page.count("<svg") == 4  # monthly line, two interval charts, reliability diagram
    for heading in ("Calibration", "Model selection", "What the model leans on", "Notes"):
        assert f">{heading}</h2>" in page
    assert "log-loss" in page and "intercept" in page and "regret" in page


def test_split_table_says_which_rows_trained_calibrated_and_tested(temporal) -> None:
    result, importance = temporal
    page = render(result, importance)
    parts = result.parts
    for row in parts.itertuples(index=False):  # every part's rows and outcomes are on the page
        assert f"{row.rows:,} rows, {row.positives:,} with the outcome" in page
    assert "Which model settings" not in page  # no candidate had a grid


def test_monthly_intervals_are_shown_when_computed_and_not_promised_otherwise(temporal) -> None:
    result, importance = temporal
    page = render(result, importance)
    assert result.evaluation.settings.monthly_intervals
    assert "Intervals (95%) under each figure come from 40 bootstrap resamples of people." in page
    t = result.evaluation.table
    row = t[(t["month"] != "pooled") & (t["metric"] == "precision") & (t["k"] == 100)].iloc[0]
    assert f"{row.lo * 100:.1f}–{row.hi * 100:.1f}%" in page  # shown under the monthly figure
    table = result.evaluation.table.copy()
    monthly = table["month"] != "pooled"
    table.loc[monthly, ["lo", "hi"]] = np.nan
    settings = result.evaluation.settings.model_copy(update={"monthly_intervals": False})
    plain = dataclasses.replace(
        result, evaluation=dataclasses.replace(result.evaluation, table=table, settings=settings)
    )
    page = render(plain, importance)
    assert "under each figure come from" not in page
    assert "The monthly figures have no intervals: they were not computed" in page


def test_page_is_self_contained(temporal) -> None:
    page = render(temporal[0], temporal[1])
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert all(target.startswith("#") for target in re.findall(r'(?:src|href)="([^"]*)"', page))
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_same_inputs_give_identical_bytes(temporal) -> None:
    result, importance = temporal
    first = render(result, importance, ["note"]).encode()
    assert first == render(result, importance, ["note"]).encode()
    result.fit_seconds = {name: seconds + 1.5 for name, seconds in result.fit_seconds.items()}
    assert first == render(result, importance, ["note"]).encode()  # timings never reach the page


def test_text_is_escaped(temporal) -> None:
    result, importance = temporal
    names = {**NAMES, "v100": "V100 <b>list</b>"}
    page = render_model_report(
        result, as_of="2023-02-01", importance=importance, notes=["<script>x</script> & co"],
        baseline_names=names, oracle="oracle",
    )  # fmt: skip
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt; &amp; co" in page
    assert "<b>list</b>" not in page and "V100 &lt;b&gt;list&lt;/b&gt;" in page


def test_importance_is_labelled_in_catalogue_words(temporal) -> None:
    result, importance = temporal
    page = render(result, importance)
    assert "Offences alleged in the last 12 months carry N days of CCHI harm (the V100 score)" in page
    assert "Named as suspect in N offences in the last 12 months" in page
    assert "over a sample of 500 people" in page
    assert feature_label("not_a_catalogue_column") == ("not_a_catalogue_column", "column of the input table")
    assert "Feature importance was not computed" in render(result, None)


def test_single_date_matrix_says_it_is_not_a_backtest_over_time() -> None:
    matrix = panel(months=1, per_month=2000)
    splits = kfold_splits(matrix["label"], matrix["as_of"].iloc[0], SplitSettings(n_folds=3), seed=2)
    first = run(matrix, splits, [Candidate("lightgbm", SMALL)])
    page = render(first, None, ["read from extract.parquet"])
    assert "single as-of date" in page and "not a backtest over later months" in page
    assert "read from extract.parquet" in page and "3-fold" in page
    assert "it was the only candidate" in page and "One test month only" in page
    again = run(matrix, splits, [Candidate("lightgbm", SMALL)])
    assert render(again, None, ["read from extract.parquet"]) == page  # re-running gives the same page


def _evaluation(rows: list[tuple[str, float, float, float]], reps: dict[str, np.ndarray]) -> EvaluationResult:
    table = pd.DataFrame(
        [
            {
                "model": m,
                "month": "pooled",
                "metric": metric,
                "k": 100,
                "ties": "list",
                "value": v,
                "lo": lo,
                "hi": hi,
                "greater_is_better": True,
                "n": 1000,
            }
            for m, v, lo, hi in rows
            for metric in ("precision", "harm_captured")
        ]
    )
    table["k"] = table["k"].astype("Int64")
    replicates = {
        (m, "pooled", metric, 100, "list"): reps[m]
        for m, *_ in rows
        for metric in ("precision", "harm_captured")
    }
    return EvaluationResult(table, replicates, EvaluationSettings(ks=[100]), seed=0)


def _models() -> Models:
    return Models("model", ["model"], ["v100"], None, {"model": "model (chosen)", "v100": "V100 list"})


def test_a_paired_interval_including_zero_is_not_an_established_difference() -> None:
    reps = {"model": np.array([0.40, 0.45, 0.50]), "v100": np.array([0.42, 0.43, 0.49])}
    ev = _evaluation([("model", 0.45, 0.40, 0.50), ("v100", 0.43, 0.38, 0.48)], reps)
    text, verdict = versus(ev, _models(), "v100", "precision", 100)
    assert verdict == "not established"
    assert "45.0% (95% interval 40.0% to 50.0%) for the chosen model" in text
    assert "which includes zero, so the difference is not established" in text


def test_overlapping_intervals_with_a_paired_interval_excluding_zero_establish_it() -> None:
    # the figures: harm captured 23.7% (19.6-27.9) against 17.8% (14.0-22.0), paired +4.0 to +9.0
    model = np.random.default_rng(0).uniform(0.20, 0.27, 41)
    gap = 0.040 + (np.arange(41) - 1) * 0.050 / 38  # its 2.5% and 97.5% quantiles: 0.040 and 0.090
    reps = {"model": model, "v100": model - gap}
    ev = _evaluation([("model", 0.237, 0.196, 0.279), ("v100", 0.178, 0.140, 0.220)], reps)
    for metric in ("precision", "harm_captured"):  # the same rule for every figure
        text, verdict = versus(ev, _models(), "v100", metric, 100)
        assert verdict == "better", text
        assert "paired 95% interval +4.0 points to +9.0 points" in text
        assert "the separate intervals overlap, but the paired one excludes zero" in text
        assert "not established" not in text
    worse = {"model": reps["v100"], "v100": model}
    ev = _evaluation([("model", 0.178, 0.140, 0.220), ("v100", 0.237, 0.196, 0.279)], worse)
    assert versus(ev, _models(), "v100", "harm_captured", 100)[1] == "worse"


def test_separate_intervals_establish_the_difference() -> None:
    reps = {"model": np.array([0.50, 0.55, 0.60]), "v100": np.array([0.30, 0.35, 0.40])}
    ev = _evaluation([("model", 0.55, 0.50, 0.60), ("v100", 0.35, 0.30, 0.40)], reps)
    text, verdict = versus(ev, _models(), "v100", "precision", 100)
    assert (
        verdict == "better" and "+20.0 points, paired 95% interval" in text and "which excludes zero" in text
    )
    ev = _evaluation([("model", 0.55, np.nan, np.nan), ("v100", 0.35, np.nan, np.nan)], reps)
    assert versus(ev, _models(), "v100", "precision", 100)[1] == "no intervals"


def test_svg_helpers_are_escaped_and_deterministic() -> None:
    series = [svg.Series("a <model>", (0.1, float("nan"), 0.3), (0.05, 0.1, 0.2), (0.2, 0.3, 0.4))]
    chart = svg.line_chart(["2023-01", "2023-02", "2023-03"], series, title="T & t", y_label="precision")
    assert "a &lt;model&gt;" in chart and "T &amp; t" in chart and "<model>" not in chart
    assert chart == svg.line_chart(
        ["2023-01", "2023-02", "2023-03"], series, title="T & t", y_label="precision"
    )
    whiskers = svg.interval_chart(
        ["k = 100"], [svg.Series("m", (0.5,), (0.4,), (0.6,))], title="t", y_label="y"
    )
    assert whiskers.count("<path") == 1 and "-0.0" not in whiskers
    curve = svg.Curve("m", (0.01, 0.05), (0.02, 0.04), (0.0, 0.03), (0.05, 0.06))
    assert "<polyline" in svg.reliability_diagram([curve], title="r")
    assert base.nice_ticks(0.0, 0.43) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert base.tick_label(0.025, 0.025, percent=True) == "2.5%" and base.tick_label(0.2, 0.1, False) == "0.2"
    assert base.tick_label(-0.0, 0.1, False) == "0"


def test_reliability_axes_reach_where_the_listed_people_sit() -> None:
    curve = svg.Curve("m", (0.05, 0.2, 0.45), (0.04, 0.22, 0.5), (0.03, 0.18, 0.4), (0.06, 0.26, 0.58))
    plain = svg.reliability_diagram([curve], title="r")
    assert ">60%</text>" in plain and ">80%</text>" not in plain  # the old chart stopped here
    shaded = svg.reliability_diagram([curve], title="r", shade=(0.6, 0.93), shade_label="top 100")
    assert ">100%</text>" in shaded and "top 100" in shaded and 'fill="#EEEEEE"' in shaded
    top = svg.Curve("top", (0.7, 0.9), (0.75, 0.85), (0.6, 0.7), (0.85, 0.95), style=4, dashed=True)
    both = svg.reliability_diagram([curve, top], title="r")
    assert ">100%</text>" in both and 'stroke-dasharray="5,3"' in both


def test_calibration_section_compares_methods_and_covers_the_list(temporal) -> None:
    result, importance = temporal
    page = render(result, importance)
    assert ">Which calibration</h3>" in page and "calibration methods, pooled test months" in page
    for method in ("isotonic", "isotonic_interp", "sigmoid", "beta"):
        assert f'<td class="txt">{method}' in page
    assert "ECE top 1%" in page and "Brier top 1%" in page and "(used)" in page
    assert "The configuration names the calibration (isotonic)" in page  # the fixture's backtest
    assert "top 1% of scores" in page  # the chosen model's curve within the top
    lo, hi = listed_range(result, result.selection.chosen, 100)
    chosen = result.predictions[f"{result.selection.chosen}__probability"]
    assert chosen.min() <= lo <= hi <= chosen.max()
    assert f"({lo * 100:.1f}–{hi * 100:.1f}%)" in page
