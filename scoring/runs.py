"""Past runs for operations: what each run decided, and erasing old runs' personal data.

:func:`run_rows` lists the runs in the runs directory, newest first, with their release state,
the model that scored them, the list size and the review progress read from the review log.
:func:`prune` erases the personal data of runs older than a number of months: the lists, scores,
reasons, evidence, the officer pages and their frames, the backtest's per-person predictions and
the quarantined rows. It keeps what describes the run without naming anyone: the manifest, the
metrics, the equality audit and reports, the governance pack. Each erasure is recorded in the
run directory (``erased.json``: which files, their SHA-256, when, by whom) and, when the review
service's database exists, in its access log (DPA 2018 s62 lists erasure among the operations
to be logged).
"""

from __future__ import annotations

import getpass
import json
import re
import shutil
import socket
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from scoring.io import sha256, write_json
from scoring.review import review_summary, run_list
from scoring.review_log import Location

RUN_NAME = re.compile(r"\d{4}-\d{2}-\d{2}")
PERSONAL = (
    "top100.csv",
    "top100.parquet",
    "top100.xlsx",
    "scores.parquet",
    "reasons.parquet",
    "reason_families.parquet",
    "evidence.parquet",
    "backtest_predictions.parquet",
    "report",
    "quarantine",
)
"""What in a run directory names or describes a person (files, or folders erased whole)."""
ERASED = "erased.json"


@dataclass(frozen=True)
class RunRow:
    """One past run as operations see it."""

    as_of: str
    release: str
    model: str
    listed: int | None
    reviewed: int | None
    override_rate: float | None
    erased: bool


def read_manifest(folder: Path) -> dict[str, object]:
    """A run's manifest; empty when it cannot be read."""
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def release_of(manifest: dict[str, object]) -> str:
    """The release state a run's manifest records (``unknown`` when it records none)."""
    release = manifest.get("release")
    return str(release.get("status", "unknown")) if isinstance(release, dict) else "unknown"


def model_of(folder: Path, manifest: dict[str, object]) -> str:
    """Which model scored the run: the registry's champion version, a model trained in the run and
    registered as a candidate, or one trained in the run and not registered."""
    training = manifest.get("training") if isinstance(manifest.get("training"), dict) else {}
    champion = training.get("champion_version") if isinstance(training, dict) else None
    if champion:
        return f"champion v{champion}"
    try:
        tracked = json.loads((folder / "mlflow.json").read_text(encoding="utf-8"))
        return f"trained, registered v{tracked['registered_version']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "trained, not registered"


def run_folders(runs_dir: Path) -> list[Path]:
    """The run directories (named by their as-of date, with a manifest), newest first."""
    found = [p for p in Path(runs_dir).glob("*/manifest.json") if RUN_NAME.fullmatch(p.parent.name)]
    return sorted((p.parent for p in found), key=lambda p: p.name, reverse=True)


def run_rows(runs_dir: Path, log: Location) -> list[RunRow]:
    """Every run, newest first (review figures from ``log``; none once a run's list is erased)."""
    rows = []
    for folder in run_folders(runs_dir):
        manifest = read_manifest(folder)
        status = release_of(manifest)
        erased = (folder / ERASED).is_file()
        listed = reviewed = None
        override = None
        if not erased:
            people = run_list(folder)["person_id"]
            figures = review_summary(people, str(manifest.get("as_of") or folder.name), log)
            listed, reviewed = int(figures["listed"]), int(figures["reviewed"])
            override = None if pd.isna(figures["override_rate"]) else float(figures["override_rate"])
        length = manifest.get("list_length")
        rows.append(
            RunRow(
                as_of=folder.name,
                release=status,
                model=model_of(folder, manifest),
                listed=listed if listed is not None else (int(length) if isinstance(length, int) else None),
                reviewed=reviewed,
                override_rate=override,
                erased=erased,
            )
        )
    return rows


def months_before(day: date, months: int) -> date:
    """The first day of the month ``months`` before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def to_prune(runs_dir: Path, keep_months: int, today: date) -> list[Path]:
    """Runs whose as-of date is before the first day of the month ``keep_months`` before ``today``,
    whose personal data is not erased yet, oldest first."""
    cutoff = months_before(today, keep_months).isoformat()
    old = [f for f in run_folders(runs_dir) if f.name < cutoff and not (f / ERASED).is_file()]
    return sorted(old, key=lambda p: p.name)


def erase(folder: Path, reason: str, now: datetime | None = None) -> dict[str, object]:
    """Erase one run's personal data (:data:`PERSONAL`); record it in ``erased.json``, and return that."""
    now = now or datetime.now(UTC)
    removed: list[dict[str, str]] = []
    for name in PERSONAL:
        target = folder / name
        files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
        for path in files:
            if path.is_file():
                removed.append({"file": str(path.relative_to(folder)), "sha256": sha256(path)})
        if target.is_dir():
            shutil.rmtree(target)
        elif target.is_file():
            target.unlink()
    record: dict[str, object] = {
        "as_of": folder.name,
        "erased_at": now.isoformat(timespec="seconds"),
        "by": f"{getpass.getuser()}@{socket.gethostname()}",
        "reason": reason,
        "files": removed,
        "kept": sorted(p.name for p in folder.iterdir()),
    }
    write_json(record, folder / ERASED)
    return record
