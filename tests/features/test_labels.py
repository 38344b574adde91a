"""Labels: the horizon after the as-of date, serious harm only, unlabelled when not fully observed."""

from __future__ import annotations

import pandas as pd
import pytest

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
    events = prepare_events(
        make_events([("A", "crime_suspect", "VSO02", "2024-03-01", "2024-03-02")]), offences
    )
    keys = pd.DataFrame(
        {"person_id": ["A", "A"], "as_of": [pd.Timestamp("2023-06-01"), pd.Timestamp("2024-01-02")]}
    )
    out = build_labels(keys, events, LabelSettings(), observed_until=pd.Timestamp("2025-01-01"))
    assert list(out["labelled"]) == [True, False]
    assert out["label"].iloc[0] == 1 and pd.isna(out["label"].iloc[1])
    assert pd.isna(out["future_harm"].iloc[1])


def test_threshold_and_horizon_are_configurable(offences: pd.DataFrame) -> None:
    events = prepare_events(
        make_events([("B", "crime_suspect", "SHP01", "2024-02-01", "2024-02-01")]), offences
    )
    keys = pd.DataFrame({"person_id": ["B"], "as_of": [pd.Timestamp("2024-01-01")]})
    low = LabelSettings(min_harm_days=1, horizon_months=1)
    assert horizon_end(pd.Timestamp("2024-01-01"), low) == pd.Timestamp("2024-02-01")
    out = build_labels(keys, events, low, observed_until=pd.Timestamp("2025-01-01"))
    assert out["label"].iloc[0] == 0  # 1 Feb is the first day after a one-month horizon
    out = build_labels(
        keys, events, LabelSettings(min_harm_days=1), observed_until=pd.Timestamp("2025-01-01")
    )
    assert out["label"].iloc[0] == 1


def naive_labels(
    keys: pd.DataFrame, events: pd.DataFrame, settings: LabelSettings, observed_until: pd.Timestamp
) -> pd.DataFrame:
    """One row at a time, straight from the definition."""
    rows = []
    outcome = events[
        events["event_type"].isin(settings.event_types) & (events["recorded_date"] < observed_until)
    ]
    for person, as_of in zip(keys["person_id"], keys["as_of"], strict=True):
        end = horizon_end(as_of, settings)
        if end > observed_until:
            rows.append((False, pd.NA, float("nan")))
            continue
        mine = outcome[
            (outcome["person_id"] == person) & outcome["occurred_date"].between(as_of, end, "left")
        ]
        serious = (mine["harm_q"] >= settings.min_harm_days * 4).any()
        rows.append((True, int(serious), mine["harm_q"].sum() / 4.0))
    out = pd.DataFrame(rows, columns=["labelled", "label", "future_harm"], index=keys.index)
    return out.astype({"labelled": bool, "label": "Int8", "future_harm": "float64"})


@pytest.mark.parametrize(
    "settings",
    [
        LabelSettings(),
        LabelSettings(event_types=["crime_suspect", "conviction"], min_harm_days=10, horizon_months=3),
    ],
)
def test_panel_labels_equal_the_definition(world_events: pd.DataFrame, settings: LabelSettings) -> None:
    dates = [pd.Timestamp(d) for d in ("2024-01-31", "2025-03-01", "2025-09-15", "2026-02-01")]
    people = world_events.loc[world_events["event_type"] == "crime_suspect", "person_id"].drop_duplicates()
    sample = [*people.sample(150, random_state=3), "nobody"]
    keys = pd.DataFrame([(p, d) for d in dates for p in sample], columns=["person_id", "as_of"])
    keys.index = keys.index * 2 + 7  # labels align with the keys' index, whatever it is
    observed_until = pd.Timestamp("2026-03-01")
    out = build_labels(keys, world_events, settings, observed_until)
    pd.testing.assert_frame_equal(out, naive_labels(keys, world_events, settings, observed_until))
    assert out["labelled"].any() and not out["labelled"].all() and out["label"].sum() > 0


def test_unknown_outcome_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        LabelSettings(event_types=["suspect"])
