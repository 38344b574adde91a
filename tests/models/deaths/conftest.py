"""Death reports built by hand, in the shape validation hands on (DeathRecords.deaths)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.records.death_tables import FLAGS

DEFAULTS: dict[str, Any] = {
    "category": "unexpected_not_suspicious",
    "place_type": "home",
    "age": 40.0,
    "sex": "male",
    "substances": "unknown",
    "finder_id": None,
    "reporter_id": None,
    "last_seen_with_id": None,
    "household_ids": None,
    "address_id": None,
    "area_code": "A1",
}


def reports(rows: list[dict[str, Any]], start: str = "2026-01-01") -> pd.DataFrame:
    """A deaths frame: each row gives ``day`` (days after ``start``), ``x`` and ``y`` and any column
    to override; recorded and reported on the day found, classified the same day."""
    out = []
    for k, row in enumerate(rows):
        day = pd.Timestamp(start) + pd.Timedelta(days=int(row.get("day", 0)))
        full = DEFAULTS | {f: False for f in FLAGS} | row
        full |= {"death_id": row.get("death_id", f"D{k:03d}"), "found_date": day}
        full.setdefault("reported_date", day)
        full.setdefault("recorded_date", day)
        full.setdefault("classified_date", day)
        out.append(full)
    frame = pd.DataFrame(out).drop(columns=["day"], errors="ignore")
    for c in (
        "death_id",
        "category",
        "place_type",
        "sex",
        "substances",
        "area_code",
        "finder_id",
        "reporter_id",
        "last_seen_with_id",
        "household_ids",
        "address_id",
    ):
        frame[c] = frame[c].astype("str").where(frame[c].notna())
        frame[c] = frame[c].astype("str")
    for c in ("x", "y", "age"):
        frame[c] = frame[c].astype(np.float64)
    return frame
