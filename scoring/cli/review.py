"""`harmrank review`, `harmrank status` and `harmrank verify-log` (registered in :mod:`scoring.cli.app`).

``review`` appends one officer's decision on one listed person to the append-only, hash-chained
review log; ``status`` shows who on a run's list still awaits review, the share reviewed, the
override rate and whether the log is intact; ``verify-log`` checks the whole log and exits 1 when
any entry was edited, deleted, inserted or moved. User errors raise
:class:`scoring.review.ReviewError`, which ``scoring.cli.main`` prints without a traceback.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from scoring.cli.common import DEFAULT_CONFIG, config_option, console, err_console, open_config
from scoring.review import (
    Decision,
    log_path_for_run,
    record_decision,
    review_summary,
    run_list,
    run_name,
    unreviewed,
)
from scoring.review_log import (
    LogCheck,
    check_heads,
    display,
    heads_of,
    location,
    recorded_heads,
    verify,
)
from scoring.terminal import neutral, plain, safe

RunDir = Annotated[
    Path,
    typer.Argument(
        help="A run directory written by `harmrank run`, e.g. runs/2026-11-01, or a deaths report "
        "written by `harmrank deaths`, e.g. runs/2026-11-01/deaths."
    ),
]
LogOption = Annotated[
    str | None,
    typer.Option(
        "--log",
        help="The review log: a SQLite file, or the service database's URL on PostgreSQL (default: "
        "the run manifest's review_log, else <data_dir>/reviews.sqlite).",
    ),
]


def _percent(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0%}"


def review(
    run_dir: RunDir,
    person_id: Annotated[
        str, typer.Argument(help="The listed person's id; for a deaths report, the alert or series id.")
    ],
    decision: Annotated[Decision, typer.Option("--decision", help="What you decided.", case_sensitive=False)],
    reason: Annotated[str, typer.Option("--reason", help="Why (required: DPA 2018 Part 3).")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Your name or collar number.")],
    log: LogOption = None,
) -> None:
    """Record your decision on a listed person, with your reason (the log is append-only)."""
    path = location(log) if log is not None else log_path_for_run(run_dir)
    review_id = record_decision(
        path, run_dir=run_dir, person_id=person_id, decision=decision, reason=reason, reviewer=reviewer
    )
    # Stored: say so first, in plain text (no markup), so that nothing printed after it can hide it.
    print(
        f"Recorded review #{review_id}: {neutral(person_id)} on run {neutral(run_name(run_dir))}: "
        f"{decision.value} by {neutral(reviewer.strip())}.",
        flush=True,
    )
    try:
        console.print(f"Review log: {safe(display(path))}", highlight=False, soft_wrap=True)
        _print_check(verify(path))
    except Exception as exc:  # the decision is stored; a later fault must not suggest otherwise
        err_console.print(
            f"The decision is recorded (review #{review_id}), but checking the log failed: {safe(exc)}",
            highlight=False,
        )
        raise typer.Exit(1) from None


def _print_check(check: LogCheck, heads: list[str] | None = None) -> bool:
    """Print the log check (and problems with recorded heads); return whether all is well."""
    problems = [*check.problems, *(heads or [])]
    if not problems:
        console.print(safe(check.summary()), highlight=False, soft_wrap=True)
        return True
    err_console.print(
        f"[bold red]The {check.label} {safe(check.path)} has been tampered with.[/bold red]", highlight=False
    )
    for problem in problems:
        err_console.print(f"  - {safe(problem)}", highlight=False, soft_wrap=True)
    err_console.print(
        "Keep the file as it is for investigation; restore the log from a backup and check it again.",
        highlight=False,
    )
    return False


def status(run_dir: RunDir, log: LogOption = None) -> None:
    """List the people on a run's list who have no recorded review, with the share reviewed.

    Also checks the review log; exits 1 when it has been tampered with.
    """
    path = location(log) if log is not None else log_path_for_run(run_dir)
    run = run_name(run_dir)
    pending = unreviewed(run_dir, path)
    summary = review_summary(run_list(run_dir)["person_id"], run, path)
    if len(pending):
        console.print(
            f"Awaiting review on run {safe(run)}: {len(pending)} of {summary['listed']}", highlight=False
        )
        table = Table()
        scored = bool(pending["probability"].notna().any())
        for col in ("rank", "person_id", "probability") if scored else ("rank", "alert or series"):
            table.add_column(col, justify="right")
        for rank, person, probability in pending.itertuples(index=False):
            table.add_row(str(rank), plain(person), *([f"{probability:.4f}"] if scored else []))
        console.print(table)
    else:
        console.print(f"Every person on the list of run {safe(run)} has a recorded review.", highlight=False)
    figures = Table(title="Review", show_header=False)
    figures.add_column(style="bold")
    figures.add_column(justify="right")
    figures.add_row("listed", str(summary["listed"]))
    figures.add_row("reviewed", f"{summary['reviewed']} ({_percent(summary['share_reviewed'])})")
    figures.add_row(
        "override rate (no-action)", f"{_percent(summary['override_rate'])} ({summary['no_action']})"
    )
    console.print(figures)
    console.print(f"Review log: {safe(display(path))}", highlight=False, soft_wrap=True)
    if not _print_check(verify(path)):
        raise typer.Exit(1)


def _service_logs(database: str) -> list[LogCheck]:
    """Checks of the service database's access and security logs (none when it does not exist yet)."""
    from scoring.db import ensure, exists, ledger

    if not exists(database):
        return []
    ensure(database)
    return [ledger.verify(database, name, name.replace("_", " ")) for name in ("access_log", "security_log")]


def verify_log(
    log: LogOption = None,
    config: Annotated[
        Path, config_option(help="Run configuration (YAML): where the review log and the runs are.")
    ] = DEFAULT_CONFIG,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="The service database whose access and security logs are checked too "
            "(default: serve.database; skipped when it does not exist).",
        ),
    ] = None,
) -> None:
    """Check the review log, and the service's access and security logs: no entry edited, deleted,
    inserted or moved. Exits 1 when one was."""
    from scoring.db import url_of

    runs_dir: Path | None = None
    path = location(log) if log is not None else None
    if config.is_file() or path is None:
        cfg = open_config(config)
        runs_dir = cfg.runs_dir
        path = path if path is not None else cfg.scoring.review_log
        database = database or cfg.serve.database
    if database is not None:
        database = url_of(database)
    check = verify(path)
    heads = heads_of(path, recorded_heads(runs_dir)) if runs_dir is not None else []
    console.print(
        f"Review log {safe(display(path))}: {check.entries:,} entries; last hash {check.head[:16]}…; "
        f"{len(heads)} head(s) recorded by runs compared",
        highlight=False,
        soft_wrap=True,
    )
    intact = _print_check(check, check_heads(path, heads))
    for other in _service_logs(database) if database else []:
        intact = _print_check(other) and intact
    if not intact:
        raise typer.Exit(1)
