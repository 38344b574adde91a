"""What the commands share: the consoles, the default config paths and small presentation helpers."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from scoring.terminal import plain, safe

if TYPE_CHECKING:
    from scoring.config import RunConfig

console = Console(stderr=False, soft_wrap=True)  # paths stay whole: the terminal wraps them
err_console = Console(stderr=True, soft_wrap=True)

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
"""The run configuration a command reads when --config is not given (nor HARMRANK_CONFIG): the file of
that name under the current directory, else harmrank's built-in one (:mod:`scoring.defaults`)."""
DEFAULT_SYNTH_CONFIG = Path("configs/synthetic.yaml")
DEFAULT_OFFENCES = Path("configs/offences.csv")
CONFIG_ENV = "HARMRANK_CONFIG"


def config_option(help: str) -> Any:
    """The --config option of a command (also set by the HARMRANK_CONFIG environment variable)."""
    return typer.Option("--config", envvar=CONFIG_ENV, show_envvar=True, help=help)


def open_config(path: Path) -> RunConfig:
    """The run configuration at ``path``, its relative paths taken from the file's root (see
    :meth:`scoring.config.RunConfig.under`). When ``path`` is the default and there is no such file
    here, harmrank's built-in configuration with paths from the current directory (said on stderr)."""
    from scoring.config import load_config

    if path == DEFAULT_CONFIG and not path.is_file():
        from scoring.defaults import RUN_CONFIG

        here = Path.cwd()
        err_console.print(
            f"No {DEFAULT_CONFIG} here: harmrank's built-in configuration, with data, runs and logs "
            f"under {safe(here)} (`harmrank init` writes a config to edit).",
            style="dim",
            highlight=False,
            soft_wrap=True,
        )
        return load_config(RUN_CONFIG, root=here)
    return load_config(path)


def packaged(path: Path, default: Path, builtin: Path) -> Path:
    """``path``, or ``builtin`` when ``path`` is the ``default`` and there is no such file here."""
    return builtin if path == default and not path.is_file() else path


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
