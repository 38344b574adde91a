"""The human-review log: an append-only record of every officer's decision on a listed person.

The list is advisory only. The Data Protection Act 2018 Part 3 requires meaningful human
involvement before any action, so every listed person gets a review recorded here with the
reviewer, the decision (action, no-action or needs-info) and the reason. A decision without a
reason is refused.

The log is one SQLite file (by default ``<data_dir>/reviews.sqlite``), created readable by its
owner only. Triggers in the database refuse every UPDATE and DELETE on the ``reviews`` table, so
a decision can never be changed or removed: a reviewer who changes their mind records a new
decision, and the latest one for a person and run is the one that counts.

The review log is never a model input. Nothing in features/, models/ or the monthly job's
training reads it; it feeds only the officer report (past decisions, share reviewed, override
rate) and ``harmrank status``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import pandas as pd

from features.errors import HarmrankError

REVIEW_COLUMNS = ["review_id", "run", "person_id", "decision", "reason", "reviewer", "recorded_at"]
SCHEMA_VERSION = 1
APPEND_ONLY = (
    "the review log is append-only: a recorded decision cannot be changed or removed; record a new one"
)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS reviews (
    review_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    run         TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('action', 'no-action', 'needs-info')),
    reason      TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    reviewer    TEXT NOT NULL CHECK (length(trim(reviewer)) > 0),
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_run_person ON reviews (run, person_id);
CREATE TRIGGER IF NOT EXISTS reviews_no_update BEFORE UPDATE ON reviews
BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END;
CREATE TRIGGER IF NOT EXISTS reviews_no_delete BEFORE DELETE ON reviews
BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END;
PRAGMA user_version = {SCHEMA_VERSION};
"""


class ReviewError(HarmrankError):
    """A review cannot be recorded or read: bad run directory, person, decision, reason or log file."""


class Decision(StrEnum):
    """What the reviewing officer decided about a listed person."""

    ACTION = "action"
    NO_ACTION = "no-action"
    NEEDS_INFO = "needs-info"


DECISIONS = tuple(d.value for d in Decision)


def open_log(path: Path) -> sqlite3.Connection:
    """Open the review log at ``path``, creating it (owner-only, mode 0600) and its schema if needed.

    Parameters
    ----------
    path : Path
        The SQLite file. Its parent directory is created (mode 0700) when missing.

    Returns
    -------
    sqlite3.Connection
        An open connection; the caller closes it.
    """
    path = Path(path)
    if path.is_dir():
        raise ReviewError(
            f"The review log {path} is a directory; pass the path of a .sqlite file with --log."
        )
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)
    conn = sqlite3.connect(path, timeout=30)
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            conn.executescript(SCHEMA)
        if (
            conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'reviews'").fetchone()
            is None
        ):
            raise sqlite3.DatabaseError("no reviews table")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ReviewError(
            f"{path} is not a harmrank review log ({exc}). Pass the right file with --log; "
            "never overwrite a review log, it is the record of human review."
        ) from None
    return conn


def _manifest(run_dir: Path) -> dict[str, object]:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReviewError(
            f"{run_dir} is not a directory. Pass a run directory written by `harmrank run`, "
            "e.g. runs/2026-11-01."
        )
    manifest = run_dir / "manifest.json"
    lists = [run_dir / "top100.parquet", run_dir / "top100.csv"]
    if not manifest.is_file() or not any(p.is_file() for p in lists):
        raise ReviewError(
            f"{run_dir} is not a harmrank run: it needs manifest.json and top100.parquet (or top100.csv). "
            "Pass a run directory written by `harmrank run`, e.g. runs/2026-11-01."
        )
    try:
        return json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReviewError(f"Cannot read {manifest}: {exc}. Re-run `harmrank run` for this date.") from None


def run_name(run_dir: Path) -> str:
    """The run's as-of date (ISO), from its manifest, else the directory's name."""
    return str(_manifest(run_dir).get("as_of") or Path(run_dir).name)


def run_list(run_dir: Path) -> pd.DataFrame:
    """The run's list: rank (int64), person_id (str), probability (float), ordered by rank.

    Reads top100.parquet, or top100.csv when there is no Parquet file.
    """
    _manifest(run_dir)
    parquet, csv = Path(run_dir) / "top100.parquet", Path(run_dir) / "top100.csv"
    source = parquet if parquet.is_file() else csv
    try:
        frame = (
            pd.read_parquet(source) if source == parquet else pd.read_csv(source, dtype={"person_id": "str"})
        )
    except (OSError, ValueError) as exc:
        raise ReviewError(
            f"Cannot read the list {source}: {exc}. Re-run `harmrank run` for this date."
        ) from None
    missing = [c for c in ("rank", "person_id", "probability") if c not in frame.columns]
    if missing:
        raise ReviewError(
            f"The list {source} has no column(s) {', '.join(missing)}; it was not written by harmrank."
        )
    out = frame[["rank", "person_id", "probability"]].astype(
        {"rank": "int64", "person_id": "str", "probability": "float64"}
    )
    return out.sort_values(["rank", "person_id"], kind="stable").reset_index(drop=True)


def log_path_for_run(run_dir: Path) -> Path:
    """The review log a run belongs to: the manifest's ``review_log``, else ``<data_dir>/reviews.sqlite``.

    ``data_dir`` is read from the manifest's ``config`` section, then its top level.
    """
    manifest = _manifest(run_dir)
    if manifest.get("review_log"):
        return Path(str(manifest["review_log"]))
    config = manifest.get("config")
    data_dir = (config.get("data_dir") if isinstance(config, dict) else None) or manifest.get("data_dir")
    if not data_dir:
        raise ReviewError(
            f"{Path(run_dir) / 'manifest.json'} names neither a review log nor a data directory; "
            "pass the review log with --log."
        )
    return Path(str(data_dir)) / "reviews.sqlite"


def _recorded_at(now: datetime | None) -> str:
    if now is None:
        now = datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (e.g. datetime.now(UTC))")
    return now.astimezone(UTC).isoformat(timespec="seconds")


def record_decision(
    path: Path,
    *,
    run_dir: Path,
    person_id: str,
    decision: str,
    reason: str,
    reviewer: str,
    now: datetime | None = None,
) -> int:
    """Append one reviewer's decision on one listed person of one run; return its review_id.

    Parameters
    ----------
    path : Path
        The review log (created if missing).
    run_dir : Path
        A run directory written by ``harmrank run`` (manifest.json and top100.parquet/.csv).
    person_id : str
        A person on that run's list.
    decision : str
        One of ``action``, ``no-action``, ``needs-info`` (a :class:`Decision` is accepted).
    reason, reviewer : str
        Required, non-blank; stored with surrounding whitespace removed.
    now : datetime, optional
        Timezone-aware time of the decision (default: the current time); stored as ISO-8601 UTC.

    Raises
    ------
    ReviewError
        When any of the above does not hold; nothing is written then.
    """
    run, listed = run_name(run_dir), run_list(run_dir)
    value = str(getattr(decision, "value", decision))
    if value not in DECISIONS:
        raise ReviewError(f"Unknown decision {value!r}; use one of: {', '.join(DECISIONS)}.")
    if not listed["person_id"].eq(person_id).any():
        raise ReviewError(
            f"{person_id!r} is not on the list of run {run} ({run_dir}). Check the person id; "
            f"`harmrank status {run_dir}` lists the people on that run still awaiting review."
        )
    if not reason or not reason.strip():
        raise ReviewError(
            "A decision needs a reason: the Data Protection Act 2018 Part 3 requires meaningful human "
            'involvement, and the recorded reason is its evidence. Add --reason "..." saying why.'
        )
    if not reviewer or not reviewer.strip():
        raise ReviewError("A decision needs the reviewer's name; add --reviewer NAME.")
    row = (run, person_id, value, reason.strip(), reviewer.strip(), _recorded_at(now))
    with closing(open_log(path)) as conn, conn:
        cursor = conn.execute(
            "INSERT INTO reviews (run, person_id, decision, reason, reviewer, recorded_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            row,
        )
        return int(cursor.lastrowid or 0)


def _empty_reviews() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="str") for c in REVIEW_COLUMNS})
    return frame.astype({"review_id": "int64"})


def decisions(path: Path, person_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Every recorded decision, optionally only for ``person_ids``, ordered by review_id.

    Returns
    -------
    DataFrame
        review_id (int64), run, person_id, decision, reason, reviewer, recorded_at (str, ISO-8601 UTC).
        Empty (same columns) when the log does not exist yet; reading never creates it.
    """
    if not Path(path).exists():
        return _empty_reviews()
    with closing(open_log(path)) as conn:
        rows = conn.execute(f"SELECT {', '.join(REVIEW_COLUMNS)} FROM reviews ORDER BY review_id").fetchall()
    frame = pd.DataFrame(rows, columns=REVIEW_COLUMNS) if rows else _empty_reviews()
    frame = frame.astype({c: "str" for c in REVIEW_COLUMNS[1:]} | {"review_id": "int64"})
    if person_ids is not None:
        frame = frame[frame["person_id"].isin(list(person_ids))].reset_index(drop=True)
    return frame


def _latest(path: Path, run: str, person_ids: Iterable[str]) -> pd.DataFrame:
    """The latest decision of each of ``person_ids`` on ``run`` (persons without one are absent)."""
    frame = decisions(path, person_ids)
    frame = frame[frame["run"] == run]
    return frame.drop_duplicates("person_id", keep="last")


def review_summary(listed_person_ids: Iterable[str], run: str, path: Path) -> dict[str, int | float]:
    """How much of a run's list has been reviewed, and how often the reviewer overrode the listing.

    Parameters
    ----------
    listed_person_ids : iterable of str
        The people on the run's list.
    run : str
        The run's as-of date, ISO (as stored in the log's ``run`` column).
    path : Path
        The review log.

    Returns
    -------
    dict
        listed (int), reviewed (int: listed people with at least one decision on this run),
        share_reviewed (float: reviewed / listed, NaN for an empty list), no_action (int: reviewed
        people whose latest decision is no-action), override_rate (float: no_action / reviewed,
        NaN when nobody is reviewed).
    """
    ids = list(dict.fromkeys(str(p) for p in listed_person_ids))
    latest = _latest(path, run, ids)
    listed, reviewed = len(ids), len(latest)
    no_action = int(latest["decision"].eq(Decision.NO_ACTION.value).sum())
    return {
        "listed": listed,
        "reviewed": reviewed,
        "share_reviewed": reviewed / listed if listed else float("nan"),
        "no_action": no_action,
        "override_rate": no_action / reviewed if reviewed else float("nan"),
    }


def unreviewed(run_dir: Path, path: Path) -> pd.DataFrame:
    """The run's listed people with no recorded decision on that run, by rank.

    Returns
    -------
    DataFrame
        rank (int64), person_id (str), probability (float).
    """
    listed = run_list(run_dir)
    done = _latest(path, run_name(run_dir), listed["person_id"])
    return listed[~listed["person_id"].isin(done["person_id"])].reset_index(drop=True)
