"""MLflow logging, registration, promotion and champion loading, in a temporary store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from features.errors import PipelineError
from models.calibrate import Calibrator
from models.registry import (
    BLOCK_TAG,
    CALIBRATOR_PATH,
    CANDIDATE,
    CHAMPION,
    TrackingSettings,
    calibrator_from_dict,
    calibrator_to_dict,
    flatten,
    load_champion,
    log_run,
    promote,
    register_candidate,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:sqlalchemy.*"),
    pytest.mark.filterwarnings("ignore::FutureWarning:mlflow.*"),
]

MODEL = "lightgbm_binary"
MONTHS = ["2025-11-01", "2025-12-01"]


def features(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n, 3)), columns=["harm_365d", "count_365d", "days_since_last"])


def tiny_model() -> tuple[lgb.Booster, Calibrator]:
    """A 10-tree booster and an isotonic calibrator fitted on its margins for other rows."""
    X, X_cal = features(400, seed=1), features(400, seed=2)
    rng = np.random.default_rng(3)
    y, y_cal = ((rng.random(len(f)) < expit(2 * f["harm_365d"] - 1)).astype(int) for f in (X, X_cal))
    params = {"objective": "binary", "num_leaves": 4, "num_threads": 1, "deterministic": True}
    booster = lgb.train(params | {"verbosity": -1}, lgb.Dataset(X, label=y), num_boost_round=10)
    margin = booster.predict(X_cal, raw_score=True)
    return booster, Calibrator("isotonic", scores_are="margin").fit(margin, y_cal)


def metrics_table(precision: float, harm: float) -> pd.DataFrame:
    """Pooled and monthly figures of the model against V100 (precision 0.30, harm captured 0.40)."""
    rows = []
    for month in ["pooled", *MONTHS]:
        for model, p, h in ((MODEL, precision, harm), ("v100", 0.30, 0.40)):
            rows.append((model, month, "precision", 100, "list", p, p - 0.05, p + 0.05))
            rows.append((model, month, "harm_captured", 100, "list", h, h - 0.05, h + 0.05))
        rows.append((MODEL, month, "precision", 100, "worst", precision - 0.01, np.nan, np.nan))
        rows.append((MODEL, month, "auc_roc", None, "list", 0.8, 0.78, 0.82))
    table = pd.DataFrame(rows, columns=["model", "month", "metric", "k", "ties", "value", "lo", "hi"])
    table["k"] = table["k"].astype("Int64")
    table["greater_is_better"] = True
    return table


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrackingSettings]:
    root = tmp_path_factory.mktemp("mlflow")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        yield TrackingSettings(uri=f"sqlite:///{root}/mlflow.db", artifact_dir=root / "artifacts")
        import mlflow

        mlflow.set_tracking_uri(None)


@pytest.fixture(scope="module")
def model() -> tuple[lgb.Booster, Calibrator]:
    return tiny_model()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("run") / "model.html"
    path.write_text("<html><body>backtest</body></html>")
    return path


def logged(
    store: TrackingSettings,
    model: tuple[lgb.Booster, Calibrator],
    report: Path,
    precision: float,
    harm: float,
    tags: dict[str, str] | None = None,
    metrics: pd.DataFrame | None = None,
) -> str:
    config = {"seed": 7, "model": {"objective": "binary", "num_leaves": 4}, "notes": "x" * 7000}
    run_id = log_run(
        store,
        as_of="2026-11-01",
        config=config,
        params={"n_rows": 400, "features": ["harm_365d", "count_365d"]},
        metrics=metrics_table(precision, harm) if metrics is None else metrics,
        booster=model[0],
        calibrator=model[1],
        artifacts=[report],
        tags=tags or {},
    )
    assert run_id is not None
    return run_id


def test_log_run_records_config_metrics_model_and_reports(store, model, report) -> None:
    import mlflow
    from mlflow import MlflowClient

    run_id = logged(store, model, report, precision=0.42, harm=0.55)
    client = MlflowClient(tracking_uri=store.tracking_uri())
    run = client.get_run(run_id)
    m = run.data.metrics
    assert m[f"{MODEL}.precision_at_100"] == pytest.approx(0.42)
    assert m[f"{MODEL}.precision_at_100_lo"] == pytest.approx(0.37)
    assert m[f"{MODEL}.harm_captured_at_100_hi"] == pytest.approx(0.60)
    assert m[f"{MODEL}.precision_at_100_worst"] == pytest.approx(0.41)
    assert f"{MODEL}.precision_at_100_worst_lo" not in m  # no interval, nothing logged
    assert m[f"{MODEL}.auc_roc"] == pytest.approx(0.8) and m["v100.precision_at_100"] == pytest.approx(0.30)
    history = client.get_metric_history(run_id, f"monthly/{MODEL}.precision_at_100")
    assert sorted(h.step for h in history) == [(2025 - 1970) * 12 + 10, (2025 - 1970) * 12 + 11]
    p = run.data.params
    assert p["config.seed"] == "7" and p["config.model.num_leaves"] == "4" and p["n_rows"] == "400"
    assert p["features"] == '["harm_365d", "count_365d"]'
    assert len(p["config.notes"]) == 6000 and p["config.notes"].endswith("…")
    assert run.data.tags["harmrank.as_of"] == "2026-11-01" and run.data.tags["harmrank.model"] == MODEL
    names = {a.path for a in client.list_artifacts(run_id)}
    assert {"config.json", "calibrator", "reports"} <= names
    assert [a.path for a in client.list_artifacts(run_id, "reports")] == ["reports/model.html"]
    assert run.info.artifact_uri.startswith(store.artifact_location().as_uri())
    assert (Path(run.info.artifact_uri.removeprefix("file://")) / CALIBRATOR_PATH).is_file()
    config = json.loads(mlflow.artifacts.load_text(f"runs:/{run_id}/config.json"))
    assert config["model"]["num_leaves"] == 4


def test_register_sets_candidate_and_records_figures(store, model, report) -> None:
    from mlflow import MlflowClient

    version = register_candidate(store, logged(store, model, report, precision=0.42, harm=0.55))
    client = MlflowClient(tracking_uri=store.tracking_uri())
    found = client.get_model_version_by_alias(store.registered_model, CANDIDATE)
    assert int(found.version) == version
    assert float(found.tags["model.precision_at_100"]) == pytest.approx(0.42)
    assert float(found.tags["v100.harm_captured_at_100"]) == pytest.approx(0.40)
    assert found.tags["model"] == MODEL


def test_promote_refused_when_v100_captures_more_harm(store, model, report) -> None:
    version = register_candidate(store, logged(store, model, report, precision=0.42, harm=0.35))
    result = promote(store)
    assert not result.promoted and result.version == version
    assert len(result.reasons) == 1 and result.reasons[0].startswith("harm captured@100: model 0.3500")
    assert "does not beat V100" in result.reasons[0]
    assert result.figures["v100.harm_captured_at_100"] == pytest.approx(0.40)
    assert "V100" in result.rule


def test_promote_moves_champion_when_model_beats_v100(store, model, report) -> None:
    from mlflow import MlflowClient

    version = register_candidate(store, logged(store, model, report, precision=0.42, harm=0.55))
    result = promote(store)
    assert result.promoted and result.version == version and len(result.reasons) == 2
    champion = MlflowClient(tracking_uri=store.tracking_uri()).get_model_version_by_alias(
        store.registered_model, CHAMPION
    )
    assert int(champion.version) == version


def test_promote_refused_when_release_blocked(store, model, report) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=store.tracking_uri())
    before = client.get_registered_model(store.registered_model).aliases.get(CHAMPION)
    tags = {BLOCK_TAG: "equality gate: selection rate ratio 0.61 for one group"}
    version = register_candidate(store, logged(store, model, report, precision=0.5, harm=0.6, tags=tags))
    result = promote(store, version)
    assert not result.promoted and result.version == version
    assert result.reasons == ["release blocked: equality gate: selection rate ratio 0.61 for one group"]
    assert client.get_registered_model(store.registered_model).aliases.get(CHAMPION) == before
    assert promote(store, 9999).reasons[0].startswith("registered model 'harmrank' has no version 9999")


def test_promote_refused_when_a_figure_is_missing(store, model, report) -> None:
    table = metrics_table(0.5, 0.6)
    fresh = store.model_copy(update={"registered_model": "no_v100"})
    assert promote(fresh).reasons[0].startswith("registered model 'no_v100' has no 'candidate' version")
    register_candidate(fresh, logged(store, model, report, 0, 0, metrics=table[table["model"] != "v100"]))
    assert load_champion(fresh) is None  # the model exists, the champion alias does not
    result = promote(fresh)
    assert not result.promoted and len(result.reasons) == 2
    assert all("figure is missing" in reason for reason in result.reasons)


def test_load_champion_round_trips_booster_and_calibrator(store, model, report) -> None:
    version = register_candidate(store, logged(store, model, report, precision=0.42, harm=0.55))
    assert promote(store, version).promoted
    loaded = load_champion(store)
    assert loaded is not None
    booster, calibrator, loaded_version, harm = loaded
    assert loaded_version == version and isinstance(booster, lgb.Booster) and harm is None
    X = features(300, seed=9)
    margin = model[0].predict(X, raw_score=True)
    np.testing.assert_array_equal(booster.predict(X, raw_score=True), margin)
    probe = np.concatenate([margin, [-50.0, 50.0, 0.0]])  # and outside the fitted range
    np.testing.assert_array_equal(calibrator.transform(probe), model[1].transform(probe))
    np.testing.assert_array_equal(calibrator.band(probe), model[1].band(probe))
    assert load_champion(store.model_copy(update={"registered_model": "nobody"})) is None


def test_sigmoid_calibrator_round_trips_exactly() -> None:
    rng = np.random.default_rng(5)
    scores = rng.random(500)
    fitted = Calibrator("sigmoid").fit(scores, (rng.random(500) < scores).astype(int))
    again = calibrator_from_dict(json.loads(json.dumps(calibrator_to_dict(fitted))))
    np.testing.assert_array_equal(again.transform(scores), fitted.transform(scores))
    np.testing.assert_array_equal(again.band(scores), fitted.band(scores))


def test_disabled_tracking_logs_nothing(tmp_path, model, report) -> None:
    off = TrackingSettings(uri=f"sqlite:///{tmp_path}/m.db", artifact_dir=tmp_path / "a", enabled=False)
    table = metrics_table(0.5, 0.5)
    args = {"as_of": "2026-11-01", "config": {}, "params": {}, "metrics": table, "artifacts": [report]}
    assert log_run(off, booster=model[0], calibrator=model[1], tags={}, **args) is None
    assert load_champion(off) is None and not promote(off).promoted
    assert list(tmp_path.iterdir()) == []


def test_log_run_needs_to_know_which_model_was_logged(tmp_path, model, report) -> None:
    table = metrics_table(0.5, 0.5)
    two = pd.concat([table, table.assign(model="lightgbm_lambdarank")])
    settings = TrackingSettings(uri=f"sqlite:///{tmp_path}/m.db", artifact_dir=tmp_path / "a")
    args = {"as_of": "2026-11-01", "config": {}, "params": {}, "artifacts": [report], "tags": {}}
    with pytest.raises(ValueError, match="pass model_name"):
        log_run(settings, metrics=two, booster=model[0], calibrator=model[1], **args)
    with pytest.raises(ValueError, match="no figures"):
        log_run(settings, metrics=table, booster=model[0], calibrator=model[1], model_name="x", **args)


def test_relative_sqlite_path_resolves_against_current_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = TrackingSettings()
    assert settings.tracking_uri() == f"sqlite:///{tmp_path}/data/mlflow/mlflow.db"
    assert settings.artifact_location() == tmp_path / "data/mlflow/artifacts"
    assert TrackingSettings(uri="sqlite:////abs/m.db").tracking_uri() == "sqlite:////abs/m.db"
    assert TrackingSettings(uri="http://mlflow:5000").tracking_uri() == "http://mlflow:5000"
    with pytest.raises(ValueError, match="not a file"):
        TrackingSettings(uri="sqlite://")
    assert flatten({"a": {"b": [1, 2]}, "c": None}) == {"config.a.b": "[1, 2]", "config.c": "null"}


def test_promote_refuses_a_version_whose_run_did_not_finish(store, model, report) -> None:
    from mlflow import MlflowClient

    own = store.model_copy(update={"experiment": "unfinished", "registered_model": "unfinished"})
    version = register_candidate(own, logged(own, model, report, precision=0.5, harm=0.6))
    client = MlflowClient(tracking_uri=own.tracking_uri())
    run_id = client.get_model_version(own.registered_model, str(version)).run_id
    client.update_run(run_id, status="RUNNING")  # as a kill during logging leaves it
    result = promote(own)
    assert not result.promoted
    assert result.subject == f"version {version}, trained by the run for 2026-11-01 (MLflow run {run_id})"
    assert result.reasons[0].startswith(f"its MLflow run {run_id} did not finish (status RUNNING)")
    assert client.get_registered_model(own.registered_model).aliases.get(CHAMPION) is None


def test_promote_says_when_a_later_run_was_interrupted(store, model, report) -> None:
    from mlflow import MlflowClient

    own = store.model_copy(update={"experiment": "interrupted", "registered_model": "interrupted"})
    version = register_candidate(own, logged(own, model, report, precision=0.5, harm=0.6))
    client = MlflowClient(tracking_uri=own.tracking_uri())
    experiment = client.get_experiment_by_name(own.experiment).experiment_id
    later = client.create_run(experiment, tags={"harmrank.as_of": "2026-12-01"})  # killed: still RUNNING
    refused = promote(own)
    assert not refused.promoted and "trained by the run for 2026-11-01" in refused.subject
    assert refused.reasons == [
        f"a later run, for 2026-12-01 (MLflow run {later.info.run_id}), did not finish (status RUNNING): "
        "the candidate did not score the latest list. Run that date again, or name the version to promote "
        "with --version"
    ]
    named = promote(own, version)  # promoting that version deliberately is allowed
    assert named.promoted and named.version == version


@pytest.mark.parametrize("method", ["isotonic", "isotonic_interp", "sigmoid", "beta"])
@pytest.mark.parametrize("kind", ["margin", "probability"])
def test_every_calibrator_round_trips_exactly(method: str, kind: str) -> None:
    rng = np.random.default_rng(6)
    margin = rng.normal(-1, 1.5, 2000)
    y = (rng.random(2000) < expit(1.2 * margin)).astype(int)
    scores = margin if kind == "margin" else expit(margin)
    fitted = Calibrator(method, scores_are=kind, min_step_rows=30).fit(scores, y)  # type: ignore[arg-type]
    state = calibrator_to_dict(fitted)
    again = calibrator_from_dict(json.loads(json.dumps(state)))
    assert calibrator_to_dict(again) == state
    assert state["format"] == (
        "harmrank.calibrator/2" if method in ("isotonic", "sigmoid") else "harmrank.calibrator/3"
    )
    probe = np.concatenate([scores, scores + 0.013]) if kind == "margin" else np.clip(scores * 1.01, 0, 1)
    np.testing.assert_array_equal(again.transform(probe), fitted.transform(probe))
    np.testing.assert_array_equal(again.band(probe), fitted.band(probe))


def test_a_calibrator_stored_in_format_2_still_reads() -> None:
    stored = {  # as harmrank wrote it before beta calibration
        "format": "harmrank.calibrator/2",
        "method": "isotonic",
        "scores_are": "margin",
        "n": 100,
        "base_rate": 0.3,
        "isotonic": {"min_step_rows": 50, "edges": [-2.5, 0.25], "n": [50, 50], "positives": [5, 25]},
    }
    calibrator = calibrator_from_dict(stored)
    np.testing.assert_array_equal(
        calibrator.transform(np.array([-9.0, 0.0, 0.25, 4.0])), [0.1, 0.1, 0.5, 0.5]
    )
    assert calibrator_to_dict(calibrator) == stored
    with pytest.raises(PipelineError, match="unknown calibrator format"):
        calibrator_from_dict({**stored, "format": "harmrank.calibrator/1"})


def test_a_champion_without_a_harm_model_is_refused_for_ranking_by_expected_harm(
    store, model, report
) -> None:
    from scoring.config import RunConfig
    from scoring.pipeline import _champion

    version = register_candidate(store, logged(store, model, report, precision=0.43, harm=0.55))
    assert promote(store, version).promoted
    names = list(features(1, seed=0).columns)
    by_harm = RunConfig(tracking=store).model_copy(
        update={"scoring": RunConfig().scoring.model_copy(update={"rank_by": "expected_harm"})}
    )
    with pytest.raises(PipelineError, match=rf"version {version} .* registered without a harm model"):
        _champion(by_harm, names)  # the list would not be the registered unit's
    loaded = _champion(RunConfig(tracking=store), names)
    assert loaded is not None and loaded[2] == version and loaded[3] is None
