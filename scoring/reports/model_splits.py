"""The model report's tables of how the backtest was split: which rows trained, early-stopped,
calibrated and tested each split, and which model settings each split was fitted with."""

from __future__ import annotations

import math

import pandas as pd

from models.backtest import BacktestResult
from models.splits import PARTS, split_table
from models.tuning import TUNING_METRIC
from scoring.reports.formats import Cell, Table
from scoring.reports.summary import Models, fmt


def _text(value: object) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _counts(result: BacktestResult) -> dict[tuple[int, str], tuple[int, int]]:
    """(split, part) -> (rows, rows with the outcome), from the backtest's part counts."""
    parts = result.parts
    if parts.empty:
        return {}
    return {
        (int(r.split), str(r.part)): (int(r.rows), int(r.positives)) for r in parts.itertuples(index=False)
    }


def split_section(result: BacktestResult) -> Table:
    """Which rows trained, early-stopped, calibrated and tested each split: dates (temporal) or
    folds, with rows and rows with the outcome in every part."""
    frame = split_table(result.splits)
    kfold = any(s.rows is not None for s in result.splits)
    counts = _counts(result)

    def dates(row: pd.Series, part: str) -> str:
        first, last = row[f"{part}_from"], row[f"{part}_to"]
        return "–" if first is None else (_text(first) if first == last else f"{first} to {last}")

    def figures(row: pd.Series, name: str) -> tuple[str, ...]:
        got = counts.get((int(row["split"]), name))
        return () if got is None else (f"{got[0]:,} rows, {got[1]:,} with the outcome",)

    def count(row: pd.Series, name: str) -> Cell:
        rows, positives = counts[(int(row["split"]), name)]
        return Cell(f"{rows:,}", (f"{positives:,} with the outcome",))

    if kfold and counts:
        headers = ["fold", "as-of date", "training rows", "validation rows", "calibration rows", "test rows"]
        rows = [
            [Cell(_text(r["split"])), Cell(_text(r["test"]))] + [count(r, p) for p in PARTS]
            for _, r in frame.iterrows()
        ]
    elif kfold:
        headers = ["fold", "as-of date", "rows per part"]
        rows = [
            [Cell(_text(r["split"])), Cell(_text(r["test"])), Cell(r["rows"], numeric=False)]
            for _, r in frame.iterrows()
        ]
    else:
        headers = ["split", "test month", "training dates", "validation", "calibration", "last label ends"]
        rows = [
            [
                Cell(_text(r["split"])),
                Cell(_text(r["test"]), figures(r, "test"), numeric=False),
                Cell(dates(r, "train"), (f"{r['train_dates']} dates", *figures(r, "train")), numeric=False),
                Cell(dates(r, "validation"), figures(r, "validation"), numeric=False),
                Cell(dates(r, "calibration"), figures(r, "calibration"), numeric=False),
                Cell(_text(r["last_label_end"])),
            ]
            for _, r in frame.iterrows()
        ]
    return Table(headers, rows, "rows of each part of every split")


def tuning_section(result: BacktestResult, models: Models) -> dict[str, object] | None:
    """Per candidate with a grid: each setting's inner score in every split, the chosen one marked."""
    tuning = result.tuning
    if tuning.empty:
        return None
    splits = sorted(int(s) for s in tuning["split"].unique())
    tables = []
    for candidate in [c for c in models.candidates if c in set(tuning["candidate"])]:
        rows_of = tuning[tuning["candidate"] == candidate]
        rows, strong = [], []
        chosen_counts = rows_of[rows_of["chosen"]].groupby("setting").size()
        for setting in dict.fromkeys(rows_of["setting"]):
            cells = [Cell(str(setting), numeric=False)]
            for split in splits:
                hit = rows_of[(rows_of["setting"] == setting) & (rows_of["split"] == split)]
                if hit.empty:
                    cells.append(Cell("–"))
                    continue
                r = hit.iloc[0]
                cells.append(
                    Cell(fmt("average_precision", r[TUNING_METRIC]), ("chosen",) if r["chosen"] else ())
                )
            cells.append(Cell(f"{int(chosen_counts.get(setting, 0))} of {len(splits)}"))
            rows.append(cells)
            strong.append(bool(chosen_counts.get(setting, 0)))
        headers = ["setting", *(f"split {s}" for s in splits), "chosen in"]
        tables.append(
            Table(headers, rows, f"{models.label(candidate)}: inner average precision by split", strong)
        )
    folds = sorted({int(f) for f in tuning["inner_folds"] if int(f) > 1})  # 1: the validation dates
    notes = sorted({str(n) for n in tuning["note"] if n})
    return {"tables": tables, "folds": ", ".join(map(str, folds)), "notes": notes}
