"""Vectorised parsing of columns as the records contract reads them, and row defects.

Each parser takes a column as read (all text from CSV, or native types from Parquet) and
returns numpy arrays plus masks of the values that do not parse. Columns with few distinct
values (dates, booleans, codes) are parsed through their distinct values, so a 30M-row
column costs one hash pass. Ids are matched with Arrow hash kernels. :class:`Defects`
collects each check's mask and writes reasons only for the rows that fail. No per-row
Python except over failing rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.records.schema import FALSE_WORDS, TRUE_WORDS

NAT = np.datetime64("NaT", "D")
_SHOWN = 40  # longest value quoted in a reason
_ISO_DATE = r"\d{4}-\d{2}-\d{2}"


def _as_str(s: pd.Series) -> pd.Series:
    """Any column as ``str`` (whole floats as integers, nulls as NaN), not stripped."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(s.cat.categories.dtype)
    if pd.api.types.is_float_dtype(s.dtype):
        given = s.dropna()
        if np.isfinite(given).all() and (given == given.round()).all():
            s = s.astype("Int64")
    return s if isinstance(s.dtype, pd.StringDtype) else s.astype("str")


def as_text(s: pd.Series) -> pd.Series:
    """Values as stripped ``str``, NaN where missing (empty, blank or null).

    Shares the input's memory when nothing needs changing (the usual case).
    """
    s = _as_str(s)
    stripped = s.str.strip()
    if bool(((stripped != s) & s.notna()).any()):
        s = stripped
    del stripped
    empty = (s == "").to_numpy(dtype=bool, na_value=False)
    return s.where(~empty) if empty.any() else s


def coded(s: pd.Series, lower: bool = False) -> tuple[np.ndarray, pd.Index]:
    """Codes and distinct values of a low-cardinality column.

    Returns
    -------
    codes : numpy.ndarray
        Position of each row's value in ``uniques``; -1 where missing or blank.
    uniques : pandas.Index
        Distinct values as given, stripped (and lower-cased if ``lower``).
    """
    codes, uniques = pd.factorize(_as_str(s))
    values = pd.Index(uniques, dtype="str").str.strip()
    if lower:
        values = values.str.lower()
    blank = np.asarray(values.isna() | (values == ""), dtype=bool)
    if blank.any():
        codes = np.where(np.append(blank, True)[codes], -1, codes)
    return codes, values


def parse_dates(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Calendar days (``datetime64[D]``; NaT where missing or bad) and the bad mask.

    Text must be ISO ``YYYY-MM-DD`` exactly and a real date. Native dates and timestamps
    (Parquet) are taken at their calendar day, time zones dropped.
    """
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("date", "datetime"):
        s = pd.to_datetime(s, errors="coerce")
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return s.to_numpy().astype("datetime64[D]"), np.zeros(len(s), dtype=bool)
    codes, uniques = coded(s)
    iso = uniques.where(np.asarray(uniques.str.fullmatch(_ISO_DATE), dtype=bool))
    parsed = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce").to_numpy()
    days = np.append(parsed.astype("datetime64[D]"), NAT)[codes]
    return days, (codes >= 0) & np.isnat(days)


def parse_bools(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Truth values (missing means false) and the mask of values that are not booleans."""
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) == "boolean":
        s = s.astype("boolean")
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.fillna(False).to_numpy(dtype=bool), np.zeros(len(s), dtype=bool)
    if pd.api.types.is_numeric_dtype(s.dtype):
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        return v == 1, ~np.isnan(v) & (v != 0) & (v != 1)
    codes, uniques = coded(s, lower=True)
    truth = np.append(uniques.isin(TRUE_WORDS), False)[codes]
    known = np.append(uniques.isin(TRUE_WORDS + FALSE_WORDS), True)[codes]
    return truth, ~known


def parse_numbers(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values as float64 (NaN where missing or bad), the missing mask, the bad mask."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        return v, np.isnan(v), np.isinf(v)
    text = as_text(s)
    v = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    missing = text.isna().to_numpy()
    return v, missing, ~missing & ~np.isfinite(v)


def lookup(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Position in ``keys`` of each value's first match; -1 where missing or not found."""
    found = pc.index_in(pa.array(values, type=pa.large_string()), value_set=pa.array(keys))
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def first_rows(values: pd.Series) -> np.ndarray:
    """For each row, the position of the first row with the same value (-1 where missing)."""
    codes, _ = pd.factorize(values)
    # Codes number the values in order of first appearance, so a row is a first
    # occurrence exactly when its code exceeds every code before it.
    before = np.maximum.accumulate(np.concatenate(([-1], codes[:-1])))
    firsts = np.flatnonzero(codes > before)
    return np.where(codes >= 0, firsts[np.maximum(codes, 0)], -1)


def _show(value: Any) -> str:
    """A value as quoted in a reason: missing as empty, long text cut short."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, np.datetime64):
        return "" if np.isnat(value) else str(value.astype("datetime64[D]"))
    text = str(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _take(values: pd.Series | np.ndarray, pos: np.ndarray) -> Sequence[Any]:
    return values.iloc[pos].tolist() if isinstance(values, pd.Series) else values[pos]


class Defects:
    """The defects found in one table's rows, turned into reasons (vectorised) at the end."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.bad = np.zeros(n, dtype=bool)
        self._checks: list[tuple[str, np.ndarray, str, dict[str, Any]]] = []

    def flag(self, key: str, mask: np.ndarray, template: str | None = None, **values: Any) -> None:
        """Record that the rows in ``mask`` fail check ``key``.

        ``template`` is the row's reason, formatted with ``values`` (full-length arrays or
        Series) taken at the row; it defaults to ``key``.
        """
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.bad |= mask
            self._checks.append((key, mask, template or key, values))

    @staticmethod
    def _format(template: str, values: dict[str, Any], pos: np.ndarray) -> np.ndarray:
        taken = {k: [_show(x) for x in _take(v, pos)] for k, v in values.items()}
        return np.array(
            [template.format(**{k: t[i] for k, t in taken.items()}) for i in range(len(pos))],
            dtype=object,
        )

    def summary(self) -> tuple[dict[str, int], dict[str, str]]:
        """Rows per reason, most frequent first, and the first row with each reason."""
        counts: dict[str, int] = {}
        examples: dict[str, str] = {}
        for key, mask, template, values in self._checks:
            pos = np.flatnonzero(mask)
            counts[key] = counts.get(key, 0) + len(pos)
            if key not in examples:
                examples[key] = f"row {pos[0] + 1}: {self._format(template, values, pos[:1])[0]}"
        order = sorted(counts, key=lambda k: (-counts[k], k))
        return {k: counts[k] for k in order}, {k: examples[k] for k in order}

    def texts(self, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the bad rows (the first ``limit`` of them) and their reasons."""
        bad_pos = np.flatnonzero(self.bad)[:limit]
        texts = np.full(len(bad_pos), "", dtype=object)
        for _, mask, template, values in self._checks:
            pos = np.flatnonzero(mask)
            pos = pos[pos <= bad_pos[-1]] if len(bad_pos) else pos[:0]
            row_texts = self._format(template, values, pos)
            at = np.searchsorted(bad_pos, pos)
            texts[at] = np.where(texts[at] == "", row_texts, texts[at] + "; " + row_texts)
        return bad_pos, texts
