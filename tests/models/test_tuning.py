"""Model settings chosen inside each split: never on its test or calibration rows, recorded per split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.backtest import Candidate, backtest, candidate_settings
from models.evaluate import EvaluationSettings, SelectionSettings
from models.splits import PARTS, SplitSettings, kfold_splits, temporal_splits
from models.train import ModelSettings
from models.tuning import TUNING_COLUMNS, Setting, inner_folds, tune
from tests.models.test_backtest import FEATURES, monthly_panel

BASE = ModelSettings(n_estimators=30, min_child_samples=20, early_stopping_rounds=5, threads=1)
# a setting that cannot learn: one leaf's worth of rows per leaf is more than the table has
USELESS = BASE.model_copy(update={"min_child_samples": 100_000})
GRID = (Setting("useless", USELESS), Setting("small", BASE))


def single_date(n: int = 1500, seed: int = 3) -> pd.DataFrame:
    return monthly_panel(months=1, per_month=n, seed=seed)


def test_kfold_inner_folds_use_only_the_splits_training_and_validation_rows() -> None:
    matrix = single_date()
    splits = kfold_splits(matrix["label"], matrix["as_of"].iloc[0], SplitSettings(n_folds=3), seed=2)
    y = matrix["label"].to_numpy()
    persons = matrix["person_id"].to_numpy()
    for split in splits:
        pairs, note = inner_folds(split, matrix["as_of"], y, persons, n_folds=3, seed=1)
        parts = split.indices(matrix["as_of"])
        allowed = set(parts["train"]) | set(parts["validation"])
        assert len(pairs) == 3 and not note
        assert set(np.concatenate([held for _, held in pairs])) == allowed  # every fitting row held out once
        for fit, held in pairs:
            assert set(fit) | set(held) <= allowed and not set(fit) & set(held)
            assert not set(persons[fit]) & set(persons[held])  # nobody on both sides


def test_temporal_split_chooses_on_its_validation_months() -> None:
    matrix = monthly_panel(months=12, per_month=300)
    splits = temporal_splits(matrix["as_of"].unique(), 3, SplitSettings(test_months=2, history_months=4))
    parts = splits[0].indices(matrix["as_of"])
    y, persons = matrix["label"].to_numpy(), matrix["person_id"].to_numpy()
    pairs, _ = inner_folds(splits[0], matrix["as_of"], y, persons, n_folds=3, seed=1)
    assert len(pairs) == 1
    np.testing.assert_array_equal(pairs[0][0], parts["train"])
    np.testing.assert_array_equal(pairs[0][1], parts["validation"])


def test_the_choice_does_not_read_test_or_calibration_rows() -> None:
    matrix = single_date()
    split = kfold_splits(matrix["label"], matrix["as_of"].iloc[0], SplitSettings(n_folds=3), seed=2)[0]
    chosen, table = tune(matrix, split, FEATURES, GRID, seed=1)
    assert chosen == 1 and table["chosen"].tolist() == [False, True]
    assert list(table.columns) == TUNING_COLUMNS[2:] and (table["inner_folds"] == 3).all()
    assert table["average_precision"].iloc[1] > table["average_precision"].iloc[0]
    parts = split.indices(matrix["as_of"])
    scrambled = matrix.copy()
    hidden = np.concatenate([parts["test"], parts["calibration"]])
    rng = np.random.default_rng(0)
    scrambled.loc[hidden, FEATURES] = rng.permutation(scrambled.loc[hidden, FEATURES].to_numpy())
    scrambled.loc[hidden, "label"] = 1 - scrambled.loc[hidden, "label"]
    again = tune(scrambled, split, FEATURES, GRID, seed=1)[1]
    pd.testing.assert_frame_equal(again, table)  # test and calibration rows changed, same choice and scores


def test_too_few_outcomes_fall_back_to_the_first_setting_and_say_so() -> None:
    matrix = single_date(300)
    matrix["label"] = 0
    matrix.loc[:5, "label"] = 1
    split = kfold_splits(matrix["label"], matrix["as_of"].iloc[0], SplitSettings(n_folds=2), seed=2)[0]
    chosen, table = tune(matrix, split, FEATURES, GRID, seed=1, n_folds=3)
    assert chosen == 0 and table["chosen"].tolist() == [True, False]
    assert "too few rows with and without the outcome" in table["note"].iloc[0]
    assert table["average_precision"].isna().all()


@pytest.fixture(scope="module")
def tuned():
    matrix = single_date(2400)
    splits = kfold_splits(matrix["label"], matrix["as_of"].iloc[0], SplitSettings(n_folds=3), seed=2)
    result = backtest(
        matrix,
        FEATURES,
        splits,
        [Candidate("lightgbm_binary", BASE, GRID), Candidate("plain", BASE)],
        {},
        seed=1,
        evaluation=EvaluationSettings(ks=[50], n_boot=0),
        selection=SelectionSettings(k=50),
    )
    return matrix, splits, result


def test_backtest_records_each_splits_setting_and_rows(tuned) -> None:
    matrix, splits, result = tuned
    tuning = result.tuning
    assert list(tuning.columns) == TUNING_COLUMNS
    assert set(tuning["candidate"]) == {"lightgbm_binary"}  # a candidate without a grid is not tuned
    chosen = tuning[tuning["chosen"]]
    assert chosen["split"].tolist() == [1, 2, 3] and (chosen["setting"] == "small").all()
    assert result.settings_used["lightgbm_binary"] == [BASE] * 3
    assert result.settings_used["plain"] == [BASE] * 3
    # the tuned candidate fitted the chosen setting: its test scores equal the untuned one's
    np.testing.assert_allclose(result.predictions["lightgbm_binary"], result.predictions["plain"])
    parts = result.parts
    assert list(parts.columns) == ["split", "part", "rows", "positives"] and len(parts) == 3 * len(PARTS)
    tested = parts[parts["part"] == "test"]
    assert tested["rows"].sum() == len(matrix) and tested["positives"].sum() == matrix["label"].sum()
    for number, split in enumerate(splits, start=1):
        rows = split.indices(matrix["as_of"])
        for part in PARTS:
            got = parts[(parts["split"] == number) & (parts["part"] == part)].iloc[0]
            assert got["rows"] == len(rows[part])
            assert got["positives"] == matrix["label"].iloc[rows[part]].sum()


def test_candidate_settings_tunes_only_a_grid() -> None:
    matrix = single_date()
    split = kfold_splits(matrix["label"], matrix["as_of"].iloc[0], SplitSettings(n_folds=3), seed=2)[0]
    assert candidate_settings(Candidate("plain", BASE), matrix, split, FEATURES, 1) == (BASE, None)
    settings, table = candidate_settings(Candidate("tuned", BASE, GRID), matrix, split, FEATURES, 1)
    assert settings == BASE and table is not None and table["chosen"].sum() == 1
