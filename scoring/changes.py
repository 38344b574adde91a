"""Month-over-month changes to the list: who is new, who stayed (and moved), who returned, who left.

``list_status``, ``left_list`` and ``rank_history`` are pure functions on DataFrames;
``find_previous_runs`` and ``load_lists`` read earlier runs' ``top100.parquet`` files.

Typical use for a run at as-of date T::

    runs = find_previous_runs(config.runs_dir, T)      # newest first
    lists = load_lists(runs)                           # every earlier list
    previous = lists[lists["as_of"] == lists["as_of"].max()] if len(lists) else None
    listed = list_status(listed, previous, lists)
    left = left_list(listed, previous)
    history = rank_history(lists, listed["person_id"])
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from features.errors import PipelineError

RUN_NAME = re.compile(r"\d{4}-\d{2}-\d{2}")
LIST_FILE = "top100.parquet"


def _previous_ranks(previous: pd.DataFrame | None) -> pd.Series:
    """previous rank (Int64) indexed by person_id; empty when there is no previous list."""
    if previous is None or previous.empty:
        return pd.Series(dtype="Int64", index=pd.Index([], dtype="str", name="person_id"))
    if previous["person_id"].duplicated().any():
        raise ValueError("the previous list holds a person more than once")
    return previous.set_index(previous["person_id"].astype("str"))["rank"].astype("Int64")


def list_status(
    current: pd.DataFrame, previous: pd.DataFrame | None, earlier: pd.DataFrame | None
) -> pd.DataFrame:
    """Add each listed person's status against the previous list.

    Parameters
    ----------
    current : DataFrame
        This run's list, with at least rank (int) and person_id (str); other columns are kept.
    previous : DataFrame or None
        Last run's list, with at least rank and person_id; None when there is no earlier run.
    earlier : DataFrame or None
        Any earlier lists (as_of, person_id); may include the previous list.

    Returns
    -------
    DataFrame
        ``current`` (same rows and order) plus status ("new" | "stayed" | "returned"),
        previous_rank (Int64, <NA> when not on the previous list) and rank_change
        (Int64, previous_rank - rank, positive = moved up; <NA> unless stayed).
        "returned" means not on the previous list but on some earlier one.
    """
    out = current.copy()
    previous_rank = out["person_id"].astype("str").map(_previous_ranks(previous)).astype("Int64")
    stayed = previous_rank.notna().to_numpy()
    if earlier is None or earlier.empty:
        seen = np.zeros(len(out), dtype=bool)
    else:
        seen = out["person_id"].isin(earlier["person_id"]).to_numpy()
    status = np.where(stayed, "stayed", np.where(seen, "returned", "new"))
    out["status"] = pd.Series(status, index=out.index, dtype="str")
    out["previous_rank"] = previous_rank
    out["rank_change"] = (previous_rank - out["rank"].astype("Int64")).astype("Int64")
    return out


def left_list(current: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """People on the previous list who are not on the current one.

    Returns
    -------
    DataFrame
        person_id (str), previous_rank (Int64), ordered by previous_rank; empty without a previous list.
    """
    ranks = _previous_ranks(previous)
    gone = ranks[~ranks.index.isin(current["person_id"])]
    out = pd.DataFrame({"person_id": gone.index.astype("str"), "previous_rank": gone.to_numpy()})
    out["previous_rank"] = out["previous_rank"].astype("Int64")
    return out.sort_values(["previous_rank", "person_id"], kind="stable").reset_index(drop=True)


def find_previous_runs(runs_dir: Path, as_of: date) -> list[tuple[date, Path]]:
    """Earlier runs with a list: directories named YYYY-MM-DD holding top100.parquet, before ``as_of``.

    Directories whose names are not dates (``2026-11-01.rejected``, staging directories such as
    ``.2026-11-01.partial-x``) or are dates on or after ``as_of`` are ignored.

    Returns
    -------
    list of (date, Path)
        Newest first; empty when ``runs_dir`` does not exist.
    """
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    found = []
    for entry in runs_dir.iterdir():
        if not RUN_NAME.fullmatch(entry.name) or not (entry / LIST_FILE).is_file():
            continue
        try:
            day = date.fromisoformat(entry.name)
        except ValueError:
            continue
        if day < as_of:
            found.append((day, entry))
    return sorted(found, reverse=True)


def load_lists(runs: Sequence[tuple[date, Path]]) -> pd.DataFrame:
    """Read the lists of ``runs`` (from :func:`find_previous_runs`).

    Returns
    -------
    DataFrame
        as_of (datetime64[us]), rank (int64), person_id (str), ordered by as_of then rank.
    """
    frames = []
    for day, run_dir in runs:
        path = Path(run_dir) / LIST_FILE
        try:
            frame = pd.read_parquet(path, columns=["rank", "person_id"])
        except (OSError, ValueError, KeyError) as exc:
            raise PipelineError(
                f"Cannot read the earlier list {path}: {exc}. Re-run that date, or move the directory "
                f"out of {Path(run_dir).parent} if it is not a harmrank run."
            ) from None
        frames.append(frame.assign(as_of=pd.Timestamp(day)))
    columns = ["as_of", "rank", "person_id"]
    if not frames:
        empty = {"as_of": "datetime64[us]", "rank": "int64", "person_id": "str"}
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in empty.items()})
    lists = pd.concat(frames, ignore_index=True)[columns]
    lists = lists.astype({"as_of": "datetime64[us]", "rank": "int64", "person_id": "str"})
    return lists.sort_values(["as_of", "rank", "person_id"], kind="stable").reset_index(drop=True)


def rank_history(lists: pd.DataFrame, person_ids: Iterable[str]) -> pd.DataFrame:
    """Each person's rank on every earlier list they were on.

    Parameters
    ----------
    lists : DataFrame
        as_of, rank, person_id (from :func:`load_lists`).
    person_ids : iterable of str
        The people to keep (usually this run's list).

    Returns
    -------
    DataFrame
        person_id (str), as_of (Timestamp), rank (int64): one row per (person, earlier list),
        ordered by person_id then as_of.
    """
    keep = lists[lists["person_id"].isin(list(person_ids))]
    out = keep[["person_id", "as_of", "rank"]]
    return out.sort_values(["person_id", "as_of"], kind="stable").reset_index(drop=True)
