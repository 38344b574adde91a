"""A throwaway PostgreSQL server for the tests: its own data directory, port and database, gone afterwards.

The tests that touch the database run against a real PostgreSQL, not SQLite, so that types,
constraints and transactions behave as they will in the force's deployment. The server comes
from Debian's ``postgresql`` package, which ``make test`` installs (target ``postgres``); only its
programs are used (``initdb``, ``pg_ctl``, ``createdb`` under ``/usr/lib/postgresql/*/bin``), never
the system cluster or its service.

How it starts: a fresh data directory from ``tempfile.mkdtemp``, ``initdb`` with trust
authentication for the user ``harmrank``, then ``pg_ctl start`` on a free TCP port on 127.0.0.1
with its Unix socket in the same directory and ``fsync`` off (nothing here needs to survive a
crash), and finally ``createdb harmrank``. initdb refuses to run as root, so as root the directory
is given to the ``postgres`` system user and every program runs through ``runuser -u postgres``.

How it stops: ``pg_ctl stop -m fast`` and removal of the directory when the ``with`` block ends,
also when the block raised or the server failed to start.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

USER = "harmrank"
DATABASE = "harmrank"
HOST = "127.0.0.1"
#: seconds allowed for each of initdb, start, createdb and stop.
TIMEOUT = 120
LOG_TAIL = 40


def find_bin() -> Path | None:
    """The Debian package's directory holding ``initdb`` and ``pg_ctl``, highest version first."""
    candidates = [Path(p) for p in Path("/usr/lib/postgresql").glob("*/bin")]

    def version(path: Path) -> tuple[int, ...]:
        parts = path.parent.name.split(".")
        return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else (-1,)

    for path in sorted(candidates, key=version, reverse=True):
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    return None


def available() -> bool:
    """Whether a PostgreSQL server can be started here."""
    return find_bin() is not None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _log_tail(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no server log)"
    return "\n".join(lines[-LOG_TAIL:])


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Start a fresh server and yield its SQLAlchemy URL; stop it and delete its files on exit."""
    bindir = find_bin()
    if bindir is None:
        raise RuntimeError("no PostgreSQL under /usr/lib/postgresql/*/bin: run `make postgres`")
    as_root = os.geteuid() == 0
    prefix: list[str] = ["runuser", "-u", "postgres", "--"] if as_root else []
    owner = None
    if as_root:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("as root, the `postgres` system user is needed: run `make postgres`") from None

    datadir = Path(tempfile.mkdtemp(prefix="harmrank-pg-"))
    log = datadir / "log"
    port = _free_port()
    started = False

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        # cwd: the postgres user may not be allowed into the caller's working directory.
        return subprocess.run(
            [*prefix, *args],
            cwd=datadir,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )

    try:
        if owner is not None:
            for root, dirs, files in os.walk(datadir):
                for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                    os.chown(name, owner.pw_uid, owner.pw_gid)

        # --locale=C: the host's LANG may name a locale that is not generated.
        initdb = [str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-U", USER, "-E", "UTF8"]
        init = run(*initdb, "--locale=C", "--no-sync")
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed in {datadir}:\n{init.stdout}{init.stderr}")

        options = f"-p {port} -k {datadir} -c listen_addresses={HOST} -c fsync=off"
        pg_ctl = [str(bindir / "pg_ctl"), "-D", str(datadir)]
        started = True  # from here on stop it: pg_ctl may launch the server and still fail waiting for it
        start = run(*pg_ctl, "-o", options, "-w", "-t", str(TIMEOUT), "-l", str(log), "start")
        if start.returncode != 0:
            raise RuntimeError(
                f"PostgreSQL did not start on port {port}:\n{start.stdout}{start.stderr}\n"
                f"--- server log ---\n{_log_tail(log)}"
            )

        created = run(str(bindir / "createdb"), "-h", HOST, "-p", str(port), "-U", USER, DATABASE)
        if created.returncode != 0:
            raise RuntimeError(
                f"createdb {DATABASE} failed:\n{created.stdout}{created.stderr}\n"
                f"--- server log ---\n{_log_tail(log)}"
            )

        yield f"postgresql+psycopg://{USER}@{HOST}:{port}/{DATABASE}"
    finally:
        try:
            if started and (datadir / "postmaster.pid").exists():
                pg_ctl = [str(bindir / "pg_ctl"), "-D", str(datadir)]
                if run(*pg_ctl, "-m", "fast", "-w", "stop").returncode != 0:
                    run(*pg_ctl, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(datadir, ignore_errors=True)
