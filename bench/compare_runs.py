"""Compare two run directories file by file: are they the same apart from wall-clock timings?

    python bench/compare_runs.py runs/2026-11-01 /elsewhere/runs/2026-11-01

Every file of either directory is compared byte for byte. A JSON file that differs is compared
again without its wall-clock fields (``created_at`` and any key ending in ``_seconds``), and the
paths of the values that still differ are printed with both values; a Parquet file that differs
is compared as a table, to say whether its rows or only its metadata differ; for any
other file the first differing line is printed. ``mlflow.json`` (the tracking store's run id and
version) is skipped: it describes the store, not the run.

Exit status: 0 when every file is the same (or differs only in wall-clock fields), 1 otherwise.
Used to show that moving code changed no output; prints what it found.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

WALL_CLOCK = ("created_at",)
SKIPPED = ("mlflow.json",)
SHOWN = 8  # differing values printed per file


def _strip_clock(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip_clock(v) for k, v in value.items() if k not in WALL_CLOCK and not k.endswith("_seconds")
        }
    if isinstance(value, list):
        return [_strip_clock(v) for v in value]
    return value


def _json_differences(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(f"{path}.{key}: only in {'second' if key not in a else 'first'}")
            else:
                out += _json_differences(a[key], b[key], f"{path}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items against {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _json_differences(x, y, f"{path}[{i}]")
        ]
    if a != b and not (isinstance(a, float) and isinstance(b, float) and a != a and b != b):
        return [f"{path}: {a!r} against {b!r}"]
    return []


def _text_difference(a: bytes, b: bytes) -> str:
    la, lb = a.decode("utf-8", "replace").splitlines(), b.decode("utf-8", "replace").splitlines()
    for i, (x, y) in enumerate(zip(la, lb, strict=False), start=1):
        if x != y:
            return f"line {i}:\n    - {x[:200]}\n    + {y[:200]}"
    return f"{len(la)} lines against {len(lb)}"


def compare(first: Path, second: Path) -> int:
    """Print the comparison of two run directories; return the number of files that differ."""
    names = sorted(
        {p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file()}
        | {p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file()}
    )
    differing = same = clock_only = 0
    for name in names:
        if Path(name).name in SKIPPED:
            continue
        a, b = first / name, second / name
        if not a.is_file() or not b.is_file():
            print(f"DIFFERENT {name}: only in {'first' if a.is_file() else 'second'}")
            differing += 1
            continue
        ba, bb = a.read_bytes(), b.read_bytes()
        if ba == bb:
            same += 1
            continue
        if name.endswith(".json"):
            diffs = _json_differences(_strip_clock(json.loads(ba)), _strip_clock(json.loads(bb)))
            if not diffs:
                clock_only += 1
                print(f"same but wall-clock fields: {name}")
                continue
            print(f"DIFFERENT {name}: {len(diffs)} value(s)")
            for d in diffs[:SHOWN]:
                print(f"    {d}")
        elif name.endswith(".parquet"):
            fa, fb = pd.read_parquet(a), pd.read_parquet(b)
            what = "same rows, different file metadata" if fa.equals(fb) else "the tables differ"
            print(f"DIFFERENT {name}: {what}")
        else:
            print(f"DIFFERENT {name}: {_text_difference(ba, bb)}")
        differing += 1
    print(
        f"{same} file(s) byte-identical, {clock_only} differing only in wall-clock fields, "
        f"{differing} different"
    )
    return differing


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    args = parser.parse_args()
    for run in (args.first, args.second):
        if not run.is_dir():
            sys.exit(f"{run} is not a directory")
    sys.exit(1 if compare(args.first, args.second) else 0)


if __name__ == "__main__":
    main()
