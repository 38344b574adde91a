"""MLflow for the monthly job: log the run, register a newly trained model as ``candidate``.

Only aggregate files are logged as artifacts (model report, metrics, manifest, equality report
and audit). The list and the officer pages hold personal data and stay in the run directory.
The model is logged as the whole scoring unit (:mod:`models.pyfunc`): loading
``models:/<registered_model>@champion`` and calling ``predict`` on the features gives the list's
probability. Each run is tagged with the code revision and the config's hash (:func:`provenance`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from models.registry import TrackingSettings
from scoring.config import RunConfig
from scoring.equality import AUDIT_TABLES
from scoring.io import owner_only
from scoring.pipeline import RunResult
from scoring.provenance import config_hash, git_revision

AGGREGATE_FILES = (
    "model.html",
    "metrics.json",
    "manifest.json",
    "equality.html",
    "audit.json",
    *AUDIT_TABLES.values(),
)
METRIC_COLUMNS = ["model", "month", "metric", "k", "ties", "value", "lo", "hi", "greater_is_better"]
REVISION_TAG, DIRTY_TAG, CONFIG_HASH_TAG = (
    "harmrank.code_revision",
    "harmrank.code_dirty",
    "harmrank.config_sha256",
)


@dataclass
class Tracked:
    """Where the run went in MLflow."""

    run_id: str
    version: int | None  # registered model version (alias candidate); None when nothing was trained


def _metrics(result: RunResult) -> tuple[pd.DataFrame, str]:
    """The backtest's metric table and the name in it of the model that scored the list."""
    if result.backtest is None:
        name = f"lightgbm_{result.training['objective']}"
        return pd.DataFrame(columns=METRIC_COLUMNS), name
    table = result.backtest.evaluation.table
    return table, result.backtest.selection.chosen


def track_run(result: RunResult, config: RunConfig, run_dir: Path) -> Tracked | None:
    """Log the run to MLflow and register its model when one was trained; None when tracking is off.

    The equality audit's pooled figures are logged as metrics; a gate breach tags the run so that
    ``harmrank promote`` refuses its model.
    """
    if not config.tracking.enabled:
        return None
    equality = result.equality
    extra_metrics = None
    if equality is not None:  # the headline ratios and the gate's counts; the full tables are artifacts
        extra_metrics = equality.audit.mlflow_metrics(config.fairness.gate.k)
        extra_metrics |= {f"gate.{s.replace(' ', '_')}": float(n) for s, n in equality.gate.counts().items()}
    blocked = equality.blocked_reason() if equality is not None else None
    from models.registry import BLOCK_TAG, log_run, register_candidate

    metrics, name = _metrics(result)
    if name not in set(metrics["model"]):
        metrics = pd.concat([metrics, _placeholder(name)], ignore_index=True)
    config_data = config.model_dump(mode="json")
    tags = {"harmrank.model_source": result.model_source, "harmrank.rank_by": config.scoring.rank_by}
    tags |= provenance(config_data)
    if result.champion_version is not None:
        tags["harmrank.champion_version"] = str(result.champion_version)
    if blocked:
        tags[BLOCK_TAG] = blocked
    if equality is not None and equality.gate.accepted:  # breaches reviewers accepted: visible in MLflow
        tags["harmrank.accepted_breaches"] = "; ".join(equality.gate.accepted)[:4000]
    params = {
        "training": {k: v for k, v in result.training.items() if k != "features"},
        "n_features": len(result.features),
    }
    run_id = log_run(
        config.tracking,
        as_of=result.as_of.date().isoformat(),
        config=config_data,
        params=params,
        metrics=metrics,
        booster=result.model.ranker.booster_,
        calibrator=result.model.calibrator,
        artifacts=[run_dir / f for f in AGGREGATE_FILES if (run_dir / f).exists()],
        tags=tags,
        model_name=name,
        extra_metrics=extra_metrics,
        harm_model=result.model.harm_model,
        feature_dtypes=result.current[result.features].dtypes.to_dict(),
        protected=_protected_names(result, config),
    )
    assert run_id is not None
    version = register_candidate(config.tracking, run_id) if result.model_source == "trained" else None
    secure_store(config.tracking)
    return Tracked(run_id, version)


def provenance(config: Mapping[str, object]) -> dict[str, str]:
    """Tags naming the code and config a run used: :data:`REVISION_TAG`, :data:`DIRTY_TAG` (true when
    tracked files had changes not committed; left out when that is unknown) and :data:`CONFIG_HASH_TAG`."""
    revision, dirty = git_revision()
    tags = {REVISION_TAG: revision, CONFIG_HASH_TAG: config_hash(config)}
    if dirty is not None:
        tags[DIRTY_TAG] = str(dirty).lower()
    return tags


def _protected_names(result: RunResult, config: RunConfig) -> list[str]:
    """The protected table's characteristics and the audited ones: inputs the logged model refuses."""
    table = result.records.protected
    names = [str(c) for c in table.columns if c != "person_id"] if table is not None else []
    return list(dict.fromkeys([*names, *(config.fairness.characteristics or [])]))


def secure_store(settings: TrackingSettings) -> list[Path]:
    """Make a local MLflow store owner-only: its SQLite file (and its folder) and its artifacts.

    The store holds the model, the calibrator and the run's aggregate reports. A store behind a
    server (``http://...``) or another database is the server's to protect. Returns what was changed.
    """
    done = []
    if settings.uri.startswith("sqlite:///"):
        db = Path(settings.tracking_uri().removeprefix("sqlite:///"))
        for path in (db.parent, db):
            if path.is_file():
                owner_only(path)
                done.append(path)
            elif path.is_dir():
                os.chmod(path, 0o700)
                done.append(path)
    artifacts = settings.artifact_location()
    if artifacts.exists():
        owner_only(artifacts)
        done.append(artifacts)
    return done


def _placeholder(name: str) -> pd.DataFrame:
    """A row naming the model when no backtest produced figures (promotion then has none to compare)."""
    row = dict.fromkeys(METRIC_COLUMNS)
    row |= {"model": name, "month": "pooled", "metric": "backtest_months", "value": 0.0, "ties": "list"}
    return pd.DataFrame([row], columns=METRIC_COLUMNS)
