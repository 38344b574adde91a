"""The MLflow store: where it is (:class:`TrackingSettings`), connecting to it, and moving it.

A local store (SQLite file and artifact directory) records absolute ``file://`` artifact
locations, and MLflow 3 keeps no relative ones. :func:`relocate_store` (run on every connection)
rewrites them when the store has been copied or moved to where the settings now point.
``import mlflow`` takes about 2 s, so it is imported inside :func:`connect`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger("harmrank")


class TrackingSettings(BaseModel):
    """Where runs and registered models are kept.

    Relative paths (of a ``sqlite:///`` URI and of ``artifact_dir``) are resolved against the
    current directory when MLflow is first used, not when the settings are read.
    """

    model_config = ConfigDict(extra="forbid")

    uri: str = Field("sqlite:///data/mlflow/mlflow.db", description="MLflow tracking and registry URI.")
    artifact_dir: Path = Field(Path("data/mlflow/artifacts"), description="Where run artifacts are stored.")
    experiment: str = Field("harmrank", min_length=1, description="MLflow experiment of the runs.")
    registered_model: str = Field("harmrank", min_length=1, description="Registered model name.")
    enabled: bool = Field(True, description="Log runs to MLflow (false: log nothing).")

    @field_validator("uri")
    @classmethod
    def _persistent(cls, uri: str) -> str:
        if uri.startswith("sqlite:") and not uri.startswith("sqlite:///"):
            raise ValueError(f"{uri!r} is not a file: use sqlite:///relative.db or sqlite:////abs.db")
        return uri

    def tracking_uri(self) -> str:
        """The URI with a relative SQLite path made absolute."""
        if not self.uri.startswith("sqlite:///"):
            return self.uri
        path = Path(self.uri.removeprefix("sqlite:///"))
        return self.uri if path.is_absolute() else f"sqlite:///{path.absolute()}"

    def artifact_location(self) -> Path:
        """The artifact directory as an absolute path."""
        return self.artifact_dir.expanduser().absolute()


def connect(settings: TrackingSettings) -> tuple[Any, MlflowClient]:
    """MLflow (the module) and a client, both pointed at the store of ``settings`` (relocated first
    when it was moved)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # offline: no telemetry host look-up
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # the CLI presents progress
    import mlflow
    import mlflow.lightgbm  # the flavour is a submodule

    uri = settings.tracking_uri()
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    moved_from = relocate_store(settings)
    if moved_from is not None:
        log.warning(
            "MLflow store moved: its artifact locations now point to %s", settings.artifact_location()
        )
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return mlflow, mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


#: (table, column) of every artifact location a SQLite store records (MLflow 3's schema)
_LOCATIONS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
    ("model_versions", "storage_location"),
)


def relocate_store(settings: TrackingSettings) -> str | None:
    """Point a copied or moved local store at its artifacts' new place; the old root, or None.

    MLflow records every experiment's, run's and model's artifact location as an absolute
    ``file://`` URI, and keeps no relative ones (``mlflow-artifacts:`` locations need a tracking
    server). When the experiment's recorded root is not ``settings.artifact_dir`` but that
    directory holds every logged model recorded under the old root (the store was copied or moved
    whole), each location under the old root is rewritten to the new one, so that harmrank and
    plain MLflow (``models:/harmrank@champion``) read the copy. Otherwise nothing changes.
    """
    uri = settings.tracking_uri()
    db = Path(uri.removeprefix("sqlite:///"))
    if not uri.startswith("sqlite:///") or not db.is_file():
        return None
    new_root, new = settings.artifact_location(), settings.artifact_location().as_uri()
    connection = sqlite3.connect(db, timeout=30)
    try:
        with connection:  # one transaction: every location is rewritten, or none
            query = "SELECT artifact_location FROM experiments WHERE name = ?"
            row = connection.execute(query, (settings.experiment,)).fetchone()
            old = None if row is None else str(row[0])
            if old is None or old == new or not old.startswith("file:"):
                return None
            if not _holds_models(connection, old, new_root):
                message = "tracking.artifact_dir is %s, but the store keeps its artifacts in %s (still used)"
                log.warning(message, new_root, old)
                return None
            for table, column in _LOCATIONS:
                connection.execute(
                    f"UPDATE {table} SET {column} = ? || substr({column}, ?) WHERE {_under(column)}",
                    (new, len(old) + 1, len(old), old, len(old), len(old) + 1),
                )
    except sqlite3.OperationalError:  # not (yet) an MLflow store: nothing to relocate
        return None
    finally:
        connection.close()
    return old


def _under(column: str) -> str:
    """SQL: ``column`` is a root or a path under it; parameters len(root), root, len(root), len(root) + 1."""
    return f"substr({column}, 1, ?) = ? AND (length({column}) = ? OR substr({column}, ?, 1) = '/')"


def _holds_models(connection: sqlite3.Connection, old: str, new_root: Path) -> bool:
    """Whether ``new_root`` holds the artifacts of every logged model recorded under ``old``."""
    rows = connection.execute(
        f"SELECT artifact_location FROM logged_models WHERE {_under('artifact_location')}",
        (len(old), old, len(old), len(old) + 1),
    ).fetchall()
    return new_root.is_dir() and all(
        (new_root / unquote(r[0][len(old) :].lstrip("/"))).is_dir() for r in rows
    )
