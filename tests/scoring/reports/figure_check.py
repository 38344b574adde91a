"""Check every sourced figure of an equality page against the audit outputs written beside it.

The report marks each figure cell with ``data-src``: a JSON key path into audit.json or the audit's
Parquet tables (``["groups", scope, characteristic, group, metric, k]``, ``["disparities", ...]``,
``["gate", characteristic, group, metric, column]``, ``["makeup", characteristic, group, column]``,
``["coverage", month, characteristic]``, ``["drivers", table, characteristic, group, column]``).
This reads the number shown, reads the value at that
path, and checks that the shown number is the value rounded to the decimals shown (and that
"suppressed" is shown exactly where the data is suppressed). It never calls the report's own
formatting code, so a wrong lookup or a wrong format both fail.
"""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd

NUMBER = re.compile(r"^(<\s*)?([-+]?[\d,]*\.?\d+)(%?)")


class _Cells(HTMLParser):
    """(data-src, main text, sub texts) of every <td> carrying a data-src."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[list[Any], str, list[str]]] = []
        self._src: str | None = None
        self._main: list[str] = []
        self._subs: list[str] = []
        self._in_sub = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "td" and a.get("data-src"):
            self._src, self._main, self._subs = a["data-src"], [], []
        elif tag == "span" and self._src is not None and "sub" in (a.get("class") or ""):
            self._in_sub = True
            self._subs.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._in_sub:
            self._in_sub = False
        elif tag == "td" and self._src is not None:
            self.cells.append((json.loads(self._src), "".join(self._main).strip(), self._subs))
            self._src = None

    def handle_data(self, data: str) -> None:
        if self._src is None:
            return
        if self._in_sub:
            self._subs[-1] += data
        else:
            self._main.append(data)


def cells(html: str) -> list[tuple[list[Any], str, list[str]]]:
    parser = _Cells()
    parser.feed(html)
    return parser.cells


def _matches(shown: str, value: Any) -> bool:
    """The shown number is ``value`` rounded to the shown decimals (percentages of a share)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return shown in ("–", "")
    m = NUMBER.match(shown.replace("−", "-"))
    if not m:
        return False
    below, number, pct = m.groups()
    x = float(number.replace(",", ""))
    v = float(value) * (100 if pct else 1)
    if below:
        return v < x
    decimals = len(number.split(".")[1]) if "." in number else 0
    return abs(x - v) <= 0.5 * 10**-decimals + 1e-9


def _interval(sub: list[str], lo: Any, hi: Any) -> bool:
    """The first sub line, when it is a bracketed interval, matches (lo, hi)."""
    if not sub or not sub[0].startswith("("):
        return True
    parts = sub[0].strip("()").replace("%", "").split("–")
    if len(parts) != 2:
        return True
    pct = "%" in sub[0]
    return _matches(parts[0] + ("%" if pct else ""), lo) and _matches(parts[1] + ("%" if pct else ""), hi)


def _row(frame: pd.DataFrame, **key: Any) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for col, value in key.items():
        mask &= frame[col].isna() if value is None else (frame[col].astype(object) == value)
    hit = frame[mask]
    assert len(hit) == 1, f"{len(hit)} rows for {key}"
    return hit.iloc[0]


def check_equality_page(run_dir: Path, page: str = "equality.html") -> dict[str, int]:
    """Assert every sourced figure of ``run_dir/page`` equals the audit data; returns counts per source."""
    html = (run_dir / page).read_text(encoding="utf-8")
    document = json.loads((run_dir / "audit.json").read_text())
    tables = {name: pd.read_parquet(run_dir / file) for name, file in document["tables"].items()}
    for name in ("groups", "disparities"):
        tables[name]["k"] = tables[name]["k"].astype(object).where(tables[name]["k"].notna(), None)
    makeup = pd.DataFrame(document["list_makeup"] or [])
    checks = pd.DataFrame(document["gate"]["checks"])
    coverage = pd.DataFrame(document["audit"]["coverage"])
    counted: dict[str, int] = {}
    problems = []
    for src, text, sub in cells(html):
        kind = src[0]
        counted[kind] = counted.get(kind, 0) + 1
        hidden = text.startswith("suppressed")
        if kind in ("groups", "disparities"):
            scope, characteristic, group, metric, k = src[1:]
            row = _row(
                tables[kind], scope=scope, characteristic=characteristic, group=group, metric=metric, k=k
            )
            if bool(row["suppressed"]) != hidden:
                problems.append(f"{src}: shown {text!r}, suppressed={row['suppressed']}")
                continue
            if hidden:
                continue
            value, lo, hi = (
                (row["value"], row["lo"], row["hi"])
                if kind == "groups"
                else (row["ratio"], row["ratio_lo"], row["ratio_hi"])
            )
            flagged = kind == "disparities" and bool(row["flagged"])
            if (
                not _matches(text, value)
                or not _interval(sub, lo, hi)
                or (flagged != text.endswith("flagged"))
            ):
                problems.append(
                    f"{src}: shown {text!r} {sub[:1]}, data {value} ({lo}, {hi}) flagged={flagged}"
                )
        elif kind == "gate":
            characteristic, group, metric, column = src[1:]
            row = _row(checks, characteristic=characteristic, group=group, metric=metric)
            if column == "status":  # the result shown is the gate's, word for word
                if text != row["status"]:
                    problems.append(f"{src}: shown {text!r}, gate says {row['status']!r}")
                continue
            ok = _matches(text, row[column]) and (
                column != "ratio" or _interval(sub, row["ratio_lo"], row["ratio_hi"])
            )
            if not ok:
                problems.append(f"{src}: shown {text!r}, data {row[column]}")
        elif kind == "makeup":
            characteristic, group, column = src[1:]
            row = _row(makeup, characteristic=characteristic, group=group)
            value = row[column]
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            if hidden != missing or (not hidden and not _matches(text, value)):
                problems.append(f"{src}: shown {text!r}, data {value}")
        elif kind == "coverage":
            month, characteristic = src[1:]
            rows = coverage[coverage["characteristic"] == characteristic]
            if month != "all months":
                rows = rows[rows["month"].str[:7] == month]
            share = rows["recorded"].sum() / rows["total"].sum()
            if not _matches(text, share):
                problems.append(f"{src}: shown {text!r}, data {share}")
        elif kind == "drivers":
            table, characteristic, group, column = src[1:]
            frame = pd.DataFrame(document["drivers"][table])
            if table == "family_gaps":
                row = _row(frame, characteristic=characteristic, group=group, family=column)
                value = row["difference"]
            else:
                value = _row(frame, characteristic=characteristic, group=group)[column]
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            if hidden != missing or (not hidden and not _matches(text, value)):
                problems.append(f"{src}: shown {text!r}, data {value}")
        else:
            problems.append(f"unknown source {src}")
    assert not problems, f"{len(problems)} figures differ from the audit data:\n" + "\n".join(problems[:20])
    return counted
