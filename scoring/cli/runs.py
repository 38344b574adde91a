"""`harmrank init`, `harmrank runs` and `harmrank prune` (registered in :mod:`scoring.cli.app`): a
force's folder laid out (:mod:`scoring.starter`), past runs for operations, and erasing old runs'
personal data (:mod:`scoring.runs`)."""

from __future__ import annotations

import shlex
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from scoring.cli.common import DEFAULT_CONFIG, config_option, console, open_config, parse_date
from scoring.terminal import plain, safe

if TYPE_CHECKING:
    from scoring.config import RunConfig


def runs(
    config: Annotated[
        Path, config_option(help="Run configuration (YAML): where the runs and the review log are.")
    ] = DEFAULT_CONFIG,
) -> None:
    """List past runs: as-of date, release state, model, list size and review progress."""
    from scoring.runs import run_rows

    cfg = open_config(config)
    rows = run_rows(cfg.runs_dir, cfg.scoring.review_log)
    if not rows:
        console.print(f"No runs in {plain(cfg.runs_dir)} yet.", highlight=False)
        return
    table = Table(title=f"Runs in {plain(cfg.runs_dir)}, newest first")
    for col in ("as of", "release", "model", "listed", "reviewed", "override rate"):
        table.add_column(col, justify="right" if col in ("listed", "reviewed", "override rate") else "left")
    for r in rows:
        listed = "-" if r.listed is None else str(r.listed)
        if r.erased:
            reviewed, override = "personal data erased", "-"
        else:
            share = f" ({r.reviewed / r.listed:.0%})" if r.listed and r.reviewed is not None else ""
            reviewed = f"{r.reviewed}{share}"
            override = "-" if r.override_rate is None else f"{r.override_rate:.0%}"
        table.add_row(r.as_of, plain(r.release), plain(r.model), listed, reviewed, override)
    console.print(table)


def prune(
    keep_months: Annotated[
        int, typer.Option("--keep-months", min=1, help="Keep personal data of the runs of this many months.")
    ],
    today: Annotated[
        str | None,
        typer.Option("--today", help="Count the months back from this date (YYYY-MM-DD; default: today)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be erased; erase nothing.")
    ] = False,
    config: Annotated[
        Path, config_option(help="Run configuration (YAML): where the runs are.")
    ] = DEFAULT_CONFIG,
) -> None:
    """Erase the personal data of runs older than --keep-months (lists, scores, reasons, evidence,
    officer pages, per-person predictions, quarantined rows); keep manifests and aggregate reports.

    Each erasure is recorded in the run (erased.json) and in the review service's access log.
    """
    from scoring.runs import erase, months_before, to_prune

    cfg = open_config(config)
    day = parse_date(today, "--today") if today else date.today()
    old = to_prune(cfg.runs_dir, keep_months, day)
    cutoff = months_before(day, keep_months).isoformat()
    if not old:
        print(f"Nothing to erase: every run from before {cutoff} is already erased, or there is none.")
        return
    if dry_run:
        print(
            f"Would erase the personal data of {len(old)} run(s) from before {cutoff}: "
            + ", ".join(f.name for f in old)
        )
        return
    reason = f"retention: harmrank prune --keep-months {keep_months} (runs before {cutoff})"
    url = _service_database(cfg)
    for folder in old:
        record = erase(folder, reason)
        files = record["files"]
        count = len(files) if isinstance(files, list) else 0
        if url is not None:
            from scoring.serve.accesslog import record_cli

            record_cli(
                url, "erase", f"run personal data ({count} files)", run=folder.name, justification=reason
            )
        print(f"Erased the personal data of run {folder.name}: {count} files (recorded in its erased.json).")


def _service_database(cfg: RunConfig) -> str | None:
    """The service database's URL when it exists (an erasure is logged there too), else None."""
    from scoring.db import ensure, exists, url_of

    url = url_of(cfg.serve.database)
    if not exists(url):
        return None
    ensure(url)
    return url


def init(
    directory: Annotated[Path, typer.Argument(help="The force's folder (made if missing).")],
) -> None:
    """Lay out a force's folder: configs/default.yaml (harmrank's defaults, every key commented, to
    edit), data/records/ for the records, runs/, and the data contract and feature catalogue."""
    from scoring.starter import write_starter

    written = write_starter(directory)
    for path in written:
        console.print(f"wrote {safe(path)}", highlight=False, soft_wrap=True)
    console.print(
        "\nNext: put the force's records in data/records (or map the database in the config's source "
        "section), then, inside the folder:\n"
        "  harmrank validate data/records\n"
        "  harmrank run --as-of YYYY-MM-DD\n"
        f"From anywhere else, add --config {safe(shlex.quote(str(written[0].absolute())))} "
        "(or set HARMRANK_CONFIG).",
        highlight=False,
        soft_wrap=True,
    )
