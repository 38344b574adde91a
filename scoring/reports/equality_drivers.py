"""The parts of the equality report that help a reviewer decide: this month's list by group, what
drives each gate finding, and a worked example of accepting a breach.

Nothing here computes a metric: figures come from the list make-up
(:func:`fairness.makeup.list_makeup`), the audit's group and disparity tables, the score
distribution and the reason-family gaps (:mod:`fairness.drivers`). Every figure cell carries its
source (``data-src``) so that a test can hold the page to the data.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from features.catalogue_types import REASON_FAMILIES
from scoring.reports.equality_sections import (
    NOT_RECORDED,
    SUPPRESSED,
    View,
    group_table,
    ratio_cell,
    source,
)
from scoring.reports.formats import PCT, RATIO, Cell, Table, finite, fmt, header

FAMILY_TITLES = {f.key: f.title for f in REASON_FAMILIES}
CONCERNS = ("breached", "accepted", "not established")
BASE_METRICS = ("base_rate", "selection_rate", "precision", "recall", "fpr")
FAMILIES_SHOWN = 3


def makeup_tables(makeup: pd.DataFrame | None, limit: int, as_of: str) -> list[dict[str, Any]]:
    """This month's list by group, one table per characteristic (intersections left to audit.json):
    people listed and in the cohort, their shares, and list share over cohort share."""
    if makeup is None or not len(makeup):
        return []
    out = []
    for name in dict.fromkeys(str(c) for c in makeup["characteristic"]):
        if " x " in name:
            continue
        part = makeup[makeup["characteristic"].astype(str) == name]
        part = part.assign(order=[(g == NOT_RECORDED, str(g)) for g in part["group"]]).sort_values("order")
        body = []
        for r in part.itertuples(index=False):
            hidden, cohort_hidden = bool(r.suppressed), bool(pd.isna(r.cohort))
            group = str(r.group)
            body.append(
                [
                    Cell(group, numeric=False),
                    _makeup_cell(limit, name, group, "listed", lambda r=r: f"{int(r.listed):,}", hidden),
                    _makeup_cell(
                        limit, name, group, "list_share", lambda r=r: fmt(PCT, r.list_share), hidden
                    ),
                    _makeup_cell(
                        limit, name, group, "cohort", lambda r=r: f"{int(r.cohort):,}", cohort_hidden
                    ),
                    _makeup_cell(
                        limit,
                        name,
                        group,
                        "cohort_share",
                        lambda r=r: fmt(PCT, r.cohort_share),
                        cohort_hidden,
                    ),
                    _makeup_cell(
                        limit,
                        name,
                        group,
                        "representation",
                        lambda r=r: fmt(RATIO, r.representation),
                        hidden or not finite(r.representation),
                    ),
                ]
            )
        headers = [
            "Group",
            "Listed",
            "Share of the list",
            "In the cohort",
            "Share of the cohort",
            "List / cohort share",
        ]
        caption = f"{name}: this month's list ({as_of}) against this month's cohort"
        out.append({"name": name, "table": Table(headers, body, caption)})
    return out


def _makeup_cell(limit: int, name: str, group: str, column: str, text: Any, hidden: bool) -> Cell:
    """One cell of the list make-up: its text (a callable, read only when shown) or "suppressed"."""
    src = source("makeup", name, group, column)
    return Cell(SUPPRESSED, css="suppressed", src=src) if hidden else Cell(text(), src=src)


def _concerns(
    checks: pd.DataFrame, view: View, selection: list[Any]
) -> dict[str, list[tuple[str, str, str]]]:
    """(group, metric, words) of each gate finding worth explaining, by characteristic: checks that
    breached, were accepted or lie outside the tolerance (in that order), and flagged selection-rate
    disparities. Each names the list length it was checked at."""
    out: dict[str, list[tuple[str, str, str]]] = {}
    status = checks["status"] if "status" in checks else pd.Series("", index=checks.index)
    rank = {s: i for i, s in enumerate(CONCERNS)}
    rows = [(r, st) for r, st in zip(checks.itertuples(index=False), status, strict=True) if st in CONCERNS]
    for r, st in sorted(rows, key=lambda x: (rank[x[1]], str(x[0].group), str(x[0].metric))):
        if " x " in str(r.characteristic):
            continue
        k = None if pd.isna(r.k) else int(r.k)
        ratio = f"{fmt(RATIO, r.ratio)} times {r.reference}'s"
        out.setdefault(str(r.characteristic), []).append(
            (str(r.group), str(r.metric), f"{header(r.metric, k)} for {r.group}: {ratio} ({st})")
        )
    for r in selection:
        key = (str(r.group), "selection_rate")
        found = out.setdefault(str(r.characteristic), [])
        if key not in {(g, m) for g, m, _ in found}:
            ratio = f"{fmt(RATIO, r.ratio)} times {r.reference}'s"
            found.append((*key, f"{header('selection_rate', view.k)} for {r.group}: {ratio} (flagged)"))
    return out


def _by_k(view: View, characteristic: str, pairs: list[tuple[str, str]]) -> Table:
    """The ratio of each finding at every audited list length (pooled), with its corrected p-value."""
    rows = view.rows(characteristic)
    body = []
    for group, metric in pairs:
        found = {
            r.k_int: r
            for r in rows[(rows["group"] == group) & (rows["metric"] == metric)].itertuples(index=False)
        }
        body.append(
            [Cell(group, numeric=False), Cell(header(metric), numeric=False)]
            + [ratio_cell(found.get(k), view.limit) for k in view.ks]
        )
    caption = f"{characteristic}: each finding's ratio to the reference group at every list length"
    return Table(["Group", "Measure", *(f"k = {k}" for k in view.ks)], body, caption)


def _scores(distribution: pd.DataFrame, characteristic: str, scope: str) -> Table | None:
    """Percentiles of each group's within-month score percentiles (no counts: see fairness.drivers)."""
    part = distribution[distribution["characteristic"] == characteristic]
    if not len(part):
        return None
    part = part.assign(order=[(g == NOT_RECORDED, g) for g in part["group"]]).sort_values("order")
    columns = [c for c in part.columns if c.startswith("p") and c[1:].isdigit()]
    body = [
        [Cell(str(r["group"]), numeric=False)]
        + [
            Cell(
                f"{r[c]:.0f}", src=source("drivers", "score_distribution", characteristic, str(r["group"]), c)
            )
            for c in columns
        ]
        for _, r in part.iterrows()
    ]
    headers = ["Group", *(f"{int(c[1:])}th percentile" if c != "p50" else "Median" for c in columns)]
    caption = f"{characteristic}: where each group's scores fall in their month's ranking, 0-100 ({scope})"
    return Table(headers, body, caption)


def _families(gaps: pd.DataFrame, characteristic: str, sample: int) -> Table | None:
    """The :data:`FAMILIES_SHOWN` families with the largest differences for each group, one row each."""
    part = gaps[gaps["characteristic"] == characteristic]
    if not len(part):
        return None
    body, strong = [], []
    for group, rows in part.groupby("group", sort=True):
        gap = Cell(f"{rows['difference'].sum():+.2f}")
        for i, r in enumerate(rows.head(FAMILIES_SHOWN).itertuples(index=False)):
            src = source("drivers", "family_gaps", characteristic, str(group), r.family)
            share = f"{r.share_of_gap * 100:.0f}%" if finite(r.share_of_gap) else "–"
            body.append(
                [
                    Cell(str(group) if i == 0 else "", numeric=False),
                    gap if i == 0 else Cell(""),
                    Cell(FAMILY_TITLES.get(r.family, r.family), numeric=False),
                    Cell(f"{r.difference:+.2f}", src=src),
                    Cell(share),
                ]
            )
            strong.append(False)
    reference = str(part["reference"].iloc[0])
    caption = (
        f"{characteristic}: the reason families that most separate each group's scores from {reference}'s "
        f"(this month's cohort, {sample:,} people sampled; the model that scored the list)"
    )
    headers = ["Group", "Gap in mean score", "Reason family", "Difference", "Share of the gap"]
    return Table(headers, body, caption, strong)


def drivers_sections(
    view: View,
    checks: pd.DataFrame,
    selection: list[Any],
    distribution: pd.DataFrame | None,
    gaps: pd.DataFrame | None,
    sample: int,
    scope: str,
) -> list[dict[str, Any]]:
    """One block per characteristic with a gate finding: the findings, the ratio at every k, base
    rates and selection, where the group's scores fall, and the reason families behind the gap."""
    out = []
    for characteristic, found in sorted(_concerns(checks, view, selection).items()):
        groups = view.figs.groups_of(characteristic)
        base = group_table(
            view.figs,
            characteristic,
            groups,
            BASE_METRICS,
            view.k,
            reference=view.reference(characteristic),
            limit=view.limit,
            caption=f"{characteristic}: outcome rates and how the list treats each group ({scope})",
        )
        out.append(
            {
                "name": characteristic,
                "findings": [w for _, _, w in found],
                "by_k": _by_k(view, characteristic, [(g, m) for g, m, _ in found]),
                "base": base,
                "scores": _scores(distribution, characteristic, scope) if distribution is not None else None,
                "families": _families(gaps, characteristic, sample) if gaps is not None else None,
            }
        )
    return out


def worked_example(checks: pd.DataFrame) -> dict[str, Any]:
    """The acceptance example, on this run's first breach (or its first finding outside the
    tolerance); with neither, a hypothetical one, marked as such."""
    status = checks["status"] if "status" in checks else pd.Series("", index=checks.index)
    for wanted in ("breached", "not established"):
        rows = checks[status == wanted]
        if len(rows):
            r = rows.iloc[0]
            found = {c: str(r[c]) for c in ("characteristic", "group", "metric")}
            return found | {"hypothetical": False}
    return {"characteristic": "age_band", "group": "35-49", "metric": "recall", "hypothetical": True}
