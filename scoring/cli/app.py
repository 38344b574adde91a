"""The `harmrank` application: its commands, in the order `harmrank --help` lists them, and the
entry point that turns user errors into one message."""

from __future__ import annotations

import logging
import os
import sys

import typer

from features.errors import HarmrankError
from scoring.cli.common import err_console
from scoring.cli.deaths import deaths
from scoring.cli.matrix import backtest, splits
from scoring.cli.monthly import promote, run
from scoring.cli.records import synth, validate
from scoring.cli.review import review, status, verify_log
from scoring.cli.runs import init, prune, runs
from scoring.cli.serve import access_log, serve, users
from scoring.terminal import safe

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="harmrank: an advisory, explained and audited top-k list of people most likely "
    "to cause serious harm, from a force's records.",
)
app.command()(init)
for command in (synth, validate, run, deaths, promote, splits, backtest, review, status):
    app.command()(command)
app.command("verify-log")(verify_log)
app.command()(serve)
app.add_typer(users, name="users")
app.command("access-log")(access_log)
app.command()(runs)
app.command()(prune)


def main() -> None:
    """Entry point: run the app, turning user errors into one clear message."""
    logging.basicConfig(level=os.environ.get("HARMRANK_LOG", "WARNING"), format="%(levelname)s %(message)s")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # OpenMP threads that spin while waiting make LightGBM 10-20x slower whenever another process
    # shares the two cores (measured); passive waiting costs nothing when the machine is idle.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # Personal and model data: whatever this process creates (also inside MLflow, pyarrow and
    # SQLite) is readable by its owner only; the writers also set 0600/0700 explicitly.
    os.umask(0o077)
    try:
        app()
    except HarmrankError as exc:
        err_console.print(f"[bold red]harmrank:[/bold red] {safe(exc)}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
