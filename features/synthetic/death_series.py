"""The linked series planted among the synthetic death reports (:mod:`features.synthetic.deaths`):
obvious, subtle and shared-person series, each starting in its own stretch of the extract."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.synthetic.death_draws import ORIGIN, Areas, Draw, choice
from features.synthetic.death_rates import PLACE_BY_CAUSE, PUBLIC, SERIES_SPAN_DAYS, SUBSTANCE_BY_CAUSE
from features.synthetic.settings import DeathWorld


def _offender(events: pd.DataFrame, rng: np.random.Generator) -> str:
    """A person named as suspect in many crimes: the offender side of a ``person`` series."""
    named = events.loc[events["event_type"] == "crime_suspect", "person_id"].value_counts()
    busy = named[named >= max(5, int(named.quantile(0.95)))].index.sort_values()
    pool = busy if len(busy) else named.index.sort_values()
    return str(pool[rng.integers(len(pool))])


def _plant(
    kind: str,
    number: int,
    t0: int,
    cfg: DeathWorld,
    areas: Areas,
    events: pd.DataFrame,
    rng: np.random.Generator,
) -> dict[str, list[object]]:
    """The deaths of one planted series of ``kind``, starting on day ``t0``."""
    k = cfg.series_size
    centre = int(rng.choice(areas.weight.size, p=areas.weight))
    cx, cy = areas.cx[centre], areas.cy[centre]
    seen: list[object] = [None] * k
    finder: list[object] = [None] * k
    note = [False] * k
    if kind == "obvious":  # one place near a flat, one substance, one finder
        days = t0 + np.concatenate(([0], np.cumsum(rng.integers(20, 100, k - 1))))
        x, y = cx + rng.normal(0, 60, k), cy + rng.normal(0, 60, k)
        x[0], y[0] = cx + 250, cy + 100  # the first outside the flat
        place: list[str] = ["other_residential"] + ["churchyard_cemetery"] * (k - 1)
        subst = ["ghb_gbl"] * k
        finder = [f"X{number:03d}F"] * k
        ages, male = rng.integers(20, 31, k), np.ones(k, bool)
        note = [i == 2 for i in range(k)]
    elif kind == "subtle":  # a year and a few km apart, alike only in victim and substance
        days = t0 + np.sort(rng.integers(0, SERIES_SPAN_DAYS[kind], k))
        x, y = cx + rng.normal(0, 1500, k), cy + rng.normal(0, 1500, k)
        place = choice(rng, {"home": 0.4, "other_residential": 0.4, "public_open_space": 0.2}, k)
        subst = ["ghb_gbl"] * k
        ages, male = rng.integers(20, 31, k), np.ones(k, bool)
    else:  # one offender-side person last seen with each victim
        days = t0 + np.sort(rng.integers(0, SERIES_SPAN_DAYS[kind], k))
        x, y = areas.place(rng, rng.choice(areas.weight.size, size=k, p=areas.weight))
        place = choice(rng, PLACE_BY_CAUSE[5], k)
        subst = choice(rng, SUBSTANCE_BY_CAUSE[5], k)
        seen = [_offender(events, rng)] * k
        ages, male = rng.integers(18, 41, k), rng.random(k) < 0.5
    side = areas.side * np.sqrt(areas.cx.size)
    return {
        "day": list(days),
        "x": list(np.clip(x, ORIGIN[0] + 1, ORIGIN[0] + side - 1)),
        "y": list(np.clip(y, ORIGIN[1] + 1, ORIGIN[1] + side - 1)),
        "age": list(ages),
        "male": list(male),
        "place": list(place),
        "subst": list(subst),
        "finder": finder,
        "seen": seen,
        "stranger": [p in PUBLIC for p in place],
        "note": list(note),
        "sid": [f"S{number:02d}"] * k,
        "kind": [kind] * k,
    }


def planted_series(
    cfg: DeathWorld, areas: Areas, start: int, end: int, events: pd.DataFrame, rng: np.random.Generator
) -> Draw:
    """Every planted series. Each starts in its own stretch of the extract (kinds in a random
    order), so every stretch, the last months included, has one; deaths after ``end`` are cut."""
    plan = [("obvious", cfg.obvious_series), ("subtle", cfg.subtle_series), ("person", cfg.person_series)]
    kinds = [kind for kind, count in plan for _ in range(count)]
    stretch = max((end - start - 30) / max(len(kinds), 1), 1.0)
    rows: dict[str, list[object]] = {}
    for number, slot in enumerate(rng.permutation(len(kinds)), start=1):
        t0 = int(start + 30 + stretch * (number - 1) + rng.integers(0, max(int(stretch), 1)))
        planted = _plant(kinds[slot], number, t0, cfg, areas, events, rng)
        keep = np.asarray(planted["day"], dtype=np.int64) <= end
        for key, values in planted.items():
            rows.setdefault(key, []).extend(v for v, kept in zip(values, keep, strict=True) if kept)
    n = len(rows.get("day", []))
    x = np.array(rows.get("x", []), dtype=np.float64)
    y = np.array(rows.get("y", []), dtype=np.float64)
    flags = {
        "found_by_stranger": np.array(rows.get("stranger", []), dtype=bool),
        "note_found": np.array(rows.get("note", []), dtype=bool),
        "signs_of_struggle": np.zeros(n, bool),
        "moved_after_death": np.zeros(n, bool),
    }
    return Draw(
        np.array(rows.get("day", []), dtype=np.int64),
        np.full(n, 5),
        x,
        y,
        areas.of(x, y),
        np.array(rows.get("age", []), dtype=np.float64),
        np.array(rows.get("male", []), dtype=bool),
        [str(v) for v in rows.get("place", [])],
        [str(v) for v in rows.get("subst", [])],
        ["unexpected_not_suspicious"] * n,
        flags,
        [None if v is None else str(v) for v in rows.get("finder", [])],
        [None if v is None else str(v) for v in rows.get("seen", [])],
        [str(v) for v in rows.get("sid", [])],
        [str(v) for v in rows.get("kind", [])],
    )
