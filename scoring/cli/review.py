"""`harmrank review` and `harmrank status` (registered on the app in :mod:`scoring.cli.app`).

``review`` appends one officer's decision on one listed person to the append-only review log;
``status`` shows who on a run's list still awaits review, the share reviewed and the override rate.
User errors raise :class:`scoring.review.ReviewError`, which ``scoring.cli.main`` prints without
a traceback.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from scoring.cli.common import console
from scoring.review import (
    Decision,
    log_path_for_run,
    record_decision,
    review_summary,
    run_list,
    run_name,
    unreviewed,
)

RunDir = Annotated[
    Path, typer.Argument(help="A run directory written by `harmrank run`, e.g. runs/2026-11-01.")
]
LogOption = Annotated[
    Path | None,
    typer.Option(
        "--log",
        help="The review log (default: the run manifest's review_log, else <data_dir>/reviews.sqlite).",
    ),
]


def _percent(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0%}"


def review(
    run_dir: RunDir,
    person_id: Annotated[str, typer.Argument(help="The listed person's id.")],
    decision: Annotated[Decision, typer.Option("--decision", help="What you decided.", case_sensitive=False)],
    reason: Annotated[str, typer.Option("--reason", help="Why (required: DPA 2018 Part 3).")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Your name or collar number.")],
    log: LogOption = None,
) -> None:
    """Record your decision on a listed person, with your reason (the log is append-only)."""
    path = log if log is not None else log_path_for_run(run_dir)
    review_id = record_decision(
        path, run_dir=run_dir, person_id=person_id, decision=decision, reason=reason, reviewer=reviewer
    )
    console.print(
        f"Recorded review #{review_id}: {person_id} on run {run_name(run_dir)}: "
        f"[bold]{decision.value}[/bold] by {reviewer.strip()}.",
        highlight=False,
    )
    console.print(f"Review log: {path}", highlight=False, soft_wrap=True)


def status(run_dir: RunDir, log: LogOption = None) -> None:
    """List the people on a run's list who have no recorded review, with the share reviewed."""
    path = log if log is not None else log_path_for_run(run_dir)
    run = run_name(run_dir)
    pending = unreviewed(run_dir, path)
    summary = review_summary(run_list(run_dir)["person_id"], run, path)
    if len(pending):
        console.print(f"Awaiting review on run {run}: {len(pending)} of {summary['listed']}", highlight=False)
        table = Table()
        for col in ("rank", "person_id", "probability"):
            table.add_column(col, justify="right")
        for rank, person, probability in pending.itertuples(index=False):
            table.add_row(str(rank), person, f"{probability:.4f}")
        console.print(table)
    else:
        console.print(f"Every person on the list of run {run} has a recorded review.")
    figures = Table(title="Review", show_header=False)
    figures.add_column(style="bold")
    figures.add_column(justify="right")
    figures.add_row("listed", str(summary["listed"]))
    figures.add_row("reviewed", f"{summary['reviewed']} ({_percent(summary['share_reviewed'])})")
    figures.add_row(
        "override rate (no-action)", f"{_percent(summary['override_rate'])} ({summary['no_action']})"
    )
    console.print(figures)
    console.print(f"Review log: {path}", highlight=False, soft_wrap=True)
