"""MLflow tracking and the model registry: the one module that talks to MLflow.

A run logs the config (``config.json`` and flattened ``config.*`` params), the params, every
figure of the backtest's metrics table, the scoring unit as an MLflow pyfunc model (``model``:
the LightGBM booster in its own text format, the calibrator as JSON, the harm model when the list
is ranked by expected harm, the ordered features; see :mod:`models.pyfunc` and :mod:`models.unit`)
and the report files. The calibrator is also written beside the run (``calibrator/calibrator.json``)
for an auditor who reads the run rather than the model. Metric names:

pooled
    ``<model>.<metric>`` or ``<model>.<metric>_at_<k>``, plus ``_lo`` / ``_hi`` for the interval
    and ``_worst`` / ``_best`` for the orders inside a tie at the cut-off when they are reported.
per month
    the same names under ``monthly/``, with ``step`` = months since 1970-01 and the month's date as
    timestamp, so MLflow plots them as series.

Registry: :func:`register_candidate` makes a run's model a version of ``harmrank`` with alias
``candidate`` and records the headline figures in the version's tags; :func:`promote` moves alias
``champion`` to it under :data:`PROMOTION_RULE`; :func:`load_champion` returns what scoring needs,
read from the registered scoring unit (the same files ``mlflow.pyfunc.load_model`` reads).

Where the store is, connecting to it and moving it: :mod:`models.store` (its
:class:`TrackingSettings` and :func:`relocate_store` are also importable from here).
``import mlflow`` takes about 2 s, so it is imported inside the functions that use it.
"""

from __future__ import annotations

import json
import logging
import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from features.errors import PipelineError
from models.calibrate import Calibrator
from models.store import TrackingSettings, connect
from models.store import relocate_store as relocate_store  # importable from here, as before
from models.unit import ScoringUnit, calibrator_from_dict, calibrator_to_dict

if TYPE_CHECKING:
    import lightgbm as lgb
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    from models.expected_harm import HarmGivenOutcome

log = logging.getLogger("harmrank")

CANDIDATE, CHAMPION = "candidate", "champion"
BLOCK_TAG = "release_blocked"  # set (value: the reason) by the equality gate to stop promotion
MODEL_TAG = "harmrank.model"  # the name in the metrics table of the model that was logged
MODEL_URI_TAG = "harmrank.model_uri"
V100 = "v100"
HEADLINE = (("precision", 100), ("harm_captured", 100))
CALIBRATOR_PATH = "calibrator/calibrator.json"
PROMOTION_RULE = (
    "A version becomes champion only if its pooled backtest precision@100 and harm captured@100 "
    "are both greater than the V100 baseline's on the same months, and its run is not tagged "
    f"{BLOCK_TAG}."
)
_MAX_PARAM, _MAX_KEY, _PARAMS_PER_BATCH, _METRICS_PER_BATCH = 6000, 250, 100, 1000
_BAD_KEY_CHARS = re.compile(r"[^\w\-. /]")
T = TypeVar("T")


@dataclass
class PromotionResult:
    """What :func:`promote` decided and why.

    ``reasons`` holds the failed checks when refused, the passed checks when promoted.
    ``figures`` holds the pooled values compared (``model.precision_at_100``, ``v100...``).
    """

    promoted: bool
    version: int | None
    reasons: list[str]
    figures: dict[str, float | str] = field(default_factory=dict)
    rule: str = PROMOTION_RULE
    subject: str = ""  # what was (or would have been) promoted: version, the run's as-of date, run id


def metric_key(model: str, metric: str, k: int | None = None, ties: str = "list") -> str:
    """The MLflow name of a pooled figure, e.g. ``lightgbm_binary.precision_at_100``."""
    at, order = ("" if k is None else f"_at_{k}"), ("" if ties == "list" else f"_{ties}")
    return _key(f"{model}.{metric}{at}{order}")


def _key(name: str) -> str:
    """``name`` with characters MLflow rejects in keys replaced by ``_``, cut to its length limit."""
    return _BAD_KEY_CHARS.sub("_", name)[:_MAX_KEY]


def _get(fetch: Callable[[], T]) -> T | None:
    """``fetch()``, or None when MLflow says that what it asks for does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return fetch()
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        return None


def _alias(client: MlflowClient, name: str, alias: str) -> str | None:
    """The version an alias points to; None when the model or the alias does not exist."""
    model = _get(lambda: client.get_registered_model(name))
    version = None if model is None else model.aliases.get(alias)
    return None if version is None else str(version)


def _experiment_id(client: MlflowClient, settings: TrackingSettings) -> str:
    experiment = client.get_experiment_by_name(settings.experiment)
    if experiment is None:
        location = settings.artifact_location()
        location.mkdir(parents=True, exist_ok=True)
        return client.create_experiment(settings.experiment, artifact_location=location.as_uri())
    if experiment.lifecycle_stage != "active":
        raise PipelineError(f"MLflow experiment {settings.experiment!r} is deleted: restore it or rename it")
    return experiment.experiment_id


def _text(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= _MAX_PARAM else text[: _MAX_PARAM - 1] + "…"


def flatten(config: Mapping[str, object], prefix: str = "config") -> dict[str, str]:
    """Nested mappings as ``prefix.a.b`` -> text (lists as JSON), truncated to MLflow's limits."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            flat |= flatten(value, name)
        else:
            flat[_key(name)] = _text(value)
    return flat


def _step(index: int, label: str) -> tuple[int, int]:
    """(step, timestamp in ms) of a month: months since 1970-01 for an ISO date, else its index."""
    date = pd.to_datetime(label, errors="coerce", format="ISO8601")
    if pd.isna(date):
        return index, 0
    return (date.year - 1970) * 12 + date.month - 1, int(date.timestamp() * 1000)


def metric_entities(metrics: pd.DataFrame, now_ms: int) -> list[Metric]:
    """MLflow ``Metric`` objects for every row of the tidy table (NaN intervals left out)."""
    from mlflow.entities import Metric

    steps = {m: _step(i, m) for i, m in enumerate(sorted(set(metrics["month"]) - {"pooled"}))}
    out: list[Metric] = []
    for row in metrics.itertuples(index=False):
        k = None if pd.isna(row.k) else int(row.k)
        base = metric_key(str(row.model), str(row.metric), k, str(row.ties))
        step, stamp = (0, now_ms) if row.month == "pooled" else steps[row.month]
        prefix = "" if row.month == "pooled" else "monthly/"
        for suffix, value in (("", row.value), ("_lo", row.lo), ("_hi", row.hi)):
            if suffix and (value is None or pd.isna(value)):
                continue
            out.append(Metric(_key(f"{prefix}{base}{suffix}"), float(value), stamp, step))
    return out


def _headline_model(metrics: pd.DataFrame, model_name: str | None) -> str:
    models = sorted(set(metrics["model"]))
    if model_name is not None:
        if model_name not in models:
            raise ValueError(f"model {model_name!r} has no figures in the metrics table ({models})")
        return model_name
    lightgbm = [m for m in models if m.startswith("lightgbm") and "__" not in m]
    if len(lightgbm) != 1:
        raise ValueError(f"cannot tell which of {models} was logged; pass model_name=")
    return lightgbm[0]


#: what the scoring unit needs besides harmrank itself (which must be installed where it is loaded)
REQUIREMENTS = ("lightgbm", "numpy", "pandas", "scipy", "scikit-learn", "pydantic")


def _requirements() -> list[str]:
    return [f"{name}=={metadata.version(name)}" for name in REQUIREMENTS]


def log_run(
    settings: TrackingSettings,
    *,
    as_of: str,
    config: dict[str, object],
    params: dict[str, object],
    metrics: pd.DataFrame,
    booster: lgb.Booster,
    calibrator: Calibrator,
    artifacts: list[Path],
    tags: dict[str, str],
    model_name: str | None = None,
    extra_metrics: Mapping[str, float] | None = None,
    harm_model: HarmGivenOutcome | None = None,
    feature_dtypes: Mapping[str, Any] | None = None,
    protected: Sequence[str] = (),
) -> str | None:
    """Log one monthly run; returns its run id, or None when tracking is disabled.

    Parameters
    ----------
    as_of
        The run's as-of date (ISO), kept as tag ``harmrank.as_of`` and in the run name.
    config
        The validated config as plain data: ``config.json`` and ``config.*`` params.
    metrics
        :attr:`models.evaluate.EvaluationResult.table`: model, month, metric, k, ties, value,
        lo, hi, greater_is_better.
    booster, calibrator
        The model scored with and its fitted calibrator, logged with ``harm_model`` as one scoring
        unit, the pyfunc model ``model`` (:mod:`models.pyfunc`).
    artifacts
        Report files (or directories), logged under ``reports/``.
    model_name
        Which model of ``metrics`` the booster is (the backtest's choice); by default the only
        ``lightgbm*`` model in the table.
    extra_metrics
        Further pooled figures by name (such as the equality audit's), logged as they are.
    harm_model
        The harm-given-outcome model when the list is ranked by expected harm.
    feature_dtypes
        Each feature's dtype as the job builds it, for the model's signature (default: float64).
    protected
        Protected characteristics (the protected table's columns) the model refuses as inputs,
        besides :data:`models.pyfunc.PROTECTED_NAMES`.
    """
    if not settings.enabled:
        return None
    missing = [str(p) for p in artifacts if not Path(p).exists()]
    if missing:
        raise PipelineError(f"report files to log are missing: {missing}; write them before logging")
    model = _headline_model(metrics, model_name)
    features = list(booster.feature_name())
    unit = ScoringUnit(booster, calibrator, features, [p for p in protected if p not in features], harm_model)
    dtypes = dict(feature_dtypes) if feature_dtypes is not None else dict.fromkeys(features, "float64")
    mlflow, client = connect(settings)
    from mlflow.entities import Metric, Param, RunTag

    experiment_id = _experiment_id(client, settings)
    run_tags = {**tags, "harmrank.as_of": as_of, MODEL_TAG: model}
    all_params = flatten(config) | flatten(params, prefix="")
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"harmrank {as_of}") as run:
        run_id = run.info.run_id
        client.log_batch(run_id, tags=[RunTag(k, _text(v)) for k, v in run_tags.items()])
        param_batch = [Param(k, v) for k, v in all_params.items()]
        for i in range(0, len(param_batch), _PARAMS_PER_BATCH):
            client.log_batch(run_id, params=param_batch[i : i + _PARAMS_PER_BATCH])
        metric_batch = metric_entities(metrics, now_ms)
        extras = sorted((extra_metrics or {}).items())
        metric_batch += [Metric(_key(k), float(v), now_ms, 0) for k, v in extras if math.isfinite(float(v))]
        for i in range(0, len(metric_batch), _METRICS_PER_BATCH):
            client.log_batch(run_id, metrics=metric_batch[i : i + _METRICS_PER_BATCH])
        with warnings.catch_warnings():  # mlflow.pyfunc warns about its own type hints on first import
            warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\.types\.")
            from models.pyfunc import log_scoring_unit

            info = log_scoring_unit(unit, dtypes, _requirements())
        client.set_tag(run_id, MODEL_URI_TAG, info.model_uri)
        client.log_text(run_id, json.dumps(calibrator_to_dict(calibrator), indent=1), CALIBRATOR_PATH)
        client.log_text(run_id, json.dumps(config, indent=2, default=str, sort_keys=True), "config.json")
        for path in map(Path, artifacts):
            if path.is_dir():
                client.log_artifacts(run_id, str(path), f"reports/{path.name}")
            else:
                client.log_artifact(run_id, str(path), "reports")
    return run_id


def _headline_figures(client: MlflowClient, run_id: str) -> dict[str, float | str]:
    """Pooled precision@100 and harm captured@100 (with intervals) of the run's model and V100."""
    run = client.get_run(run_id)
    model = run.data.tags.get(MODEL_TAG)
    figures: dict[str, float | str] = {"model": model or "unknown"}
    for role, name in (("model", model), (V100, V100)):
        for metric, k in HEADLINE:
            for suffix in ("", "_lo", "_hi"):
                value = run.data.metrics.get(metric_key(name, metric, k) + suffix) if name else None
                figures[f"{role}.{metric}_at_{k}{suffix}"] = math.nan if value is None else float(value)
    return figures


def register_candidate(settings: TrackingSettings, run_id: str) -> int:
    """Register the run's model as a new version with alias ``candidate``; returns the version.

    The version's tags record the pooled headline figures of the model and of V100 that
    :func:`promote` compares.
    """
    if not settings.enabled:
        raise PipelineError("MLflow tracking is off (tracking.enabled: false); there is nothing to register")
    _, client = connect(settings)
    run = _get(lambda: client.get_run(run_id))
    if run is None:
        raise PipelineError(f"no MLflow run {run_id!r} in {settings.tracking_uri()}")
    model_uri = run.data.tags.get(MODEL_URI_TAG)
    if model_uri is None:
        raise PipelineError(f"run {run_id} logged no model; log it with harmrank before registering")
    name = settings.registered_model
    if _get(lambda: client.get_registered_model(name)) is None:
        description = "harmrank scoring unit (pyfunc): LightGBM booster, calibrator, harm model when used."
        client.create_registered_model(name, description=description)
    figures = _headline_figures(client, run_id)
    tags = {key: value if isinstance(value, str) else repr(value) for key, value in figures.items()}
    version = client.create_model_version(
        name, source=model_uri, run_id=run_id, tags=tags, model_id=model_uri.removeprefix("models:/")
    )
    client.set_registered_model_alias(name, CANDIDATE, version.version)
    return int(version.version)


def promote(settings: TrackingSettings, version: int | None = None) -> PromotionResult:
    """Move alias ``champion`` to the candidate (or ``version``) if it passes :data:`PROMOTION_RULE`.

    A refusal raises nothing: ``promoted`` is False and ``reasons`` says which check failed.
    Figures come from the version's tags (recorded at registration), else from its run's metrics.
    """
    if not settings.enabled:
        return PromotionResult(False, version, ["MLflow tracking is off (tracking.enabled: false)"])
    _, client = connect(settings)
    name = settings.registered_model
    number = str(version) if version is not None else _alias(client, name, CANDIDATE)
    found = None if number is None else _get(lambda: client.get_model_version(name, number))
    if number is None or found is None:
        which = f"version {version}" if version is not None else f"{CANDIDATE!r} version"
        return PromotionResult(False, version, [f"registered model {name!r} has no {which}; register one"])
    if found.run_id is None:
        raise PipelineError(f"registered model {name!r} version {found.version} has no MLflow run")
    run = client.get_run(found.run_id)
    as_of = run.data.tags.get("harmrank.as_of", "an unknown date")
    subject = f"version {number}, trained by the run for {as_of} (MLflow run {found.run_id})"
    unfinished = _unfinished(client, run, explicit=version is not None)
    if unfinished:
        return PromotionResult(False, int(number), unfinished, subject=subject)
    figures = _headline_figures(client, found.run_id)
    for key in figures.keys() & found.tags.keys():  # the figures recorded at registration win
        figures[key] = found.tags[key] if key == "model" else float(found.tags[key])
    passed, failed = [], []
    for metric, k in HEADLINE:
        label = f"{metric.replace('_', ' ')}@{k}"
        ours, v100 = float(figures[f"model.{metric}_at_{k}"]), float(figures[f"{V100}.{metric}_at_{k}"])
        text = f"{label}: model {ours:.4f} vs V100 {v100:.4f}, pooled over the backtest months"
        if math.isnan(ours) or math.isnan(v100):
            failed.append(f"{label}: a figure is missing from run {found.run_id}; the rule cannot be checked")
        elif ours > v100:
            passed.append(f"{text}: beats V100")
        else:
            failed.append(f"{text}: does not beat V100")
    blocked = run.data.tags.get(BLOCK_TAG, found.tags.get(BLOCK_TAG))
    if blocked is not None:
        failed.append(f"release blocked: {blocked or 'no reason recorded'}")
    if failed:
        return PromotionResult(False, int(number), failed, figures, subject=subject)
    client.set_registered_model_alias(name, CHAMPION, number)
    client.set_model_version_tag(name, number, "promoted_at", datetime.now(UTC).isoformat())
    return PromotionResult(True, int(number), passed, figures, subject=subject)


def _unfinished(client: MlflowClient, run: Any, explicit: bool) -> list[str]:
    """Why the version's run cannot be promoted yet: it did not finish, or (unless the version was
    named) a later run of the experiment did not finish, so the candidate did not score the latest list."""
    status = run.info.status
    if status != "FINISHED":
        return [
            f"its MLflow run {run.info.run_id} did not finish (status {status}): the run was interrupted "
            "while logging; run `harmrank run` for that date again"
        ]
    if explicit:
        return []
    later = client.search_runs(
        [run.info.experiment_id],
        filter_string=f"attributes.start_time > {int(run.info.start_time)}",
        order_by=["attributes.start_time DESC"],
    )
    broken = [r for r in later if r.info.status != "FINISHED"]
    if not broken:
        return []
    newest = broken[0]
    return [
        f"a later run, for {newest.data.tags.get('harmrank.as_of', 'an unknown date')} (MLflow run "
        f"{newest.info.run_id}), did not finish (status {newest.info.status}): the candidate did not "
        "score the latest list. Run that date again, or name the version to promote with --version"
    ]


def load_champion(
    settings: TrackingSettings,
) -> tuple[lgb.Booster, Calibrator, int, HarmGivenOutcome | None] | None:
    """The champion's booster, calibrator, version and harm model (None when it was trained to rank
    by probability); None without a champion (or tracking).

    They are read from the registered scoring unit, the files ``mlflow.pyfunc.load_model`` reads. A
    version registered before the scoring unit (a bare LightGBM model) is read as it was logged: its
    booster, and the calibrator beside its run (no harm model). The booster returns what it was
    trained to: ``predict(X, raw_score=True)`` is the margin the calibrator reads.
    """
    if not settings.enabled:
        return None
    mlflow, client = connect(settings)
    name = settings.registered_model
    version = _alias(client, name, CHAMPION)
    if version is None:
        return None
    uri = f"models:/{name}/{version}"
    if "lightgbm" in mlflow.models.get_model_info(uri).flavors:  # registered before the scoring unit
        found = client.get_model_version(name, version)
        booster = mlflow.lightgbm.load_model(uri)
        state = json.loads(mlflow.artifacts.load_text(f"runs:/{found.run_id}/{CALIBRATOR_PATH}"))
        return booster, calibrator_from_dict(state), int(version), None
    unit = load_champion_unit(settings, version)
    return unit.booster, unit.calibrator, int(version), unit.harm_model


def load_champion_unit(settings: TrackingSettings, version: str | int | None = None) -> ScoringUnit:
    """The registered scoring unit of ``version`` (by default the champion's)."""
    _, client = connect(settings)
    name = settings.registered_model
    number = str(version) if version is not None else _alias(client, name, CHAMPION)
    if number is None:
        raise PipelineError(f"registered model {name!r} has no {CHAMPION!r}; promote a version first")
    with warnings.catch_warnings():  # mlflow.pyfunc warns about its own type hints on first import
        warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\.types\.")
        from models.pyfunc import load_unit

        return load_unit(f"models:/{name}/{number}")


def fitted_dates(settings: TrackingSettings, version: int) -> list[pd.Timestamp]:
    """Every as-of date a registered version's model was trained, validated or calibrated on,
    from its run's ``training.*_dates`` params; empty when they were not recorded (or were cut)."""
    _, client = connect(settings)
    found = client.get_model_version(settings.registered_model, str(version))
    if found.run_id is None:
        return []
    params = client.get_run(found.run_id).data.params
    dates: list[pd.Timestamp] = []
    for part in ("train_dates", "validation_dates", "calibration_dates"):
        text = params.get(f"training.{part}")
        try:
            dates += [pd.Timestamp(d) for d in json.loads(text)] if text else []
        except (ValueError, TypeError):  # truncated or not a list: the window is unknown
            return []
    return sorted(set(dates))
