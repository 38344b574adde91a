"""The release gate on the equality report: the verdict line and the table of checks.

Reads the gate's checks (duck-typed: a table with ``status``, or an older one with ``breached``,
``accepted`` and ``rule``, whose statuses :func:`fairness.gate.gate_status` derives) and never
recomputes a decision.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from fairness.gate import STATUSES, gate_status
from scoring.reports.env import records


def gate_context(gate: Any, k: int | None) -> dict[str, Any]:
    """The release line: the verdict, each status counted, the breaches, and what was not checked."""
    checks = gate.checks
    status = gate_status(checks)
    counts = {s: int((status == s).sum()) for s in STATUSES}
    unchecked = [str(r) for r in getattr(gate, "not_checkable", [])]
    if not unchecked and counts["not checkable"]:
        unchecked = [
            f"{r.characteristic}={r.group}, {r.metric}"
            for r in checks[status == "not checkable"].itertuples()
        ]
    missing = checks[status == "not checkable"]
    in_intersections = int(missing["characteristic"].astype(str).str.contains(" x ", regex=False).sum())
    passed = bool(gate.passed)
    return {
        "passed": passed,
        "enabled": bool(getattr(gate, "enabled", True)),
        "css": "fail"
        if not passed
        else ("partial" if counts["not checkable"] or counts["not established"] else "pass"),
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
    }


STATUS_CSS = {
    "breached": "flag",
    "accepted": "ok",
    "not established": "amber",
    "not checkable": "amber",
    "passed": "ok",
}


def check_rows(checks: pd.DataFrame) -> list[dict[str, Any]]:
    """The gate's checks: breaches first, then the other statuses, then by characteristic, group, measure."""
    status = gate_status(checks)
    frame = checks.assign(
        status=status,
        status_sort=[STATUSES.index(x) for x in status],
        css=[STATUS_CSS[x] for x in status],
    )
    for col, empty in (("accepted", False), ("decision", ""), ("why", ""), ("p_adjusted", math.nan)):
        if col not in frame:  # a gate without reviewers' acceptances, or an older gate table
            frame[col] = empty
    if "comparisons" not in frame:
        frame["comparisons"] = pd.NA
    return records(frame, ["status_sort", "characteristic", "group", "metric"])
