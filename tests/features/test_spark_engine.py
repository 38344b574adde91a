"""features.engine: spark runs the one set of feature statements on Spark SQL, with DuckDB's results.

Spark runs in local mode with two cores (``local[2]``), started once for the module (about 5 s).
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from features import sql
from features.build import FeatureSettings, build_matrix, features_at
from features.spark import SparkEngine, SparkSettings, _marked
from tests.conftest import DemoWorld
from tests.features import test_build
from tests.features.test_build import ALL_SWITCHES, AS_OF

pytestmark = pytest.mark.slow

events = test_build.events  # the hand-computed case's fixtures
persons = test_build.persons

LOCAL = SparkSettings(
    conf=SparkSettings().conf | {"spark.ui.showConsoleProgress": "false", "spark.sql.shuffle.partitions": "2"}
)


def on_spark(settings: FeatureSettings) -> FeatureSettings:
    return settings.model_copy(update={"engine": "spark", "spark": LOCAL})


def test_the_hand_computed_case_is_the_same_on_spark(events: pd.DataFrame, persons: pd.DataFrame) -> None:
    # every policy switch on: victim and age keys, police activity, all aggregations
    duck = features_at(events, persons, AS_OF, ALL_SWITCHES)
    spark = features_at(events, persons, AS_OF, on_spark(ALL_SWITCHES))
    pd.testing.assert_frame_equal(spark, duck, check_exact=True)
    assert list(spark["person_id"]) == ["A", "B"]  # C is a victim only; A's record on the as-of date unseen
    assert spark.set_index("person_id").loc["A", "suspect_count_all"] == 4


def test_an_empty_cohort_on_spark(events: pd.DataFrame, persons: pd.DataFrame) -> None:
    out = build_matrix(events, persons, [pd.Timestamp("2010-01-01")], on_spark(FeatureSettings()))
    expected = build_matrix(events, persons, [pd.Timestamp("2010-01-01")], FeatureSettings())
    assert out.empty
    pd.testing.assert_frame_equal(out, expected, check_exact=True)


def test_spark_gives_duckdbs_matrix_on_the_demo_world(demo_world: DemoWorld) -> None:
    # three as-of dates: events move between windows from one date to the next (the panel's hard part)
    dates = [pd.Timestamp("2025-11-01"), pd.Timestamp("2026-10-01"), pd.Timestamp("2026-11-01")]
    settings = demo_world.config.features
    duck = build_matrix(demo_world.events, demo_world.records.persons, dates, settings)
    spark = build_matrix(demo_world.events, demo_world.records.persons, dates, on_spark(settings))
    assert len(duck) > 20_000 and duck["as_of"].nunique() == 3
    pd.testing.assert_frame_equal(spark, duck, check_exact=True)


def test_one_copy_of_the_statements() -> None:
    # the engine renders DuckDB's $name parameters as Spark's :name markers and changes nothing else
    for statement in (sql.MEMBER, sql.PEOPLE, sql.EV, sql.ACTIVE, sql.BANDS, sql.RECENCY):
        marked = _marked(statement)
        assert "$" not in marked
        assert marked.replace(":", "$") == statement.replace(":", "$")
    assert sql.parameters(sql.BANDS) == {"cap", "n", "lo", "hi", "widest", "movable"}


def test_the_spark_engine_drops_its_tables_when_closed() -> None:
    engine = SparkEngine(LOCAL)
    engine.register("dates", pa.table({"j": [0, 1]}))
    engine.create("twice", "SELECT j * $k AS v FROM dates", {"k": 2})
    assert engine.fetch("SELECT sum(v) AS s FROM twice", {}).column("s").to_pylist() == [2]
    engine.close()
    assert not engine.spark.catalog.listTables()
