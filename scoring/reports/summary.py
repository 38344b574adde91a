"""The plain-English summary at the top of the model report, and the formatting the report shares.

The summary says what was tested, which model was chosen and why, whether it beats the V100 list
on precision@k and harm captured@k (with intervals, and saying so when the difference is not
established), how close it comes to the oracle when there is one, and what the figures do and do
not mean. Every sentence is built from the :class:`models.backtest.BacktestResult`; nothing here
computes a metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.backtest import BacktestResult
from models.evaluate import METRICS, POOLED, EvaluationResult

PERCENT = {"precision", "recall", "harm_captured", "churn"}
DECIMALS = {"auc_roc": 3, "average_precision": 3, "brier": 4, "ece": 4}
NAMES = {
    "precision": "precision",
    "recall": "recall",
    "harm_captured": "harm captured",
    "churn": "list churn",
    "auc_roc": "AUC-ROC",
    "average_precision": "average precision",
    "brier": "Brier score",
    "ece": "ECE",
}


def metric_name(metric: str) -> str:
    """A metric's name for the reader."""
    return NAMES.get(metric, metric.replace("_", " "))


def fmt(metric: str, value: float, decimals: int | None = None) -> str:
    """A figure with the metric's fixed format: percent with one decimal, or a fixed number of decimals."""
    if value is None or not math.isfinite(float(value)):
        return "–"
    if metric in PERCENT:
        return f"{float(value) * 100:.{1 if decimals is None else decimals}f}%"
    return f"{float(value):.{DECIMALS.get(metric, 3) if decimals is None else decimals}f}"


def span(metric: str, lo: float, hi: float, decimals: int | None = None) -> str:
    """An interval for a table, such as ``34.0–52.0%`` or ``0.823–0.846``."""
    low, high = fmt(metric, lo, decimals), fmt(metric, hi, decimals)
    return f"{low.removesuffix('%')}–{high}" if low.endswith("%") and high.endswith("%") else f"{low}–{high}"


def spread(metric: str, value: float) -> str:
    """A difference or spread of a figure: percentage points for shares, else the figure's own format."""
    if metric in PERCENT and value is not None and math.isfinite(float(value)):
        return f"{float(value) * 100:.1f}"
    return fmt(metric, value)


def points(difference: float) -> str:
    """A difference of two shares in percentage points, signed."""
    return f"{difference * 100:+.1f} points"


def difference(metric: str, value: float) -> str:
    """A signed difference of a figure: percentage points for shares, else the figure's decimals."""
    return points(value) if metric in PERCENT else f"{value:+.{DECIMALS.get(metric, 3)}f}"


@dataclass
class Models:
    """The evaluated models in report order: chosen candidate, other candidates, baselines, oracle.

    Each gets a label for the reader and a style index (colour and marker) kept across charts.
    """

    chosen: str
    candidates: list[str]
    baselines: list[str]
    oracle: str | None
    labels: dict[str, str]

    @classmethod
    def from_result(
        cls, result: BacktestResult, baseline_names: dict[str, str], oracle: str | None
    ) -> Models:
        """Candidates are the fitted models; baselines the other scores, in ``baseline_names`` order."""
        chosen = result.selection.chosen
        fitted = list(result.fit_seconds) or [chosen]
        candidates = [chosen, *(c for c in fitted if c != chosen)]
        evaluated = {m for m in result.evaluation.table["model"].unique() if not m.endswith("__probability")}
        others = evaluated - set(candidates) - {oracle}
        baselines: list[str] = [b for b in baseline_names if b in others]
        baselines += sorted(others - set(baseline_names))
        oracle = oracle if oracle in evaluated else None
        labels = {c: c for c in candidates} | {b: baseline_names.get(b, b) for b in baselines}
        labels[chosen] = f"{chosen} (chosen)"
        if oracle is not None:
            labels[oracle] = baseline_names.get(oracle, "oracle (true propensity)")
        return cls(chosen, candidates, baselines, oracle, labels)

    @property
    def ranked(self) -> list[str]:
        return [*self.candidates, *self.baselines, *([self.oracle] if self.oracle else [])]

    def label(self, model: str) -> str:
        return self.labels.get(model, model)

    def style(self, model: str) -> int:
        return self.ranked.index(model)


def primary_k(result: BacktestResult) -> int:
    """The list size the summary speaks of: 100 when evaluated, else the smallest k."""
    ks = list(result.evaluation.settings.ks)
    return 100 if 100 in ks else min(ks)


def selection_metric(result: BacktestResult) -> tuple[str, int | None]:
    """Which monthly figure the selection compared: the one whose values the regret table repeats."""
    table, regret = result.evaluation.table, result.selection.regret
    rows = table[(table["model"] == result.selection.chosen) & (table["month"] != POOLED)]
    rows = rows[rows["ties"] == "list"]
    for (metric, k), group in rows.groupby(["metric", "k"], dropna=False, sort=True):
        values = group.set_index("month")["value"]
        if set(regret["month"]) <= set(values.index) and np.allclose(
            values.loc[regret["month"]].to_numpy(float),
            regret["chosen_value"].to_numpy(float),
            equal_nan=True,
        ):
            return str(metric), None if pd.isna(k) else int(k)
    return "precision", primary_k(result)


def _figure(ev: EvaluationResult, model: str, metric: str, k: int) -> tuple[float, float, float]:
    t = ev.table
    row = t[(t["model"] == model) & (t["month"] == POOLED) & (t["metric"] == metric) & (t["ties"] == "list")]
    row = row[row["k"] == k]
    if len(row) != 1:
        return math.nan, math.nan, math.nan
    return float(row["value"].iloc[0]), float(row["lo"].iloc[0]), float(row["hi"].iloc[0])


def _with_interval(metric: str, figure: tuple[float, float, float]) -> str:
    value, lo, hi = figure
    if math.isfinite(lo) and math.isfinite(hi):
        return f"{fmt(metric, value)} (95% interval {fmt(metric, lo)} to {fmt(metric, hi)})"
    return fmt(metric, value)


def versus(ev: EvaluationResult, models: Models, other: str, metric: str, k: int) -> tuple[str, str]:
    """One sentence comparing the chosen model with ``other`` on a pooled figure, and its verdict.

    The verdict is ``better``, ``worse``, ``not established`` or ``no intervals``. Both models are
    scored on the same resampled people, so the difference is judged by its paired interval (the
    chosen model's figure less the other's, resample by resample): one that excludes zero
    establishes it, whether or not the two separate intervals overlap (they overlap more easily,
    as each carries the spread of the people drawn, which the two models share). Without paired
    replicates, separate intervals that do not overlap establish it. Better means better in the
    metric's own direction (a lower Brier score is better).
    """
    chosen = models.chosen
    a, b = _figure(ev, chosen, metric, k), _figure(ev, other, metric, k)
    name = f"{metric_name(metric).capitalize()}@{k}"
    text = (
        f"{name} was {_with_interval(metric, a)} for the chosen model and "
        f"{_with_interval(metric, b)} for the {models.label(other)}"
    )
    if not all(math.isfinite(x) for x in (*a, *b)):
        return text + "; no intervals were computed, so chance cannot be ruled out.", "no intervals"
    diff, lo, hi = ev.compare(chosen, other, metric, k)
    sign = 1.0 if METRICS[metric].greater_is_better else -1.0
    overlap = a[1] <= b[2] and b[1] <= a[2]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        if overlap:
            return text + "; the intervals overlap, so the difference is not established.", "not established"
        verdict = "better" if sign * (a[0] - b[0]) > 0 else "worse"
        return text + f"; the intervals do not overlap: the chosen model is {verdict}.", verdict
    level = f"{ev.settings.confidence:.0%}"
    low, high = difference(metric, lo), difference(metric, hi)
    paired = f"{difference(metric, diff)}, paired {level} interval {low} to {high}"
    text += f". Compared on the same resampled people the difference is {paired}"
    if lo <= 0 <= hi:
        return text + ", which includes zero, so the difference is not established.", "not established"
    verdict = "better" if sign * diff > 0 else "worse"
    both = "; the separate intervals overlap, but the paired one" if overlap else ", which"
    return text + f"{both} excludes zero: the chosen model is {verdict}.", verdict


def plural(n: int, word: str) -> str:
    """``1 candidate``, ``2 candidates``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _tested(result: BacktestResult, models: Models) -> str:
    predictions = result.predictions
    candidates = f"{plural(len(models.candidates), 'LightGBM candidate')} ({', '.join(models.candidates)})"
    baselines = ", ".join(models.label(b) for b in models.baselines) or "none"
    rows = f"{len(predictions):,}"
    if any(s.rows is not None for s in result.splits):
        day = result.splits[0].test.date().isoformat()
        return (
            f"{candidates} and the baselines ({baselines}) scored the same {rows} rows of a single as-of "
            f"date ({day}) in {len(result.splits)} folds: each "
            "row was scored by a model that never trained on it. This is not a backtest over later months, "
            "so the figures may be optimistic about how the model would do on a future month."
        )
    months = sorted(result.splits, key=lambda s: s.test)
    return (
        f"{candidates} and the baselines ({baselines}) scored the same {rows} person-months in "
        f"{plural(len(months), 'test month')}, "
        f"{months[0].test.date().isoformat()} to {months[-1].test.date().isoformat()}. Each test month was "
        "predicted by a model trained, early-stopped and calibrated only on earlier as-of dates whose "
        "outcome windows had ended by then: the test months played no part in fitting."
    )


def _chosen(result: BacktestResult, models: Models) -> str:
    sel = result.selection
    metric, k = selection_metric(result)
    name = f"{metric_name(metric)}@{k}" if k is not None else metric_name(metric)
    row = sel.ranking[sel.ranking["model"] == sel.chosen].iloc[0]
    unit = " points" if metric in PERCENT else ""
    text = (
        f"{sel.chosen} was chosen. The rule compares the candidates' mean monthly {name}, less a penalty "
        f"for month-to-month spread: {sel.chosen} had mean {fmt(metric, row['mean'])}, standard deviation "
        f"{spread(metric, row['std'])}{unit} and criterion {fmt(metric, row['criterion'])}"
    )
    if len(sel.ranking) == 1:
        return text + "; it was the only candidate, so there was nothing to regret."
    return text + (
        f", the best of {len(sel.ranking)} candidates. Had the best candidate of each month been known in "
        f"advance, {name} would have been higher by {spread(metric, sel.mean_regret)}{unit} on average and "
        f"by at most {spread(metric, sel.max_regret)}{unit} in one month (the regret of the choice)."
    )


def _against_v100(result: BacktestResult, models: Models, k: int, v100: str | None) -> list[str]:
    ev = result.evaluation
    if v100 is None:
        if not models.baselines:
            return ["No baseline was scored, so this run cannot say whether the model beats the V100 list."]
        others = [versus(ev, models, b, "precision", k)[0] for b in models.baselines]
        return ["No V100 baseline could be scored on this table; against the baselines that were:", *others]
    precision, p_verdict = versus(ev, models, v100, "precision", k)
    harm, h_verdict = versus(ev, models, v100, "harm_captured", k)
    verdicts = {p_verdict, h_verdict}
    if verdicts == {"better"}:
        headline = f"The chosen model beats the V100 list on both precision@{k} and harm captured@{k}."
    elif "worse" in verdicts:
        headline = (
            f"With lists of {k}, the V100 list does better than the chosen model on at least one figure."
        )
    elif "better" in verdicts:
        won = "precision" if p_verdict == "better" else "harm captured"
        headline = (
            f"The chosen model beats the V100 list on {won}@{k}; on the other figure it is not established."
        )
    else:
        headline = (
            f"With lists of {k}, this backtest does not establish whether the model beats the V100 list."
        )
    return [headline, precision, harm]


def _oracle(result: BacktestResult, models: Models, k: int) -> str | None:
    if models.oracle is None:
        return None
    parts = []
    for metric in ("precision", "harm_captured"):
        ratio, lo, hi = result.evaluation.compare(models.chosen, models.oracle, metric, k, how="ratio")
        interval = f" (95% interval {lo:.0%} to {hi:.0%})" if math.isfinite(lo) and math.isfinite(hi) else ""
        parts.append(
            f"{ratio:.0%} of the oracle's {metric_name(metric)}@{k}{interval}" if math.isfinite(ratio) else ""
        )
    reached = " and ".join(p for p in parts if p) or "an undefined share of its figures"
    return (
        f"The oracle ranks people by the true propensity saved with the synthetic world: about the best any "
        f"ranking could do, and only possible on synthetic data. The chosen model reached {reached}."
    )


def _meaning(k: int) -> list[str]:
    return [
        f"Precision@{k} is the share of the {k} listed people who were later named as suspect in a "
        "serious-harm offence within the outcome window. It counts recorded outcomes, so it records policing "
        "as much as offending: a group that is policed more is recorded more, at the same behaviour.",
        f"Harm captured@{k} is the share of all the harm (Cambridge Crime Harm Index days) alleged in the "
        f"outcome window that was alleged against the {k} listed people.",
        "These are averages over past months and groups of people. They do not say that any listed person "
        "will offend, nor that listing prevents harm, and a calibrated probability is a rate among similar "
        "people, not a certainty about one person. The list is advisory: every listed person needs a "
        "recorded human review before any action.",
    ]


@dataclass
class Paragraph:
    """A summary heading and its sentences."""

    heading: str
    sentences: list[str]


def summary(result: BacktestResult, models: Models, k: int, v100: str | None) -> list[Paragraph]:
    """The summary, paragraph by paragraph."""
    out = [
        Paragraph("What was tested", [_tested(result, models)]),
        Paragraph("Which model was chosen, and why", [_chosen(result, models)]),
        Paragraph("Against the V100 list", _against_v100(result, models, k, v100)),
    ]
    oracle = _oracle(result, models, k)
    if oracle:
        out.append(Paragraph("Against the oracle", [oracle]))
    out.append(Paragraph("What the figures mean, and what they do not", _meaning(k)))
    return out
