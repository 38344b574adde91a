"""Settings of the model stage's backtest, composed from the pieces' own settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.evaluate import EvaluationSettings, SelectionSettings
from models.splits import SplitSettings


class BacktestSettings(BaseModel):
    """How models are backtested, compared and chosen."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        True, description="Backtest every run; the winning objective is the one the list is scored with."
    )
    objectives: list[Literal["binary", "lambdarank"]] = Field(
        ["binary", "lambdarank"], min_length=1, description="LightGBM objectives that compete."
    )
    calibration: Literal["isotonic", "sigmoid"] = Field(
        "isotonic", description="Calibration fitted on months after training."
    )
    splits: SplitSettings = SplitSettings()
    evaluation: EvaluationSettings = EvaluationSettings(n_boot=300, monthly_intervals=False)
    selection: SelectionSettings = SelectionSettings()
