"""The first feature set: values on hand-computed cases, and point-in-time correctness."""

from __future__ import annotations

import pandas as pd
import pytest

from features.build import FeatureSettings, build_matrix, cohort_at, features_at, prepare_events
from features.catalogue import CATALOGUE, feature_names
from tests.conftest import make_events

AS_OF = pd.Timestamp("2025-01-01")


@pytest.fixture
def persons() -> pd.DataFrame:
    return pd.DataFrame(
        {"person_id": ["A", "B", "C"], "birth_date": pd.to_datetime(["2000-01-01", "1990-06-30", None])}
    )


@pytest.fixture
def events(offences: pd.DataFrame) -> pd.DataFrame:
    raw = make_events(
        [
            ("A", "crime_suspect", "VSO02", "2024-06-01", "2024-06-03"),  # in 365d window
            ("A", "crime_suspect", "SHP01", "2021-03-01", "2021-03-01"),  # all-time only, outside cohort window
            ("A", "arrest", None, "2024-06-02", "2024-06-02"),  # not a suspect event
            ("B", "crime_suspect", "VSO06", "2024-12-30", "2025-01-01"),  # recorded ON as-of: invisible
            ("B", "crime_suspect", "SHP01", "2023-02-01", "2023-02-01"),  # visible, 700 days before
            ("C", "crime_victim", "VSO02", "2024-10-01", "2024-10-01"),  # a victim only: not in cohort
        ]
    )
    return prepare_events(raw, offences)


def test_hand_computed_values(events: pd.DataFrame, persons: pd.DataFrame) -> None:
    out = features_at(events, persons, AS_OF, FeatureSettings()).set_index("person_id")
    assert list(out.index) == ["A", "B"]
    a, b = out.loc["A"], out.loc["B"]
    assert a["suspect_count_365d"] == 1 and a["suspect_count_all"] == 2
    assert a["suspect_harm_365d"] == 365.0 and a["suspect_harm_all"] == 366.0
    assert a["days_since_last_suspect"] == (AS_OF - pd.Timestamp("2024-06-01")).days
    # B's rape allegation is recorded on the as-of date itself, so it does not exist yet.
    assert b["suspect_count_365d"] == 0 and b["suspect_harm_365d"] == 0.0
    assert b["suspect_count_all"] == 1 and b["suspect_harm_all"] == 1.0
    assert b["days_since_last_suspect"] == (AS_OF - pd.Timestamp("2023-02-01")).days
    assert list(out.columns) == ["as_of", *feature_names()]


def test_cohort_uses_lookback(events: pd.DataFrame) -> None:
    assert list(cohort_at(events, AS_OF, FeatureSettings())) == ["A", "B"]
    assert list(cohort_at(events, AS_OF, FeatureSettings(cohort_lookback_days=365))) == ["A"]


def test_record_on_or_after_as_of_changes_nothing(events: pd.DataFrame, persons: pd.DataFrame, offences) -> None:
    before = features_at(events, persons, AS_OF, FeatureSettings())
    late = prepare_events(make_events([("A", "crime_suspect", "VSO06", "2024-12-31", "2025-01-01")]), offences)
    after = features_at(pd.concat([events, late], ignore_index=True), persons, AS_OF, FeatureSettings())
    pd.testing.assert_frame_equal(before, after)


def test_record_a_day_before_as_of_is_seen(events: pd.DataFrame, persons: pd.DataFrame, offences) -> None:
    early = prepare_events(make_events([("A", "crime_suspect", "VSO06", "2024-12-31", "2024-12-31")]), offences)
    out = features_at(pd.concat([events, early]), persons, AS_OF, FeatureSettings()).set_index("person_id")
    assert out.loc["A", "suspect_harm_365d"] == 365.0 + 2555.0
    assert out.loc["A", "days_since_last_suspect"] == 1


def test_age_only_under_policy_switch(events: pd.DataFrame, persons: pd.DataFrame) -> None:
    assert "age" not in features_at(events, persons, AS_OF, FeatureSettings()).columns
    out = features_at(events, persons, AS_OF, FeatureSettings(use_age=True)).set_index("person_id")
    assert out.loc["A", "age"] == pytest.approx(25.0, abs=0.01)


def test_matrix_stacks_dates_in_order(events: pd.DataFrame, persons: pd.DataFrame) -> None:
    dates = [pd.Timestamp("2024-07-01"), AS_OF]
    matrix = build_matrix(events, persons, dates, FeatureSettings())
    assert list(matrix["as_of"].drop_duplicates()) == dates
    assert matrix[feature_names()].notna().all().all()


def test_every_feature_declares_imputation_and_template() -> None:
    for feature in CATALOGUE:
        assert "{value}" in feature.template
        assert feature.impute is not None
