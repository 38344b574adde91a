"""The feature engine's statements on Spark SQL, for a force or a region whose records outgrow one machine.

``features.engine: spark`` runs the very statements of :mod:`features.sql` (one copy, written once
for both engines) on a Spark session: local mode on this machine, a cluster by its master URL, or
a Databricks or other Spark Connect workspace by ``remote``. The aggregates are integers summed per
group, so they are identical to DuckDB's; ``tests/test_spark_features.py`` checks the whole matrix.

pyspark is an optional extra (``pip install harmrank[spark]``), imported only when this engine runs.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from features.sql import parameters

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class SparkSettings(BaseModel):
    """Where the Spark session runs (``features.spark``; read only when ``features.engine`` is spark)."""

    model_config = ConfigDict(extra="forbid")

    master: str = Field(
        "local[2]",
        description="Spark master URL: local[N] on this machine, spark://host:7077, yarn, k8s://...",
    )
    remote: str | None = Field(
        None,
        description="Spark Connect URL (sc://host:15002, or a Databricks workspace's); used instead of "
        "master when set.",
    )
    conf: dict[str, str] = Field(
        {
            "spark.driver.memory": "4g",
            "spark.sql.shuffle.partitions": "8",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.session.timeZone": "UTC",
        },
        description="Spark configuration for the session (the whole mapping replaces these defaults).",
    )


def _import_pyspark() -> Any:
    try:
        import pyspark.sql
    except ImportError as exc:  # pragma: no cover - the extra is installed for make test
        raise RuntimeError(
            "features.engine is spark but pyspark is not installed: pip install 'harmrank[spark]'"
        ) from exc
    return pyspark.sql


LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")
JAVA_OPTIONS = "spark.driver.extraJavaOptions"


@functools.cache
def _session(master: str, remote: str | None, conf: tuple[tuple[str, str], ...]) -> SparkSession:
    sql = _import_pyspark()
    logging.getLogger("py4j").setLevel(logging.WARNING)  # it logs every connection it opens and closes
    builder = sql.SparkSession.builder.appName("harmrank-features")
    builder = builder.remote(remote) if remote else builder.master(master)
    settings = dict(conf)
    options = settings.get(JAVA_OPTIONS, "")
    if not remote and "log4j2.configurationFile" not in options:  # a JVM started here, logging errors only
        settings[JAVA_OPTIONS] = f"{options} -Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}".strip()
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    if not remote:
        session.sparkContext.setLogLevel("ERROR")
    return session


def session(settings: SparkSettings) -> SparkSession:
    """The Spark session for ``settings``, started once per process (a local start takes ~5 s)."""
    return _session(settings.master, settings.remote, tuple(sorted(settings.conf.items())))


def _marked(statement: str) -> str:
    """DuckDB's ``$name`` parameters as Spark's named parameter markers ``:name``."""
    return re.sub(r"\$(\w+)", r":\1", statement)


class SparkEngine:
    """The statements of :mod:`features.sql` on a Spark session of their own (private temp views).

    Tables created by a statement are persisted and counted once, so later statements read them
    instead of recomputing them; :meth:`close` unpersists them and drops every view.
    """

    def __init__(self, settings: SparkSettings) -> None:
        base = session(settings)
        # a session of its own: temp views are per session (Spark Connect sessions are already private)
        self.spark = base if settings.remote else base.newSession()
        self.kept: list[DataFrame] = []
        self.views: list[str] = []

    def _run(self, statement: str, params: dict[str, int]) -> DataFrame:
        args = {k: int(params[k]) for k in parameters(statement)}
        return self.spark.sql(_marked(statement), args=args)

    def _view(self, name: str, frame: DataFrame) -> None:
        frame.createOrReplaceTempView(name)
        self.views.append(name)

    def _keep(self, name: str, frame: DataFrame) -> None:
        frame = frame.persist()
        frame.count()
        self.kept.append(frame)
        self._view(name, frame)

    def register(self, name: str, table: pa.Table) -> None:
        self._keep(name, self.spark.createDataFrame(table))

    def create(self, name: str, query: str, params: dict[str, int]) -> None:
        self._keep(name, self._run(query, params))

    def fetch(self, query: str, params: dict[str, int]) -> pa.Table:
        return self._run(query, params).toArrow()

    def close(self) -> None:
        for name in self.views:
            self.spark.catalog.dropTempView(name)
        for frame in self.kept:
            frame.unpersist()
        self.views.clear()
        self.kept.clear()
