"""Expected harm: the calibrated probability of the outcome times the harm expected if it happens.

The second factor is a small LightGBM regression of ``log1p(future CCHI days)`` on the features,
fitted only on training rows with the outcome (label 1), and turned back into days with Duan's
smearing estimate (the mean of ``exp(residual)``), which corrects the downward bias of
exponentiating a mean of logs. With fewer than ``MIN_ROWS`` outcome rows the factor is their mean
harm, the same for everyone, and expected harm orders people exactly as the probability does.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.train import ModelSettings

MIN_ROWS = 200


class HarmGivenOutcome:
    """Expected future CCHI days given the serious-harm outcome.

    Parameters
    ----------
    settings
        The ranker's settings; threads and ``min_child_samples`` are shared, the rest is fixed small.
    seed
        LightGBM seed.
    """

    def __init__(self, settings: ModelSettings, seed: int) -> None:
        self.settings = settings
        self.seed = seed

    def _params(self) -> dict[str, object]:
        return {
            "objective": "regression",
            "learning_rate": 0.05,
            "num_leaves": 7,
            "min_data_in_leaf": max(20, self.settings.min_child_samples // 2),
            "lambda_l2": 1.0,
            "num_threads": self.settings.threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def fit(self, X: pd.DataFrame, harm: np.ndarray, y: np.ndarray) -> HarmGivenOutcome:
        """Fit on rows ``X`` with future harm ``harm`` (CCHI days, shape (n,)) and outcomes ``y``."""
        positive = np.asarray(y) == 1
        target = np.log1p(np.asarray(harm, dtype="float64")[positive])
        self.mean_days_ = float(np.expm1(target).mean()) if len(target) else 0.0
        self.booster_ = None
        if len(target) >= MIN_ROWS:
            values = X.loc[positive].astype("float64")
            self.booster_ = lgb.train(self._params(), lgb.Dataset(values, label=target), num_boost_round=100)
            residual = target - self.booster_.predict(values)
            self.smearing_ = float(np.mean(np.exp(residual)))
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Expected CCHI days given the outcome, shape (n,), never negative."""
        if self.booster_ is None:
            return np.full(len(X), self.mean_days_)
        days = np.exp(self.booster_.predict(X.astype("float64"))) * self.smearing_ - 1.0
        return np.maximum(days, 0.0)
