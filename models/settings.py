"""Settings of the model stage's backtest, composed from the pieces' own settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.evaluate import EvaluationSettings, SelectionSettings
from models.splits import SplitSettings
from models.train import ModelSettings


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
    search: list[dict[str, float | int]] = Field(
        [],
        description="A small hyper-parameter search: each entry overrides model settings (for example "
        "{num_leaves: 31}) and competes, per objective, beside the configured model.",
    )
    splits: SplitSettings = SplitSettings()
    evaluation: EvaluationSettings = EvaluationSettings(n_boot=300, monthly_intervals=False)
    selection: SelectionSettings = SelectionSettings()

    @field_validator("search")
    @classmethod
    def _known_settings(cls, search: list[dict[str, float | int]]) -> list[dict[str, float | int]]:
        tunable = set(ModelSettings.model_fields) - {"objective", "threads", "relevance_bands"}
        for entry in search:
            unknown = sorted(set(entry) - tunable)
            if unknown or not entry:
                raise ValueError(
                    f"search entry {entry} must override some of: {', '.join(sorted(tunable))}"
                    + (f" (unknown: {', '.join(unknown)})" if unknown else "")
                )
        return search
