"""Labels: the horizon after the as-of date, serious harm only, unlabelled when not fully observed."""

from __future__ import annotations

import pandas as pd

from features.build import prepare_events
from features.labels import LabelSettings, build_labels, horizon_end
from tests.conftest import make_events


def test_labels_hand_computed(offences: pd.DataFrame) -> None:
    events = prepare_events(
        make_events(
            [
                ("A", "crime_suspect", "VSO02", "2024-03-01", "2024-03-02"),  # serious, in horizon
                ("A", "crime_suspect", "SHP01", "2024-05-01", "2024-05-01"),  # minor, adds harm
                ("B", "crime_suspect", "SHP01", "2024-02-01", "2024-02-01"),  # minor only
                ("C", "crime_suspect", "VSO06", "2023-12-31", "2023-12-31"),  # before the horizon
                ("D", "crime_victim", "VSO06", "2024-06-01", "2024-06-01"),  # victim: not an outcome
                ("E", "crime_suspect", "VSO06", "2024-06-01", "2025-03-01"),  # recorded after observed_until
            ]
        ),
        offences,
    )
    keys = pd.DataFrame({"person_id": list("ABCDE"), "as_of": pd.Timestamp("2024-01-01")})
    out = build_labels(keys, events, LabelSettings(), observed_until=pd.Timestamp("2025-01-01"))
    assert out["labelled"].all()
    assert list(out["label"]) == [1, 0, 0, 0, 0]
    assert list(out["future_harm"]) == [366.0, 1.0, 0.0, 0.0, 0.0]


def test_unobserved_horizon_is_unlabelled(offences: pd.DataFrame) -> None:
    events = prepare_events(make_events([("A", "crime_suspect", "VSO02", "2024-03-01", "2024-03-02")]), offences)
    keys = pd.DataFrame(
        {"person_id": ["A", "A"], "as_of": [pd.Timestamp("2023-06-01"), pd.Timestamp("2024-01-02")]}
    )
    out = build_labels(keys, events, LabelSettings(), observed_until=pd.Timestamp("2025-01-01"))
    assert list(out["labelled"]) == [True, False]
    assert out["label"].iloc[0] == 1 and pd.isna(out["label"].iloc[1])
    assert pd.isna(out["future_harm"].iloc[1])


def test_threshold_and_horizon_are_configurable(offences: pd.DataFrame) -> None:
    events = prepare_events(make_events([("B", "crime_suspect", "SHP01", "2024-02-01", "2024-02-01")]), offences)
    keys = pd.DataFrame({"person_id": ["B"], "as_of": [pd.Timestamp("2024-01-01")]})
    low = LabelSettings(min_harm_days=1, horizon_months=1)
    assert horizon_end(pd.Timestamp("2024-01-01"), low) == pd.Timestamp("2024-02-01")
    out = build_labels(keys, events, low, observed_until=pd.Timestamp("2025-01-01"))
    assert out["label"].iloc[0] == 0  # 1 Feb is the first day after a one-month horizon
    out = build_labels(keys, events, LabelSettings(min_harm_days=1), observed_until=pd.Timestamp("2025-01-01"))
    assert out["label"].iloc[0] == 1
