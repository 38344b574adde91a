"""`harmrank run` and `harmrank promote`: the monthly job, and a candidate model made champion."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from scoring.cli.common import (
    DEFAULT_CONFIG,
    EXIT_NOT_AUDITED,
    EXIT_RELEASED,
    RELEASE_EXIT,
    config_option,
    console,
    facts_table,
    open_config,
    parse_date,
)
from scoring.cli.records import keep_rejected_rows
from scoring.terminal import plain, safe

if TYPE_CHECKING:  # the heavy modules load inside the commands that need them
    import pandas as pd

    from scoring.config import RunConfig
    from scoring.pipeline import RunResult
    from scoring.tracking import Tracked


def run(
    as_of: Annotated[
        str,
        typer.Option("--as-of", help="The as-of date, YYYY-MM-DD: nothing recorded on or after it is used."),
    ],
    config: Annotated[Path, config_option(help="Run configuration (YAML).")] = DEFAULT_CONFIG,
    data: Annotated[
        str | None,
        typer.Option(help="Records directory or database URL (default: data_dir in the config)."),
    ] = None,
) -> None:
    """Run the monthly job for one as-of date and write runs/<DATE>/ (with its log, run.log).

    One run of a date at a time: a second is refused while the first holds runs/.<DATE>.lock.
    Exit status: 0 the list is written and released; 3 written and marked, but not for release
    (the equality gate); 4 written, with no equality audit; 2 input refused, nothing written.
    """
    from scoring.io import run_lock
    from scoring.outputs import ADVISORY, summary_rows, write_run
    from scoring.pipeline import run_monthly
    from scoring.progress import RichReporter
    from scoring.records import records_at, shown, validation_table

    day = parse_date(as_of, "--as-of")
    cfg = open_config(config)
    data_dir = records_at(data) if data else cfg.data_dir
    recorded = data_dir if isinstance(data_dir, Path) else shown(data_dir)  # a URL without its password
    start = time.perf_counter()
    with run_lock(cfg.runs_dir, day.isoformat()) as tidied:  # one run of a date at a time
        for line in tidied:
            console.print(f"[yellow]Tidied:[/yellow] {safe(line)}", highlight=False)
        journal = cfg.runs_dir / f".{day.isoformat()}.log"
        if cfg.tracking.enabled:  # importing MLflow replaces its logger's handlers: first, so run_log
            import mlflow  # noqa: F401  # keeps MLflow's INFO lines in the run log, out of the console
        with run_log(journal):
            with keep_rejected_rows(cfg.runs_dir / f"{day.isoformat()}.rejected"):
                result = run_monthly(cfg, day, data_dir, RichReporter(console))
            run_dir, listing = write_run(result, cfg, recorded, RichReporter(console))
            tracked = _track(result, cfg, run_dir)
            release = result.equality.release if result.equality is not None else "not audited"
            code = RELEASE_EXIT.get(release, EXIT_NOT_AUDITED)
            logging.getLogger("harmrank").info("release: %s; exit status %d", release, code)
        journal.replace(run_dir / "run.log")
    console.print(validation_table(result.validation))
    console.print(_top_table(listing.listed.head(10)))
    rows = [
        *summary_rows(result, listing, cfg.output.k),
        ("seconds", f"{time.perf_counter() - start:.1f}"),
    ]
    console.print(facts_table("Run summary", rows))
    console.print(f"[bold]{ADVISORY}[/bold]")
    lines = [f"List: {safe(run_dir / 'top100.csv')}", f"Manifest: {safe(run_dir / 'manifest.json')}"]
    if (run_dir / "model.html").is_file():  # no backtest (or a champion with no unseen month): none
        lines.append(f"Model report: {safe(run_dir / 'model.html')}")
    lines.append(f"Officer report: [bold]{safe(run_dir / 'report' / 'index.html')}[/bold]")
    console.print("\n".join(lines), highlight=False)
    if result.equality is not None:
        release, counts = result.equality.release, result.equality.gate.counts()
        tally = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
        console.print(
            f"Equality report: [bold]{safe(run_dir / 'equality.html')}[/bold] ({safe(release)}; "
            f"gate checks: {safe(tally)})",
            highlight=False,
        )
    else:
        console.print("No equality audit in this run.", highlight=False)
    for note in result.notes:  # what the run decided or skipped, in words (the champion, a skipped audit)
        console.print(f"Note: {safe(note)}", highlight=False)
    if (run_dir / "governance" / "index.html").is_file():
        console.print(f"Governance pack: {safe(run_dir / 'governance' / 'index.html')}", highlight=False)
    if tracked is not None:
        registered = f", registered as version {tracked.version} (alias candidate)" if tracked.version else ""
        console.print(f"MLflow run {tracked.run_id}{registered}; `harmrank promote` checks it against V100.")
    console.print(f"Run log: {safe(run_dir / 'run.log')}", highlight=False)
    if code != EXIT_RELEASED:  # the list is written; operations must not pass it on as released
        console.print(
            f"[bold]Release: {safe(release)}[/bold]: the list is written and marked; exit status {code}.",
            highlight=False,
        )
        raise typer.Exit(code)


@contextmanager
def run_log(path: Path) -> Iterator[Path]:
    """Everything logged during a run at INFO and above (harmrank's stages and timings, MLflow's
    and the libraries' messages) goes to ``path``; the console keeps showing warnings only."""
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root, mlflow_log = logging.getLogger(), logging.getLogger("mlflow")
    levels = {h: h.level for h in [*root.handlers, *mlflow_log.handlers]}
    for h in root.handlers:
        h.setLevel(max(h.level, root.level))  # the console keeps its threshold
    for h in mlflow_log.handlers:
        h.setLevel(max(h.level, logging.WARNING))  # MLflow's INFO lines stay out of the console
    old_level = root.level
    root.setLevel(min(old_level, logging.INFO))
    root.addHandler(handler)
    mlflow_log.addHandler(handler)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        mlflow_log.removeHandler(handler)
        root.setLevel(old_level)
        for h, level in levels.items():
            h.setLevel(level)
        handler.close()


def _top_table(top: pd.DataFrame) -> Table:
    table = Table(title="Top 10 (the full list: top100.csv and the officer report)")
    for col in ("rank", "person", "probability (band)", "V100", "status", "first reason"):
        table.add_column(col, justify="left" if col in ("person", "first reason") else "right")
    for row in top.itertuples(index=False):
        status = row.status if row.status != "stayed" else f"stayed ({row.rank_change:+d})"
        table.add_row(
            str(row.rank),
            plain(row.person_id),
            f"{row.probability:.3f} ({row.probability_lo:.2f}-{row.probability_hi:.2f})",
            f"{row.v100_score:,.0f}",
            plain(status),
            plain(row.reason_1),
        )
    return table


def _track(result: RunResult, cfg: RunConfig, run_dir: Path) -> Tracked | None:
    from scoring.io import write_json
    from scoring.tracking import track_run

    with console.status("Logging to MLflow"):
        tracked = track_run(result, cfg, run_dir)
    if tracked is not None:  # beside the run, not in it: the run's own files stay byte-identical
        write_json(
            {"run_id": tracked.run_id, "registered_version": tracked.version, "uri": cfg.tracking.uri},
            run_dir / "mlflow.json",
        )
    return tracked


def promote(
    config: Annotated[
        Path, config_option(help="Run configuration (YAML): where the registry is.")
    ] = DEFAULT_CONFIG,
    version: Annotated[
        int | None, typer.Option(help="Registered version to promote (default: the candidate).")
    ] = None,
) -> None:
    """Make the candidate the champion if it beats V100 on precision@100 and harm captured@100.

    Exits 1 with the reasons when the model is refused.
    """
    from models.registry import promote as promote_version

    cfg = open_config(config)
    with console.status("Checking the candidate"):
        outcome = promote_version(cfg.tracking, version)
    colour = "green" if outcome.promoted else "red"
    verdict = "promoted to champion" if outcome.promoted else "refused"
    console.print(f"[bold {colour}]Version {outcome.version}: {verdict}[/bold {colour}]")
    if outcome.subject:
        console.print(f"Candidate: {safe(outcome.subject)}", highlight=False)
    for reason in outcome.reasons:
        console.print(f"  - {safe(reason)}", highlight=False)
    console.print(f"Rule: {safe(outcome.rule)}", highlight=False)
    if any(reason.startswith("release blocked") for reason in outcome.reasons):
        console.print(
            "The equality gate blocked this run. Fix the model, or have an equality reviewer record an "
            "accepted breach (fairness.gate.accepted, with the reason; docs/equality-audit.md) and run again."
        )
    if not outcome.promoted:
        raise typer.Exit(1)
