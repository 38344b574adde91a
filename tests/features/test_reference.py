"""The fast engine agrees exactly with the plain-pandas reference, across panels and thread counts."""

from __future__ import annotations

import pandas as pd
import pytest

from features.build import FeatureSettings, build_matrix, features_at, model_feature_names
from features.records.schema import Records
from features.reference import reference_matrix
from tests.features.conftest import WORLD_DATES

SETTINGS = {
    "defaults": (FeatureSettings(), WORLD_DATES),
    "every switch, other cohort": (
        FeatureSettings(
            use_age=True,
            use_victimisation=True,
            use_police_activity=True,
            harm_half_life_days=90,
            cohort_lookback_days=400,
            cohort_event_types=["crime_suspect", "arrest"],
        ),
        WORLD_DATES[::2],
    ),
}


@pytest.mark.parametrize("name", list(SETTINGS))
def test_engine_equals_reference(name: str, world_events: pd.DataFrame, world_records: Records) -> None:
    settings, dates = SETTINGS[name]
    engine = build_matrix(world_events, world_records.persons, dates, settings)
    reference = reference_matrix(world_events, world_records.persons, dates, settings)
    assert list(engine.columns) == ["person_id", "as_of", *model_feature_names(settings)]
    assert len(engine) > 1000 and engine["suspect_count_30d"].gt(0).any()
    pd.testing.assert_frame_equal(engine, reference, check_exact=True)


def test_panel_rows_equal_single_dates(world_events: pd.DataFrame, world_records: Records) -> None:
    settings = FeatureSettings(use_age=True, use_victimisation=True, use_police_activity=True)
    panel = build_matrix(world_events, world_records.persons, WORLD_DATES[::-1] + WORLD_DATES[:2], settings)
    singles = [features_at(world_events, world_records.persons, d, settings) for d in WORLD_DATES]
    pd.testing.assert_frame_equal(panel, pd.concat(singles, ignore_index=True), check_exact=True)


def test_identical_for_one_and_two_threads(world_events: pd.DataFrame, world_records: Records) -> None:
    one, two = (
        build_matrix(world_events, world_records.persons, WORLD_DATES, FeatureSettings(threads=threads))
        for threads in (1, 2)
    )
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    assert pd.util.hash_pandas_object(one).equals(pd.util.hash_pandas_object(two))
