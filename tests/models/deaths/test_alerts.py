"""Monthly alerts: the budget and the floor, shared people always, each pair once, point in time,
and the series the alerts form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.deaths.alerts import category_at, find_series, known_at, month_alerts
from models.deaths.settings import DeathSettings, LinkageSettings
from tests.models.deaths.conftest import reports


def _background(n: int, seed: int, start: str = "2025-06-01") -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    subst = ["none", "alcohol", "opioids", "unknown", "cocaine"]
    return [
        {
            "x": float(rng.uniform(0, 20_000)),
            "y": float(rng.uniform(0, 20_000)),
            "day": int(rng.integers(0, 500)),
            "age": float(rng.integers(18, 90)),
            "sex": str(rng.choice(["male", "female"])),
            "place_type": str(rng.choice(["home", "street", "other_residential", "public_open_space"])),
            "substances": str(rng.choice(subst)),
            "death_id": f"B{k:04d}",
        }
        for k in range(n)
    ]


def test_the_budget_caps_scored_alerts_and_shared_people_come_on_top() -> None:
    rows = _background(1_500, seed=1)
    # two reports 400 days apart... no: 20 days apart, 15 km apart, different in everything, one finder
    rows += [
        {
            "death_id": "S1",
            "x": 1_000.0,
            "y": 1_000.0,
            "day": 470,
            "age": 80.0,
            "sex": "female",
            "finder_id": "P9",
        },
        {
            "death_id": "S2",
            "x": 16_000.0,
            "y": 16_000.0,
            "day": 490,
            "age": 20.0,
            "sex": "male",
            "finder_id": "P9",
        },
    ]
    deaths = reports(rows, start="2025-06-01")
    settings = DeathSettings(linkage=LinkageSettings(budget=3, min_log10_lr=0.0))
    month = month_alerts(deaths, pd.Timestamp("2026-11-01"), settings, seed=1)
    assert month.month == pd.Timestamp("2026-10-01")
    by = month.alerts["reason"].value_counts()
    assert by["score"] == 3 and by["shared person"] == 1
    shared = month.alerts[month.alerts["reason"] == "shared person"].iloc[0]
    assert (shared["death_a"], shared["death_b"], shared["person_id"]) == ("S1", "S2", "P9")
    assert shared["log10_lr"] < 0  # alerted whatever the score
    assert month.alerts["rank"].tolist() == [1, 2, 3, 4]
    scored = month.alerts[month.alerts["reason"] == "score"]["log10_lr"]
    assert scored.is_monotonic_decreasing and month.line == scored.min()


def test_the_floor_holds_even_under_budget() -> None:
    deaths = reports(_background(800, seed=2), start="2025-06-01")
    high = DeathSettings(linkage=LinkageSettings(budget=50, min_log10_lr=6.0))
    month = month_alerts(deaths, pd.Timestamp("2026-11-01"), high, seed=1)
    assert month.alerts.empty and np.isnan(month.line)
    assert month.pairs > 0


def test_each_pair_is_alerted_in_one_month_only() -> None:
    deaths = reports(_background(1_200, seed=3), start="2025-06-01")
    settings = DeathSettings(linkage=LinkageSettings(budget=10, min_log10_lr=0.5))
    seen: set[tuple[str, str]] = set()
    for month in ("2026-08-01", "2026-09-01", "2026-10-01", "2026-11-01"):
        alerts = month_alerts(deaths, pd.Timestamp(month), settings, seed=1).alerts
        pairs = set(zip(alerts["death_a"], alerts["death_b"], strict=True))
        assert not pairs & seen
        seen |= pairs
        recorded = deaths.set_index("death_id")["recorded_date"]
        later = np.maximum(recorded[alerts["death_a"]].to_numpy(), recorded[alerts["death_b"]].to_numpy())
        start = pd.Timestamp(month) - pd.DateOffset(months=1)
        assert ((later >= start) & (later < pd.Timestamp(month))).all()


def test_reports_recorded_later_and_later_categories_are_not_seen() -> None:
    deaths = reports(
        [
            {"x": 0.0, "y": 0.0, "day": 10, "recorded_date": pd.Timestamp("2026-12-01")},
            {"x": 0.0, "y": 0.0, "day": 11, "category": "expected"},
            {
                "x": 0.0,
                "y": 0.0,
                "day": 12,
                "category": "expected",
                "classified_date": pd.Timestamp("2026-11-05"),
            },
            {"x": 0.0, "y": 0.0, "day": 13},
        ],
        start="2026-10-01",
    )
    as_of = pd.Timestamp("2026-11-01")
    assert category_at(deaths, as_of).tolist() == [
        "unexpected_not_suspicious",
        "expected",
        "not_yet_classified",
        "unexpected_not_suspicious",
    ]
    assert known_at(deaths, as_of, DeathSettings().categories)["death_id"].tolist() == ["D002", "D003"]


def test_series_are_the_connected_alerts() -> None:
    alerts = pd.DataFrame({"death_a": ["D5", "D1", "D2", "D8"], "death_b": ["D7", "D2", "D3", "D9"]})
    series = find_series(alerts)
    assert series.values.tolist() == [
        ["D1", "C01"],
        ["D2", "C01"],
        ["D3", "C01"],
        ["D5", "C02"],
        ["D7", "C02"],
        ["D8", "C03"],
        ["D9", "C03"],
    ]
    assert find_series(alerts.iloc[:0]).empty


@pytest.mark.parametrize("seed", [1, 2])
def test_an_obvious_series_outscores_the_background(seed: int) -> None:
    rows = _background(1_500, seed=seed)
    for k, day in enumerate((430, 470, 495)):  # a churchyard, GHB, young men, within 100 m
        rows.append(
            {
                "death_id": f"X{k}",
                "x": 9_000.0 + 30 * k,
                "y": 9_000.0,
                "day": day,
                "age": 24.0 + k,
                "sex": "male",
                "place_type": "churchyard_cemetery",
                "substances": "ghb_gbl",
            }
        )
    deaths = reports(rows, start="2025-06-01")
    alerts = month_alerts(deaths, pd.Timestamp("2026-11-01"), DeathSettings(), seed=1).alerts
    top = alerts.iloc[0]
    assert {top["death_a"], top["death_b"]} <= {"X0", "X1", "X2"}
    assert top["log10_lr"] > 5
