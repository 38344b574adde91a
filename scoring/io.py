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
from pathlib import Path
from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""First characters that make a spreadsheet read a cell as a formula (OWASP's list: = + - @, tab
and carriage return, and their full-width forms, which some spreadsheets also accept)."""


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


def write_csv(frame: pd.DataFrame, path: Path, **options: object) -> Path:
    """Write ``frame`` as UTF-8 CSV with ``\\n`` line ends, safe to open in a spreadsheet."""
    spreadsheet_safe(frame).to_csv(path, index=False, lineterminator="\n", encoding="utf-8", **options)
    return path


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV (dates as YYYY-MM-DD, formulas made inert) or Parquet (values as
    they are), chosen by the suffix of ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        out = frame.copy()
        for col in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[col]):
                out[col] = out[col].dt.strftime("%Y-%m-%d")
        write_csv(out, path)
    return path


def write_json(data: Any, path: Path) -> Path:
    """Write ``data`` as stable, indented JSON."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return path


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _owner_only(root: Path) -> None:
    os.chmod(root, 0o700)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            os.chmod(Path(dirpath) / name, 0o700)
        for name in filenames:
            os.chmod(Path(dirpath) / name, 0o600)


@contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``target`` only if the block completes.

    On an exception the temporary directory is removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        yield staging
        _owner_only(staging)
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            target.rename(retired / target.name)
            staging.rename(target)
            shutil.rmtree(retired)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
