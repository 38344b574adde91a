"""The review log: append-only at the database level, owner-only, and refusing unfounded decisions."""

from __future__ import annotations

import json
import math
import sqlite3
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from features.errors import HarmrankError
from scoring.review import (
    REVIEW_COLUMNS,
    ReviewError,
    decisions,
    log_path_for_run,
    open_log,
    record_decision,
    review_summary,
    unreviewed,
)

NOW = datetime(2026, 11, 3, 9, 15, tzinfo=UTC)


def make_run(root: Path, as_of: str, people: list[str], **manifest: object) -> Path:
    """A minimal run directory: manifest.json and top100.parquet with rank, person_id, probability."""
    run_dir = root / "runs" / as_of
    run_dir.mkdir(parents=True)
    top = pd.DataFrame(
        {
            "rank": range(1, len(people) + 1),
            "person_id": pd.Series(people, dtype="str"),
            "probability": [0.9 - 0.1 * i for i in range(len(people))],
        }
    )
    top.to_parquet(run_dir / "top100.parquet", index=False)
    body = {"as_of": as_of, "config": {"data_dir": str(root / "data")}, **manifest}
    (run_dir / "manifest.json").write_text(json.dumps(body))
    return run_dir


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path, "2026-11-01", ["P4", "P1", "P3", "P2"])


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "data" / "reviews.sqlite"


def record(log: Path, run_dir: Path, person: str, decision: str, minutes: int = 0, **kw: str) -> int:
    args = {"reason": "Checked the records", "reviewer": "PC 123"} | kw
    return record_decision(
        log,
        run_dir=run_dir,
        person_id=person,
        decision=decision,
        now=NOW + timedelta(minutes=minutes),
        **args,
    )


def test_appends_and_reads_back(run_dir: Path, log: Path) -> None:
    first = record(log, run_dir, "P1", "action", reason="  Recent serious violence  ", reviewer=" DS Khan ")
    second = record(log, run_dir, "P2", "needs-info", minutes=5)
    assert (first, second) == (1, 2)
    frame = decisions(log)
    assert list(frame.columns) == REVIEW_COLUMNS
    assert frame["review_id"].tolist() == [1, 2]
    row = frame.iloc[0]
    assert (row["run"], row["person_id"], row["decision"]) == ("2026-11-01", "P1", "action")
    assert (row["reason"], row["reviewer"]) == ("Recent serious violence", "DS Khan")
    assert row["recorded_at"] == "2026-11-03T09:15:00+00:00"
    assert decisions(log, ["P2"])["person_id"].tolist() == ["P2"]


def test_recorded_at_is_utc(run_dir: Path, log: Path) -> None:
    local = datetime(2026, 11, 3, 10, 15, tzinfo=timezone(timedelta(hours=1)))
    record_decision(
        log,
        run_dir=run_dir,
        person_id="P1",
        decision="action",
        reason="Checked the records",
        reviewer="PC 9",
        now=local,
    )
    assert decisions(log)["recorded_at"].tolist() == ["2026-11-03T09:15:00+00:00"]


def test_log_is_owner_only(run_dir: Path, log: Path) -> None:
    record(log, run_dir, "P1", "action")
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "statement",
    ["UPDATE reviews SET decision = 'no-action'", "DELETE FROM reviews", "DELETE FROM reviews WHERE 1"],
)
def test_update_and_delete_are_refused_by_the_database(run_dir: Path, log: Path, statement: str) -> None:
    record(log, run_dir, "P1", "action")
    conn = sqlite3.connect(log)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute(statement)
    conn.close()
    assert decisions(log)["decision"].tolist() == ["action"]


def test_schema_refuses_blank_reason_even_when_bypassing_python(log: Path) -> None:
    conn = open_log(log)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO reviews (run, person_id, decision, reason, reviewer, recorded_at) "
            "VALUES ('2026-11-01', 'P1', 'action', '   ', 'x', 't')"
        )
    conn.close()


@pytest.mark.parametrize("reason", ["", "   \n"])
def test_decision_without_reason_is_refused(run_dir: Path, log: Path, reason: str) -> None:
    with pytest.raises(ReviewError, match="Data Protection Act 2018 Part 3") as info:
        record(log, run_dir, "P1", "no-action", reason=reason)
    assert "--reason" in str(info.value)
    assert isinstance(info.value, HarmrankError)
    assert decisions(log).empty


def test_blank_reviewer_is_refused(run_dir: Path, log: Path) -> None:
    with pytest.raises(ReviewError, match="--reviewer"):
        record(log, run_dir, "P1", "action", reviewer=" ")


def test_person_not_on_the_list_is_refused(run_dir: Path, log: Path) -> None:
    with pytest.raises(ReviewError, match="'P9' is not on the list of run 2026-11-01") as info:
        record(log, run_dir, "P9", "action")
    assert f"harmrank status {run_dir}" in str(info.value)


def test_unknown_decision_is_refused(run_dir: Path, log: Path) -> None:
    with pytest.raises(
        ReviewError, match="Unknown decision 'arrest'; use one of: action, no-action, needs-info"
    ):
        record(log, run_dir, "P1", "arrest")


def test_directory_that_is_not_a_run_is_refused(tmp_path: Path, log: Path) -> None:
    (tmp_path / "notarun").mkdir()
    with pytest.raises(ReviewError, match=r"is not a harmrank run: it needs manifest\.json"):
        record(log, tmp_path / "notarun", "P1", "action")
    with pytest.raises(ReviewError, match="is not a directory"):
        record(log, tmp_path / "missing", "P1", "action")


def test_csv_list_is_accepted(tmp_path: Path, log: Path) -> None:
    run_dir = make_run(tmp_path, "2026-10-01", ["007"])
    pd.read_parquet(run_dir / "top100.parquet").to_csv(run_dir / "top100.csv", index=False)
    (run_dir / "top100.parquet").unlink()
    assert record(log, run_dir, "007", "action") == 1


def test_non_database_file_is_refused(tmp_path: Path, run_dir: Path) -> None:
    bad = tmp_path / "reviews.sqlite"
    bad.write_text("not a database, just text that is long enough to have a header " * 4)
    with pytest.raises(ReviewError, match="is not a harmrank review log"):
        record(bad, run_dir, "P1", "action")


def test_other_sqlite_database_is_refused(tmp_path: Path, run_dir: Path) -> None:
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.executescript("CREATE TABLE t (x); PRAGMA user_version = 7;")
    conn.close()
    with pytest.raises(ReviewError, match="is not a harmrank review log"):
        decisions(other)


def test_reading_a_missing_log_gives_an_empty_frame_and_creates_nothing(log: Path) -> None:
    frame = decisions(log)
    assert list(frame.columns) == REVIEW_COLUMNS and frame.empty
    assert not log.exists()


def test_summary_on_a_hand_made_case(tmp_path: Path, run_dir: Path, log: Path) -> None:
    # 4 listed; P1, P2, P3 reviewed; P3 first action then no-action (latest counts); P4 unreviewed.
    other = make_run(tmp_path, "2026-10-01", ["P4", "P9"])
    record(log, run_dir, "P1", "action")
    record(log, run_dir, "P2", "needs-info")
    record(log, run_dir, "P3", "action")
    record(log, run_dir, "P3", "no-action", minutes=10)
    record(log, other, "P4", "no-action")  # another run: does not count for 2026-11-01
    summary = review_summary(["P4", "P1", "P3", "P2"], "2026-11-01", log)
    assert {k: summary[k] for k in ("listed", "reviewed", "no_action")} == {
        "listed": 4,
        "reviewed": 3,
        "no_action": 1,
    }
    assert summary["share_reviewed"] == pytest.approx(0.75)
    assert summary["override_rate"] == pytest.approx(1 / 3)
    p1_latest_action = review_summary(["P1"], "2026-11-01", log)
    assert p1_latest_action["override_rate"] == 0.0


def test_summary_without_reviews_is_nan(log: Path) -> None:
    summary = review_summary(["P1", "P2"], "2026-11-01", log)
    assert (summary["listed"], summary["reviewed"], summary["share_reviewed"]) == (2, 0, 0.0)
    assert math.isnan(summary["override_rate"])
    assert math.isnan(review_summary([], "2026-11-01", log)["share_reviewed"])


def test_unreviewed_lists_exactly_those_without_a_decision_on_this_run(
    tmp_path: Path, run_dir: Path, log: Path
) -> None:
    other = make_run(tmp_path, "2026-10-01", ["P4"])
    record(log, run_dir, "P1", "action")
    record(log, run_dir, "P2", "needs-info")
    record(log, other, "P4", "action")
    left = unreviewed(run_dir, log)
    assert list(left.columns) == ["rank", "person_id", "probability"]
    assert left["person_id"].tolist() == ["P4", "P3"]
    assert left["rank"].tolist() == [1, 3]
    assert left["probability"].tolist() == pytest.approx([0.9, 0.7])


def test_log_path_prefers_manifest_key_then_data_dir(tmp_path: Path) -> None:
    plain = make_run(tmp_path, "2026-10-01", ["P1"])
    assert log_path_for_run(plain) == tmp_path / "data" / "reviews.sqlite"
    keyed = make_run(tmp_path, "2026-11-01", ["P1"], review_log=str(tmp_path / "elsewhere.sqlite"))
    assert log_path_for_run(keyed) == tmp_path / "elsewhere.sqlite"
