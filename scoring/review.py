"""The human-review log: an append-only record of every officer's decision on a listed person.

The list is advisory only. The Data Protection Act 2018 Part 3 requires meaningful human
involvement before any action, so every listed person gets a review recorded here with the
reviewer, the decision (action, no-action or needs-info) and the reason. A decision without a
reason is refused.

The log is one SQLite file (by default ``<data_dir>/reviews.sqlite``), created readable by its
owner only, append-only and hash-chained (:mod:`scoring.review_log`): a decision can never be
changed or removed unnoticed. A reviewer who changes their mind records a new decision, and the
latest one for a person and run is the one that counts.

The review log is never a model input. Nothing in features/, models/ or the monthly job's
training reads it; it feeds only the officer report (past decisions, share reviewed, override
rate) and ``harmrank status``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.review_log import FIELDS as FIELD_ORDER
from scoring.review_log import Location, ReviewError, append, entries, location, open_log, verify
from scoring.terminal import invisible

__all__ = ["DECISIONS", "Decision", "ReviewError", "open_log", "record_decision", "verify"]

REVIEW_COLUMNS = ["review_id", "run", "person_id", "decision", "reason", "reviewer", "recorded_at"]
MIN_ALNUM = 2
"""Letters or digits a reason or a reviewer's name needs, invisible characters aside."""


class Decision(StrEnum):
    """What the reviewing officer decided about a listed person."""

    ACTION = "action"
    NO_ACTION = "no-action"
    NEEDS_INFO = "needs-info"


DECISIONS = tuple(d.value for d in Decision)


DEATHS_ITEMS = "review_items.csv"
"""The alerts and candidate series of a deaths report that need a review (runs/<DATE>/deaths/)."""


def _is_deaths(run_dir: Path) -> bool:
    return (Path(run_dir) / DEATHS_ITEMS).is_file()


def _manifest(run_dir: Path) -> dict[str, object]:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReviewError(
            f"{run_dir} is not a directory. Pass a run directory written by `harmrank run`, "
            "e.g. runs/2026-11-01, or a deaths report written by `harmrank deaths`, e.g. "
            "runs/2026-11-01/deaths."
        )
    manifest = run_dir / "manifest.json"
    lists = [run_dir / "top100.parquet", run_dir / "top100.csv", run_dir / DEATHS_ITEMS]
    if not manifest.is_file() or not any(p.is_file() for p in lists):
        raise ReviewError(
            f"{run_dir} is not a harmrank run: it needs manifest.json and top100.parquet (or top100.csv). "
            "Pass a run directory written by `harmrank run`, e.g. runs/2026-11-01, or a deaths report "
            "written by `harmrank deaths`, e.g. runs/2026-11-01/deaths."
        )
    try:
        return json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReviewError(f"Cannot read {manifest}: {exc}. Re-run `harmrank run` for this date.") from None


def run_name(run_dir: Path) -> str:
    """The run's name in the review log: the manifest's ``run`` (``2026-11-01/deaths`` for a deaths
    report), else its as-of date (ISO), else the directory's name."""
    manifest = _manifest(run_dir)
    return str(manifest.get("run") or manifest.get("as_of") or Path(run_dir).name)


def run_list(run_dir: Path) -> pd.DataFrame:
    """The run's list: rank (int64), person_id (str), probability (float), ordered by rank.

    Reads top100.parquet, or top100.csv when there is no Parquet file. For a deaths report, the
    items to review (:data:`DEATHS_ITEMS`): each alert (``D000149+D000325``) and candidate series
    (``C01``) in ``person_id``, with no probability (NaN).
    """
    _manifest(run_dir)
    if _is_deaths(run_dir):
        items = pd.read_csv(Path(run_dir) / DEATHS_ITEMS, dtype={"item": "str"})
        return pd.DataFrame(
            {
                "rank": items["rank"].astype("int64"),
                "person_id": items["item"].astype("str"),
                "probability": np.nan,
            }
        )
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


def log_path_for_run(run_dir: Path) -> Location:
    """The review log a run belongs to: the manifest's ``review_log``, else ``<data_dir>/reviews.sqlite``.

    ``data_dir`` is read from the manifest's ``config`` section, then its top level.
    """
    manifest = _manifest(run_dir)
    if manifest.get("review_log"):
        return location(manifest["review_log"])
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
    path: Location,
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
        Required: at least two letters or digits. Stored without control and invisible
        characters (zero-width space, byte-order mark, ...) and surrounding whitespace.
    now : datetime, optional
        Timezone-aware time of the decision (default: the current time); stored as ISO-8601 UTC.

    Raises
    ------
    ReviewError
        When any of the above does not hold, or the log is not a harmrank review log; nothing
        is written then.
    """
    run, listed = run_name(run_dir), run_list(run_dir)
    value = str(getattr(decision, "value", decision))
    if value not in DECISIONS:
        raise ReviewError(f"Unknown decision {value!r}; use one of: {', '.join(DECISIONS)}.")
    if not listed["person_id"].eq(person_id).any():
        what = "an alert or series of" if _is_deaths(run_dir) else "on the list of"
        raise ReviewError(
            f"{person_id!r} is not {what} run {run} ({run_dir}). Check the id; "
            f"`harmrank status {run_dir}` lists what on that run still awaits review."
        )
    reason = _meaningful(
        reason,
        "A decision needs a reason: the Data Protection Act 2018 Part 3 requires meaningful human "
        'involvement, and the recorded reason is its evidence. Add --reason "..." saying why',
    )
    reviewer = _meaningful(reviewer, "A decision needs the reviewer's name; add --reviewer NAME")
    fields = dict(zip(FIELD_ORDER, (run, person_id, value, reason, reviewer, _recorded_at(now)), strict=True))
    review_id, _ = append(path, fields)
    return review_id


def _meaningful(text: str | None, refusal: str) -> str:
    """``text`` without control and invisible characters and surrounding space; refused (with
    ``refusal``) when fewer than :data:`MIN_ALNUM` letters or digits are left."""
    kept = "".join(ch for ch in str(text or "") if not invisible(ch)).strip()
    if sum(ch.isalnum() for ch in kept) < MIN_ALNUM:
        shown = "empty" if not kept else f"only {kept!r}"
        raise ReviewError(f"{refusal} (it was {shown}, once invisible characters are set aside).")
    return kept


def _empty_reviews() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="str") for c in REVIEW_COLUMNS})
    return frame.astype({"review_id": "int64"})


def decisions(path: Location, person_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Every recorded decision, optionally only for ``person_ids``, ordered by review_id.

    Returns
    -------
    DataFrame
        review_id (int64), run, person_id, decision, reason, reviewer, recorded_at (str, ISO-8601 UTC).
        Empty (same columns) when the log does not exist yet; reading never creates it.
    """
    rows = [r[: len(REVIEW_COLUMNS)] for r in entries(path)]
    frame = pd.DataFrame(rows, columns=REVIEW_COLUMNS) if rows else _empty_reviews()
    frame = frame.astype({c: "str" for c in REVIEW_COLUMNS[1:]} | {"review_id": "int64"})
    if person_ids is not None:
        frame = frame[frame["person_id"].isin(list(person_ids))].reset_index(drop=True)
    return frame


def _latest(path: Location, run: str, person_ids: Iterable[str]) -> pd.DataFrame:
    """The latest decision of each of ``person_ids`` on ``run`` (persons without one are absent)."""
    frame = decisions(path, person_ids)
    frame = frame[frame["run"] == run]
    return frame.drop_duplicates("person_id", keep="last")


def review_summary(listed_person_ids: Iterable[str], run: str, path: Location) -> dict[str, int | float]:
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
    return summarise(decisions(path, ids), ids, run)


def summarise(recorded: pd.DataFrame, listed_person_ids: Iterable[str], run: str) -> dict[str, int | float]:
    """:func:`review_summary` from decisions already read (:func:`decisions`; any people, any runs)."""
    ids = list(dict.fromkeys(str(p) for p in listed_person_ids))
    on_run = recorded[(recorded["run"] == run) & recorded["person_id"].isin(ids)]
    latest = on_run.drop_duplicates("person_id", keep="last")
    listed, reviewed = len(ids), len(latest)
    no_action = int(latest["decision"].eq(Decision.NO_ACTION.value).sum())
    return {
        "listed": listed,
        "reviewed": reviewed,
        "share_reviewed": reviewed / listed if listed else float("nan"),
        "no_action": no_action,
        "override_rate": no_action / reviewed if reviewed else float("nan"),
    }


def unreviewed(run_dir: Path, path: Location) -> pd.DataFrame:
    """The run's listed people with no recorded decision on that run, by rank.

    Returns
    -------
    DataFrame
        rank (int64), person_id (str), probability (float).
    """
    listed = run_list(run_dir)
    done = _latest(path, run_name(run_dir), listed["person_id"])
    return listed[~listed["person_id"].isin(done["person_id"])].reset_index(drop=True)
