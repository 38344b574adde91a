"""The equality facts of the governance pack: the gate's every check with its status, each group's
pooled figures, the flagged disparities, recording coverage, the proxy audit and the mitigation
trade-off, as JSON-safe values (:func:`scoring.governance.governance_facts` gathers the rest)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from fairness.audit import POOLED
from fairness.gate import ACCEPTED, BREACHED, NOT_CHECKABLE, NOT_ESTABLISHED, PASSED, gate_status
from scoring.config import RunConfig
from scoring.equality import Equality

#: Pooled group figures the equality documents quote, at the gate's list length where they have one.
GROUP_METRICS = (
    "size",
    "cohort_share",
    "selection_rate",
    "precision",
    "recall",
    "fpr",
    "calibration_in_large",
)
GATE_STATUSES = (PASSED, NOT_ESTABLISHED, BREACHED, ACCEPTED, NOT_CHECKABLE)


def json_number(value: Any) -> float | None:
    """A JSON-safe float: None for missing, NaN or infinite values."""
    if value is None or value is pd.NA:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def json_int(value: Any) -> int | None:
    x = json_number(value)
    return None if x is None else int(x)


def month(day: Any) -> str:
    """``YYYY-MM`` of a date."""
    return pd.Timestamp(day).strftime("%Y-%m")


def _checks(checks: pd.DataFrame) -> list[dict[str, Any]]:
    status = gate_status(checks)
    out = []
    for (_, row), st in zip(checks.iterrows(), status, strict=True):
        why = row.get("why", "")
        if st == "not checkable" and (not isinstance(why, str) or not why):
            rule = str(row.get("rule", ""))
            why = rule.removeprefix("unchecked: ") if rule.startswith("unchecked") else "figure not defined"
        out.append(
            {
                "characteristic": str(row["characteristic"]),
                "group": str(row["group"]),
                "reference": str(row["reference"]),
                "metric": str(row["metric"]),
                "k": json_int(row.get("k")),
                "ratio": json_number(row["ratio"]) if st != "not checkable" else None,
                "lo": json_number(row.get("ratio_lo")) if st != "not checkable" else None,
                "hi": json_number(row.get("ratio_hi")) if st != "not checkable" else None,
                "lower": json_number(row.get("lower")),
                "upper": json_number(row.get("upper")),
                "status": st,
                "why": str(why) if isinstance(why, str) else "",
                "decision": str(row.get("decision") or ""),
            }
        )
    return out


def _groups(equality: Equality, k: int) -> list[dict[str, Any]]:
    """Pooled figures of each group of each characteristic (intersections left to the equality
    report), at the gate's list length for the top-k metrics."""
    g = equality.audit.groups
    rows = g[(g["scope"] == POOLED) & g["metric"].isin(GROUP_METRICS) & (g["k"].isna() | (g["k"] == k))]
    rows = rows[~rows["characteristic"].astype("str").str.contains(" x ", regex=False)]
    rows = rows.sort_values(["characteristic", "group", "metric"], kind="mergesort")
    return [
        {
            "characteristic": str(r["characteristic"]),
            "group": str(r["group"]),
            "metric": str(r["metric"]),
            "value": json_number(r["value"]),
            "lo": json_number(r["lo"]),
            "hi": json_number(r["hi"]),
            "n": json_int(r["n"]),
            "suppressed": bool(r["suppressed"]),
        }
        for _, r in rows.iterrows()
    ]


def _flagged(equality: Equality) -> list[dict[str, Any]]:
    """Pooled disparities whose corrected test rejects parity, every characteristic and intersection."""
    d = equality.audit.disparities
    rows = d[(d["scope"] == POOLED) & d["flagged"].astype(bool) & ~d["suppressed"].astype(bool)]
    rows = rows.sort_values(["characteristic", "group", "metric", "k"], kind="mergesort")
    return [
        {
            "characteristic": str(r["characteristic"]),
            "group": str(r["group"]),
            "reference": str(r["reference"]),
            "metric": str(r["metric"]),
            "k": json_int(r["k"]),
            "ratio": json_number(r["ratio"]),
            "lo": json_number(r["ratio_lo"]),
            "hi": json_number(r["ratio_hi"]),
            "p_adjusted": json_number(r.get("p_adjusted")),
        }
        for _, r in rows.iterrows()
    ]


def _coverage(equality: Equality) -> list[dict[str, Any]]:
    """The lowest monthly share of people whose characteristic is recorded, per characteristic."""
    c = equality.audit.coverage
    if c is None or not len(c) or "recorded_share" not in c.columns:
        return []
    c = c[~c["characteristic"].astype("str").str.contains(" x ", regex=False)]  # intersections follow
    low = c.groupby("characteristic", sort=True)["recorded_share"].min()
    return [{"characteristic": str(name), "lowest_recorded_share": json_number(v)} for name, v in low.items()]


def _proxies(equality: Equality) -> dict[str, Any] | None:
    p = equality.proxies
    if p is None:
        return None
    chars = p.characteristics
    overall = chars[chars["target"] == "all"] if "target" in chars.columns else chars
    features = p.features[p.features["flagged"].astype(bool)]
    return {
        "threshold_auc": json_number(p.threshold_auc),
        "threshold_association": json_number(p.threshold_association),
        "characteristics": [
            {
                "characteristic": str(r["characteristic"]),
                "cv_auc": json_number(r["cv_auc"]),
                "lo": json_number(r.get("auc_lo")),
                "hi": json_number(r.get("auc_hi")),
                "flagged": bool(r["flagged"]),
            }
            for _, r in overall.sort_values("characteristic", kind="mergesort").iterrows()
        ],
        "flagged_characteristics": sorted(
            {str(c) for c in chars.loc[chars["flagged"].astype(bool), "characteristic"]}
        ),
        "flagged_features": [
            {
                "characteristic": str(r["characteristic"]),
                "target": str(r["target"]),
                "feature": str(r["feature"]),
                "association": json_number(r["association"]),
            }
            for _, r in features.sort_values(
                ["characteristic", "target", "feature"], kind="mergesort"
            ).iterrows()
        ],
    }


def _mitigation(equality: Equality) -> list[dict[str, Any]] | None:
    t = equality.tradeoff
    if t is None:
        return None
    numbers = ["precision_at_100", "harm_captured_at_100", "largest_disparity", "largest_ratio"]
    cols = ["approach", "characteristic", *numbers, "largest_group", "disparity_metric", "notes"]
    out = []
    for _, r in t.iterrows():
        out.append(
            {c: (json_number(r[c]) if c in numbers else str(r.get(c, ""))) for c in cols if c in t.columns}
        )
    return out


def equality_facts(equality: Equality, config: RunConfig) -> dict[str, Any]:
    """The equality audit's facts: release, gate checks by status, groups, disparities, proxies."""
    gate, audit = equality.gate, equality.audit
    k = config.fairness.gate.k
    checks = _checks(gate.checks) if gate.enabled else []
    counts = {s: sum(c["status"] == s for c in checks) for s in GATE_STATUSES}
    months = sorted(pd.Timestamp(m).date().isoformat() for m in audit.months)
    settings = audit.settings
    return {
        "release": equality.release,
        "months": months,
        "first_month": month(months[0]) if months else None,
        "last_month": month(months[-1]) if months else None,
        "characteristics": sorted({g["characteristic"] for g in _groups(equality, k)} - {"overall"}),
        "gate": {
            "enabled": bool(gate.enabled),
            "passed": bool(gate.passed),
            "k": k,
            "counts": counts,
            "checks": checks,
            "reasons": [str(r) for r in gate.reasons],
            "accepted": [str(r) for r in gate.accepted],
            "unused": [str(r) for r in getattr(gate, "unused", [])],
        },
        "acceptances": [a.model_dump(mode="json") for a in config.fairness.gate.accepted],
        "groups": _groups(equality, k),
        "flagged": _flagged(equality),
        "coverage": _coverage(equality),
        "proxies": _proxies(equality),
        "mitigation": _mitigation(equality),
        "analyses_elsewhere": equality.analyses_elsewhere,  # why proxies and mitigation are not here
        "min_cell": int(settings.min_cell),
        "alpha": float(settings.alpha),
        "correction": str(settings.correction),
        "confidence": float(settings.confidence),
        "notes": [str(n) for n in [*audit.notes, *equality.notes]],
    }
