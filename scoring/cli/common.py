"""What the commands share: the consoles, the default config paths and small presentation helpers."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from scoring.terminal import plain

console = Console(stderr=False)
err_console = Console(stderr=True)

EXIT_RELEASED = 0
"""`harmrank run`: the list is written and the equality gate released the model."""
EXIT_FAILED = 1
"""A bug, or a check that failed (a tampered log, a refused promotion)."""
EXIT_REFUSED_INPUT = 2
"""Refused input: bad records, config or options; nothing is written."""
EXIT_NOT_FOR_RELEASE = 3
"""`harmrank run`: the list is written and marked, but the equality gate says not for release."""
EXIT_NOT_AUDITED = 4
"""`harmrank run`: the list is written, but there was no equality audit (no backtest or no
protected table), so nothing says it may be released."""
RELEASE_EXIT = {"release allowed": EXIT_RELEASED, "not for release": EXIT_NOT_FOR_RELEASE}
"""Exit status by the equality gate's release state (scoring.equality.RELEASED, NOT_RELEASED)."""

DEFAULT_CONFIG = Path("configs/default.yaml")
DEFAULT_SYNTH_CONFIG = Path("configs/synthetic.yaml")


def parse_date(value: str, option: str) -> date:
    """``value`` as a date, or a usage error that names ``option``."""
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-01", param_hint=option
        ) from None


def facts_table(title: str, rows: list[tuple[str, str]]) -> Table:
    """A two-column table of names and right-aligned values (shown as they are, never as markup);
    ``title`` may hold markup, so data in it goes through :func:`scoring.terminal.safe`."""
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for name, value in rows:
        table.add_row(plain(name), plain(value))
    return table
