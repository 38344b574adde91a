"""Metrics for top-k lists, with person-level bootstrap intervals, and model selection.

Every metric is a :class:`Metric` in :data:`METRICS` that declares whether greater is better.
Its function computes the metric for ``B`` weighted copies of the data at once: a bootstrap
resample is a vector of row weights (how often each row was drawn), and the point estimate is
the same function with all weights 1, so the point estimate and its interval share one code path.

Top-k lists
    Each month's list is ordered by :func:`models.ranking.rank_order` (rounded score desc, then
    V100 harm desc, then person_id asc): the order officers see. Pooled months keep one list of
    ``k`` per month and pool the sums (hits over all months / people listed over all months).
    When equal rounded scores straddle the cut-off, that tie-break decides who is in; the result
    also reports the worst and the best order inside the tie (outcome ascending or descending
    among the tied people) whenever the two differ.
Threshold-free metrics
    AUC-ROC and average precision use the unrounded score over all rows of the population
    (pooled months are pooled rows); Brier and ECE apply only to probability scores.
Bootstrap
    Persons are resampled with replacement ``n_boot`` times with one seeded
    ``numpy.random.Generator``; a person drawn twice brings all of their rows twice. The draws are
    made once per population (each month, then the pooled months) and shared by every metric and
    every model of the call, so differences between models are paired. Intervals are percentiles
    of the replicates. ECE, a sum of absolute values, is biased upward under resampling, so its
    interval can lie above its point value: read it as how large the error might be. List churn
    describes the published lists, not a sample: it has no interval.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator
from threadpoolctl import threadpool_limits

from features.errors import PipelineError
from models.metrics import (
    EvalData,
    Sample,
    Ties,
    auc_roc,
    average_precision,
    brier,
    ece,
    harm_captured_at_k,
    list_churn,
    month_label,
    percentile_interval,
    precision_at_k,
    prepare,
    ratio,
    recall_at_k,
    resample_weights,
)

POOLED = "pooled"
_CHUNK_ELEMENTS = 2_000_000  # resample weights held in memory at once (16 MB of float64)


class EvaluationSettings(BaseModel):
    """Which metrics, at which list sizes, with how many bootstrap resamples."""

    model_config = ConfigDict(extra="forbid")

    ks: list[PositiveInt] = Field([100, 500, 1000], min_length=1, description="List sizes for top-k metrics.")
    n_boot: int = Field(1000, ge=0, description="Bootstrap resamples of persons; 0 for no intervals.")
    monthly_intervals: bool = Field(
        True, description="Intervals for each month too, not only pooled (costs about as much again)."
    )
    confidence: float = Field(0.95, gt=0, lt=1, description="Coverage of the percentile intervals.")
    ece_bins: int = Field(10, ge=2, description="Equal-count bins for expected calibration error.")
    metrics: list[str] | None = Field(None, description="Metric names to compute; None for all.")

    @field_validator("metrics")
    @classmethod
    def _known(cls, names: list[str] | None) -> list[str] | None:
        unknown = sorted(set(names or ()) - set(METRICS))
        if unknown:
            raise ValueError(f"unknown metrics {unknown}; valid: {sorted(METRICS)}")
        return names


@dataclass(frozen=True)
class Metric:
    """One metric and how to read it.

    ``function(sample, k, ties)`` returns shape (B,); ``tie_target`` names the outcome whose
    worst/best order inside a tie at the cut-off bounds the metric (``None``: not a top-k metric).
    """

    name: str
    function: Callable[[Sample, int | None, Ties], np.ndarray] | None
    greater_is_better: bool
    needs_k: bool
    needs_probability: bool = False
    tie_target: str | None = None


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("precision", precision_at_k, True, True, tie_target="label"),
        Metric("recall", recall_at_k, True, True, tie_target="label"),
        Metric("harm_captured", harm_captured_at_k, True, True, tie_target="harm"),
        Metric("auc_roc", auc_roc, True, False),
        Metric("average_precision", average_precision, True, False),
        Metric("brier", brier, False, False, needs_probability=True),
        Metric("ece", ece, False, False, needs_probability=True),
        Metric("churn", None, False, True),  # lists, not a sample: see list_churn
    )
}


@dataclass
class EvaluationResult:
    """Every figure of one evaluation, for reports, the promotion rule and MLflow.

    ``table`` has one row per (model, month, metric, k, ties) with columns model, month (ISO date
    or ``"pooled"``), metric, k (Int64, <NA> for metrics without k), ties (``list``, ``worst`` or
    ``best``), value, lo, hi (percentile interval; NaN without resamples), greater_is_better and n
    (rows evaluated). ``replicates`` keeps each row's bootstrap values (shape (n_boot,)), keyed by
    (model, month, metric, k, ties), for paired comparisons.
    """

    table: pd.DataFrame
    replicates: dict[tuple[str, str, str, int | None, str], np.ndarray] = field(repr=False)
    settings: EvaluationSettings
    seed: int

    def value(
        self, model: str, metric: str, k: int | None = None, month: str = POOLED, ties: Ties = "list"
    ) -> float:
        """The point value of one figure."""
        t = self.table
        rows = t[
            (t["model"] == model) & (t["month"] == month) & (t["metric"] == metric) & (t["ties"] == ties)
        ]
        rows = rows[rows["k"].isna()] if k is None else rows[rows["k"] == k]
        if len(rows) != 1:
            raise KeyError(f"no figure {metric}@{k} for {model} in {month} ({ties})")
        return float(rows["value"].iloc[0])

    def compare(
        self,
        model: str,
        other: str,
        metric: str,
        k: int | None = None,
        month: str = POOLED,
        how: Literal["difference", "ratio"] = "difference",
    ) -> tuple[float, float, float]:
        """``model`` minus (or over) ``other`` on one figure, with a paired percentile interval.

        Returns (value, lo, hi); lo and hi are NaN without resamples.
        """
        a, b = self.value(model, metric, k, month), self.value(other, metric, k, month)
        ra = self.replicates.get((model, month, metric, k, "list"), np.empty(0))
        rb = self.replicates.get((other, month, metric, k, "list"), np.empty(0))
        if how == "ratio":
            point, reps = (a / b if b else np.nan), np.asarray(ratio(ra, rb))
        else:
            point, reps = a - b, ra - rb
        lo, hi = _interval(reps, self.settings.confidence)
        return float(point), lo, hi


def _interval(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    lo, hi = percentile_interval(replicates, confidence)
    return float(lo), float(hi)


PointKey = tuple[str, str, int | None, Ties]  # model, metric, k, ties


def _points(datas: Mapping[str, EvalData], names: list[str], ks: list[int]) -> dict[PointKey, float]:
    """Point values of every figure, adding worst/best rows only where a tie changes the figure."""
    out: dict[PointKey, float] = {}
    for model, data in datas.items():
        s = Sample(data, np.ones((len(data.y), 1)))
        for name in names:
            metric = METRICS[name]
            if metric.function is None or (metric.needs_probability and data.prob is None):
                continue
            for k in ks if metric.needs_k else [None]:
                out[(model, name, k, "list")] = float(metric.function(s, k, "list")[0])
                if metric.tie_target is not None:
                    worst, best = (float(metric.function(s, k, t)[0]) for t in ("worst", "best"))
                    if not np.isclose(worst, best, rtol=0, atol=1e-12, equal_nan=True):
                        out[(model, name, k, "worst")], out[(model, name, k, "best")] = worst, best
    return out


def _population(
    sub: pd.DataFrame,
    scores: Mapping[str, str],
    cols: Mapping[str, str],
    probabilistic: Collection[str],
    settings: EvaluationSettings,
    decimals: int,
    rng: np.random.Generator,
) -> tuple[dict[PointKey, float], dict[PointKey, np.ndarray]]:
    """Point values and bootstrap replicates for one population (a month, or pooled months)."""
    datas = {
        model: prepare(sub, col, cols, decimals, settings.ece_bins if model in probabilistic else None)
        for model, col in scores.items()
    }
    points = _points(datas, settings.metrics or list(METRICS), settings.ks)
    reps: dict[PointKey, list[np.ndarray]] = {key: [] for key in points}
    persons = pd.factorize(sub[cols["person"]])[0]
    chunk, done = max(1, _CHUNK_ELEMENTS // max(len(sub), 1)), 0
    while done < settings.n_boot:
        weights = resample_weights(rng, persons, min(chunk, settings.n_boot - done))
        samples = {model: Sample(data, weights) for model, data in datas.items()}
        for model, name, k, ties in points:
            function = METRICS[name].function
            assert function is not None
            reps[(model, name, k, ties)].append(function(samples[model], k, ties))
        done += weights.shape[1]
    return points, {key: np.concatenate(v) if v else np.empty(0) for key, v in reps.items()}


def _check(frame: pd.DataFrame, scores: Mapping[str, str], cols: Mapping[str, str]) -> None:
    """Refuse inputs the metrics cannot read, naming the column and what would be valid."""
    needed = [c for c in (*cols.values(), *scores.values()) if c]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise PipelineError(f"evaluation needs columns {missing}; the table has {list(frame.columns)}")
    if frame.empty or not scores:
        raise PipelineError("nothing to evaluate: the table has no rows or no score column was given")
    label = frame[cols["label"]]
    if label.isna().any() or not label.isin([0, 1]).all():
        raise PipelineError(f"label column {cols['label']!r} must be 0 or 1 on every evaluated row")
    for col in (cols["harm"], *scores.values()):
        values = frame[col].to_numpy(dtype="float64")
        if not np.isfinite(values).all():
            raise PipelineError(f"column {col!r} has {int((~np.isfinite(values)).sum())} missing values")
    if (frame[cols["harm"]] < 0).any():
        raise PipelineError(f"harm column {cols['harm']!r} has negative CCHI days; harm is 0 or more")
    if frame.duplicated([cols["person"], cols["month"]]).any():
        raise PipelineError(f"a person appears twice in one month ({cols['person']}, {cols['month']})")


def evaluate(
    frame: pd.DataFrame,
    scores: Mapping[str, str],
    settings: EvaluationSettings,
    seed: int,
    *,
    label_col: str = "label",
    harm_col: str = "future_harm",
    month_col: str = "as_of",
    person_col: str = "person_id",
    v100_col: str | None = None,
    probabilistic: Collection[str] = (),
    decimals: int = 6,
) -> EvaluationResult:
    """Every metric for every model, per month and pooled, with bootstrap intervals.

    Parameters
    ----------
    frame
        Test rows, one per (person, month): person, month, 0/1 label, future CCHI harm (days,
        >= 0), the tie-break column and one score column per model.
    scores
        Model name -> score column (higher = listed first).
    seed
        Seeds the one ``numpy.random.Generator`` that draws every resample.
    v100_col
        Tie-break column of the list (V100 harm); None ranks ties by person_id alone.
    probabilistic
        Models whose scores are probabilities; only these get Brier and ECE.
    decimals
        Scores are rounded to this many decimals before ranking, as in the published list.
    """
    cols = {"label": label_col, "harm": harm_col, "month": month_col, "person": person_col}
    cols["v100"] = v100_col or ""
    _check(frame, scores, cols)
    rng = np.random.default_rng(seed)
    months = sorted(frame[month_col].unique())
    populations = [(month_label(m), frame[frame[month_col] == m]) for m in months]
    if len(months) > 1:  # pooled first: its resamples do not depend on monthly_intervals
        populations.insert(0, (POOLED, frame))
    rows: list[dict[str, object]] = []
    replicates: dict[tuple[str, str, str, int | None, str], np.ndarray] = {}
    for label, sub in populations:
        plain = label != POOLED and len(months) > 1 and not settings.monthly_intervals
        run = settings.model_copy(update={"n_boot": 0}) if plain else settings
        # many small matrix products: BLAS threads that spin between them cost far more than
        # they save (8x slower on 2 cores); one thread also fixes the summation order
        with threadpool_limits(limits=1, user_api="blas"):
            points, reps = _population(sub, scores, cols, probabilistic, run, decimals, rng)
        for month in [label, POOLED] if len(months) == 1 else [label]:
            for (model, name, k, ties), value in points.items():
                lo, hi = _interval(reps[(model, name, k, ties)], settings.confidence)
                rows.append(_row(model, month, name, k, ties, value, lo, hi, len(sub)))
                replicates[(model, month, name, k, ties)] = reps[(model, name, k, ties)]
    if "churn" in (settings.metrics or METRICS) and len(months) > 1:
        sizes = {label: len(sub) for label, sub in populations}
        for model, col in scores.items():
            for k in settings.ks:
                churn = list_churn(frame, col, k, cols, decimals)
                for month, value in [*churn.items(), (POOLED, churn.mean())]:
                    rows.append(_row(model, month, "churn", k, "list", value, np.nan, np.nan, sizes[month]))
    table = pd.DataFrame(rows)
    table["k"] = table["k"].astype("Int64")
    return EvaluationResult(table=table, replicates=replicates, settings=settings, seed=seed)


def _row(
    model: str, month: str, name: str, k: int | None, ties: str, value: float, lo: float, hi: float, n: int
) -> dict[str, object]:
    return {
        "model": model,
        "month": month,
        "metric": name,
        "k": k,
        "ties": ties,
        "value": value,
        "lo": lo,
        "hi": hi,
        "greater_is_better": METRICS[name].greater_is_better,
        "n": n,
    }


class SelectionSettings(BaseModel):
    """How a model is chosen across backtest months."""

    model_config = ConfigDict(extra="forbid")

    metric: str = Field("precision", description="Metric compared month by month.")
    k: int | None = Field(100, ge=1, description="List size of the metric (None for metrics without k).")
    std_penalty: float = Field(
        0.5, ge=0, description="Criterion = mean - std_penalty x standard deviation across months."
    )


@dataclass
class Selection:
    """The chosen model, the ranking of candidates and the regret of the choice.

    ``ranking``: model, months, mean, std, criterion (best first). ``regret``: per month, the best
    candidate, its value, the chosen model's value and regret (>= 0, in the metric's unit).
    """

    chosen: str
    ranking: pd.DataFrame
    regret: pd.DataFrame

    @property
    def mean_regret(self) -> float:
        """Average over months of what the best model that month would have added."""
        return float(self.regret["regret"].mean())

    @property
    def max_regret(self) -> float:
        """The worst month's regret."""
        return float(self.regret["regret"].max())


def select_model(
    result: EvaluationResult, settings: SelectionSettings, candidates: Collection[str] | None = None
) -> Selection:
    """Choose the candidate with the best mean of a metric across months, penalised by its spread.

    For a metric where greater is better the criterion is mean - penalty x std (sample standard
    deviation across months, 0 for one month); otherwise mean + penalty x std, smallest wins. Ties
    go to the model name first in alphabetical order. Only months that every candidate was
    evaluated on count. ``candidates`` defaults to every model (leave the oracle out).
    """
    if settings.metric not in METRICS:
        raise PipelineError(f"unknown selection metric {settings.metric!r}; valid: {sorted(METRICS)}")
    sign = 1.0 if METRICS[settings.metric].greater_is_better else -1.0
    t = result.table
    keep = (t["metric"] == settings.metric) & (t["month"] != POOLED) & (t["ties"] == "list")
    keep &= t["k"].isna() if settings.k is None else t["k"] == settings.k
    if candidates is not None:
        keep &= t["model"].isin(list(candidates))
    wide = t[keep].pivot(index="month", columns="model", values="value").dropna().sort_index()
    if wide.empty:
        raise PipelineError(f"no monthly {settings.metric}@{settings.k} figures to select a model from")
    std = wide.std(ddof=1).fillna(0.0) if len(wide) > 1 else wide.mean() * 0.0
    ranking = pd.DataFrame({"months": len(wide), "mean": wide.mean(), "std": std})
    ranking["criterion"] = ranking["mean"] - sign * settings.std_penalty * ranking["std"]
    ranking["_key"] = -sign * ranking["criterion"]
    ranking = ranking.rename_axis("model").reset_index().sort_values(["_key", "model"], kind="mergesort")
    ranking = ranking.drop(columns="_key").reset_index(drop=True)
    chosen = str(ranking["model"].iloc[0])
    best = wide.idxmax(axis=1) if sign > 0 else wide.idxmin(axis=1)
    regret = pd.DataFrame(
        {
            "best_model": best,
            "best_value": wide.max(axis=1) if sign > 0 else wide.min(axis=1),
            "chosen_value": wide[chosen],
        }
    )
    regret["regret"] = sign * (regret["best_value"] - regret["chosen_value"])
    return Selection(chosen=chosen, ranking=ranking, regret=regret.rename_axis("month").reset_index())
