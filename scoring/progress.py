"""Progress reporting for long stages: rich bars on a terminal, silence in tests."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

log = logging.getLogger("harmrank")


class Advance(Protocol):
    """Advances a stage's progress by ``n`` steps (one by default)."""

    def __call__(self, n: int = 1) -> None: ...


class Reporter(Protocol):
    """Something that shows a stage's progress; ``stage`` yields a function that advances it."""

    def stage(self, name: str, total: int | None = None) -> AbstractContextManager[Advance]: ...


class QuietReporter:
    """Logs each stage's duration; shows nothing."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Advance]:
        start = time.perf_counter()
        yield lambda n=1: None
        self.timings[name] = time.perf_counter() - start
        log.info("%s: %.1f s", name, self.timings[name])


class RichReporter(QuietReporter):
    """A rich progress bar (or spinner, when the total is unknown) per stage; each stage's duration
    is logged as well (the run log)."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Advance]:
        columns = [
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ]
        # timed and logged (the run log) as QuietReporter does, around the bar
        with (
            super().stage(name, total),
            Progress(*columns, console=self.console, transient=False) as progress,
        ):
            task = progress.add_task(name, total=total if total is not None else 1)
            yield lambda n=1: progress.advance(task, n)
            progress.update(task, completed=total if total is not None else 1)
