"""Settings of the model stage's backtest, composed from the pieces' own settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.evaluate import EvaluationSettings, SelectionSettings
from models.splits import SplitSettings
from models.train import ModelSettings

Overrides = dict[str, float | int]
TUNABLE = frozenset(ModelSettings.model_fields) - {
    "objective",
    "threads",
    "relevance_bands",
    "engine",
    "dask",
}


def _check_overrides(entries: list[Overrides], what: str, allow_empty: bool) -> list[Overrides]:
    for entry in entries:
        unknown = sorted(set(entry) - TUNABLE)
        if unknown or (not entry and not allow_empty):
            raise ValueError(
                f"{what} entry {entry} must override some of: {', '.join(sorted(TUNABLE))}"
                + (f" (unknown: {', '.join(unknown)})" if unknown else "")
            )
        ModelSettings.model_validate(entry)  # a bad value (num_leaves: 1) is refused here, not mid-run
    return entries


class SmallTableSettings(BaseModel):
    """Model settings for a small table in matrix mode (``harmrank backtest --matrix``).

    The monthly job's model (15 leaves, at least 100 rows per leaf) suits a panel of tens of
    thousands of people a month; a force's own extract of a few thousand people leaves a tree
    with 100 rows per leaf only a handful of splits. Such a table is tuned per split over
    ``grid`` (see :mod:`models.tuning`), unless ``backtest.search`` is set, which then applies.

    Measured on twelve synthetic single-date tables of 3,000 people (5 folds, 3 inner folds): the
    grid raised the binary candidate's AUC by 0.004 (standard error 0.001) and its average precision
    by 0.005 (0.002), and left lambdarank's about where they were (average precision -0.004, 0.003);
    a backtest took 28 s instead of 4 s.

    The share held back for calibration is not changed for a small table: on the same tables,
    holding back 10% of each fold's fitting rows instead of 20% raised the calibrated probability's
    ECE by 0.004 (standard error 0.001, from 0.016) and gave no measurable gain in ranking (AUC
    +0.000, precision@100 +0.9 points, standard error 1.3). Figures: ``bench/small_table.py``.
    """

    model_config = ConfigDict(extra="forbid")

    max_rows: int = Field(
        20_000,
        ge=0,
        description="A matrix with at most this many rows is small (0: never). A multi-month table of a "
        "few thousand people has many more rows, and each split trains on months of them.",
    )
    grid: list[Overrides] = Field(
        [
            {},
            {"num_leaves": 4, "min_child_samples": 20},
            {"num_leaves": 7, "min_child_samples": 20},
            {"num_leaves": 7, "min_child_samples": 50},
        ],
        min_length=1,
        description="Settings tried on a small table, each overriding the configured model ({} is the "
        "configured model itself); one is chosen per split by inner cross-validation.",
    )

    @field_validator("grid")
    @classmethod
    def _known_settings(cls, grid: list[Overrides]) -> list[Overrides]:
        return _check_overrides(grid, "small_table.grid", allow_empty=True)


class BacktestSettings(BaseModel):
    """How models are backtested, compared and chosen."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        True, description="Backtest every run; the winning objective is the one the list is scored with."
    )
    objectives: list[Literal["binary", "lambdarank"]] = Field(
        ["binary", "lambdarank"], min_length=1, description="LightGBM objectives that compete."
    )
    calibration: Literal["auto", "isotonic", "isotonic_interp", "sigmoid", "beta"] = Field(
        "auto",
        description="Calibration fitted on months after training: a method of models.calibrate, or auto "
        "(every method is compared in the backtest and the rule of models.backtest.CALIBRATION_RULE "
        "chooses among those that give the top of the list distinct probabilities).",
    )
    search: list[Overrides] = Field(
        [],
        description="A small hyper-parameter search: each entry overrides model settings (for example "
        "{num_leaves: 31}). Per objective, the configured model and the entries are tried inside each "
        "split's own fitting rows and the best is fitted for that split (models.tuning); the test "
        "months never take part in the choice.",
    )
    inner_folds: int = Field(
        3,
        ge=2,
        le=10,
        description="Inner folds a setting is chosen by when a split has no validation months to "
        "choose on (a single-date table's folds).",
    )
    small_table: SmallTableSettings = SmallTableSettings()
    splits: SplitSettings = SplitSettings()
    evaluation: EvaluationSettings = EvaluationSettings(n_boot=300, monthly_intervals=False)
    selection: SelectionSettings = SelectionSettings()

    @field_validator("search")
    @classmethod
    def _known_settings(cls, search: list[Overrides]) -> list[Overrides]:
        return _check_overrides(search, "search", allow_empty=False)
