"""A feature matrix from outside the event engine: checked, typed and split into roles.

Any person-level table with person_id, as_of (optional), numeric or text features and a 0/1
label can be backtested (`harmrank backtest --matrix`). Columns take one role each: key,
label, harm, protected (kept aside for the audit, never a feature), baseline (a score the
force already uses, never a feature; a row without a value is ranked last by it, and the notes
say how many), ignored, or feature. Text columns become categorical
features with sorted categories (LightGBM's native handling); booleans become 0/1. A text or
integer column with a different value on every row looks like an identifier and is refused
as a feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.errors import RecordsError

KEYS = ("person_id", "as_of")


@dataclass
class PreparedMatrix:
    """The matrix with typed columns and each column's role."""

    frame: pd.DataFrame
    features: list[str]
    protected: list[str]
    baselines: list[str]
    harm_col: str
    notes: list[str] = field(default_factory=list)


def _need(frame: pd.DataFrame, columns: Sequence[str], role: str, source: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RecordsError(
            f"{source}: no column {', '.join(map(repr, missing))} (given as {role}); "
            f"the columns are: {', '.join(map(str, frame.columns))}"
        )


def _label(values: pd.Series, name: str, source: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype("int8")
    numeric = pd.to_numeric(values, errors="coerce")
    bad = ~numeric.isin([0, 1])
    if bad.any():
        example = values[bad].iloc[0]
        raise RecordsError(
            f"{source}: label column {name!r} must hold 0 or 1 (or true/false) on every row; "
            f"{int(bad.sum())} rows do not, e.g. row {int(np.flatnonzero(bad)[0]) + 1}: {str(example)!r}"
        )
    return numeric.astype("int8")


def _feature(values: pd.Series, name: str, source: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    if pd.api.types.is_numeric_dtype(values):
        if pd.api.types.is_integer_dtype(values) and len(values) > 1 and values.is_unique:
            _refuse_id(name, source)
        return values.astype("float64")
    text = values.astype("str").where(values.notna())
    if len(text) > 1 and text.is_unique:
        _refuse_id(name, source)
    return pd.Series(pd.Categorical(text, categories=sorted(text.dropna().unique())), index=values.index)


def _baseline(values: pd.Series, name: str) -> tuple[pd.Series, str]:
    """A baseline column as float64 (NaN where it has no number) and a note counting those rows."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    numbers = numbers.where(np.isfinite(numbers))
    missing = int(numbers.isna().sum())
    if not missing:
        return numbers, ""
    text = int((numbers.isna() & values.notna()).sum())
    unreadable = f" ({text:,} of them text that is not a number)" if text else ""
    return numbers, f"baseline {name}: {missing:,} of {len(values):,} rows missing{unreadable}, ranked last"


def _refuse_id(name: str, source: str) -> None:
    raise RecordsError(
        f"{source}: column {name!r} has a different value on every row, like an identifier; an identifier "
        f"cannot be a feature. Pass --ignore {name} to leave it out (or drop it from the file)."
    )


def prepare_matrix(
    frame: pd.DataFrame,
    label: str,
    *,
    source: str,
    harm: str | None = None,
    protected: Sequence[str] = (),
    baselines: Sequence[str] = (),
    ignore: Sequence[str] = (),
) -> PreparedMatrix:
    """Check a matrix and type its columns by role.

    Raises
    ------
    RecordsError
        A named column is missing, the label is not 0/1, a person appears twice on one date, or a
        would-be feature looks like an identifier.
    """
    notes: list[str] = []
    _need(frame, ["person_id"], "the person key", source)
    _need(frame, [label], "--label", source)
    _need(frame, list(protected), "--protected", source)
    _need(frame, list(baselines), "--baseline", source)
    _need(frame, list(ignore), "--ignore", source)
    out = frame.copy()
    out["person_id"] = out["person_id"].astype("str")
    if "as_of" not in out.columns:
        out["as_of"] = pd.Timestamp("1970-01-01")
        notes.append("no as_of column: every row is treated as one as-of date")
    out["as_of"] = pd.to_datetime(out["as_of"])
    duplicated = out.duplicated(list(KEYS))
    if duplicated.any():
        row = out[duplicated].iloc[0]
        raise RecordsError(
            f"{source}: person {row['person_id']!r} appears more than once on as_of {row['as_of'].date()}; "
            "the matrix needs one row per person and date"
        )
    out[label] = _label(out[label], label, source)
    if harm is None:
        harm = "__harm"
        out[harm] = out[label].astype("float64")
        notes.append("no --harm column: harm captured@k counts outcomes (it equals recall@k)")
    else:
        _need(frame, [harm], "--harm", source)
        out[harm] = pd.to_numeric(out[harm], errors="raise").astype("float64")
    for col in baselines:
        out[col], note = _baseline(out[col], col)
        if note:
            notes.append(note)
    taken = {*KEYS, label, harm, *protected, *baselines, *ignore}
    features = [c for c in out.columns if c not in taken]
    if not features:
        raise RecordsError(
            f"{source}: no feature columns are left after keys, label, protected and baselines"
        )
    for col in features:
        out[col] = _feature(out[col], col, source)
    out = out.sort_values(list(KEYS), kind="mergesort").reset_index(drop=True)
    return PreparedMatrix(out, features, list(protected), list(baselines), harm, notes)
