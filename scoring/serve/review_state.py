"""The live review state of a run, for the service's pages: decisions from the review log,
assignments from the service database, and the figures both give."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from scoring.db import assignments, transaction
from scoring.review import Decision, decisions
from scoring.review_log import Location

REVIEWER_COLUMNS = ["reviewer", "total", "action", "no_action", "needs_info", "override"]


def latest_assignments(url: str, run: str) -> dict[str, tuple[str, str]]:
    """person_id -> (officer, assigned_by) of each person's latest assignment on ``run``."""
    query = sa.select(assignments).where(assignments.c.run == run).order_by(assignments.c.assignment_id)
    with transaction(url) as conn:
        return {str(r.person_id): (str(r.officer), str(r.assigned_by)) for r in conn.execute(query)}


def assign(url: str, run: str, people: list[str], officer: str, by: str) -> int:
    """Assign ``people`` of ``run`` to ``officer``; returns how many were assigned."""
    at = datetime.now(UTC).isoformat(timespec="seconds")
    rows = [
        {"run": run, "person_id": p, "officer": officer, "assigned_by": by, "assigned_at": at}
        for p in dict.fromkeys(people)
    ]
    if rows:
        with transaction(url) as conn:
            conn.execute(assignments.insert(), rows)
    return len(rows)


def decisions_for(log: Location, people: list[str]) -> pd.DataFrame:
    """Every decision about ``people``, on any run, oldest first."""
    return decisions(log, people)


def run_decisions(log: Location, run: str, people: list[str]) -> pd.DataFrame:
    """The decisions on ``run`` about ``people``, oldest first."""
    return on_run(decisions(log, people), run)


def on_run(recorded: pd.DataFrame, run: str) -> pd.DataFrame:
    """Of decisions already read, those on ``run``, oldest first (a list's run is its date alone: the
    month's deaths report, run ``<date>/deaths``, is another run)."""
    return recorded[recorded["run"].astype(str) == run].reset_index(drop=True)


def latest(frame: pd.DataFrame) -> pd.DataFrame:
    """Each person's latest decision."""
    return frame.drop_duplicates("person_id", keep="last").set_index("person_id")


def by_reviewer(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Latest decisions counted by their author: totals, each decision, override rate (no-action share)."""
    last = latest(frame)
    out = []
    for reviewer, group in last.groupby("reviewer", sort=True):
        counts = group["decision"].value_counts()
        total = len(group)
        no_action = int(counts.get(Decision.NO_ACTION.value, 0))
        out.append(
            {
                "reviewer": str(reviewer),
                "total": total,
                "action": int(counts.get(Decision.ACTION.value, 0)),
                "no_action": no_action,
                "needs_info": int(counts.get(Decision.NEEDS_INFO.value, 0)),
                "override": f"{no_action / total:.0%}",
            }
        )
    return out


def share(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.0%}"
