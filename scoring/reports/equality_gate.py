"""The release gate on the equality report: the verdict line and the table of checks.

Reads the gate's checks (duck-typed: a table with ``status``, or an older one with ``breached``,
``accepted`` and ``rule``) and never recomputes a decision.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from scoring.reports.env import records
from scoring.reports.formats import RATIO, fmt


def gate_context(gate: Any, k: int | None) -> dict[str, Any]:
    """The release line: the verdict, each status counted, the breaches, and what was not checked."""
    checks = gate.checks
    status = checks["status"] if "status" in checks else _status(checks)
    counts = {s: int((status == s).sum()) for s in STATUS_ORDER}
    unchecked = [str(r) for r in getattr(gate, "not_checkable", [])]
    if not unchecked and counts["not checkable"]:
        unchecked = [
            f"{r.characteristic}={r.group}, {r.metric}"
            for r in checks[status == "not checkable"].itertuples()
        ]
    weak = checks[status == "not established"]
    missing = checks[status == "not checkable"]
    in_intersections = int(missing["characteristic"].astype(str).str.contains(" x ", regex=False).sum())
    passed = bool(gate.passed)
    return {
        "passed": passed,
        "enabled": bool(getattr(gate, "enabled", True)),
        "css": "fail" if not passed else ("partial" if counts["not checkable"] or len(weak) else "pass"),
        "counts": counts,
        "total": len(checks),
        "k": int(checks["gate_k"].dropna().iloc[0])
        if "gate_k" in checks and checks["gate_k"].notna().any()
        else k,
        "reasons": [str(r) for r in gate.reasons],
        "accepted": [str(r) for r in getattr(gate, "accepted", [])],
        "unused": [str(r) for r in getattr(gate, "unused", [])],
        "not_checkable": unchecked,
        "unchecked_split": (len(missing) - in_intersections, in_intersections),
        "longer": int((checks["k"] != checks["gate_k"]).sum())
        if {"k", "gate_k"} <= set(checks.columns)
        else 0,
        "not_established": [
            f"{r.metric.replace('_', ' ')} for {r.characteristic}={r.group}: {fmt(RATIO, r.ratio)}"
            for r in weak.itertuples(index=False)
        ],
    }


STATUS_ORDER = ("breached", "accepted", "not established", "not checkable", "passed")
STATUS_CSS = {
    "breached": "flag",
    "accepted": "ok",
    "not established": "amber",
    "not checkable": "amber",
    "passed": "ok",
}


def _status(checks: pd.DataFrame) -> pd.Series:
    """Statuses of a gate table without a status column (older audits): from breached, accepted, rule."""
    accepted = checks.get("accepted", pd.Series(False, index=checks.index)).astype(bool)
    breached = checks["breached"].astype(bool)
    unchecked = checks["rule"].astype(str).str.startswith("unchecked")
    out = pd.Series("passed", index=checks.index, dtype=object)
    out[unchecked] = "not checkable"
    out[breached] = "breached"
    out[breached & accepted] = "accepted"
    return out


def check_rows(checks: pd.DataFrame) -> list[dict[str, Any]]:
    """The gate's checks: breaches first, then the other statuses, then by characteristic, group, measure."""
    status = checks["status"] if "status" in checks else _status(checks)
    frame = checks.assign(
        status=status,
        status_sort=[STATUS_ORDER.index(x) for x in status],
        css=[STATUS_CSS[x] for x in status],
    )
    for col, empty in (("accepted", False), ("decision", ""), ("why", ""), ("p_adjusted", math.nan)):
        if col not in frame:  # a gate without reviewers' acceptances, or an older gate table
            frame[col] = empty
    if "comparisons" not in frame:
        frame["comparisons"] = pd.NA
    return records(frame, ["status_sort", "characteristic", "group", "metric"])
