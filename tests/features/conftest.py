"""A small validated synthetic world, shared by the feature engine's tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from features.build import prepare_events
from features.records.schema import Records, ValidationSettings
from features.records.validate import validate
from features.synthetic.settings import SyntheticConfig
from features.synthetic.world import generate_world

REPO = Path(__file__).resolve().parents[2]

WORLD_DATES = [
    pd.Timestamp(d)
    for d in (
        "2025-06-01",
        "2025-06-15",
        "2025-07-01",
        "2025-08-01",
        "2025-11-01",
        "2026-02-17",
        "2026-11-01",
    )
]
"""As-of dates late in the world (it starts 2021-11-01), so every window's edge falls inside it."""


@pytest.fixture(scope="session")
def world_records() -> Records:
    """3,000 persons over 5 years, validated as the monthly job would (broken rows quarantined)."""
    world = generate_world(
        SyntheticConfig(persons=3000, years=5, seed=11), pd.read_csv(REPO / "configs" / "offences.csv")
    )
    sources = {name: f"world/{name}" for name in world.records}
    records, report = validate(dict(world.records), ValidationSettings(today=date(2026, 11, 23)), sources)
    assert report.rows_quarantined > 0
    return records


@pytest.fixture(scope="session")
def world_events(world_records: Records) -> pd.DataFrame:
    return prepare_events(world_records.events, world_records.offences)
