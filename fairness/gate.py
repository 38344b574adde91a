"""The release gate: tolerances on the pooled disparities of the published list size.

Every check is one (characteristic, group, metric) compared with the reference group at ``k``
and ends in one status:

passed
    The ratio lies within its tolerance.
not established
    The ratio lies outside its tolerance, but the corrected test finds parity plausible (its
    p-value, corrected by the audit over the characteristic's comparisons, is at least alpha).
    It does not block; the page says which test decided and with what p-value.
breached
    Outside the tolerance and the corrected test rejects parity (for the recall rule without
    ``recall_needs_significance``, the point ratio alone). Blocks release.
accepted
    A breach that an equality reviewer has examined and accepted in the settings (``accepted``:
    characteristic, group, metric, reason, who, when, review-by date), still in force on the run's
    date. Shown with the decision; does not block.
not checkable
    The figure is suppressed (too few people behind it) or not defined; ``why`` says which and
    what would make it checkable. Never shown as passed. With ``fallback_to_larger_k`` such a
    comparison is first tried at the next larger audited k, and the row says so.

Rules: precision and FPR (``metrics``) and selection rate within their bands, recall at least
``min_recall_ratio``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from fairness.audit import POOLED, AuditResult, _records
from fairness.settings import AcceptedBreach, GateSettings

PASSED, NOT_ESTABLISHED, BREACHED, ACCEPTED, NOT_CHECKABLE = (
    "passed",
    "not established",
    "breached",
    "accepted",
    "not checkable",
)
STATUSES = (BREACHED, ACCEPTED, NOT_ESTABLISHED, NOT_CHECKABLE, PASSED)  # report order

CHECK_COLUMNS = [
    "characteristic",
    "group",
    "reference",
    "metric",
    "k",
    "ratio",
    "ratio_lo",
    "ratio_hi",
    "lower",
    "upper",
    "breached",
    "rule",
    "accepted",
    "decision",
    "status",
    "why",
    "p_value",
    "p_adjusted",
    "comparisons",
    "gate_k",
    "withheld",
]
_NAMES = {"fpr": "false positive rate", "fnr": "false negative rate", "selection_rate": "selection rate"}
_BASIS = {
    "precision": "listed",
    "selection_rate": "listed",
    "fpr": "without the outcome",
    "recall": "with the outcome",
}


@dataclass
class GateResult:
    """Whether the run may be released, every check made, and one sentence per breach.

    ``checks`` has one row per (characteristic, group, metric): the ratio to the reference with
    its interval, the bounds (``upper`` NaN for a minimum), ``status`` (see the module docstring),
    ``why`` (how the status was reached, in words), the raw and corrected p-values and the number
    of comparisons the correction ran over, ``k`` (the list length the figures are at) and
    ``gate_k``, ``rule`` (the rule in words), ``breached`` (status breached or accepted),
    ``accepted`` and ``decision`` (a reviewer's acceptance in words, or why it no longer holds).
    ``reasons`` are the breaches that block; ``accepted`` the ones that do not, with the
    decision; ``unused`` the acceptances that matched no breach (the setting can be removed);
    ``not_checkable`` one sentence per comparison that could not be checked.
    """

    passed: bool
    checks: pd.DataFrame
    reasons: list[str]
    enabled: bool = True
    accepted: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    not_checkable: list[str] = field(default_factory=list)

    @property
    def unchecked(self) -> pd.DataFrame:
        """Checks that could not be made (suppressed or undefined figures)."""
        return self.checks[self.checks["status"] == NOT_CHECKABLE]

    def counts(self) -> dict[str, int]:
        """Number of checks of each status (every status present, zeros included)."""
        found = self.checks["status"].value_counts() if len(self.checks) else pd.Series(dtype="int64")
        return {s: int(found.get(s, 0)) for s in STATUSES}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict for the manifest and audit.json."""
        return {
            "passed": self.passed,
            "enabled": self.enabled,
            "counts": self.counts() if self.enabled else {},
            "reasons": list(self.reasons),
            "accepted": list(self.accepted),
            "unused_acceptances": list(self.unused),
            "not_checkable": list(self.not_checkable),
            "checks": _records(self.checks),
        }


def label(metric: str, k: object) -> str:
    """A gate measure in words: "false positive rate@100"."""
    name = _NAMES.get(metric, metric)
    return name if pd.isna(k) else f"{name}@{int(k)}"  # type: ignore[call-overload]


def _reason(row: pd.Series, confidence: float) -> str:
    """One plain sentence for a breached check, with the test that decided."""
    if row.get("withheld", False):
        return (
            f"{label(row['metric'], row['k'])} for {row['characteristic']}={row['group']} breaches the "
            f"tolerance against the reference group {row['reference']} (figures withheld for disclosure "
            "control; the corrected test rejects parity)"
        )
    interval = f"{confidence:.0%} CI {row['ratio_lo']:.2f}-{row['ratio_hi']:.2f}"
    if np.isnan(row["ratio_lo"]):
        interval = f"{confidence:.0%} CI not available"
    where = (
        f"outside {row['lower']:.2f}-{row['upper']:.2f}"
        if np.isfinite(row["upper"])
        else f"below the minimum {row['lower']:.2f}"
    )
    test = f"; corrected p {_p(row['p_adjusted'])}" if np.isfinite(row["p_adjusted"]) else ""
    return (
        f"{label(row['metric'], row['k'])} for {row['characteristic']}={row['group']} is "
        f"{row['ratio']:.2f}x the reference group {row['reference']} ({interval}{test}), {where}"
    )


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _decision(a: AcceptedBreach) -> str:
    decided, review = a.decided_on.isoformat(), a.review_by.isoformat()
    return f"accepted by {a.decided_by} on {decided}, to be reviewed by {review}"


def _accept(rows: pd.DataFrame, settings: GateSettings, on: date | None) -> list[str]:
    """Mark the breaches a reviewer accepted (in force on ``on``, at the acceptance's k); return the
    acceptances that matched no breach, each saying why."""
    rows["accepted"] = False
    rows["decision"] = ""
    unused = []
    for a in settings.accepted:
        k = a.k or settings.k
        same = (
            (rows["characteristic"] == a.characteristic).to_numpy()
            & (rows["group"] == a.group).to_numpy()
            & (rows["metric"] == a.metric).to_numpy()
        )
        hit = same & rows["breached"].to_numpy(dtype=bool) & (rows["k"] == k).to_numpy(dtype=bool)
        if not hit.any():
            what = f"{label(a.metric, k)} for {a.characteristic}={a.group} ({_decision(a)})"
            found = rows[same]
            if len(found) and found["status"].iloc[0] == NOT_CHECKABLE:
                what += ": the check could not be made in this run; keep it until the check can be made"
            elif len(found) and found["breached"].iloc[0]:
                what += f": the breach is now at k = {int(found['k'].iloc[0])}, which it does not cover"
            unused.append(what)
            continue
        lapsed = on is not None and on > a.review_by
        rows.loc[hit, "accepted"] = not lapsed
        rows.loc[hit, "decision"] = (
            f"{_decision(a)}; LAPSED: the run's date {on} is after it"
            if lapsed
            else f"{_decision(a)}: {a.reason}"
        )
    return unused


def _comparisons(d: pd.DataFrame, family: str) -> pd.Series:
    """Number of tested comparisons in the correction family of each disparity row."""
    keys = ["scope", "characteristic"] if family == "characteristic" else ["scope"]
    tested = np.isfinite(d["p_value"].to_numpy(dtype="float64"))
    return pd.Series(tested, index=d.index).groupby([d[k] for k in keys]).transform("sum").astype("int64")


def _pooled_figures(audit: AuditResult) -> dict[tuple[str, str, str, int], tuple[bool, float]]:
    """(suppressed, value) of each pooled group figure, by (characteristic, group, metric, k)."""
    g = audit.groups
    if not len(g):
        return {}
    p = g[g["scope"] == POOLED]
    figures: dict[tuple[str, str, str, int], tuple[bool, float]] = {}
    for c, group, metric, k, suppressed, value in zip(
        p["characteristic"], p["group"], p["metric"], p["k"], p["suppressed"], p["value"], strict=True
    ):
        if pd.isna(k):  # a figure of the whole list (AUC, calibration): never looked up by k
            continue
        key = (c, group, metric, int(k))
        figures.setdefault(key, (bool(suppressed), float("nan") if pd.isna(value) else float(value)))
    return figures


def _unchecked_why(
    audit: AuditResult, row: pd.Series, figures: dict[tuple[str, str, str, int], tuple[bool, float]]
) -> str:
    """Why a comparison could not be checked, naming the group and the people it lacks
    (``figures``: :func:`_pooled_figures` of the audit)."""
    limit, k = audit.settings.min_cell, int(row["k"])
    basis = _BASIS.get(str(row["metric"]), "behind the figure")
    parts = []
    for group, who in (
        (row["group"], "in the group"),
        (row["reference"], f"in the reference group {row['reference']}"),
    ):
        suppressed, value = figures.get((row["characteristic"], group, row["metric"], k), (False, np.nan))
        if suppressed:  # worded alike for both causes: which one it was would narrow the hidden count
            parts.append(
                f"figure suppressed {who} (fewer than {limit} people {basis}, or withheld so that a "
                "smaller figure cannot be worked out from a total)"
            )
        elif np.isnan(value) and len(audit.groups):
            parts.append(f"figure not defined {who} (no people {basis})")
    if not parts and row["suppressed"]:
        parts.append(f"suppressed so that a smaller figure of {row['characteristic']} cannot be recovered")
    if not parts:
        parts.append("the ratio is not defined (the reference group's figure is 0)")
    return "; ".join(parts)


def _remedy(larger: list[int]) -> str:
    """What would make an unchecked comparison checkable, given the larger ks already tried."""
    if larger:
        tried = ", ".join(map(str, larger))
        return f"also not checkable at k = {tried}: needs more months pooled or better recording"
    return "needs a larger k, more months pooled or better recording"


def _candidates(audit: AuditResult, settings: GateSettings) -> pd.DataFrame:
    """Pooled disparities of the gate's metrics at k and at every larger audited k. A comparison
    suppressed only to protect another cell is taken from ``audit.withheld`` (marked ``withheld``)."""
    d, w = audit.disparities, audit.withheld
    both = pd.concat([d, w], ignore_index=True) if len(w) else d.reset_index(drop=True)
    comparisons = _comparisons(both, audit.settings.family)
    both = both.assign(comparisons=comparisons, withheld=[False] * len(d) + [True] * (len(both) - len(d)))
    rows = both[(both["scope"] == POOLED) & both["metric"].isin(settings.checked_metrics())]
    rows = rows[rows["k"] >= settings.k]
    key = ["characteristic", "group", "metric", "k"]
    rows = rows.sort_values("withheld", kind="mergesort").drop_duplicates(key, keep="last")
    rows.loc[rows["withheld"], "suppressed"] = False  # decided on, then withheld from the published table
    return rows.sort_values(key, kind="mergesort")


def _bounds(metric: str, settings: GateSettings) -> tuple[float, float]:
    if metric == "selection_rate" and settings.selection_rate_bounds is not None:
        return settings.selection_rate_bounds
    if metric == "recall" and metric not in settings.metrics:
        return (settings.min_recall_ratio or 0.0, np.nan)
    return settings.ratio_bounds


def _rule(metric: str, settings: GateSettings) -> str:
    lower, upper = _bounds(metric, settings)
    if np.isnan(upper):
        text = f"ratio at least {lower:.2f}"
        return text + (
            " unless the corrected test finds parity plausible" if settings.recall_needs_significance else ""
        )
    return f"ratio within {lower:.2f}-{upper:.2f} unless the corrected test finds parity plausible"


def _decide(rows: pd.DataFrame, settings: GateSettings, alpha: float) -> pd.DataFrame:
    """Bounds, rule, status and why of each row (before acceptances)."""
    bounds = [_bounds(m, settings) for m in rows["metric"]]
    rows["lower"] = [b[0] for b in bounds]
    rows["upper"] = [b[1] for b in bounds]
    rows["rule"] = [_rule(m, settings) for m in rows["metric"]]
    ratio = rows["ratio"].to_numpy(dtype="float64")
    lower, upper = rows["lower"].to_numpy(dtype="float64"), rows["upper"].to_numpy(dtype="float64")
    minimum = np.isnan(upper)
    outside = np.where(minimum, ratio < lower, (ratio < lower) | (ratio > upper))
    untested = ~np.isfinite(rows["p_adjusted"].to_numpy(dtype="float64"))
    # the audit's corrected test (p_adjusted < alpha); with no test (no resamples) the gate fails
    # closed and the point ratio decides
    significant = rows["flagged"].to_numpy(dtype=bool) | untested
    no_test = minimum & (not settings.recall_needs_significance)
    checked = ~rows["suppressed"].to_numpy(dtype=bool) & np.isfinite(ratio)
    status = np.where(
        ~checked,
        NOT_CHECKABLE,
        np.where(~outside, PASSED, np.where(significant | no_test, BREACHED, NOT_ESTABLISHED)),
    )
    rows["status"] = status
    rows["breached"] = status == BREACHED
    why = []
    for i, (r, st) in enumerate(zip(rows.itertuples(index=False), status, strict=True)):
        test = f"corrected p {_p(r.p_adjusted)} over {r.comparisons} comparisons"
        tested = bool(np.isfinite(r.p_adjusted))
        if st == PASSED:
            why.append("within the tolerance")
        elif st == NOT_ESTABLISHED:
            plausible = "outside the tolerance, but the corrected test finds parity plausible"
            why.append(f"{plausible} ({test}, not below {alpha:g})")
        elif st == BREACHED:
            if no_test[i]:
                why.append("below the minimum (no test needed: recall_needs_significance is false)")
            elif not tested:
                why.append(
                    "outside the tolerance, and no test could be made (no resamples): the gate fails closed"
                )
            else:
                why.append(
                    f"outside the tolerance, and the corrected test rejects parity ({test}, below {alpha:g})"
                )
        else:
            why.append("")
    rows["why"] = why
    return rows


def gate(audit: AuditResult, settings: GateSettings, on: date | None = None) -> GateResult:
    """Check the pooled disparities at ``settings.k`` against the tolerances.

    Parameters
    ----------
    audit
        The audit of the run; its settings must audit ``settings.k`` and the gate's metrics.
    settings
        The tolerances and the breaches reviewers have accepted.
    on
        The run's date: an acceptance whose ``review_by`` is before it has lapsed and no longer
        stops its breach from blocking. None: acceptances never lapse (no date to judge by).

    Returns
    -------
    GateResult
        ``passed`` is False when any check breaches without an acceptance in force (always True
        when the gate is disabled, with no checks).
    """
    if not settings.enabled:
        return GateResult(True, pd.DataFrame(columns=CHECK_COLUMNS), [], enabled=False)
    rows = _decide(_candidates(audit, settings), settings, audit.settings.alpha)
    key = ["characteristic", "group", "metric"]
    at_k = rows[rows["k"] == settings.k].copy()
    at_k["gate_k"] = settings.k
    larger = sorted(int(k) for k in rows["k"].dropna().unique() if k > settings.k)
    figures = _pooled_figures(audit)
    first: dict[tuple[object, ...], int] = {}  # (k, characteristic, group, metric) -> first row's position
    for position, values in enumerate(zip(rows["k"], *(rows[c] for c in key), strict=True)):
        first.setdefault(values, position)
    chosen = []
    for _, row in at_k.iterrows():
        if row["status"] != NOT_CHECKABLE:
            chosen.append(row)
            continue
        why = _unchecked_why(audit, row, figures)
        tried = []
        for k in larger if settings.fallback_to_larger_k else []:
            at = first.get((k, *(row[c] for c in key)))
            other = rows.iloc[[at]] if at is not None else rows.iloc[[]]
            if len(other) and other["status"].iloc[0] != NOT_CHECKABLE:
                found = other.iloc[0].copy()
                found["why"] = (
                    f"checked at k = {k}, because at k = {settings.k}: {why}. At k = {k}: {found['why']}"
                )
                found["gate_k"] = settings.k
                chosen.append(found)
                break
            if len(other):
                tried.append(k)
        else:
            row = row.copy()
            row["why"] = f"{why}; {_remedy(tried)}"
            chosen.append(row)
    rows = pd.DataFrame(chosen, columns=at_k.columns) if chosen else at_k
    rows["withheld"] = rows["withheld"].astype(bool)
    unused = _accept(rows, settings, on)
    rows.loc[rows["accepted"].astype(bool), "status"] = ACCEPTED
    rows["breached"] = rows["status"].isin([BREACHED, ACCEPTED])
    rows = rows.sort_values(key, kind="mergesort")
    confidence = audit.settings.confidence
    blocking = rows[rows["status"] == BREACHED]
    reasons = [
        _reason(r, confidence) + (f" ({r['decision']})" if r["decision"] else "")
        for _, r in blocking.iterrows()
    ]
    accepted = [f"{_reason(r, confidence)}: {r['decision']}" for _, r in rows[rows["accepted"]].iterrows()]
    missing = rows[rows["status"] == NOT_CHECKABLE]
    missing = missing.assign(intersection=missing["characteristic"].str.contains(" x ", regex=False))
    unchecked = [  # single characteristics first: their gaps matter most to a reader
        f"{label(r['metric'], r['gate_k'])} for {r['characteristic']}={r['group']}: {r['why']}"
        for _, r in missing.sort_values(["intersection", *key], kind="mergesort").iterrows()
    ]
    hidden = rows["withheld"].to_numpy(dtype=bool)  # publish the result, never the withheld figures
    rows.loc[hidden, ["ratio", "ratio_lo", "ratio_hi", "p_value", "p_adjusted"]] = np.nan
    if hidden.any():  # keep how it was decided, without the p-value
        rows.loc[hidden, "why"] = (
            rows.loc[hidden, "why"].astype(str).str.replace(r" \(corrected p [^)]*\)", "", regex=True)
            + "; decided on figures withheld for disclosure control (publishing them would let a "
            "smaller group's figure be worked out)"
        )
    checks = rows.astype({"k": "Int64", "gate_k": "Int64", "comparisons": "Int64"})[CHECK_COLUMNS]
    return GateResult(
        not reasons,
        checks.reset_index(drop=True),
        reasons,
        accepted=accepted,
        unused=unused,
        not_checkable=unchecked,
    )


def gate_status(checks: pd.DataFrame) -> pd.Series:
    """Each gate check's status: the ``status`` column when the gate writes one, else derived from
    ``accepted``, ``breached``, ``rule`` and the ratio against its bounds. A check whose ratio is not
    a finite number is never "passed" (it is "not checkable"), unless the gate decided it on figures
    withheld for disclosure control (``withheld``)."""
    if not len(checks):
        return pd.Series([], dtype="object", index=checks.index)
    ratio = pd.to_numeric(checks["ratio"], errors="coerce").to_numpy(dtype="float64")
    finite = np.isfinite(ratio)
    if "status" in checks.columns:
        status = checks["status"].astype("str").str.strip().str.lower()
    else:
        lower = pd.to_numeric(checks["lower"], errors="coerce").to_numpy(dtype="float64")
        upper = pd.to_numeric(checks["upper"], errors="coerce").to_numpy(dtype="float64")
        with np.errstate(invalid="ignore"):
            outside = (ratio < lower) | (np.isfinite(upper) & (ratio > upper))
        accepted = checks.get("accepted", pd.Series(False, index=checks.index)).astype(bool).to_numpy()
        breached = checks["breached"].astype(bool).to_numpy()
        unchecked = checks["rule"].astype("str").str.startswith("unchecked").to_numpy()
        values = np.select(
            [accepted, breached, unchecked | ~finite, outside],
            ["accepted", "breached", "not checkable", "not established"],
            "passed",
        )
        status = pd.Series(values, index=checks.index, dtype="object")
    status = status.where(status.isin(STATUSES), NOT_CHECKABLE)
    # a pass needs a figure, unless the gate decided on figures withheld for disclosure control
    withheld = (
        checks["withheld"].astype(bool).to_numpy() if "withheld" in checks else np.zeros(len(checks), bool)
    )
    return status.where(~((status == "passed") & ~finite & ~withheld), "not checkable")
