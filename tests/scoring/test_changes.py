"""Month-over-month changes: new, stayed (with rank change), returned, left; finding earlier runs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from features.errors import PipelineError
from scoring.changes import find_previous_runs, left_list, list_status, load_lists, rank_history


def frame(people: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"rank": range(1, len(people) + 1), "person_id": pd.Series(people, dtype="str")})


# Three months: September, October, November (current).
SEP = ["B", "F", "E"]
OCT = ["D", "E", "A"]
NOV = ["A", "B", "C", "D"]


def write_runs(runs_dir: Path) -> None:
    for name, people in (("2026-09-01", SEP), ("2026-10-01", OCT), ("2026-11-01", NOV)):
        (runs_dir / name).mkdir(parents=True)
        frame(people).to_parquet(runs_dir / name / "top100.parquet", index=False)


def test_list_status_on_a_hand_made_three_month_case() -> None:
    earlier = pd.concat(
        [
            frame(SEP).assign(as_of=pd.Timestamp("2026-09-01")),
            frame(OCT).assign(as_of=pd.Timestamp("2026-10-01")),
        ]
    )
    current = frame(NOV).assign(probability=[0.4, 0.3, 0.2, 0.1])
    out = list_status(current, frame(OCT), earlier)
    assert out["person_id"].tolist() == NOV
    assert out["probability"].tolist() == [0.4, 0.3, 0.2, 0.1]
    # A: Oct rank 3 -> 1 (up 2); B: only in Sep -> returned; C: never -> new; D: Oct rank 1 -> 4 (down 3).
    assert out["status"].tolist() == ["stayed", "returned", "new", "stayed"]
    assert out["previous_rank"].tolist() == [3, pd.NA, pd.NA, 1]
    assert out["rank_change"].tolist() == [2, pd.NA, pd.NA, -3]
    assert str(out["previous_rank"].dtype) == "Int64" and str(out["rank_change"].dtype) == "Int64"


def test_earlier_may_include_the_previous_list() -> None:
    everything = pd.concat([frame(SEP), frame(OCT)])
    assert list_status(frame(NOV), frame(OCT), everything)["status"].tolist() == [
        "stayed",
        "returned",
        "new",
        "stayed",
    ]


def test_first_run_has_everybody_new() -> None:
    out = list_status(frame(NOV), None, None)
    assert out["status"].tolist() == ["new"] * 4
    assert out["previous_rank"].isna().all() and out["rank_change"].isna().all()
    assert left_list(frame(NOV), None).empty
    assert list(left_list(frame(NOV), None).columns) == ["person_id", "previous_rank"]


def test_left_list() -> None:
    # October had D, E, A; November keeps A and D: E (October rank 2) left.
    left = left_list(frame(NOV), frame(OCT))
    assert left["person_id"].tolist() == ["E"]
    assert left["previous_rank"].tolist() == [2]
    assert left_list(frame(["X"]), frame(OCT))["person_id"].tolist() == ["D", "E", "A"]


def test_find_previous_runs_ignores_non_date_and_later_directories(tmp_path: Path) -> None:
    write_runs(tmp_path)
    for name in ("2026-08-01.rejected", ".2026-08-01.partial-abc", "latest", "2026-13-01", "2026-07-01"):
        (tmp_path / name).mkdir()
        frame(["Z"]).to_parquet(tmp_path / name / "top100.parquet", index=False)
    (tmp_path / "2026-06-01").mkdir()  # a date, but no list
    (tmp_path / "2026-05-01").write_text("a file, not a directory")
    found = find_previous_runs(tmp_path, date(2026, 11, 1))
    assert found == [
        (date(2026, 10, 1), tmp_path / "2026-10-01"),
        (date(2026, 9, 1), tmp_path / "2026-09-01"),
        (date(2026, 7, 1), tmp_path / "2026-07-01"),
    ]
    assert find_previous_runs(tmp_path, date(2026, 7, 1)) == []
    assert find_previous_runs(tmp_path / "missing", date(2026, 11, 1)) == []


def test_load_lists_and_status_from_run_directories(tmp_path: Path) -> None:
    write_runs(tmp_path)
    lists = load_lists(find_previous_runs(tmp_path, date(2026, 11, 1)))
    assert list(lists.columns) == ["as_of", "rank", "person_id"]
    assert str(lists["as_of"].dtype) == "datetime64[us]"
    assert lists["person_id"].tolist() == SEP + OCT
    previous = lists[lists["as_of"] == lists["as_of"].max()]
    out = list_status(frame(NOV), previous, lists)
    assert out["status"].tolist() == ["stayed", "returned", "new", "stayed"]


def test_load_lists_of_nothing_is_empty_with_columns() -> None:
    lists = load_lists([])
    assert list(lists.columns) == ["as_of", "rank", "person_id"] and lists.empty


def test_unreadable_list_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "2026-10-01").mkdir()
    (tmp_path / "2026-10-01" / "top100.parquet").write_text("not parquet")
    with pytest.raises(PipelineError, match=r"2026-10-01/top100\.parquet"):
        load_lists(find_previous_runs(tmp_path, date(2026, 11, 1)))


def test_rank_history(tmp_path: Path) -> None:
    write_runs(tmp_path)
    lists = load_lists(find_previous_runs(tmp_path, date(2026, 11, 1)))
    history = rank_history(lists, ["B", "E", "C"])
    assert list(history.columns) == ["person_id", "as_of", "rank"]
    assert history["person_id"].tolist() == ["B", "E", "E"]
    assert history["as_of"].tolist() == [
        pd.Timestamp("2026-09-01"),
        pd.Timestamp("2026-09-01"),
        pd.Timestamp("2026-10-01"),
    ]
    assert history["rank"].tolist() == [1, 3, 2]
