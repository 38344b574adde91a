"""Expected harm given the outcome, and the hyper-parameter search's and small tables' candidates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from models.expected_harm import MIN_ROWS, HarmGivenOutcome
from models.settings import BacktestSettings, SmallTableSettings
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


def test_search_entries_form_each_objectives_grid_beside_the_configured_model() -> None:
    config = RunConfig(backtest=BacktestSettings(search=[{"num_leaves": 31}, {"learning_rate": 0.06}]))
    found = {c.name: c for c in candidates(config, has_harm=True)}
    assert list(found) == ["lightgbm_binary", "lightgbm_lambdarank"]  # tuned inside each split
    grid = found["lightgbm_lambdarank"].grid
    assert [g.label for g in grid] == ["configured model", "num_leaves 31", "learning_rate 0.06"]
    assert grid[1].settings.num_leaves == 31 and grid[1].settings.objective == "lambdarank"
    assert grid[2].settings.num_leaves == 15 and grid[2].settings.learning_rate == 0.06
    assert found["lightgbm_binary"].settings == config.model  # the configured model
    assert found["lightgbm_binary"].grid[0].settings == config.model


def test_no_search_no_grid_in_the_monthly_job_and_a_small_grid_for_a_small_matrix() -> None:
    config = RunConfig()
    assert all(not c.grid for c in candidates(config, has_harm=True))  # the monthly job: unchanged
    assert all(not c.grid for c in candidates(config, has_harm=True, rows=50_000))
    small = candidates(config, has_harm=False, rows=3_000)
    assert [c.name for c in small] == ["lightgbm_binary"]  # lambdarank needs harm
    leaves = [(g.settings.num_leaves, g.settings.min_child_samples) for g in small[0].grid]
    assert leaves == [(15, 100), (4, 20), (7, 20), (7, 50)]
    searched = RunConfig(backtest=BacktestSettings(search=[{"num_leaves": 31}]))
    assert [g.label for g in candidates(searched, False, rows=3_000)[0].grid] == [
        "configured model",
        "num_leaves 31",
    ]  # an explicit search wins over the small-table grid


def test_search_refuses_settings_that_do_not_exist() -> None:
    with pytest.raises(ValidationError, match="num_leafs"):
        BacktestSettings(search=[{"num_leafs": 31}])
    with pytest.raises(ValidationError, match="objective"):
        BacktestSettings(search=[{"objective": 1}])
    with pytest.raises(ValidationError, match="num_leaves"):
        BacktestSettings(search=[{"num_leaves": 1}])  # a bad value is refused when the config is read
    with pytest.raises(ValidationError, match=r"small_table\.grid"):
        SmallTableSettings(grid=[{"leaves": 4}])
