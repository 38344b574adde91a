"""How harmrank's pages write figures: fixed formats for shares, counts, ratios and AUCs, the
names of the audit's metrics, and the ``Cell`` and ``Table`` that the templates' ``data_table``
macro draws. Every page formats through here, so the same figure reads the same everywhere."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from features.catalogue import by_name

PCT, COUNT, AUC, RATIO = "pct", "count", "auc", "ratio"
METRICS: dict[str, tuple[str, str, str]] = {  # metric -> (long name, short header, format)
    "size": ("group size", "Size", COUNT),
    "cohort_share": ("share of the cohort", "Cohort share", PCT),
    "list_share": ("share of the list", "List share", PCT),
    "selection_rate": ("selection rate", "Selection rate", PCT),
    "base_rate": ("base rate", "Base rate", PCT),
    "precision": ("precision", "Precision", PCT),
    "recall": ("recall", "Recall", PCT),
    "fpr": ("false positive rate", "FPR", PCT),
    "fnr": ("false negative rate", "FNR", PCT),
    "mean_predicted": ("mean predicted probability", "Mean predicted", PCT),
    "observed_rate": ("observed rate", "Observed rate", PCT),
    "calibration_in_large": ("calibration in the large", "Calibration", RATIO),
    "auc": ("AUC", "AUC", AUC),
    "harm_captured": ("harm captured", "Harm captured", PCT),
}
AT_K = ("list_share", "selection_rate", "precision", "recall", "fpr", "fnr", "harm_captured")


@dataclass
class Cell:
    """One table cell: its text, optional lines below it (an interval), a CSS class and its source."""

    text: str
    sub: tuple[str, ...] = ()
    numeric: bool = True
    css: str = ""
    src: str = ""  # where the figure comes from (JSON key path), rendered as data-src for checking


@dataclass
class Table:
    """A table for the template's ``data_table`` macro; ``strong`` rows are shown in bold."""

    headers: list[str]
    rows: list[list[Cell]]
    caption: str = ""
    strong: list[bool] = field(default_factory=list)


def finite(x: Any) -> bool:
    return x is not None and not pd.isna(x) and math.isfinite(float(x))


def fmt(kind: str, value: Any) -> str:
    """A figure in its fixed format; shares under 1% get two decimals so that they are not all '0.1%'."""
    if not finite(value):
        return "–"
    v = float(value)
    if kind == PCT:
        places = 2 if abs(v) < 0.01 else 1
        return f"{(round(v * 100, places) or 0.0):.{places}f}%"  # "or 0.0": never "-0.00%"
    if kind == COUNT:
        return f"{round(v):,}"
    return f"{v:.3f}" if kind == AUC else f"{v:.2f}"


def interval(kind: str, lo: Any, hi: Any) -> tuple[str, ...]:
    """The interval as one short line, such as ``(10.1–14.6%)``, or nothing when it is not known."""
    if not (finite(lo) and finite(hi)):
        return ()
    low, high = fmt(kind, lo), fmt(kind, hi)
    if low == high:  # a figure known exactly (such as everyone's share of the list) needs no interval
        return ()
    low = low.removesuffix("%") if low.endswith("%") and high.endswith("%") else low
    return (f"({low}–{high})",)


def kind_of(metric: str) -> str:
    return METRICS.get(metric, (metric, metric, RATIO))[2]


def header(metric: str, k: int | None = None) -> str:
    short = METRICS.get(metric, (metric, metric.replace("_", " "), RATIO))[1]
    return f"{short}@{k}" if k is not None and metric in AT_K else short


def long_name(metric: str) -> str:
    return METRICS.get(metric, (metric.replace("_", " "),))[0]


def pvalue(p: Any) -> str:
    if not finite(p):
        return "–"
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def feature_label(name: str) -> tuple[str, str]:
    """Plain words for a feature (its catalogue sentence with N for the value) and its family."""
    try:
        feature = by_name(name)
    except KeyError:
        return name, "column of the input table"
    return feature.template.replace("{value}", "N"), feature.family
