"""The runs the review service shows: what ``harmrank run`` wrote under the runs directory.

A run is a folder ``<runs>/<YYYY-MM-DD>`` with ``manifest.json`` and the list. The officer pages are
rendered from its frames (``report/frames``, beside ``reasons``/``evidence``) with the review state
read live from the review log, so a decision shows at once. Frames are read once per run and
kept while the manifest is unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import HTTPException

from scoring.outputs import FRAMES
from scoring.reports.officer import by_person as split_by_person
from scoring.reports.officer import search_terms
from scoring.runs import RUN_NAME, read_manifest, release_of, run_folders

REPORTS = {
    "equality": ("equality.html", "Equality report"),
    "model": ("model.html", "Model report"),
    "governance": ("governance/index.html", "Governance pack"),
}
"""The aggregate reports a run may hold: route name -> (file in the run, title)."""


@dataclass(frozen=True)
class RunPages:
    """Everything a run's officer pages need except the live review state."""

    as_of: str
    folder: Path
    manifest: dict[str, object]
    listed: pd.DataFrame
    left: pd.DataFrame | None
    reasons: pd.DataFrame | None
    families: pd.DataFrame | None
    evidence: pd.DataFrame | None
    history: pd.DataFrame | None
    rank_history: pd.DataFrame | None
    pages: dict[str, Any] = field(default_factory=dict)  # pages.json: page settings
    by_person: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    terms: dict[str, list[str]] = field(default_factory=dict)  # the list's search text, per person

    @property
    def people(self) -> list[str]:
        return [str(p) for p in self.listed["person_id"]]

    def row(self, person_id: str) -> pd.Series | None:
        hit = self.listed[self.listed["person_id"].astype(str) == person_id]
        return None if hit.empty else hit.iloc[0]

    def frame(self, name: str, person_id: str) -> pd.DataFrame | None:
        return self.by_person.get(name, {}).get(person_id)


def run_folder(runs_dir: Path, as_of: str) -> Path | None:
    """The folder of run ``as_of`` (a date; nothing else can name a folder), if it holds a run."""
    if not RUN_NAME.fullmatch(as_of):
        return None
    folder = Path(runs_dir) / as_of
    return folder if (folder / "manifest.json").is_file() else None


def list_runs(runs_dir: Path) -> list[dict[str, object]]:
    """Every run, newest first: as_of, release status, list length, and which reports it holds."""
    found = []
    for folder in run_folders(runs_dir):
        data = read_manifest(folder)
        if not data:
            continue
        found.append(
            {
                "as_of": folder.name,
                "created_at": str(data.get("created_at", "")),
                "release": release_of(data),
                "list_length": data.get("list_length"),
                "servable": (folder / "report" / FRAMES / "pages.json").is_file(),
                "reports": [k for k, (f, _) in REPORTS.items() if (folder / f).is_file()],
            }
        )
    return found


def _read(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.is_file() else None


@lru_cache(maxsize=8)
def _load(folder: str, stamp: float) -> RunPages:
    path = Path(folder)
    frames = path / "report" / FRAMES
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    pages = json.loads((frames / "pages.json").read_text(encoding="utf-8"))
    listed = pd.read_parquet(frames / "listed.parquet")
    listed = listed.sort_values(["rank", "person_id"], kind="mergesort").reset_index(drop=True)
    loaded = {
        "reasons": _read(path / "reasons.parquet"),
        "families": _read(path / "reason_families.parquet"),
        "evidence": _read(path / "evidence.parquet"),
        "history": _read(frames / "history.parquet"),
        "rank_history": _read(frames / "rank_history.parquet"),
    }
    return RunPages(
        as_of=path.name,
        folder=path,
        manifest=manifest,
        listed=listed,
        left=_read(frames / "left.parquet"),
        pages=pages,
        by_person={name: split_by_person(frame) for name, frame in loaded.items()},
        terms=search_terms(listed, loaded["evidence"], loaded["history"]),
        **loaded,
    )


def load_pages(folder: Path) -> RunPages | None:
    """The run's page frames (None when the run was written before the service existed)."""
    marker = folder / "report" / FRAMES / "pages.json"
    if not marker.is_file():
        return None
    return _load(str(folder.resolve()), (folder / "manifest.json").stat().st_mtime)


def servable(runs_dir: Path, as_of: str) -> RunPages:
    """The pages of run ``as_of``, or a 404 when there is no such run or it cannot be served."""
    folder = run_folder(runs_dir, as_of)
    loaded = load_pages(folder) if folder else None
    if loaded is None:
        raise HTTPException(status_code=404, detail=f"There is no servable run {as_of!r}.")
    return loaded
