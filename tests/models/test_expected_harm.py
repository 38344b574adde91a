"""Expected harm given the outcome, and the hyper-parameter search's candidates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from models.expected_harm import MIN_ROWS, HarmGivenOutcome
from models.settings import BacktestSettings
from models.train import ModelSettings
from scoring.backtesting import candidates
from scoring.config import RunConfig


def test_harm_given_outcome_follows_the_feature_that_drives_harm() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    X = pd.DataFrame({"violent": rng.integers(0, 2, n), "noise": rng.random(n)})
    y = (rng.random(n) < 0.3).astype(int)
    harm = np.where(y == 1, np.where(X["violent"] == 1, 3650.0, 365.0) * rng.uniform(0.8, 1.2, n), 0.0)
    model = HarmGivenOutcome(ModelSettings(threads=1), seed=1).fit(X, harm, y)
    days = model.predict(pd.DataFrame({"violent": [0, 1], "noise": [0.5, 0.5]}))
    assert 300 < days[0] < 450 and 3000 < days[1] < 4400  # near 365 and 3650 CCHI days


def test_too_few_outcomes_give_one_mean_for_everyone() -> None:
    X = pd.DataFrame({"a": np.arange(100.0)})
    y = np.zeros(100, int)
    y[:10] = 1
    harm = np.where(y == 1, 100.0, 0.0)
    harm[0] = 1000.0
    model = HarmGivenOutcome(ModelSettings(threads=1), seed=1).fit(X, harm, y)
    assert MIN_ROWS > 10
    np.testing.assert_allclose(model.predict(X.head(3)), [190.0] * 3)  # (1000 + 9 x 100) / 10


def test_search_entries_compete_per_objective_with_their_overrides_in_the_name() -> None:
    config = RunConfig(backtest=BacktestSettings(search=[{"num_leaves": 31}, {"learning_rate": 0.06}]))
    found = {c.name: c.settings for c in candidates(config, has_harm=True)}
    assert list(found) == [
        "lightgbm_binary",
        "lightgbm_binary_num_leaves31",
        "lightgbm_binary_learning_rate0.06",
        "lightgbm_lambdarank",
        "lightgbm_lambdarank_num_leaves31",
        "lightgbm_lambdarank_learning_rate0.06",
    ]
    assert found["lightgbm_lambdarank_num_leaves31"].num_leaves == 31
    assert found["lightgbm_lambdarank_num_leaves31"].objective == "lambdarank"
    assert found["lightgbm_binary_learning_rate0.06"].num_leaves == 15


def test_search_refuses_settings_that_do_not_exist() -> None:
    with pytest.raises(ValidationError, match="num_leafs"):
        BacktestSettings(search=[{"num_leafs": 31}])
    with pytest.raises(ValidationError, match="objective"):
        BacktestSettings(search=[{"objective": 1}])
