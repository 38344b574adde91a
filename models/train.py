"""The LightGBM ranker: trained on past as-of dates, scores the cohort at the run's date.

It shares the small interface of every scorer in harmrank (``fit(X, y)``, ``score(X)``)
so that backtests can treat the model and the baselines alike.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field


class ModelSettings(BaseModel):
    """LightGBM settings. Deterministic by construction: fixed seed, threads and row-wise histograms."""

    model_config = ConfigDict(extra="forbid")

    n_estimators: int = Field(300, gt=0, description="Boosting rounds.")
    learning_rate: float = Field(0.03, gt=0, le=1)
    num_leaves: int = Field(15, ge=2)
    min_child_samples: int = Field(
        100, ge=1, description="Minimum rows in a leaf: guards against fitting a few people."
    )
    feature_fraction: float = Field(0.9, gt=0, le=1)
    reg_lambda: float = Field(1.0, ge=0)
    threads: int = Field(2, ge=1, description="LightGBM threads; results do not depend on it.")


class TrainingSettings(BaseModel):
    """Which past as-of dates the model learns from."""

    model_config = ConfigDict(extra="forbid")

    history_months: int = Field(
        24,
        gt=0,
        description="Monthly as-of dates to train on, ending where the latest full label horizon ends.",
    )
    min_positives: int = Field(
        20, ge=1, description="Refuse to train on fewer serious-harm outcomes than this."
    )


class LightGBMRanker:
    """Binary LightGBM model of the serious-harm outcome; ``score`` is its probability.

    Parameters
    ----------
    settings
        Model hyper-parameters.
    seed
        Seed for every random choice LightGBM makes.
    """

    def __init__(self, settings: ModelSettings, seed: int) -> None:
        self.settings = settings
        self.seed = seed

    def _params(self) -> dict[str, object]:
        s = self.settings
        return {
            "objective": "binary",
            "learning_rate": s.learning_rate,
            "num_leaves": s.num_leaves,
            "min_data_in_leaf": s.min_child_samples,
            "feature_fraction": s.feature_fraction,
            "lambda_l2": s.reg_lambda,
            "num_threads": s.threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def fit(self, X: pd.DataFrame, y: np.ndarray | pd.Series) -> LightGBMRanker:
        """Train on feature rows ``X`` (numeric columns) and binary outcomes ``y``."""
        self.feature_names_ = list(X.columns)
        data = lgb.Dataset(
            X.to_numpy(dtype="float64"),
            label=np.asarray(y, dtype="float64"),
            feature_name=self.feature_names_,
            free_raw_data=True,
        )
        self.booster_ = lgb.train(self._params(), data, num_boost_round=self.settings.n_estimators)
        return self

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Probability of the serious-harm outcome for each row of ``X`` (same columns as in fit)."""
        if list(X.columns) != self.feature_names_:
            raise ValueError(f"columns {list(X.columns)} differ from training columns {self.feature_names_}")
        return self.booster_.predict(X.to_numpy(dtype="float64"))
