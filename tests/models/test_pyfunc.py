"""The registered model is the whole scoring unit: pyfunc predict gives the list's probability.

A small made-up cohort (no person's data): a LightGBM ranker stopped early on validation rows, an
isotonic calibrator fitted on later rows and a harm model, logged and registered as the champion
of a temporary store.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from features.catalogue import V100_FEATURE
from models.backtest import FittedModel
from models.calibrate import Calibrator
from models.expected_harm import HarmGivenOutcome
from models.registry import (
    CHAMPION,
    TrackingSettings,
    load_champion,
    load_champion_unit,
    log_run,
    register_candidate,
    relocate_store,
)
from models.train import LightGBMRanker, ModelSettings
from scoring.config import RunConfig
from scoring.pipeline import _score

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:sqlalchemy.*"),
    pytest.mark.filterwarnings("ignore::FutureWarning:mlflow.*"),
]

INTS = ["suspect_count_365d", "conviction_count_all", "days_since_last_offence"]
FLOATS = [V100_FEATURE, "suspect_harm_recency", "copas_rate"]
NAMES = [*INTS, *FLOATS]
PROTECTED = ["sex", "ethnicity", "Religion"]  # as a force's protected table might name them


def cohort(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Made-up features (int32 counts and days, float64 harms and rates), outcomes and future harm."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(1.5, size=(n, 2)).astype("int32")
    frame = pd.DataFrame(
        {
            INTS[0]: counts[:, 0],
            INTS[1]: counts[:, 1],
            INTS[2]: rng.integers(0, 1000, n).astype("int32"),
            FLOATS[0]: rng.exponential(200, n).round(2),
            FLOATS[1]: rng.exponential(50, n),
            FLOATS[2]: rng.random(n),
        }
    )
    logit = 0.6 * frame[INTS[0]] + 0.004 * frame[FLOATS[0]] - 0.002 * frame[INTS[2]] - 1.5
    y = (rng.random(n) < expit(logit)).astype(int)
    harm = np.where(y == 1, 365 + 10 * frame[FLOATS[0]].to_numpy(), 0.0)
    return frame, y, harm


@pytest.fixture(scope="module")
def fitted() -> FittedModel:
    X, y, harm = cohort(4000, seed=1)
    X_val, y_val, _ = cohort(1500, seed=2)
    X_cal, y_cal, _ = cohort(3000, seed=3)
    settings = ModelSettings(n_estimators=300, early_stopping_rounds=10, learning_rate=0.1, threads=1)
    ranker = LightGBMRanker(settings.model_copy(update={"min_child_samples": 20}), seed=1)
    ranker.fit(X, y, valid=(X_val, y_val, None, None))
    assert ranker.best_iteration_ < settings.n_estimators  # stopped early, on the validation rows
    calibrator = Calibrator("isotonic_interp", scores_are="margin").fit(ranker.margin(X_cal), y_cal)
    harm_model = HarmGivenOutcome(settings, seed=1).fit(X, harm, y)
    assert harm_model.booster_ is not None
    return FittedModel(ranker, calibrator, (), (), harm_model)


@pytest.fixture(scope="module")
def current() -> pd.DataFrame:
    """This month's made-up cohort, as the job holds it: person_id beside the features."""
    X, _, _ = cohort(400, seed=9)
    return X.assign(person_id=[f"P{i:05d}" for i in range(len(X))])


@pytest.fixture(scope="module")
def store(
    tmp_path_factory: pytest.TempPathFactory, fitted: FittedModel, current: pd.DataFrame
) -> Iterator[TrackingSettings]:
    """A store whose champion is the fitted model, logged as the monthly job logs it."""
    import mlflow

    root = tmp_path_factory.mktemp("pyfunc") / "store"
    settings = TrackingSettings(uri=f"sqlite:///{root}/mlflow.db", artifact_dir=root / "artifacts")
    report = root.parent / "model.html"
    report.write_text("<html></html>")
    metrics = pd.DataFrame(
        [("lightgbm_binary", "pooled", "precision", 100, "list", 0.5, 0.4, 0.6, True)],
        columns=["model", "month", "metric", "k", "ties", "value", "lo", "hi", "greater_is_better"],
    )
    run_id = log_run(
        settings,
        as_of="2026-11-01",
        config={"seed": 1},
        params={},
        metrics=metrics,
        booster=fitted.ranker.booster_,
        calibrator=fitted.calibrator,
        artifacts=[report],
        tags={},
        harm_model=fitted.harm_model,
        feature_dtypes=current[NAMES].dtypes.to_dict(),
        protected=PROTECTED,
    )
    assert run_id is not None
    version = register_candidate(settings, run_id)
    mlflow.MlflowClient(settings.tracking_uri()).set_registered_model_alias(
        "harmrank", CHAMPION, str(version)
    )
    yield settings
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


@pytest.fixture(scope="module")
def champion(store: TrackingSettings):  # a PyFuncModel
    import mlflow

    mlflow.set_tracking_uri(store.tracking_uri())
    mlflow.set_registry_uri(store.tracking_uri())
    return mlflow.pyfunc.load_model("models:/harmrank@champion")


def listed(current: pd.DataFrame, fitted: FittedModel, rank_by: str = "probability") -> pd.DataFrame:
    """The monthly job's ranked cohort (probability rounded as the list publishes it), by person_id."""
    config = RunConfig.model_validate({"scoring": {"rank_by": rank_by}})
    return _score(current, fitted, NAMES, config).set_index("person_id")


def test_pyfunc_predict_is_the_pipelines_probability(champion, fitted, current) -> None:
    got = champion.predict(current[NAMES])
    expected = fitted.predict(current[NAMES])  # what _score ranks and rounds
    assert list(got.columns) == [
        "probability",
        "probability_lo",
        "probability_hi",
        "raw_score",
        "expected_harm",
    ]
    for ours, theirs in [
        ("probability", "probability"),
        ("raw_score", "margin"),
        ("expected_harm", "expected_harm"),
    ]:
        assert np.abs(got[ours].to_numpy() - expected[theirs].to_numpy()).max() <= 1e-9, ours
    for band in ("probability_lo", "probability_hi"):
        assert np.abs(got[band].to_numpy() - expected[band].to_numpy()).max() <= 1e-9
    assert got["probability"].nunique() > 50  # calibrated and distinct, not a constant
    assert not np.allclose(got["probability"], expit(got["raw_score"]))  # not the uncalibrated sigmoid
    ranked = listed(current, fitted)
    by_person = pd.Series(got["probability"].to_numpy(), index=current["person_id"])
    decimals = RunConfig().output.score_decimals
    gap = (by_person - ranked["probability"].reindex(by_person.index)).abs().max()
    assert gap <= 0.5 * 10**-decimals + 1e-12  # the list rounds what the pyfunc returns
    harm = listed(current, fitted, rank_by="expected_harm")["score"].reindex(by_person.index)
    assert (pd.Series(got["expected_harm"].to_numpy(), index=by_person.index) - harm).abs().max() <= 0.5e-6


def test_the_champion_scores_from_the_units_own_files(store, fitted, current) -> None:
    loaded = load_champion(store)
    assert loaded is not None
    booster, calibrator, version, harm = loaded
    assert version == 1 and harm is not None  # the unit's own harm model ranks by expected harm
    margin = booster.predict(current[NAMES].astype("float64"), raw_score=True)
    np.testing.assert_array_equal(margin, fitted.ranker.margin(current[NAMES]))
    np.testing.assert_array_equal(calibrator.transform(margin), fitted.calibrator.transform(margin))
    unit = load_champion_unit(store)
    assert unit.features == NAMES and unit.protected == PROTECTED and unit.harm_model is not None


def test_signature_names_the_features_and_their_types(champion) -> None:
    inputs = {spec.name: spec for spec in champion.metadata.get_input_schema().inputs}
    assert [name for name, spec in inputs.items() if spec.required] == NAMES
    assert {inputs[n].type.name for n in INTS} == {"long"} and {inputs[n].type.name for n in FLOATS} == {
        "double"
    }
    assert {"sex", "Religion", "ethnic_group"} <= {name for name, spec in inputs.items() if not spec.required}
    outputs = [spec.name for spec in champion.metadata.get_output_schema().inputs]
    assert outputs == ["probability", "probability_lo", "probability_hi", "raw_score", "expected_harm"]


def test_missing_feature_is_refused(champion, current) -> None:
    from mlflow.exceptions import MlflowException

    from models.pyfunc import ModelInputError, score

    with pytest.raises(MlflowException, match=f"missing inputs \\['{NAMES[1]}'\\]"):
        champion.predict(current[NAMES].drop(columns=NAMES[1]))
    unit = champion.unwrap_python_model().unit  # called without MLflow's schema check
    with pytest.raises(ModelInputError, match=f"lacks 1 of the model's 6 features: \\['{NAMES[1]}'\\]"):
        score(unit, current[NAMES].drop(columns=NAMES[1]))


def test_reordered_columns_give_the_same_answer_by_name(champion, current) -> None:
    from models.pyfunc import score

    expected = champion.predict(current[NAMES])
    reordered = current[NAMES[::-1]]
    pd.testing.assert_frame_equal(champion.predict(reordered), expected)
    pd.testing.assert_frame_equal(score(champion.unwrap_python_model().unit, reordered), expected)
    extra = current[NAMES].assign(note="made up")  # an extra column that is no characteristic: ignored
    pd.testing.assert_frame_equal(champion.predict(extra), expected)


@pytest.mark.parametrize(
    ("column", "values"),
    [("sex", "Female"), ("ethnicity", 3), ("Religion", "None"), ("sexual_orientation", "x"), ("age", 40)],
)
def test_protected_characteristics_are_refused(champion, current, column: str, values: object) -> None:
    from models.pyfunc import ModelInputError

    with pytest.raises(ModelInputError, match=f"protected characteristics \\['{column}'\\]"):
        champion.predict(current[NAMES].assign(**{column: values}))


def test_a_copied_store_loads_its_champion_from_the_copy(store, champion, current, tmp_path) -> None:
    import mlflow

    expected = champion.predict(current[NAMES])
    original = Path(store.tracking_uri().removeprefix("sqlite:///")).parent
    copy = tmp_path / "elsewhere" / "store"
    shutil.copytree(original, copy)
    moved = TrackingSettings(uri=f"sqlite:///{copy}/mlflow.db", artifact_dir=copy / "artifacts")
    hidden = original.with_name("hidden")
    original.rename(hidden)  # nothing may be read from the original
    try:
        assert relocate_store(moved) == store.artifact_location().as_uri()
        assert relocate_store(moved) is None  # once is enough
        mlflow.set_tracking_uri(moved.tracking_uri())
        mlflow.set_registry_uri(moved.tracking_uri())
        where = mlflow.MlflowClient().get_model_version_download_uri("harmrank", "1")
        assert where.startswith(moved.artifact_location().as_uri() + "/")
        model = mlflow.pyfunc.load_model("models:/harmrank@champion")  # plain MLflow, on the copy
        pd.testing.assert_frame_equal(model.predict(current[NAMES]), expected)
        loaded = load_champion(moved)
        assert loaded is not None and loaded[2] == 1
    finally:
        hidden.rename(original)
        mlflow.set_tracking_uri(store.tracking_uri())
        mlflow.set_registry_uri(store.tracking_uri())


@pytest.mark.slow
def test_mlflow_models_predict_gives_the_lists_probability(store, fitted, current, tmp_path) -> None:
    source = tmp_path / "features.csv"
    current[NAMES].to_csv(source, index=False)
    out = tmp_path / "predictions.json"
    mlflow_cli = Path(sys.executable).parent / "mlflow"
    env = os.environ | {"MLFLOW_TRACKING_URI": store.tracking_uri(), "MLFLOW_DISABLE_TELEMETRY": "true"}
    command = [str(mlflow_cli), "models", "predict", "-m", "models:/harmrank@champion", "-i", str(source)]
    command += ["-t", "csv", "-o", str(out), "--env-manager", "local"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    predictions = pd.DataFrame(json.loads(out.read_text())["predictions"])
    expected = fitted.predict(current[NAMES])
    assert np.abs(predictions["probability"].to_numpy() - expected["probability"].to_numpy()).max() <= 1e-9
    ranked = listed(current, fitted)["probability"].reindex(current["person_id"]).to_numpy()
    assert np.abs(predictions["probability"].to_numpy() - ranked).max() <= 0.5e-6 + 1e-12
