"""Temporal backtest splits over monthly as-of dates, and a k-fold fallback for a single date.

For each test as-of date ``T`` (the last ``test_months`` available dates), every date used to
fit anything satisfies ``d + horizon <= T``: its label horizon ``[d, d + horizon)`` ends on or
before the test date, so no training, validation or calibration label overlaps the test period.
Among those dates, oldest to newest::

    train (history_months) | gap | validation (validation_months) | calibration (calibration_months) | T

Calibration takes the newest eligible dates (closest to the test month's base rate); validation
(early stopping) the dates just before; training the ``history_months`` dates before those,
at least ``gap_months`` months earlier than the first held-out date. Set ``gap_months`` to the
label horizon to keep training labels from overlapping the held-out labels (at the cost of that
many months of training data). A test date without enough earlier dates is left out.

A matrix with a single as-of date cannot be split in time: :func:`kfold_splits` makes seeded
stratified folds instead and says so in each split's ``note``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from sklearn.model_selection import StratifiedKFold

from features.errors import PipelineError

PARTS = ("train", "validation", "calibration", "test")
KFOLD_NOTE = (
    "single as-of date: seeded stratified {k}-fold split of rows, not a backtest over later months; "
    "figures may be optimistic about how the model does on a future month"
)


class SplitSettings(BaseModel):
    """How backtest splits are cut."""

    model_config = ConfigDict(extra="forbid")

    test_months: int = Field(12, ge=1, description="Number of latest as-of dates tested, one split each.")
    history_months: int = Field(24, ge=1, description="Most training as-of dates per split.")
    min_history_months: int = Field(
        1, ge=1, description="Fewest training as-of dates; a test date with fewer is left out."
    )
    validation_months: int = Field(1, ge=0, description="As-of dates for early stopping (0: none).")
    calibration_months: int = Field(1, ge=0, description="As-of dates the calibrator is fitted on.")
    gap_months: int = Field(
        0, ge=0, description="Months between the last training date and the first held-out date."
    )
    n_folds: int = Field(5, ge=2, description="Folds for a single as-of date.")
    fold_validation_share: float = Field(0.1, ge=0, lt=0.5, description="Single date: validation share.")
    fold_calibration_share: float = Field(0.2, ge=0, lt=0.5, description="Single date: calibration share.")


@dataclass(frozen=True, eq=False)
class Split:
    """One backtest split.

    Temporal splits name as-of dates (``test`` is one date; the others are tuples, oldest first).
    K-fold splits (single as-of date) carry positional row indices in ``rows`` instead, and
    a ``note`` saying that this is not a backtest over time.
    """

    test: pd.Timestamp
    train: tuple[pd.Timestamp, ...]
    validation: tuple[pd.Timestamp, ...]
    calibration: tuple[pd.Timestamp, ...]
    horizon_months: int
    fold: int | None = None
    rows: dict[str, np.ndarray] | None = field(default=None, repr=False)
    note: str = ""

    def indices(self, as_of: pd.Series | np.ndarray) -> dict[str, np.ndarray]:
        """Positional indices (int64) of each part's rows, from the matrix's ``as_of`` column."""
        if self.rows is not None:
            return dict(self.rows)
        dates = pd.to_datetime(pd.Series(np.asarray(as_of)))
        wanted = {"train": self.train, "validation": self.validation, "calibration": self.calibration}
        out = {part: np.flatnonzero(dates.isin(list(days)).to_numpy()) for part, days in wanted.items()}
        out["test"] = np.flatnonzero((dates == self.test).to_numpy())
        return out


def _plus_months(day: pd.Timestamp, months: int) -> pd.Timestamp:
    return pd.Timestamp(day) + pd.DateOffset(months=months)


def temporal_splits(
    as_of_dates: Iterable[pd.Timestamp | str], horizon_months: int, settings: SplitSettings
) -> list[Split]:
    """Backtest splits for the latest ``settings.test_months`` of ``as_of_dates``, oldest test first.

    Parameters
    ----------
    as_of_dates
        As-of dates whose rows can be used: label horizon fully observed and a full look-back
        before them (any order, duplicates ignored).
    horizon_months
        Length of the label horizon in months.

    Raises
    ------
    PipelineError
        When no test date has enough earlier dates to train, validate and calibrate on.
    """
    dates = sorted({pd.Timestamp(d) for d in as_of_dates})
    held_out = settings.validation_months + settings.calibration_months
    splits = []
    for test in dates[-settings.test_months :]:
        eligible = [d for d in dates if _plus_months(d, horizon_months) <= test]
        if len(eligible) < held_out + settings.min_history_months:
            continue
        later = eligible[len(eligible) - held_out :] if held_out else []
        first_later = later[0] if later else test
        train = [
            d for d in eligible if d < first_later and _plus_months(d, settings.gap_months) <= first_later
        ]
        train = train[-settings.history_months :]
        if len(train) < settings.min_history_months:
            continue
        splits.append(
            Split(
                test=test,
                train=tuple(train),
                validation=tuple(later[: settings.validation_months]),
                calibration=tuple(later[settings.validation_months :]),
                horizon_months=horizon_months,
            )
        )
    if not splits:
        span = f"{dates[0].date()}..{dates[-1].date()}" if dates else "none"
        raise PipelineError(
            f"no backtest split fits in the labelled as-of dates ({span}, {len(dates)} dates): a test date "
            f"needs {settings.min_history_months} training, {settings.validation_months} validation and "
            f"{settings.calibration_months} calibration dates whose {horizon_months}-month label horizons "
            "end on or before it. Give a longer extract, or lower the splits' month counts."
        )
    return splits


def kfold_splits(
    y: np.ndarray | pd.Series, as_of: pd.Timestamp | str, settings: SplitSettings, seed: int
) -> list[Split]:
    """Seeded stratified k-fold splits of the rows of a single-date matrix.

    Each fold is the test part once; the remaining rows are split, stratified by ``y`` and seeded,
    into calibration (``fold_calibration_share`` of them), validation and training.

    Parameters
    ----------
    y
        0/1 labels, shape (n,), in matrix row order.
    as_of
        The matrix's one as-of date.
    seed
        Seeds the fold assignment and the held-out draws.
    """
    y = np.asarray(y, dtype="int64")
    if np.bincount(y, minlength=2).min() < settings.n_folds:
        raise PipelineError(
            f"a {settings.n_folds}-fold split needs at least {settings.n_folds} rows with and without the "
            f"outcome; the matrix has {int(y.sum())} of {len(y)} with it. Lower n_folds or add rows."
        )
    folds = StratifiedKFold(n_splits=settings.n_folds, shuffle=True, random_state=seed)
    rng = np.random.default_rng(seed)
    day = pd.Timestamp(as_of)
    note = KFOLD_NOTE.format(k=settings.n_folds)
    splits = []
    for fold, (rest, test) in enumerate(folds.split(np.zeros(len(y)), y)):
        parts: dict[str, list[np.ndarray]] = {"train": [], "validation": [], "calibration": []}
        for label in (0, 1):  # stratified: share out each class separately
            rows = rng.permutation(rest[y[rest] == label])
            n_cal = round(len(rows) * settings.fold_calibration_share)
            n_val = round(len(rows) * settings.fold_validation_share)
            parts["calibration"].append(rows[:n_cal])
            parts["validation"].append(rows[n_cal : n_cal + n_val])
            parts["train"].append(rows[n_cal + n_val :])
        rows_by_part = {part: np.sort(np.concatenate(chunks)) for part, chunks in parts.items()}
        rows_by_part["test"] = np.sort(test)
        dates = {part: (day,) if len(rows) else () for part, rows in rows_by_part.items()}
        splits.append(
            Split(
                test=day,
                train=dates["train"],
                validation=dates["validation"],
                calibration=dates["calibration"],
                horizon_months=0,
                fold=fold,
                rows=rows_by_part,
                note=note,
            )
        )
    return splits


def split_table(splits: list[Split]) -> pd.DataFrame:
    """One row per split, for printing: the dates (or row counts) of each part and the note.

    Columns: split, test, train_from, train_to, train_dates, validation_from, validation_to,
    calibration_from, calibration_to, last_label_end (latest label horizon end among fitted
    dates, on or before test), rows (part -> row count, k-fold only) and note.
    """
    records = []
    for i, s in enumerate(splits, start=1):
        fitted = (*s.train, *s.validation, *s.calibration)
        label_end = _plus_months(max(fitted), s.horizon_months).date() if fitted and s.rows is None else None
        records.append(
            {
                "split": i,
                "test": s.test.date(),
                "train_from": s.train[0].date() if s.train else None,
                "train_to": s.train[-1].date() if s.train else None,
                "train_dates": len(s.train),
                "validation_from": s.validation[0].date() if s.validation else None,
                "validation_to": s.validation[-1].date() if s.validation else None,
                "calibration_from": s.calibration[0].date() if s.calibration else None,
                "calibration_to": s.calibration[-1].date() if s.calibration else None,
                "last_label_end": label_end,
                "rows": ", ".join(f"{p} {len(s.rows[p])}" for p in PARTS) if s.rows is not None else "",
                "note": s.note,
            }
        )
    return pd.DataFrame(records)
