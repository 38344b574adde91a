"""Tables and charts of the equality report, built from the audit's result tables.

Nothing here computes a metric: every figure is read from the audit (``groups``, ``disparities``,
``coverage``), the gate, the proxy audit, the mitigation table or the label-bias tables, and
formatted with a fixed number of decimals. A suppressed cell is shown as "suppressed" (fewer than N
people, or withheld so that such a figure cannot be worked out from a total) and its
value is never read, whatever the table holds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import pandas as pd
from markupsafe import Markup

from scoring.reports.charts import equality as charts
from scoring.reports.formats import (
    AT_K,
    PCT,
    RATIO,
    Cell,
    Table,
    finite,
    fmt,
    header,
    interval,
    kind_of,
    pvalue,
)

POOLED = "pooled"
OVERALL = ("overall", "all")  # the audit's whole-population row: characteristic "overall", group "all"
NOT_RECORDED = "not recorded"
SUPPRESSED = "suppressed"  # fewer than min_cell people, or a complement withheld to protect such a figure
WHO = ("size", "cohort_share", "list_share", "selection_rate", "base_rate")
PERFORMANCE = ("precision", "recall", "fpr", "fnr", "harm_captured", "calibration_in_large", "auc")
COMPACT = ("size", "selection_rate", "base_rate", "precision", "recall", "fpr", "harm_captured")
CHART_METRICS = ("fpr", "precision")
GATE_METRICS = ("fpr", "precision", "recall")
WHO_CAPTION, PERFORMANCE_CAPTION = "Who is in the cohort and the list", "How the list works for each group"
MATRIX_AT_K = ("selection_rate", "fpr", "precision", "recall", "fnr", "harm_captured")
MATRIX = (*MATRIX_AT_K, "base_rate", "auc", "calibration_in_large", "list_share", "cohort_share")


class Figure(NamedTuple):
    value: float
    lo: float
    hi: float
    n: int
    suppressed: bool
    src: str = ""  # its row in the audit's group table, as a JSON key path


def source(*key: Any) -> str:
    """A figure's key path in the run's audit outputs, as compact JSON (rendered as data-src)."""
    return json.dumps([None if k is None or (isinstance(k, float) and math.isnan(k)) else k for k in key])


def k_of(value: Any) -> int | None:
    return None if pd.isna(value) else int(value)


def suppressed_cell(limit: int) -> Cell:
    return Cell(SUPPRESSED, css="suppressed")


def figure_cell(fig: Figure | None, metric: str, limit: int) -> Cell:
    """A group figure with its interval; a suppressed figure shows no number at all."""
    if fig is None:
        return Cell("–")
    if fig.suppressed:
        return Cell(SUPPRESSED, css="suppressed", src=fig.src)
    kind = kind_of(metric)
    return Cell(fmt(kind, fig.value), interval(kind, fig.lo, fig.hi), src=fig.src)


class Figures:
    """The audit's group table for one scope, looked up by (characteristic, group, metric, k).

    A metric asked for at a list length that the table holds only for the whole score (k missing)
    falls back to the whole-score row.
    """

    def __init__(self, groups: pd.DataFrame, scope: str) -> None:
        rows = groups[groups["scope"].astype(str) == scope]
        columns = ["characteristic", "group", "metric", "k", "value", "lo", "hi", "n", "suppressed"]
        self.table: dict[tuple[str, str, str, int | None], Figure] = {
            (str(c), str(g), str(m), k_of(k)): Figure(
                v,
                lo,
                hi,
                int(n) if finite(n) else 0,
                bool(s),
                source("groups", scope, str(c), str(g), str(m), k_of(k)),
            )
            for c, g, m, k, v, lo, hi, n, s in rows[columns].itertuples(index=False, name=None)
        }

    def get(self, characteristic: str, group: str, metric: str, k: int | None) -> Figure | None:
        key = (characteristic, group, metric)
        return self.table.get((*key, k)) or self.table.get((*key, None))

    def groups_of(self, characteristic: str) -> list[str]:
        """Groups in report order: largest first, "not recorded" last, then by name."""
        names = {g for c, g, _, _ in self.table if c == characteristic}

        def size(g: str) -> float:
            fig = self.get(characteristic, g, "size", None)
            return float(fig.value) if fig and not fig.suppressed and finite(fig.value) else 0.0

        return sorted(names, key=lambda g: (g == NOT_RECORDED, -size(g), g))


def disparity_rows(disparities: pd.DataFrame, scope: str) -> pd.DataFrame:
    """Rows of one scope with a plain-int-or-None ``k_int`` column, in a stable order."""
    rows = disparities[disparities["scope"].astype(str) == scope].copy()
    rows["k_int"] = pd.Series([k_of(k) for k in rows["k"]], index=rows.index, dtype=object)
    rows["k_sort"] = [-1 if k is None else k for k in rows["k_int"]]
    return rows.sort_values(["characteristic", "group", "metric", "k_sort"], kind="stable")


def difference(row: Any, with_interval: bool = True) -> tuple[str, ...]:
    """The difference (percentage points for shares) with its interval, as short lines."""
    if not finite(row.difference):
        return ()
    pct = kind_of(row.metric) == PCT
    scale, unit, places = (100.0, " pts", 2) if pct else (1.0, "", 3)
    text = f"{row.difference * scale:+.{places}f}{unit}"
    if with_interval and finite(row.difference_lo) and finite(row.difference_hi):
        text += f" ({row.difference_lo * scale:+.{places}f} to {row.difference_hi * scale:+.{places}f})"
    return (text,)


def ratio_cell(row: Any | None, limit: int) -> Cell:
    """A disparity: ratio, its interval, the difference and the corrected p-value; flagged in colour."""
    if row is None:
        return Cell("–")
    src = source(
        "disparities", str(row.scope), str(row.characteristic), str(row.group), str(row.metric), k_of(row.k)
    )
    if bool(row.suppressed):
        return Cell(SUPPRESSED, css="suppressed", src=src)
    p = pvalue(row.p_adjusted)
    sub = (
        *interval(RATIO, row.ratio_lo, row.ratio_hi),
        *difference(row, False),
        f"p {p if p[0] == '<' else '= ' + p}",
    )
    flagged = bool(row.flagged)
    return Cell(
        fmt(RATIO, row.ratio) + (" flagged" if flagged else ""), sub, css="flag" if flagged else "", src=src
    )


def disparity_matrix(
    rows: pd.DataFrame, groups: list[str], metrics: Iterable[str], limit: int
) -> Table | None:
    """Ratios to the reference: one row per group, one column per metric (rows of one k, or whole-score)."""
    cells = {(r.group, r.metric): r for r in rows.itertuples(index=False)}
    metrics = [m for m in metrics if any((g, m) in cells for g in groups)]
    groups = [g for g in groups if any((g, m) in cells for m in metrics)]
    if not metrics:
        return None
    body = [
        [Cell(g, numeric=False)] + [ratio_cell(cells.get((g, m)), limit) for m in metrics] for g in groups
    ]
    k = next((r.k_int for r in rows.itertuples(index=False) if r.k_int is not None), None)
    return Table(["Group", *(header(m, k) for m in metrics)], body)


def disparity_list(rows: pd.DataFrame, limit: int) -> Table:
    """Disparities one per row (group, measure, ratio with interval, difference, p-values)."""
    body = []
    for r in rows.itertuples(index=False):
        cell = ratio_cell(r, limit)
        body.append(
            [
                Cell(str(r.group), numeric=False),
                Cell(header(r.metric, r.k_int), numeric=False),
                Cell(cell.text, cell.sub[:1], css=cell.css, src=cell.src),
                Cell(" ".join(difference(r)) or "–"),
                Cell(pvalue(r.p_value)),
                Cell(pvalue(r.p_adjusted)),
            ]
        )
    return Table(["Group", "Measure", "Ratio", "Difference", "p", "p (corrected)"], body)


def group_table(
    figs: Figures, characteristic: str, groups: list[str], metrics: Iterable[str], k: int | None, **kw: Any
) -> Table:
    """One row per group, one column per metric (at list length ``k`` where the metric has one)."""
    metrics = [m for m in metrics if any(figs.get(characteristic, g, m, k) for g in groups)]
    reference, limit, caption = kw.get("reference"), kw["limit"], kw.get("caption", "")
    rows = [
        [Cell(g, ("reference",) if g == reference else (), numeric=False)]
        + [figure_cell(figs.get(characteristic, g, m, k), m, limit) for m in metrics]
        for g in groups
    ]
    if any(figs.get(*OVERALL, m, k) for m in metrics):
        rows.append(
            [Cell("everyone", numeric=False)]
            + [figure_cell(figs.get(*OVERALL, m, k), m, limit) for m in metrics]
        )
    strong = [False] * len(groups) + [True] * (len(rows) - len(groups))
    return Table(["Group", *(header(m, k) for m in metrics)], rows, caption, strong)


def other_k_table(figs: Figures, characteristic: str, groups: list[str], ks: list[int], limit: int) -> Table:
    """The list-length metrics at every k but the headline one: one row per (k, group)."""
    metrics = [m for m in AT_K if any(figs.table.get((characteristic, g, m, k)) for g in groups for k in ks)]
    rows = [
        [Cell(f"{k}"), Cell(g, numeric=False)]
        + [figure_cell(figs.table.get((characteristic, g, m, k)), m, limit) for m in metrics]
        for k in ks
        for g in groups
    ]
    strong = [False] * len(rows)
    return Table(["k", "Group", *(header(m) for m in metrics)], rows, "", strong)


def _number(row: Any | None, column: str) -> float:
    if row is None or bool(row.suppressed):
        return math.nan
    value = getattr(row, column)
    return float(value) if finite(value) else math.nan


def ratio_chart(
    rows: pd.DataFrame, labels: list[str], keys: list[Any], key_col: str, title: str, *, limit: int, **kw: Any
) -> Markup:
    """A chart of disparity ratios (``metrics``, default FPR and precision), one chart row per key.

    ``keys`` are values of ``key_col`` (groups or scopes) and ``labels`` their text; the reference
    group and rows with no figure or only suppressed ones get a note instead of points.
    """
    metrics = kw.get("metrics", CHART_METRICS)
    found = {
        m: {getattr(r, key_col): r for r in rows[rows["metric"] == m].itertuples(index=False)}
        for m in metrics
    }

    def values(m: str, col: str) -> tuple[float, ...]:
        return tuple(_number(found[m].get(key), col) for key in keys)

    series = [
        charts.RatioSeries(
            header(m, kw.get("k")),
            values(m, "ratio"),
            values(m, "ratio_lo"),
            values(m, "ratio_hi"),
            style=style,
        )
        for style, m in enumerate(metrics)
    ]
    notes = []
    for key in keys:
        present = [found[m].get(key) for m in metrics]
        if key == kw.get("reference"):
            notes.append("reference group")
        elif all(r is None for r in present):
            notes.append("no figure")
        elif all(r is None or bool(r.suppressed) for r in present):
            notes.append(SUPPRESSED)
        else:
            notes.append("")
    return Markup(charts.ratio_chart(labels, series, title=title, notes=notes, band=kw.get("band")))


@dataclass
class View:
    """What every section needs: pooled figures and disparities, list lengths, the suppression limit."""

    figs: Figures
    disparities: pd.DataFrame  # pooled rows, with k_int
    ks: list[int]
    k: int | None  # the headline list length
    limit: int
    band: tuple[float, float] | None
    level: str = "95%"  # the intervals' coverage, for the reader

    def rows(self, characteristic: str) -> pd.DataFrame:
        return self.disparities[self.disparities["characteristic"] == characteristic]

    def reference(self, characteristic: str) -> str | None:
        refs = sorted(set(self.rows(characteristic)["reference"].astype(str)))
        return refs[0] if refs else None


def characteristic_section(view: View, characteristic: str, *, compact: bool = False) -> dict[str, Any]:
    """Tables, chart and disparities of one characteristic (or, ``compact``, of one intersection).

    Disparities are shown as a matrix (group by measure) at the headline k, a matrix of the
    whole-score measures, and a list of the disparities flagged at other list lengths.
    """
    groups = view.figs.groups_of(characteristic)
    ref, k, limit = view.reference(characteristic), view.k, view.limit
    common = {"reference": ref, "limit": limit}
    parts = [(COMPACT, "")] if compact else [(WHO, WHO_CAPTION), (PERFORMANCE, PERFORMANCE_CAPTION)]
    tables = [
        group_table(view.figs, characteristic, groups, metrics, k, caption=caption, **common)
        for metrics, caption in parts
    ]
    rows = view.rows(characteristic)
    at_k = rows[rows["k_int"] == k] if k is not None else rows.iloc[:0]
    whole = rows[rows["k_int"].isna()]
    matrix = disparity_matrix(pd.concat([at_k, whole]), groups, GATE_METRICS if compact else MATRIX, limit)
    order = {g: i for i, g in enumerate(groups)}
    elsewhere = rows[rows["flagged"].astype(bool) & rows["k_int"].notna() & (rows["k_int"] != k)]
    elsewhere = elsewhere.assign(g_sort=[order.get(g, len(order)) for g in elsewhere["group"]])
    elsewhere = elsewhere.sort_values(["g_sort", "k_sort", "metric"], kind="stable")
    title = f"{characteristic}: ratios to {ref} at k = {k}"
    chart_kw: dict[str, Any] = {"limit": limit, "reference": ref, "k": k, "band": view.band}
    chart = ratio_chart(at_k, groups, groups, "group", title, **chart_kw) if len(at_k) else None
    other = [x for x in view.ks if x != k]
    other_k = (
        other_k_table(view.figs, characteristic, groups, other, limit) if other and not compact else None
    )
    return {
        "name": characteristic,
        "anchor": anchor(characteristic),
        "reference": ref,
        "groups": groups,
        "tables": tables,
        "chart": chart,
        "matrix": matrix,
        "elsewhere": disparity_list(elsewhere, limit) if len(elsewhere) else None,
        "other_k": other_k,
        "other_ks": other,
    }


def anchor(name: str) -> str:
    return "c-" + "".join(ch if ch.isalnum() else "-" for ch in name.lower())


def stability_section(audit: Any, view: View, pick: Any | None) -> dict[str, Any] | None:
    """One headline ratio month by month (``pick``: a pooled disparity row), with the pooled figure last."""
    if pick is None:
        return None
    d = audit.disparities
    same = (d["characteristic"] == pick.characteristic) & (d["group"] == pick.group)
    rows = d[
        same & (d["metric"] == pick.metric) & (d["k"].isna() if pick.k_int is None else d["k"] == pick.k_int)
    ]
    rows = rows.assign(scope_str=rows["scope"].astype(str))
    scopes = [*sorted(s for s in set(rows["scope_str"]) if s != POOLED), POOLED]
    by_scope = {r.scope_str: r for r in rows.itertuples(index=False)}
    labels = [s[:7] if s != POOLED else "pooled" for s in scopes]
    body = []
    for scope, label in zip(scopes, labels, strict=True):
        figs = Figures(audit.groups, scope)
        g_fig = figs.get(pick.characteristic, pick.group, pick.metric, pick.k_int)
        r_fig = figs.get(pick.characteristic, pick.reference, pick.metric, pick.k_int)
        row = by_scope.get(scope)
        cell = ratio_cell(row, view.limit)
        body.append(
            [
                Cell(label, numeric=False),
                figure_cell(g_fig, pick.metric, view.limit),
                figure_cell(r_fig, pick.metric, view.limit),
                Cell(cell.text, cell.sub[:1], css=cell.css, src=cell.src),
            ]
        )
    measure = header(pick.metric, pick.k_int)
    title = f"{pick.group} vs {pick.reference}: {measure} ratio by month"
    chart_kw = {"limit": view.limit, "metrics": (pick.metric,), "k": pick.k_int, "band": view.band}
    chart = ratio_chart(rows, labels, scopes, "scope_str", title, **chart_kw)
    headers = ["Month", f"{pick.group}", f"{pick.reference}", "Ratio"]
    table = Table(headers, body, f"{measure} for {pick.characteristic}", [s == POOLED for s in scopes])
    month_rows = audit.groups[audit.groups["scope"].astype(str) != POOLED]
    share = float(month_rows["suppressed"].astype(bool).mean()) if len(month_rows) else math.nan
    return {"table": table, "chart": chart, "measure": measure, "pick": pick, "suppressed_share": share}


def coverage_table(coverage: pd.DataFrame | None) -> Table | None:
    """Share of people with each characteristic recorded, by month, and over all months."""
    if coverage is None or not len(coverage):
        return None
    frame = coverage.assign(month=pd.to_datetime(coverage["month"]).dt.strftime("%Y-%m"))
    sums = frame.pivot_table(
        index="month", columns="characteristic", values=["recorded", "total"], aggfunc="sum"
    )
    sums.loc["all months"] = sums.sum()
    chars = sorted(set(frame["characteristic"].astype(str)))
    rows = [
        [Cell(str(month), numeric=False)]
        + [
            share_cell(
                sums.loc[month, ("recorded", c)], sums.loc[month, ("total", c)], source("coverage", month, c)
            )
            for c in chars
        ]
        for month in sums.index
    ]
    caption = "Share of people whose characteristic is recorded"
    return Table(["Month", *chars], rows, caption, [m == "all months" for m in sums.index])


def share_cell(recorded: Any, total: Any, src: str = "") -> Cell:
    if not finite(total) or not total:
        return Cell("–")
    return Cell(f"{recorded / total * 100:.1f}%", (f"{int(recorded):,} of {int(total):,}",), src=src)
