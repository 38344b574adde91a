"""The feature engine on hand-computed cases: windows, harm, victims, career, cohort, policy switches."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from features.build import FeatureSettings, build_matrix, features_at, model_feature_names, prepare_events
from features.catalogue import active_features
from features.catalogue_types import recency_weights

AS_OF = pd.Timestamp("2025-01-01")

ALL_SWITCHES = FeatureSettings(use_age=True, use_victimisation=True, use_police_activity=True)


def day(offset: int) -> str:
    """The date ``offset`` days from the as-of date (negative: before)."""
    return (AS_OF + pd.Timedelta(days=offset)).date().isoformat()


def events_frame(rows: list[tuple], offences: pd.DataFrame) -> pd.DataFrame:
    """Prepared events from (person, type, offence, occurred, recorded[, victim, domestic, weapon]) rows."""
    full = [(*r, *(None, False, False)[len(r) - 5 :]) for r in rows]
    columns = ["person_id", "event_type", "offence_code", "occurred_date", "recorded_date"]
    frame = pd.DataFrame(full, columns=[*columns, "victim_id", "domestic", "weapon"])
    frame["event_id"] = [f"E{i:04d}" for i in range(len(frame))]
    for col in ("occurred_date", "recorded_date"):
        frame[col] = pd.to_datetime(frame[col])
    frame["victim_id"] = frame["victim_id"].astype("str")
    return prepare_events(frame, offences)


@pytest.fixture
def persons() -> pd.DataFrame:
    births = pd.to_datetime(["2000-01-01", "1990-06-30", None])
    return pd.DataFrame({"person_id": ["A", "B", "C"], "birth_date": births})


@pytest.fixture
def events(offences: pd.DataFrame) -> pd.DataFrame:
    rows = [
        ("A", "crime_suspect", "VSO02", day(-30), day(-27), "V1", True, False),  # 30 days: in the 30d window
        ("A", "crime_suspect", "VSO02", day(-31), day(-31), "V1", False, True),  # 31 days: 90d, not 30d
        ("A", "crime_suspect", "SHP01", day(-1095), day(-1095)),  # exactly 3 years: in 1095d
        ("A", "crime_suspect", "SHP01", day(-1096), day(-1000)),  # one day more: all history only
        ("A", "arrest", None, day(-10), day(-10)),
        ("A", "crime_victim", "VSO02", day(-5), day(-5)),  # counts only under use_victimisation
        ("A", "witness", "VSO02", day(-3), day(-3)),  # never a feature
        ("A", "crime_suspect", "VSO06", day(-2), day(0)),  # recorded ON the as-of date: invisible
        ("B", "crime_suspect", "SHP01", day(-700), day(-700)),
        ("C", "crime_victim", "VSO02", day(-100), day(-100)),  # a victim only: not in the cohort
    ]
    return events_frame(rows, offences)


def test_hand_computed_values(events: pd.DataFrame, persons: pd.DataFrame) -> None:
    out = features_at(events, persons, AS_OF, FeatureSettings()).set_index("person_id")
    assert list(out.index) == ["A", "B"]
    a = out.loc["A"]
    counts = [a[f"suspect_count_{w}"] for w in ("30d", "90d", "365d", "1095d", "all")]
    assert counts == [1, 2, 2, 3, 4]
    assert (a["suspect_harm_365d"], a["suspect_harm_1095d"], a["suspect_harm_all"]) == (730.0, 731.0, 732.0)
    assert a["suspect_violence_sexual_count_30d"] == 1 and a["suspect_violence_sexual_count_all"] == 2
    assert a["suspect_shoplifting_count_1095d"] == 1 and a["suspect_shoplifting_count_all"] == 2
    assert a["suspect_harm_max_365d"] == 365.0 and a["suspect_harm_max_all"] == 365.0
    assert a["distinct_victims_365d"] == 1 and a["distinct_victims_all"] == 1
    assert a["distinct_subgroups_365d"] == 1 and a["distinct_subgroups_all"] == 2
    assert a["domestic_count_365d"] == 1 and a["weapon_count_365d"] == 1
    assert a["arrest_count_30d"] == 1 and a["arrest_count_all"] == 1 and a["charge_count_all"] == 0
    assert a["days_since_last_offence"] == 30 and a["days_since_first_offence"] == 1096
    assert a["offence_free_months"] == 0
    assert a["career_years"] == 1066 / 365.25
    assert a["copas_rate"] == np.log(4 / (10 + 1066 / 365.25))
    assert a["suspect_trend_90d"] == 2.0 and a["suspect_harm_trend_90d"] == 730.0
    w = recency_weights(365)
    expected = (1460 * w[30] + 1460 * w[31] + 4 * w[1095] + 4 * w[1096]) / 2**22
    assert a["suspect_harm_recency"] == expected
    assert expected == pytest.approx(
        365 * (0.5 ** (30 / 365) + 0.5 ** (31 / 365)) + 0.125 + 0.5 ** (1096 / 365)
    )


def test_second_person_and_declared_types(events: pd.DataFrame, persons: pd.DataFrame) -> None:
    out = features_at(events, persons, AS_OF, FeatureSettings())
    b = out.set_index("person_id").loc["B"]
    assert b["suspect_count_all"] == 1 and b["suspect_harm_365d"] == 0.0 and b["suspect_harm_1095d"] == 1.0
    assert b["days_since_last_offence"] == 700 and b["offence_free_months"] == 700 * 16 // 487
    assert b["distinct_victims_all"] == 0 and b["suspect_trend_90d"] == 0.0
    assert list(out.columns) == ["person_id", "as_of", *model_feature_names(FeatureSettings())]
    for feature in active_features():
        assert out[feature.name].dtype == feature.dtype, feature.name
    assert out["as_of"].eq(AS_OF).all() and not out.isna().any().any()


def test_victim_and_age_only_under_policy_switches(events: pd.DataFrame, persons: pd.DataFrame) -> None:
    off = features_at(events, persons, AS_OF, FeatureSettings())
    assert not {"age", "age_at_first_offence", "victim_count_30d"} & set(off.columns)
    on = features_at(
        events,
        persons,
        AS_OF,
        ALL_SWITCHES,
    )
    a = on.set_index("person_id").loc["A"]
    assert a["victim_count_30d"] == 1 and a["victim_count_all"] == 1
    assert a["age"] == (AS_OF - pd.Timestamp("2000-01-01")).days / 365.25
    assert a["age_at_first_offence"] == (pd.Timestamp(day(-1096)) - pd.Timestamp("2000-01-01")).days / 365.25
    assert list(on["person_id"]) == ["A", "B"]  # being a victim never brings C into the cohort
    shared = [c for c in off.columns if c in on.columns]
    pd.testing.assert_frame_equal(off, on[shared])  # the switches add columns and change nothing else


def test_unknown_birth_date_is_the_declared_missing_value(offences: pd.DataFrame) -> None:
    events = events_frame([("C", "crime_suspect", "SHP01", day(-3), day(-3))], offences)
    persons = pd.DataFrame({"person_id": ["C"], "birth_date": pd.to_datetime([None])})
    out = features_at(events, persons, AS_OF, FeatureSettings(use_age=True))
    assert math.isnan(out["age"].iloc[0]) and math.isnan(out["age_at_first_offence"].iloc[0])


def test_cohort_lookback_and_event_types(events: pd.DataFrame, persons: pd.DataFrame) -> None:
    def cohort(**settings: object) -> list[str]:
        return list(features_at(events, persons, AS_OF, FeatureSettings(**settings))["person_id"])

    assert cohort(cohort_lookback_days=365) == ["A"]
    assert cohort(cohort_lookback_days=699) == ["A"] and cohort(cohort_lookback_days=700) == ["A", "B"]
    assert cohort(cohort_event_types=["arrest"]) == ["A"]
    assert cohort(cohort_event_types=["crime_victim"]) == ["A", "C"]


def test_a_record_a_day_before_the_as_of_date_is_seen(events: pd.DataFrame, persons, offences) -> None:
    early = events_frame([("A", "crime_suspect", "VSO06", day(-1), day(-1))], offences)
    out = features_at(pd.concat([events, early]), persons, AS_OF, FeatureSettings()).set_index("person_id")
    assert out.loc["A", "suspect_harm_365d"] == 730.0 + 2555.0
    assert out.loc["A", "suspect_harm_max_365d"] == 2555.0
    assert out.loc["A", "days_since_last_offence"] == 1 and out.loc["A", "distinct_subgroups_365d"] == 2


def test_matrix_sorts_dates_and_ignores_duplicates(events: pd.DataFrame, persons: pd.DataFrame) -> None:
    earlier = pd.Timestamp("2024-07-01")
    matrix = build_matrix(events, persons, [AS_OF, earlier, AS_OF], FeatureSettings())
    expected = pd.concat(
        [features_at(events, persons, d, FeatureSettings()) for d in (earlier, AS_OF)], ignore_index=True
    )
    pd.testing.assert_frame_equal(matrix, expected)
    assert list(matrix["as_of"].drop_duplicates()) == [earlier, AS_OF]


def test_an_empty_cohort_gives_an_empty_matrix(events: pd.DataFrame, persons: pd.DataFrame) -> None:
    out = features_at(events, persons, pd.Timestamp("2010-01-01"), FeatureSettings(use_age=True))
    assert out.empty and list(out.columns) == [
        "person_id",
        "as_of",
        *model_feature_names(FeatureSettings(use_age=True)),
    ]


def test_bad_input_is_refused(events: pd.DataFrame, persons: pd.DataFrame, offences: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="whole days"):
        features_at(events, persons, pd.Timestamp("2025-01-01 12:00"), FeatureSettings())
    with pytest.raises(ValueError, match="no as-of date"):
        build_matrix(events, persons, [], FeatureSettings())
    with pytest.raises(ValueError, match="unknown event type"):
        events_frame([("A", "burglary", "SHP01", day(-1), day(-1))], offences)
    with pytest.raises(ValueError, match="unknown event type"):
        FeatureSettings(cohort_event_types=["suspect"])
