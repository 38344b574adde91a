"""The release gate: tolerances on the pooled disparities of the published list size.

A group breaches a ratio rule when its ratio to the reference group lies outside
``ratio_bounds`` and the multiple-comparison-corrected test rejects parity (``flagged`` in
the audit: the corrected interval excludes 1.0). It breaches the recall rule when its recall
ratio is below ``min_recall_ratio`` (and, with ``recall_needs_significance``, the default, is
flagged too).
Suppressed comparisons never breach: they are listed as unchecked. A run with any breach is
"not for release", unless an equality reviewer has accepted that breach in the settings
(``accepted``: characteristic, group, metric, reason, who, when, review-by date) and the run's date
is not past its review-by date: then the breach is shown with the decision and does not block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from fairness.audit import POOLED, AuditResult, _records
from fairness.settings import AcceptedBreach, GateSettings

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
]
_NAMES = {"fpr": "false positive rate", "fnr": "false negative rate", "selection_rate": "selection rate"}


@dataclass
class GateResult:
    """Whether the run may be released, every check made, and one sentence per breach.

    ``checks`` has one row per (characteristic, group, metric) compared at ``k``: the ratio to
    the reference with its interval, the bounds (``upper`` NaN for a minimum), ``breached`` and
    ``rule`` (the rule in words, or why the row was not checked), ``accepted`` (a breach a
    reviewer accepted, in force on the run's date) and ``decision`` (that acceptance in words, or
    why it no longer holds). ``reasons`` are the breaches that block; ``accepted`` the ones that
    do not, with the decision; ``unused`` the acceptances that matched no breach (the setting can
    be removed).
    """

    passed: bool
    checks: pd.DataFrame
    reasons: list[str]
    enabled: bool = True
    accepted: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)

    @property
    def unchecked(self) -> pd.DataFrame:
        """Checks that could not be made (suppressed or undefined figures)."""
        return self.checks[self.checks["rule"].str.startswith("unchecked")]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict for the manifest and audit.json."""
        return {
            "passed": self.passed,
            "enabled": self.enabled,
            "reasons": list(self.reasons),
            "accepted": list(self.accepted),
            "unused_acceptances": list(self.unused),
            "checks": _records(self.checks),
        }


def _label(metric: str, k: object) -> str:
    name = _NAMES.get(metric, metric)
    return name if pd.isna(k) else f"{name}@{int(k)}"  # type: ignore[call-overload]


def _reason(row: pd.Series, confidence: float) -> str:
    """One plain sentence for a breached check."""
    interval = f"{confidence:.0%} CI {row['ratio_lo']:.2f}-{row['ratio_hi']:.2f}"
    if np.isnan(row["ratio_lo"]):
        interval = f"{confidence:.0%} CI not available"
    where = (
        f"outside {row['lower']:.2f}-{row['upper']:.2f}"
        if np.isfinite(row["upper"])
        else f"below the minimum {row['lower']:.2f}"
    )
    return (
        f"{_label(row['metric'], row['k'])} for {row['characteristic']}={row['group']} is "
        f"{row['ratio']:.2f}x the reference group {row['reference']} ({interval}), {where}"
    )


def _decision(a: AcceptedBreach) -> str:
    decided, review = a.decided_on.isoformat(), a.review_by.isoformat()
    return f"accepted by {a.decided_by} on {decided}, to be reviewed by {review}"


def _accept(rows: pd.DataFrame, settings: GateSettings, on: date | None) -> list[str]:
    """Mark the breaches a reviewer accepted (in force on ``on``); return the unused acceptances."""
    rows["accepted"] = False
    rows["decision"] = ""
    unused = []
    for a in settings.accepted:
        hit = (
            rows["breached"].to_numpy(dtype=bool)
            & (rows["characteristic"] == a.characteristic).to_numpy()
            & (rows["group"] == a.group).to_numpy()
            & (rows["metric"] == a.metric).to_numpy()
        )
        if not hit.any():
            unused.append(f"{_label(a.metric, settings.k)} for {a.characteristic}={a.group} ({_decision(a)})")
            continue
        lapsed = on is not None and on > a.review_by
        rows.loc[hit, "accepted"] = not lapsed
        rows.loc[hit, "decision"] = (
            f"{_decision(a)}; LAPSED: the run's date {on} is after it"
            if lapsed
            else f"{_decision(a)}: {a.reason}"
        )
    return unused


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
        ``passed`` is False when any check breaches (always True when the gate is disabled,
        with no checks).
    """
    if not settings.enabled:
        return GateResult(True, pd.DataFrame(columns=CHECK_COLUMNS), [], enabled=False)
    d = audit.disparities
    rules = {m: "ratio" for m in settings.metrics}
    if settings.min_recall_ratio is not None:
        rules.setdefault("recall", "recall")
    rows = d[(d["scope"] == POOLED) & (d["k"] == settings.k) & d["metric"].isin(list(rules))].copy()
    lower, upper = settings.ratio_bounds
    is_ratio = rows["metric"].map(rules).eq("ratio").to_numpy()
    rows["lower"] = np.where(is_ratio, lower, settings.min_recall_ratio or np.nan)
    rows["upper"] = np.where(is_ratio, upper, np.nan)
    ratio = rows["ratio"].to_numpy(dtype="float64")
    flagged = rows["flagged"].to_numpy(dtype=bool)
    outside = np.where(is_ratio, (ratio < lower) | (ratio > upper), ratio < rows["lower"].to_numpy())
    significant = flagged | (~is_ratio & (not settings.recall_needs_significance))
    checked = ~rows["suppressed"].to_numpy(dtype=bool) & np.isfinite(ratio)
    rows["breached"] = checked & outside & significant
    ratio_rule = f"ratio within {lower:.2f}-{upper:.2f} unless the corrected test finds parity plausible"
    recall_rule = f"ratio at least {settings.min_recall_ratio or 0:.2f}"
    if settings.recall_needs_significance:
        recall_rule += " unless the corrected test finds parity plausible"
    rows["rule"] = np.where(is_ratio, ratio_rule, recall_rule)
    suppressed = rows["suppressed"].to_numpy(dtype=bool)
    rows.loc[~checked, "rule"] = np.where(
        suppressed[~checked], "unchecked: suppressed (too few people)", "unchecked: not defined"
    )
    unused = _accept(rows, settings, on)
    rows = rows.sort_values(["characteristic", "group", "metric"], kind="mergesort")
    confidence = audit.settings.confidence
    blocking = rows[rows["breached"] & ~rows["accepted"]]
    reasons = [
        _reason(r, confidence) + (f" ({r['decision']})" if r["decision"] else "")
        for _, r in blocking.iterrows()
    ]
    accepted = [f"{_reason(r, confidence)}: {r['decision']}" for _, r in rows[rows["accepted"]].iterrows()]
    checks = rows[CHECK_COLUMNS].reset_index(drop=True)
    return GateResult(not reasons, checks, reasons, accepted=accepted, unused=unused)
