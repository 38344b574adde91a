"""The review log cannot be rewritten unnoticed: guards refuse in-place changes, the hash chain
shows any change made around them, and the file is recognised as a review log."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scoring.cli import app
from scoring.review import decisions, record_decision
from scoring.review_log import (
    APPLICATION_ID,
    GENESIS,
    GUARDS,
    ReviewError,
    against_runs,
    check_heads,
    entry_hash,
    open_log,
    same_log,
    verify,
)
from tests.scoring.test_review import make_run

NOW = datetime(2026, 11, 3, 9, 15, tzinfo=UTC)
V1_SCHEMA = """
CREATE TABLE reviews (
    review_id INTEGER PRIMARY KEY AUTOINCREMENT, run TEXT NOT NULL, person_id TEXT NOT NULL,
    decision TEXT NOT NULL, reason TEXT NOT NULL, reviewer TEXT NOT NULL, recorded_at TEXT NOT NULL);
CREATE INDEX reviews_run_person ON reviews (run, person_id);
CREATE TRIGGER reviews_no_update BEFORE UPDATE ON reviews BEGIN SELECT RAISE(ABORT, 'append-only'); END;
CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews BEGIN SELECT RAISE(ABORT, 'append-only'); END;
PRAGMA user_version = 1;
"""


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path, "2026-11-01", ["P1", "P2", "P3", "P4"])


@pytest.fixture
def log(tmp_path: Path, run_dir: Path) -> Path:
    """A log of three decisions: P1 action, P2 needs-info, P3 no-action."""
    path = tmp_path / "data" / "reviews.sqlite"
    for i, (person, decision) in enumerate((("P1", "action"), ("P2", "needs-info"), ("P3", "no-action"))):
        record_decision(
            path,
            run_dir=run_dir,
            person_id=person,
            decision=decision,
            reason=f"Checked the records of {person}",
            reviewer="PC 123",
            now=NOW + timedelta(minutes=i),
        )
    return path


def unguarded(log: Path) -> sqlite3.Connection:
    """A plain connection to the log with its guards dropped: what a determined editor would do."""
    conn = sqlite3.connect(log, isolation_level=None)
    for name in GUARDS:
        conn.execute(f"DROP TRIGGER {name}")
    return conn


def invoke(*args: object) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_an_untouched_log_verifies_and_chains_from_genesis(log: Path) -> None:
    check = verify(log)
    assert check.ok and check.entries == 3 and check.problems == ()
    rows = sqlite3.connect(log).execute("SELECT review_id, prev_hash, entry_hash FROM reviews").fetchall()
    assert rows[0][1] == GENESIS
    assert [r[1] for r in rows[1:]] == [r[2] for r in rows[:-1]]
    assert check.head == rows[-1][2]


@pytest.mark.parametrize("verb", ["REPLACE INTO", "INSERT OR REPLACE INTO"])
def test_replace_cannot_overwrite_a_recorded_review(log: Path, verb: str) -> None:
    conn = sqlite3.connect(log)
    statement = (
        f"{verb} reviews (review_id, run, person_id, decision, reason, reviewer, recorded_at, prev_hash, "
        "entry_hash) SELECT review_id, run, person_id, 'action', 'forged', 'someone else', recorded_at, "
        "prev_hash, entry_hash FROM reviews WHERE review_id = 3"
    )
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute(statement)
    conn.close()
    assert decisions(log)["decision"].tolist() == ["action", "needs-info", "no-action"]
    assert verify(log).ok


def test_replace_from_the_sqlite3_shell_is_refused_too(log: Path) -> None:
    done = subprocess.run(
        [
            "sqlite3",
            str(log),
            "REPLACE INTO reviews SELECT review_id, run, person_id, 'action', 'forged', "
            "reviewer, recorded_at, prev_hash, entry_hash FROM reviews WHERE review_id = 2;",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0 and "append-only" in done.stderr
    assert decisions(log)["reason"].tolist()[1] == "Checked the records of P2"


def test_an_insert_must_continue_the_chain(log: Path) -> None:
    conn = sqlite3.connect(log)
    with pytest.raises(sqlite3.DatabaseError, match="hash-chained"):
        conn.execute(
            "INSERT INTO reviews VALUES (4, '2026-11-01', 'P4', 'action', 'made up', 'x', 't', ?, ?)",
            (GENESIS, "f" * 64),
        )
    conn.close()


def test_an_edit_around_the_guards_is_named(log: Path) -> None:
    conn = unguarded(log)
    conn.execute("UPDATE reviews SET decision = 'action', reviewer = 'someone else' WHERE review_id = 2")
    conn.close()
    check = verify(log)
    assert not check.ok and check.first_bad == 2
    assert check.problems[0] == "entry 2 was edited: its content no longer matches its hash"
    assert any("guard reviews_no_update was removed" in p for p in check.problems)


def test_a_deleted_entry_is_named(log: Path) -> None:
    conn = unguarded(log)
    conn.execute("DELETE FROM reviews WHERE review_id = 2")
    conn.close()
    check = verify(log)
    assert check.first_bad == 2
    assert check.problems[0] == "entry 2 is missing (the next entry is 3): entries were deleted"


def test_entries_cut_off_the_end_are_found(log: Path) -> None:
    conn = unguarded(log)
    conn.execute("DELETE FROM reviews WHERE review_id = 3")
    for name, body in GUARDS.items():  # put the guards back: only the tail is gone
        conn.execute(f"CREATE TRIGGER {name} {body}")
    conn.close()
    check = verify(log)
    assert not check.ok and check.first_bad == 3
    assert check.problems == ("entries after 2 were deleted (ids up to 3 were given out)",)


def test_an_inserted_entry_is_found(log: Path) -> None:
    conn = unguarded(log)
    conn.execute("UPDATE reviews SET review_id = review_id + 1 WHERE review_id = 3")
    row = conn.execute("SELECT entry_hash FROM reviews WHERE review_id = 2").fetchone()
    fields = ("2026-11-01", "P4", "action", "slipped in", "PC 999", "2026-11-03T09:20:00+00:00")
    conn.execute(
        "INSERT INTO reviews VALUES (3, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*fields, row[0], entry_hash(3, fields, row[0])),
    )
    conn.close()
    check = verify(log)
    assert check.first_bad == 4
    assert check.problems[0].startswith("entry 4 was edited") or "does not follow" in check.problems[0]


def test_swapped_entries_are_found(log: Path) -> None:
    conn = unguarded(log)
    conn.execute("UPDATE reviews SET review_id = 99 WHERE review_id = 1")
    conn.execute("UPDATE reviews SET review_id = 1 WHERE review_id = 2")
    conn.execute("UPDATE reviews SET review_id = 2 WHERE review_id = 99")
    conn.close()
    check = verify(log)
    assert not check.ok and check.first_bad == 1


def test_a_complete_rewrite_is_caught_against_a_recorded_head(log: Path) -> None:
    head = verify(log).head_record()
    conn = unguarded(log)
    rows = conn.execute("SELECT * FROM reviews ORDER BY review_id").fetchall()
    conn.execute("DELETE FROM reviews")
    prev = GENESIS
    for row in rows:  # every hash recomputed after changing entry 2's decision
        fields = list(row[1:7])
        if row[0] == 2:
            fields[2] = "action"
        digest = entry_hash(row[0], fields, prev)
        conn.execute(
            "INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (row[0], *fields, prev, digest)
        )
        prev = digest
    for name, body in GUARDS.items():
        conn.execute(f"CREATE TRIGGER {name} {body}")
    conn.close()
    assert verify(log).ok  # the chain alone cannot tell
    problems = check_heads(log, [("run 2026-11-01", head)])
    assert len(problems) == 1 and "run 2026-11-01 recorded entry 3" in problems[0]


def test_another_database_is_refused_and_left_untouched(tmp_path: Path, run_dir: Path) -> None:
    other = tmp_path / "mlflow.db"
    conn = sqlite3.connect(other)
    conn.executescript("CREATE TABLE experiments (id INTEGER); CREATE TABLE runs (id INTEGER);")
    conn.close()
    before = other.read_bytes()
    with pytest.raises(ReviewError, match="is not a harmrank review log"):
        record_decision(
            other, run_dir=run_dir, person_id="P1", decision="action", reason="Checked it", reviewer="PC 1"
        )
    assert other.read_bytes() == before
    tables = {
        r[0] for r in sqlite3.connect(other).execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    assert tables == {"experiments", "runs"}


def test_a_log_is_recognised_by_its_application_id(log: Path, tmp_path: Path) -> None:
    assert sqlite3.connect(log).execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    stranger = tmp_path / "stranger.sqlite"
    conn = sqlite3.connect(stranger)
    conn.executescript("PRAGMA application_id = 1234; CREATE TABLE reviews (x);")
    conn.close()
    with pytest.raises(ReviewError, match="application id is not harmrank's"):
        open_log(stranger)


def test_a_first_version_log_is_upgraded_with_its_decisions_kept(tmp_path: Path, run_dir: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.execute(
        "INSERT INTO reviews (run, person_id, decision, reason, reviewer, recorded_at) VALUES "
        "('2026-11-01', 'P1', 'action', 'Old reason', 'PC 1', '2026-11-02T10:00:00+00:00')"
    )
    conn.commit()
    conn.close()
    record_decision(
        path, run_dir=run_dir, person_id="P2", decision="no-action", reason="New one", reviewer="PC 2"
    )
    frame = decisions(path)
    assert frame["reason"].tolist() == ["Old reason", "New one"] and frame["review_id"].tolist() == [1, 2]
    assert verify(path).ok


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reason", "\u200b\u200b"),  # zero-width spaces
        ("reason", "\ufeff"),  # a byte-order mark
        ("reason", "."),
        ("reason", " - "),
        ("reviewer", "\u200b"),
        ("reviewer", "\u2060."),  # word joiner and a full stop
    ],
)
def test_invisible_or_empty_text_is_refused_like_an_empty_one(
    tmp_path: Path, run_dir: Path, field: str, value: str
) -> None:
    path = tmp_path / "reviews.sqlite"
    given = {"reason": "Checked the records", "reviewer": "PC 1"} | {field: value}
    with pytest.raises(ReviewError, match="once invisible characters are set aside"):
        record_decision(path, run_dir=run_dir, person_id="P1", decision="action", **given)
    assert decisions(path).empty


def test_invisible_characters_are_not_stored(tmp_path: Path, run_dir: Path) -> None:
    path = tmp_path / "reviews.sqlite"
    record_decision(
        path,
        run_dir=run_dir,
        person_id="P1",
        decision="action",
        reason="\ufeffSeen\u200b twice\x1b[31m",
        reviewer=" PC\u200d 1 ",
    )
    row = decisions(path).iloc[0]
    assert (row["reason"], row["reviewer"]) == ("Seen twice[31m", "PC 1")


def test_verify_log_command_exits_1_naming_the_first_bad_entry(log: Path) -> None:
    result = invoke("verify-log", "--log", log, "--config", log.parent / "no-such-config.yaml")
    assert result.exit_code == 0, result.output
    assert "3 entries" in result.output and "Review log intact" in result.output
    conn = unguarded(log)
    conn.execute("UPDATE reviews SET reason = 'rewritten' WHERE review_id = 1")
    conn.close()
    result = invoke("verify-log", "--log", log, "--config", log.parent / "no-such-config.yaml")
    assert result.exit_code == 1
    assert "entry 1 was edited" in result.output and "tampered with" in result.output


def test_verify_log_refuses_a_file_that_is_not_a_log(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).executescript("CREATE TABLE t (x);")
    result = invoke("verify-log", "--log", other, "--config", tmp_path / "none.yaml")
    assert result.exit_code != 0
    assert isinstance(result.exception, ReviewError) or "not a harmrank review log" in result.output


def test_status_says_when_the_log_was_tampered_with(log: Path, run_dir: Path) -> None:
    ok = invoke("status", run_dir, "--log", log)
    assert ok.exit_code == 0 and "Review log intact: 3 entries" in ok.output
    conn = unguarded(log)
    conn.execute("DELETE FROM reviews WHERE review_id = 1")
    conn.close()
    result = invoke("status", run_dir, "--log", log)
    assert result.exit_code == 1
    assert "entry 1 is missing" in result.output


def test_a_failure_after_recording_still_says_the_decision_was_stored(
    log: Path, run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scoring.cli.review as cli_review

    def broken(*_: object) -> None:
        raise OSError("disk full while checking")

    monkeypatch.setattr(cli_review, "verify", broken)
    result = invoke(
        "review",
        run_dir,
        "P4",
        "--decision",
        "action",
        "--reason",
        "Checked",
        "--reviewer",
        "PC 5",
        "--log",
        log,
    )
    assert result.exit_code == 1
    assert "Recorded review #4: P4 on run 2026-11-01: action by PC 5." in result.output
    assert "The decision is recorded (review #4)" in result.output
    assert decisions(log)["person_id"].tolist()[-1] == "P4"


def test_writers_at_the_same_time_keep_one_chain(tmp_path: Path, run_dir: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "busy.sqlite"

    def write(i: int) -> int:
        return record_decision(
            path,
            run_dir=run_dir,
            person_id=f"P{1 + i % 4}",
            decision="needs-info",
            reason=f"Check number {i}",
            reviewer="PC 1",
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = list(pool.map(write, range(30)))
    assert sorted(ids) == list(range(1, 31))
    check = verify(path)
    assert check.ok and check.entries == 30


def manifest_with_head(runs: Path, as_of: str, log: Path | str, entries: int, digest: str) -> None:
    folder = runs / as_of
    folder.mkdir(parents=True, exist_ok=True)
    head = {"entries": entries, "hash": digest, "intact": True}
    (folder / "manifest.json").write_text(json.dumps({"review_log": str(log), "review_log_head": head}))


def test_a_run_compares_the_log_with_the_heads_earlier_runs_recorded(
    log: Path, tmp_path: Path, run_dir: Path
) -> None:
    runs = tmp_path / "runs"
    check = verify(log)
    manifest_with_head(runs, "2026-10-01", log, 3, check.head)
    assert against_runs(check, log, runs) == (check, None)  # as the runs recorded it
    log.unlink()  # the log put back from a copy older than the run: one decision, guards and chain whole
    record_decision(
        log, run_dir=run_dir, person_id="P1", decision="action", reason="Checked", reviewer="PC 123", now=NOW
    )
    cut = verify(log)
    checked, note = against_runs(cut, log, runs)
    assert cut.ok and not checked.ok and note is None  # the chain alone cannot tell; the recorded head can
    assert "run 2026-10-01 recorded 3 entries; the log now has 1: entries were deleted" in checked.summary()


def test_a_run_says_when_the_last_decisions_were_recorded_in_another_log(log: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    manifest_with_head(runs, "2026-09-01", tmp_path / "older.sqlite", 0, GENESIS)
    manifest_with_head(runs, "2026-10-01", log, 3, verify(log).head)
    elsewhere = tmp_path / "configs" / "data" / "reviews.sqlite"  # a config whose paths now resolve elsewhere
    checked, note = against_runs(verify(elsewhere), elsewhere, runs)
    assert checked.ok and note is not None
    assert note == (
        f"the review log is {elsewhere} (0 entries), but run 2026-10-01 read 3 entries in {log}: if the log "
        "has moved, point scoring.review_log at it (a config's relative paths are taken from its root)"
    )
    assert not elsewhere.exists()  # looking does not create it
    url = "postgresql+psycopg://harmrank:s3cret@db/service"  # a manifest holds it without the password
    assert same_log(url, "postgresql+psycopg://harmrank:***@db/service")
