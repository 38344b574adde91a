"""The review log's storage: an append-only, hash-chained SQLite file that nobody can rewrite unnoticed.

Two layers protect the record of human review:

- **Guards** (triggers) refuse UPDATE and DELETE, and refuse an INSERT that would take the place of
  a recorded entry (``REPLACE INTO`` and ``INSERT OR REPLACE`` delete the old row without firing a
  delete trigger; the insert trigger stops them first). An insert must also continue the chain.
- **A hash chain** makes tampering evident even by someone who drops the guards. Each entry stores
  the SHA-256 of its own content together with the previous entry's hash; review ids run 1, 2, 3,
  ... with no gap. :func:`verify` recomputes the chain and names the first entry that was edited,
  deleted, inserted or moved. Entries cut off the end leave SQLite's sequence counter ahead of the
  last id. A complete rewrite, every later hash recomputed, is caught against the heads that runs
  record in their manifests (``review_log_head``; see :func:`check_heads`).

The review log of a force on a database server (PostgreSQL) is the ``reviews`` table of the
service database instead (:mod:`scoring.db`): give its URL where a path is asked for
(``scoring.review_log``, ``--log``). The same chain and guards protect it (:mod:`scoring.db.ledger`).

The file is recognised by SQLite's ``application_id``: a database that is not a harmrank review
log (the MLflow store, say) is refused rather than given new tables. A log of the first version
(triggers, no chain) is upgraded in place the first time it is opened for writing.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterable, Mapping
from contextlib import closing
from pathlib import Path

from features.errors import HarmrankError
from scoring.chain import GENESIS, LogCheck, chain_problems, digest
from scoring.io import owner_only_file

APPLICATION_ID = 0x68726B31  # "hrk1"
SCHEMA_VERSION = 2
FIELDS = ("run", "person_id", "decision", "reason", "reviewer", "recorded_at")
COLUMNS = ("review_id", *FIELDS, "prev_hash", "entry_hash")
APPEND_ONLY = (
    "the review log is append-only: a recorded decision cannot be changed or removed; record a new one"
)
OUT_OF_CHAIN = "the review log is hash-chained: a new entry must follow the last one"
GUARDS = {
    "reviews_no_update": f"BEFORE UPDATE ON reviews BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END",
    "reviews_no_delete": f"BEFORE DELETE ON reviews BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END",
    "reviews_no_replace": (
        "BEFORE INSERT ON reviews WHEN EXISTS (SELECT 1 FROM reviews WHERE review_id = NEW.review_id "
        f"OR entry_hash = NEW.entry_hash) BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
    ),
    "reviews_in_chain": (  # (a replacement of a recorded entry is refused by reviews_no_replace)
        "BEFORE INSERT ON reviews WHEN NOT EXISTS (SELECT 1 FROM reviews WHERE review_id = NEW.review_id "
        "OR entry_hash = NEW.entry_hash) AND (NEW.review_id IS NOT (SELECT COALESCE(MAX(review_id), 0) "
        "+ 1 FROM reviews) OR NEW.prev_hash IS NOT (SELECT COALESCE((SELECT entry_hash FROM reviews "
        f"ORDER BY review_id DESC LIMIT 1), '{GENESIS}'))) BEGIN SELECT RAISE(ABORT, '{OUT_OF_CHAIN}'); END"
    ),
}
TABLE = """
CREATE TABLE reviews (
    review_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    run         TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('action', 'no-action', 'needs-info')),
    reason      TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    reviewer    TEXT NOT NULL CHECK (length(trim(reviewer)) > 0),
    recorded_at TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    entry_hash  TEXT NOT NULL UNIQUE
)"""


class ReviewError(HarmrankError):
    """A review cannot be recorded or read: bad run directory, person, decision, reason or log file."""


def entry_hash(review_id: int, fields: Mapping[str, str] | Iterable[str], prev_hash: str) -> str:
    """SHA-256 (hex) of one entry: its id, its fields in :data:`FIELDS` order and the previous hash."""
    values = [fields[f] for f in FIELDS] if isinstance(fields, Mapping) else list(fields)
    return digest(review_id, values, prev_hash)


Location = Path | str
"""Where a review log is: a SQLite file's path, or a database URL (a ``str`` with ``://``)."""


def location(value: object) -> Location:
    """A review log's place from text: a database URL stays text, anything else is a path."""
    from scoring.db import is_url

    return str(value) if is_url(str(value)) else Path(str(value))


def display(path: Location) -> str:
    """A review log's place for messages: a database URL without its password."""
    url = _url(path)
    if url is None:
        return str(path)
    from scoring.db import display_url

    return display_url(url)


def _url(path: object) -> str | None:
    from scoring.db import is_url

    return path if isinstance(path, str) and is_url(path) else None


def _not_a_log(path: Path, why: str) -> ReviewError:
    return ReviewError(
        f"{path} is not a harmrank review log ({why}). Pass the review log's path with --log; "
        "never point it at another database, and never overwrite a review log: it is the record of "
        "human review."
    )


def _install(conn: sqlite3.Connection) -> None:
    conn.execute(TABLE)
    conn.execute("CREATE INDEX reviews_run_person ON reviews (run, person_id)")
    for name, body in GUARDS.items():
        conn.execute(f"CREATE TRIGGER {name} {body}")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _upgrade_v1(conn: sqlite3.Connection) -> None:
    """Chain the entries of a first-version log (guarded by triggers, no hashes), in id order."""
    old = conn.execute(f"SELECT review_id, {', '.join(FIELDS)} FROM reviews ORDER BY review_id").fetchall()
    conn.execute("ALTER TABLE reviews RENAME TO reviews_v1")
    for name in ("reviews_no_update", "reviews_no_delete"):
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    conn.execute("DROP INDEX IF EXISTS reviews_run_person")
    _install(conn)
    prev = GENESIS
    for number, (_, *fields) in enumerate(old, start=1):  # renumbered 1..n in their order
        digest = entry_hash(number, fields, prev)
        conn.execute(
            f"INSERT INTO reviews ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            (number, *fields, prev, digest),
        )
        prev = digest
    conn.execute("DROP TABLE reviews_v1")


def open_log(path: Path, *, create: bool = True) -> sqlite3.Connection:
    """Open the review log at ``path``; create it (owner-only, 0600 in a 0700 folder) if asked.

    Raises
    ------
    ReviewError
        ``path`` is a directory, does not exist (with ``create=False``), or is a database that
        is not a harmrank review log.
    """
    path = Path(path)
    if path.is_dir():
        raise ReviewError(
            f"The review log {path} is a directory; pass the path of a .sqlite file with --log."
        )
    if not path.exists():
        if not create:
            raise ReviewError(f"There is no review log at {path}; pass the review log's path with --log.")
        owner_only_file(path)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        if _state(conn)[:2] == (APPLICATION_ID, SCHEMA_VERSION):
            return conn
        conn.execute("BEGIN IMMEDIATE")  # set up or upgrade once, even with two processes at it
        app, version, tables = _state(conn)
        if app == APPLICATION_ID and version > SCHEMA_VERSION:
            raise ReviewError(
                f"{path} was written by a newer harmrank (log version {version}); upgrade harmrank."
            )
        if (app, version) == (APPLICATION_ID, SCHEMA_VERSION):
            pass  # another process set it up meanwhile
        elif app == 0 and not tables:
            _install(conn)  # a new, empty file
        elif app == 0 and version == 1 and "reviews" in tables and tables <= {"reviews", "sqlite_sequence"}:
            _upgrade_v1(conn)
        else:
            why = "its SQLite application id is not harmrank's" if app else "it holds other tables"
            raise _not_a_log(path, why)
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _not_a_log(path, str(exc)) from None
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()
        raise
    return conn


def _state(conn: sqlite3.Connection) -> tuple[int, int, set[str]]:
    """The file's application id, schema version and table names."""
    app, version = (conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("application_id", "user_version"))
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return int(app), int(version), tables


def append(path: Location, fields: Mapping[str, str]) -> tuple[int, str]:
    """Append one entry (the :data:`FIELDS`) to the log; return its review id and hash."""
    url = _url(path)
    if url is not None:
        from scoring.db import ensure, ledger

        ensure(url)
        return ledger.append(url, "reviews", fields)
    with closing(open_log(Path(path))) as conn:
        conn.execute("BEGIN IMMEDIATE")  # one writer at a time: the chain has one head
        try:
            last = conn.execute("SELECT review_id, entry_hash FROM reviews ORDER BY review_id DESC LIMIT 1")
            number, prev = last.fetchone() or (0, GENESIS)
            review_id = int(number) + 1
            digest = entry_hash(review_id, fields, prev)
            conn.execute(
                f"INSERT INTO reviews ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                (review_id, *(fields[f] for f in FIELDS), prev, digest),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return review_id, digest


def entries(path: Location) -> list[tuple]:
    """Every entry as stored (:data:`COLUMNS`), ordered by review id; none when the log does not exist."""
    url = _url(path)
    if url is not None:
        from scoring.db import ensure, ledger

        ensure(url)
        return [tuple(r[c] for c in COLUMNS) for r in ledger.rows(url, "reviews")]
    if not Path(path).exists():
        return []
    with closing(open_log(Path(path), create=False)) as conn:
        return conn.execute(f"SELECT {', '.join(COLUMNS)} FROM reviews ORDER BY review_id").fetchall()


def verify(path: Location) -> LogCheck:
    """Check the whole log: guards in place, ids without gaps, every hash, the chain, the tail.

    A log that does not exist yet is intact and empty. Raises :class:`ReviewError` when ``path``
    is not a harmrank review log.
    """
    url = _url(path)
    if url is not None:
        from scoring.db import ensure, ledger

        ensure(url)
        return ledger.verify(url, "reviews", "review log")
    path = Path(path)
    if not path.exists():
        return LogCheck(str(path), True, 0, GENESIS)
    with closing(open_log(path, create=False)) as conn:
        rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM reviews ORDER BY review_id").fetchall()
        triggers = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall())
        seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'reviews'").fetchone()
    problems, first_bad, head = chain_problems(rows)
    for name, body in GUARDS.items():
        if name not in triggers:
            problems.append(f"the guard {name} was removed: the log could be changed in place")
        elif " ".join(str(triggers[name]).split()) != " ".join(f"CREATE TRIGGER {name} {body}".split()):
            problems.append(f"the guard {name} was altered")
    last_id = int(rows[-1][0]) if rows else 0
    if seq is not None and int(seq[0]) > last_id and not problems:
        problems.append(f"entries after {last_id} were deleted (ids up to {int(seq[0])} were given out)")
        first_bad = last_id + 1
    return LogCheck(str(path), not problems, len(rows), head, tuple(problems), first_bad)


def check_heads(path: Location, heads: Iterable[tuple[str, Mapping[str, object]]]) -> list[str]:
    """Compare the log with heads recorded earlier (``(where, {"entries": n, "hash": h})``).

    Each recorded head says that entry ``n`` had hash ``h``; a log rewritten since (every later
    hash recomputed) or cut short no longer has it. Returns one problem per head that fails.
    """
    rows = entries(path)
    by_id = {int(r[0]): r[-1] for r in rows}
    problems = []
    for where, head in heads:
        n, digest = int(str(head.get("entries") or 0)), str(head.get("hash", ""))
        if n == 0:
            continue
        if n not in by_id:
            problems.append(
                f"{where} recorded {n:,} entries; the log now has {len(rows):,}: entries were deleted"
            )
        elif by_id[n] != digest:
            problems.append(
                f"{where} recorded entry {n} with hash {digest[:12]}…; the log now has another: rewritten"
            )
    return problems


def same_log(a: Location, b: Location) -> bool:
    """Whether two places name one log: paths resolved, URLs compared without their passwords (a
    manifest records a URL as :func:`display` shows it)."""
    if isinstance(a, str) or isinstance(b, str):
        return display(a) == display(b)
    return Path(a).resolve() == Path(b).resolve()


def recorded_heads(runs_dir: Path) -> list[tuple[str, Location, dict[str, object]]]:
    """``(run, log, head)`` that each run in ``runs_dir`` recorded in its manifest, oldest first
    (runs without a manifest, a review log or a head are left out)."""
    heads = []
    for manifest in sorted(Path(runs_dir).glob("*/manifest.json")):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        head, log = data.get("review_log_head"), data.get("review_log")
        if isinstance(head, dict) and log:
            heads.append((f"run {manifest.parent.name}", location(log), head))
    return heads


def heads_of(
    log: Location, earlier: Iterable[tuple[str, Location, dict[str, object]]]
) -> list[tuple[str, dict[str, object]]]:
    """``(run, head)`` of those :func:`recorded_heads` recorded for ``log`` (for :func:`check_heads`)."""
    return [(run, head) for run, at, head in earlier if same_log(at, log)]


def against_runs(check: LogCheck, log: Location, runs_dir: Path) -> tuple[LogCheck, str | None]:
    """``check`` of ``log`` with the heads that runs in ``runs_dir`` recorded for it compared (a log
    cut short or rewritten since then fails), and a note when the latest run that recorded decisions
    recorded them in another log (the log moved, or the config points elsewhere: decisions already
    made would otherwise look like none)."""
    earlier = recorded_heads(runs_dir)
    problems = check_heads(log, heads_of(log, earlier))
    if problems:
        check = dataclasses.replace(check, ok=False, problems=(*check.problems, *problems))
    decided = [(run, at, head) for run, at, head in earlier if int(str(head.get("entries") or 0)) > 0]
    if not decided or same_log(decided[-1][1], log):
        return check, None
    run, at, head = decided[-1]
    return check, (
        f"the review log is {display(log)} ({check.entries:,} entries), but {run} read "
        f"{int(str(head['entries'])):,} entries in {display(at)}: if the log has moved, point "
        "scoring.review_log at it (a config's relative paths are taken from its root)"
    )
