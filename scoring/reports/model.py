"""The model report, ``runs/<DATE>/model.html``: what the backtest shows, in figures and in words.

:func:`render_model_report` is pure: it reads a :class:`models.backtest.BacktestResult` and returns
one self-contained HTML page (inline CSS and SVG, no script, no external file), so the page opens
from the file system on an offline machine. All text is escaped by Jinja2's autoescaping; the
charts escape their own text (:mod:`scoring.reports.charts`). The page holds no timestamp or timing and
formats every number with a fixed number of decimals, so the same inputs give the same bytes.

The plain-English summary is written by :mod:`scoring.reports.summary` and the splits' tables by
:mod:`scoring.reports.model_splits`; the other sections' tables and charts are built here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from markupsafe import Markup

from models.backtest import PROBABILITY, BacktestResult
from models.calibration_choice import CALIBRATION_RULE
from models.drift import Drift
from models.evaluate import POOLED
from scoring.reports.charts.model import Curve, Series, interval_chart, line_chart, reliability_diagram
from scoring.reports.env import environment
from scoring.reports.formats import Cell, Table, feature_label
from scoring.reports.model_drift import drift_section
from scoring.reports.model_splits import split_section, tuning_section
from scoring.reports.summary import (
    PERCENT,
    Models,
    fmt,
    metric_name,
    primary_k,
    selection_metric,
    span,
    spread,
    summary,
)

TOP_FEATURES = 20
TOPK_METRICS = ("precision", "recall", "harm_captured", "churn")
OVERALL_METRICS = ("auc_roc", "average_precision", "brier", "ece")
CALIBRATION_FIGURES = ("Brier", "log-loss", "ECE", "slope", "intercept")


def _pooled(table: pd.DataFrame) -> pd.DataFrame:
    return table[(table["month"] == POOLED)]


def _lookup(table: pd.DataFrame) -> dict[tuple[str, str, str, int | None, str], tuple[float, float, float]]:
    """(model, month, metric, k, ties) -> (value, lo, hi) for every row of an evaluation table."""
    out = {}
    for row in table.itertuples(index=False):
        k = None if pd.isna(row.k) else int(row.k)
        out[(row.model, row.month, row.metric, k, row.ties)] = (row.value, row.lo, row.hi)
    return out


def _cell(figures: dict, key: tuple, metric: str) -> Cell:
    """A figure and its interval; a tie at the cut-off adds its worst-to-best range."""
    if key not in figures:
        return Cell("–")
    value, lo, hi = figures[key]
    sub: tuple[str, ...] = (span(metric, lo, hi),) if math.isfinite(lo) and math.isfinite(hi) else ()
    worst, best = (figures.get((*key[:4], t)) for t in ("worst", "best"))
    if worst and best:
        sub += (f"tie: {span(metric, worst[0], best[0])}",)
    return Cell(fmt(metric, value), sub)


def monthly_section(result: BacktestResult, models: Models, k: int) -> dict[str, object]:
    """Precision@k by month as a line chart, and tables of precision@k and harm captured@k by month."""
    table = result.evaluation.table
    figures = _lookup(table)
    months = sorted(set(table["month"]) - {POOLED})
    monthly = table[table["month"].isin(months)]
    intervals = bool(np.isfinite(monthly["lo"].to_numpy(dtype="float64")).any())
    chart = None
    if len(months) > 1:
        series = [
            Series(
                models.label(m),
                tuple(
                    float(figures.get((m, month, "precision", k, "list"), (np.nan,))[0]) for month in months
                ),
                style=models.style(m),
                dashed=m not in models.candidates,
            )
            for m in models.ranked
        ]
        chart = Markup(
            line_chart(
                [month[:7] for month in months],
                series,
                title=f"Precision@{k} by test month",
                y_label=f"precision@{k}",
            )
        )
    tables = []
    for metric in ("precision", "harm_captured"):
        rows = [
            [Cell(month, numeric=False)]
            + [_cell(figures, (m, month, metric, k, "list"), metric) for m in models.ranked]
            for month in months
        ]
        tables.append(Table(["month", *map(models.label, models.ranked)], rows, f"{metric_name(metric)}@{k}"))
    return {"chart": chart, "tables": tables, "months": months, "intervals": intervals}


def pooled_section(result: BacktestResult, models: Models) -> dict[str, object]:
    """Pooled figures with intervals: one table per list size, one of threshold-free metrics, and charts."""
    table = result.evaluation.table
    figures = _lookup(_pooled(table))
    present = set(table["metric"])
    ks = list(result.evaluation.settings.ks)
    strong = [m == models.chosen for m in models.ranked]
    by_k = []
    for k in ks:
        metrics = [m for m in TOPK_METRICS if m in present]
        rows = [
            [Cell(models.label(m), numeric=False)]
            + [_cell(figures, (m, POOLED, metric, k, "list"), metric) for metric in metrics]
            for m in models.ranked
        ]
        headers = ["model", *(f"{metric_name(x)}@{k}" for x in metrics)]
        by_k.append(Table(headers, rows, f"list of {k} per month", strong))
    overall_metrics = [m for m in OVERALL_METRICS if m in present]
    rows = []
    for m in models.ranked:
        cells = [Cell(models.label(m), numeric=False)]
        for metric in overall_metrics:
            source = f"{m}{PROBABILITY}" if metric in ("brier", "ece") and m in models.candidates else m
            cells.append(_cell(figures, (source, POOLED, metric, None, "list"), metric))
        rows.append(cells)
    overall = Table(["model", *map(metric_name, overall_metrics)], rows, "whole test population", strong)
    charts = []
    for metric in ("precision", "harm_captured"):
        if metric not in present:
            continue
        series = []
        for m in models.ranked:
            points = [figures.get((m, POOLED, metric, k, "list"), (np.nan, np.nan, np.nan)) for k in ks]
            values, lo, hi = (tuple(float(p[i]) for p in points) for i in range(3))
            series.append(Series(models.label(m), values, lo, hi, style=models.style(m)))
        title = f"{metric_name(metric).capitalize()}@k, pooled test months, with 95% intervals"
        groups = [f"k = {k}" for k in ks]
        charts.append(Markup(interval_chart(groups, series, title=title, y_label=metric_name(metric))))
    return {"by_k": by_k, "overall": overall, "charts": charts}


def _bins_table(reliability: pd.DataFrame, caption: str) -> Table:
    return Table(
        ["bin", "rows", "mean predicted", "observed rate", "95% interval"],
        [
            [
                Cell(str(int(r.bin) + 1)),
                Cell(f"{int(r.n):,}"),
                Cell(fmt("precision", r.mean_predicted, 2)),
                Cell(fmt("precision", r.observed_rate, 2)),
                Cell(span("precision", r.lo, r.hi, 2)),
            ]
            for r in reliability.itertuples(index=False)
        ],
        caption,
    )


def listed_range(result: BacktestResult, model: str, k: int) -> tuple[float, float] | None:
    """Lowest and highest calibrated probability among each test month's top ``k`` by ``model``'s
    score: where the listed people sat in the backtest."""
    column = f"{model}{PROBABILITY}"
    frame = result.predictions
    if column not in frame.columns or model not in frame.columns:
        return None
    group = "fold" if "fold" in frame.columns else "as_of"
    ordered = frame.sort_values([group, model], ascending=[True, False], kind="mergesort")
    top = ordered.groupby(group, sort=False).head(k)[column]
    return (float(top.min()), float(top.max())) if len(top) else None


def comparison_table(result: BacktestResult, models: Models) -> Table | None:
    """Every calibration method tried, per candidate (chosen candidate first), on the pooled test months."""
    table = result.calibration_comparison
    if table.empty:
        return None
    rows, strong = [], []
    for m in [c for c in models.candidates if c in set(table["candidate"])]:
        for r in table[table["candidate"] == m].itertuples(index=False):
            rows.append(
                [
                    Cell(models.label(m), numeric=False),
                    Cell(str(r.method) + (" (used)" if r.chosen else ""), numeric=False),
                    Cell(fmt("ece", r.ece)),
                    Cell(fmt("ece", r.ece_top)),
                    Cell(fmt("brier", r.brier)),
                    Cell(fmt("brier", r.brier_top)),
                    Cell(f"{int(r.distinct_top):,} of {int(r.n_top):,}", (f"{int(r.tied_top):,} tied",)),
                    Cell(f"{r.slope:.2f}"),
                    Cell("met" if r.meets_targets else "missed", numeric=False),
                ]
            )
            strong.append(bool(r.chosen) and m == models.chosen)
    headers = [
        *("model", "calibration", "ECE", "ECE top 1%", "Brier", "Brier top 1%"),
        *("distinct probabilities in top 1%", "slope", "targets"),
    ]
    return Table(headers, rows, "calibration methods, pooled test months", strong)


def calibration_section(result: BacktestResult, models: Models, k: int) -> dict[str, object]:
    """The reliability diagram, the calibration figures of each candidate, the comparison of
    calibration methods and the chosen model's bins (overall and within the top 1%)."""
    names = [m for m in models.ranked if m in result.calibration]
    headers = ["model", "calibration", "rows", "base rate", "mean predicted", *CALIBRATION_FIGURES]
    rows = []
    for m in names:
        r = result.calibration[m]
        rows.append(
            [
                Cell(models.label(m), numeric=False),
                Cell(result.calibration_choice.get(m, "–"), numeric=False),
                Cell(f"{r.n:,}"),
                Cell(fmt("precision", r.base_rate, 2)),
                Cell(fmt("precision", r.mean_predicted, 2)),
                Cell(fmt("brier", r.brier)),
                Cell(f"{r.log_loss:.4f}"),
                Cell(fmt("ece", r.ece)),
                Cell(f"{r.slope:.2f}"),
                Cell(f"{r.intercept:.2f}"),
            ]
        )
    figures = Table(
        headers, rows, "calibrated probability, pooled test months", [m == models.chosen for m in names]
    )

    def column(table: pd.DataFrame, c: str) -> tuple[float, ...]:
        return tuple(float(v) for v in table[c])

    def curve(name: str, table: pd.DataFrame, style: int, dashed: bool = False) -> Curve:
        cols = ("mean_predicted", "observed_rate", "lo", "hi")
        predicted, observed, lo, hi = (column(table, c) for c in cols)
        return Curve(name, predicted, observed, lo, hi, style=style, dashed=dashed)

    curves = [curve(models.label(m), result.calibration[m].reliability, models.style(m)) for m in names]
    chosen = result.calibration.get(models.chosen)
    top = chosen.reliability_top if chosen is not None else None
    if top is not None and len(top):
        curves.append(curve(f"{models.chosen}: top 1% of scores", top, models.style(models.chosen) + 4, True))
    listed = listed_range(result, models.chosen, k)
    diagram = (
        Markup(
            reliability_diagram(
                curves,
                title="Reliability: predicted against observed",
                shade=listed,
                shade_label=f"top {k}",
            )
        )
        if curves
        else None
    )
    bins = top_bins = None
    if chosen is not None:
        bins = _bins_table(
            chosen.reliability, f"{models.chosen}: reliability by bin of predicted probability"
        )
        if top is not None and len(top):
            caption = f"{models.chosen}: reliability within each test month's top 1% by score"
            caption += f" ({chosen.n_top:,} rows)"
            top_bins = _bins_table(top, caption)
    return {
        "figures": figures,
        "diagram": diagram,
        "bins": bins,
        "top_bins": top_bins,
        "comparison": comparison_table(result, models),
        "rule": CALIBRATION_RULE,
        "setting": result.calibration_setting,
        "listed": None if listed is None else span("precision", *listed, 1),
    }


def selection_section(result: BacktestResult, models: Models) -> dict[str, object]:
    """The ranking of candidates by the selection criterion, and the regret of the choice by month."""
    sel = result.selection
    metric, k = selection_metric(result)
    name = f"{metric_name(metric)}@{k}" if k is not None else metric_name(metric)
    unit = " (percentage points)" if metric in PERCENT else ""
    ranking = Table(
        ["model", "months", f"mean {name}", f"standard deviation{unit}", "criterion"],
        [
            [
                Cell(models.label(r.model), numeric=False),
                Cell(str(int(r.months))),
                Cell(fmt(metric, r.mean)),
                Cell(spread(metric, r.std)),
                Cell(fmt(metric, r.criterion)),
            ]
            for r in sel.ranking.itertuples(index=False)
        ],
        "candidates, best first",
        [r.model == sel.chosen for r in sel.ranking.itertuples(index=False)],
    )
    regret = Table(
        ["month", "best candidate that month", "its value", "chosen model's value", f"regret{unit}"],
        [
            [
                Cell(str(r.month), numeric=False),
                Cell(models.label(r.best_model), numeric=False),
                Cell(fmt(metric, r.best_value)),
                Cell(fmt(metric, r.chosen_value)),
                Cell(spread(metric, r.regret)),
            ]
            for r in sel.regret.itertuples(index=False)
        ],
        f"regret in {name}",
    )
    return {"ranking": ranking, "regret": regret, "metric": name}


def importance_section(importance: pd.DataFrame | None) -> dict[str, object] | None:
    """The top features by mean |SHAP|, labelled in the catalogue's words, with bar widths."""
    if importance is None or importance.empty:
        return None
    top = importance.sort_values(["mean_abs_shap", "feature"], ascending=[False, True], kind="mergesort")
    top = top.head(TOP_FEATURES)
    largest = float(top["mean_abs_shap"].max()) or 1.0
    rows = []
    for rank, r in enumerate(top.itertuples(index=False), start=1):
        words, family = feature_label(str(r.feature))
        rows.append(
            {
                "rank": rank,
                "words": words,
                "family": family,
                "feature": str(r.feature),
                "share": fmt("precision", float(r.share)),
                "value": f"{float(r.mean_abs_shap):.4f}",
                "width": f"{100 * float(r.mean_abs_shap) / largest:.1f}",
            }
        )
    sample = importance.attrs.get("rows")
    return {"rows": rows, "total": len(importance), "sample": f"{int(sample):,}" if sample else None}


def render_model_report(
    result: BacktestResult,
    *,
    as_of: str,
    importance: pd.DataFrame | None,
    notes: list[str],
    baseline_names: dict[str, str],
    oracle: str | None = None,
    v100: str = "v100",
    drift: Drift | None = None,
) -> str:
    """The model report as one self-contained HTML page.

    Parameters
    ----------
    result
        The backtest: splits, predictions, evaluation, selection and calibration.
    as_of
        The run's as-of date (ISO), shown in the title.
    importance
        Global feature importance (:func:`models.importance.shap_importance`), or None.
    notes
        Notes for the reader (such as how a matrix was read); split notes are added.
    baseline_names
        Evaluated model name -> words for the reader, for each baseline (and the oracle).
    oracle
        Evaluated model name of the oracle ranking (synthetic world only), or None.
    v100
        Evaluated model name of the V100 baseline that the summary compares the chosen model with.
    drift
        A scoring month's drift against the champion's training months, or None (a retraining month).

    Returns
    -------
    The page's HTML text; the same inputs give the same text.
    """
    models = Models.from_result(result, baseline_names, oracle)
    k = primary_k(result)
    context = {
        "as_of": as_of,
        "k": k,
        "summary": summary(result, models, k, v100 if v100 in models.ranked else None),
        "models": models,
        "kfold": any(s.rows is not None for s in result.splits),
        "splits": split_section(result),
        "tuning": tuning_section(result, models),
        "monthly": monthly_section(result, models, k),
        "pooled": pooled_section(result, models),
        "calibration": calibration_section(result, models, k),
        "selection": selection_section(result, models),
        "importance": importance_section(importance),
        "drift": drift_section(drift),
        "notes": list(dict.fromkeys([*notes, *sorted({s.note for s in result.splits if s.note})])),
        "n_boot": result.evaluation.settings.n_boot,
        "confidence": f"{result.evaluation.settings.confidence:.0%}",
    }
    return environment().get_template("model.html").render(**context)
