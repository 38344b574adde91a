"""`harmrank deaths`: the monthly analytical report of death reports (pattern, clusters, links)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from scoring.cli.common import DEFAULT_CONFIG, config_option, console, facts_table, open_config, parse_date
from scoring.terminal import safe


def deaths(
    as_of: Annotated[
        str,
        typer.Option("--as-of", help="The as-of date, YYYY-MM-DD: the report covers the month before it."),
    ],
    config: Annotated[
        Path, config_option(help="Run configuration (YAML); its deaths section.")
    ] = DEFAULT_CONFIG,
    data: Annotated[
        str | None,
        typer.Option(
            help="Records directory with deaths.csv, or a database URL (tables mapped by source in the "
            "config; default: data_dir in the config)."
        ),
    ] = None,
) -> None:
    """Write the death investigations report for the month before --as-of into runs/<DATE>/deaths/.

    Advisory only: every alert and candidate series is for a person to review. Exit status 0 when
    written; 2 when the input is refused (nothing written).
    """
    from scoring.deaths import run_deaths
    from scoring.deaths_outputs import write_deaths
    from scoring.io import DEATHS_DIR, run_lock, tidy_staging
    from scoring.progress import RichReporter
    from scoring.records import records_at, shown, validation_table

    day = parse_date(as_of, "--as-of")
    cfg = open_config(config)
    where = records_at(data) if data else cfg.data_dir
    start = time.perf_counter()
    with run_lock(cfg.runs_dir, day.isoformat()) as tidied:  # one job on a date's folder at a time
        tidied += tidy_staging(cfg.runs_dir / day.isoformat(), DEATHS_DIR)  # an interrupted deaths job's
        for line in tidied:
            console.print(f"[yellow]Tidied:[/yellow] {safe(line)}", highlight=False)
        result = run_deaths(cfg, day, where, RichReporter(console))
        out = write_deaths(result, cfg, shown(where))
    console.print(validation_table(result.validation))
    by_reason = result.alerts["reason"].value_counts()
    rows = [
        ("month", result.month.strftime("%B %Y")),
        ("death reports recorded before the as-of date", f"{result.reports_known:,}"),
        ("studied reports recorded in the month", f"{result.months[-1].new:,}"),
        ("groups beyond their control limit", f"{len(result.pattern.beyond)} of {result.pattern.tested}"),
        ("Knox test p-value", f"{result.knox.p_value:.3f}"),
        ("alerts: shared person", f"{int(by_reason.get('shared person', 0))}"),
        ("alerts: shared offender-side record", f"{int(by_reason.get('shared record', 0))}"),
        ("alerts: by score", f"{int(by_reason.get('score', 0))} (budget {cfg.deaths.linkage.budget})"),
        ("candidate series", f"{result.series['series'].nunique()}"),
        ("seconds", f"{time.perf_counter() - start:.1f}"),
    ]
    console.print(facts_table("Death investigations", rows))
    console.print(f"Report: {safe(out / 'report.html')}", highlight=False)
    console.print(
        "Advisory only: every alert and candidate series needs a review by an identified person.",
        highlight=False,
    )
