"""Leakage: the future never reaches a feature, and the protected table never reaches the matrix."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.build import FeatureSettings, build_matrix, features_at, prepare_events
from features.catalogue import active_features
from features.catalogue_types import TREND_BASE_DAYS, Feature
from features.records.schema import EVENT_TYPES, Records
from tests.features.conftest import WORLD_DATES

AS_OF = pd.Timestamp("2025-01-01")
ALL_ON = FeatureSettings(use_age=True, use_victimisation=True, use_police_activity=True)
CODES = ["VSO02", "SHP01", "VSO06"]  # the offences fixture's
COLUMNS = ["person_id", "event_type", "offence_code", "occurred_date", "recorded_date", "victim_id"]
COLUMNS += ["domestic", "weapon"]
PERSONS = pd.DataFrame(
    {"person_id": ["P1", "P2", "P3"], "birth_date": pd.to_datetime(["1990-01-01", None, "2004-05-06"])}
)

# (person, type, offence, days before the as-of date it occurred, days it took to record, victim, flags)
EVENT = st.tuples(
    st.sampled_from(list(PERSONS["person_id"])),
    st.sampled_from(EVENT_TYPES),
    st.sampled_from(CODES),
    st.integers(1, 1500),
    st.integers(0, 400),
    st.sampled_from([None, "V1", "V2"]),
    st.booleans(),
    st.booleans(),
)
FAST = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def frame(rows: list[tuple], offences: pd.DataFrame) -> pd.DataFrame:
    """Prepared events; each row's occurred and recorded dates are counted back from the as-of date."""
    out = pd.DataFrame(
        [
            (p, t, c, AS_OF - pd.Timedelta(days=ago), AS_OF - pd.Timedelta(days=ago - delay), v, d, w)
            for p, t, c, ago, delay, v, d, w in rows
        ],
        columns=COLUMNS,
    )
    out["victim_id"] = out["victim_id"].astype("str")
    return prepare_events(out, offences)


def features(rows: list[tuple], offences: pd.DataFrame) -> pd.DataFrame:
    return features_at(frame(rows, offences), PERSONS, AS_OF, ALL_ON).set_index("person_id")


@FAST
@given(st.lists(EVENT, max_size=12), EVENT, st.integers(-30, 1500), st.integers(0, 800))
def test_an_event_recorded_on_or_after_the_as_of_date_changes_nothing(
    offences: pd.DataFrame, base: list[tuple], late: tuple, ago: int, after: int
) -> None:
    person, kind, code, _, _, victim, domestic, weapon = late
    # occurred ``ago`` days before the as-of date (or after it), recorded on it or later
    extra = (person, kind, code, ago, max(ago, 0) + after, victim, domestic, weapon)
    assert frame([extra], offences)["recorded_date"].iloc[0] >= AS_OF
    pd.testing.assert_frame_equal(features(base, offences), features([*base, extra], offences))


def affected(feature: Feature, event: pd.Series, age: int) -> bool:
    """Whether the catalogue says ``event`` (``age`` days old) can change ``feature``."""
    source = feature.source
    if source is None or event["event_type"] not in source.event_types:
        return False
    if source.category is not None and event["category"] != source.category:
        return False
    if source.flag is not None and not event[source.flag]:
        return False
    if feature.aggregation.startswith("trend"):
        return age <= TREND_BASE_DAYS
    windowed = ("count", "harm_sum", "harm_max", "distinct_victims", "distinct_subgroups")
    return feature.aggregation not in windowed or feature.window_days is None or age <= feature.window_days


@FAST
@given(st.lists(EVENT, max_size=12), EVENT, st.integers(0, 60))
def test_moving_a_record_across_the_as_of_date_changes_exactly_what_it_feeds(
    offences: pd.DataFrame, base: list[tuple], moved: tuple, late_by: int
) -> None:
    person, kind, code, ago, delay, victim, domestic, weapon = moved
    early = (person, kind, code, ago, min(delay, ago - 1), victim, domestic, weapon)  # recorded before T
    late = (person, kind, code, ago, ago + late_by, victim, domestic, weapon)  # recorded on T or later
    known, unknown = features([*base, early], offences), features([*base, late], offences)
    event = frame([early], offences).iloc[0]
    assert set(unknown.index) <= set(known.index) and set(known.index) - set(unknown.index) <= {person}
    if person not in unknown.index:
        return
    before, after = unknown.loc[person], known.loc[person]
    for name in unknown.index.drop(person):
        pd.testing.assert_series_equal(unknown.loc[name], known.loc[name])
    for feature in active_features(use_age=True, use_victimisation=True, use_police_activity=True):
        change = after[feature.name] - before[feature.name]
        if not affected(feature, event, ago):
            assert change == 0 or (np.isnan(before[feature.name]) and np.isnan(after[feature.name])), (
                feature.name
            )
        elif feature.aggregation == "count":
            assert change == 1, feature.name
        elif feature.aggregation == "harm_sum":
            assert change == event["harm_q"] / 4, feature.name
        elif feature.aggregation in ("harm_max", "distinct_victims", "distinct_subgroups"):
            assert change >= 0, feature.name


def test_the_protected_table_cannot_reach_the_matrix(
    world_events: pd.DataFrame, world_records: Records
) -> None:
    for function in (build_matrix, features_at):
        assert "protected" not in inspect.signature(function).parameters
    protected = world_records.protected
    traits = [c for c in protected.columns if c != "person_id"]
    assert traits
    persons = world_records.persons
    shuffled = protected.copy()
    rng = np.random.default_rng(1)
    for column in traits:
        shuffled[column] = rng.permutation(shuffled[column].to_numpy())
    with_traits = persons.merge(shuffled, on="person_id", how="left")
    base = build_matrix(world_events, persons, WORLD_DATES[:3], ALL_ON)
    handed = build_matrix(world_events, with_traits, WORLD_DATES[:3], ALL_ON)
    pd.testing.assert_frame_equal(base, handed, check_exact=True)
    words = {
        "sex",
        "gender",
        "ethnicity",
        "race",
        "religion",
        "disability",
        "pregnancy",
        "marriage",
        "postcode",
    }
    tokens = {token for column in base.columns for token in column.lower().split("_")}
    assert not tokens & (words | {t.lower() for t in traits})
