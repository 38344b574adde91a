"""File-system helpers: writing tables and run directories, hashing inputs.

Run directories are written to a temporary sibling and renamed into place when
complete, so a crash never leaves a half-written run. Everything in a run directory
is readable by its owner only: the list holds personal data.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pandas as pd

from features.errors import PipelineError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""First characters that make a spreadsheet read a cell as a formula (OWASP's list: = + - @, tab
and carriage return, and their full-width forms, which some spreadsheets also accept)."""


DEATHS_DIR = "deaths"
"""The deaths report's folder inside a run directory (`harmrank deaths`); a list run keeps it."""


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell that a spreadsheet would run as a formula made inert.

    OWASP's guidance on CSV injection: a cell that starts with one of :data:`FORMULA_STARTS` gets
    a leading single quote (``=1+2`` is written ``'=1+2``), which spreadsheets show as text; the
    writer quotes any cell that holds a comma, quote or line break. Only text columns change:
    numbers, dates and booleans are written as they are (a negative number stays a number).
    Parquet files keep the raw values.
    """
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            text = values.astype("str")
            risky = values.notna() & text.str.startswith(FORMULA_STARTS)
            if risky.any():
                out[col] = values.where(~risky, "'" + text)
    return out


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if needed and make it owner-only (0700)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def owner_only_file(path: Path) -> None:
    """Create an empty file at ``path`` readable by its owner only (0600, in a 0700 folder made if
    missing); a file already there (another process may just have made it) is left as it is."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
    except FileExistsError:
        return
    os.chmod(path, 0o600)


def write_csv(frame: pd.DataFrame, path: Path, **options: object) -> Path:
    """Write ``frame`` as UTF-8 CSV with ``\\n`` line ends, safe to open in a spreadsheet; owner-only."""
    spreadsheet_safe(frame).to_csv(path, index=False, lineterminator="\n", encoding="utf-8", **options)
    os.chmod(path, 0o600)
    return path


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV (dates as YYYY-MM-DD, formulas made inert) or Parquet (values as
    they are), chosen by the suffix of ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
        os.chmod(path, 0o600)
    else:
        out = frame.copy()
        for col in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[col]):
                out[col] = out[col].dt.strftime("%Y-%m-%d")
        write_csv(out, path)
    return path


def write_text(text: str, path: Path) -> Path:
    """Write ``text`` (UTF-8) to ``path``; owner-only."""
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o600)
    return path


def write_json(data: Any, path: Path) -> Path:
    """Write ``data`` as stable, indented JSON; owner-only."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.chmod(path, 0o600)
    return path


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def owner_only(root: Path) -> None:
    """Make ``root`` (a file, or a folder and everything in it) readable by its owner only."""
    if not root.is_dir():
        os.chmod(root, 0o600)
        return
    os.chmod(root, 0o700)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            os.chmod(Path(dirpath) / name, 0o700)
        for name in filenames:
            os.chmod(Path(dirpath) / name, 0o600)


def _staging(name: str, kind: str) -> str:
    """The name prefix of the folders :func:`atomic_directory` stages ``name`` in: ``kind`` is
    ``partial`` (the new directory being written) or ``old`` (the previous one, set aside)."""
    return f".{name}.{kind}-"


class RunLocked(PipelineError):
    """Another harmrank process is writing the same run."""


@contextmanager
def run_lock(runs_dir: Path, name: str) -> Iterator[list[str]]:
    """Hold the lock of run ``name`` in ``runs_dir`` while it is computed and written.

    A second process asking for the same run is refused at once with :class:`RunLocked`, naming
    the process that holds it (an operating-system lock on ``runs_dir/.<name>.lock``, released
    when the holder ends, even when it is killed). Holding the lock, the staging folders an
    interrupted run of ``name`` left behind are cleaned up: a set-aside previous run is put back
    when the run it was replacing never arrived, the rest is removed. Yields what was done, one
    sentence each, for the caller to report.
    """
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    path = runs_dir / f".{name}.lock"
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (closed in the finally below)
    try:
        os.chmod(path, 0o600)
        if not _try_lock(handle):
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunLocked(
                f"another harmrank run for {name} is writing {runs_dir} ({holder}); wait for it to finish, "
                f"or stop it. The lock is {path}; it is released when that process ends."
            )
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {datetime.now(UTC).isoformat(timespec='seconds')}\n")
        handle.flush()
        yield _clean_staging(runs_dir, name)
    finally:
        handle.close()  # releases the lock


def _try_lock(handle: IO[str]) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows: a byte-range lock on the file instead
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def tidy_staging(folder: Path, name: str) -> list[str]:
    """Tidy what an interrupted :func:`atomic_directory` of ``folder/name`` left: a set-aside
    previous directory is put back when the new one never arrived, the rest is removed. Call it
    holding the lock of the job that writes ``folder/name``; returns what was done."""
    return _clean_staging(Path(folder), name) if Path(folder).is_dir() else []


def _clean_staging(runs_dir: Path, name: str) -> list[str]:
    """Tidy what an interrupted :func:`atomic_directory` of ``runs_dir/name`` left (see :func:`run_lock`)."""
    done = []
    target = runs_dir / name
    for folder in sorted(runs_dir.glob(_staging(name, "old") + "*")):
        kept = folder / name
        if not target.exists() and kept.is_dir():
            kept.rename(target)
            done.append(f"put back {target}, which an interrupted run had set aside in {folder.name}")
        shutil.rmtree(folder, ignore_errors=True)
        done.append(f"removed {folder.name}, left by an interrupted run")
    for folder in sorted(runs_dir.glob(_staging(name, "partial") + "*")):
        shutil.rmtree(folder, ignore_errors=True)
        done.append(f"removed {folder.name}, a run directory an interrupted run never finished")
    return done


@contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``target`` only if the block completes.

    On an exception the temporary directory is removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=_staging(target.name, "partial"), dir=target.parent))
    try:
        yield staging
        owner_only(staging)
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=_staging(target.name, "old"), dir=target.parent))
            target.rename(retired / target.name)
            staging.rename(target)
            shutil.rmtree(retired)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
