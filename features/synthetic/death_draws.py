"""The building blocks of the synthetic death reports: the reports being drawn, the force area's
small areas, and drawing values with given shares (:mod:`features.synthetic.deaths`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from features.synthetic.settings import DeathWorld

ORIGIN = (520_000.0, 170_000.0)  # south-west corner of the force area (British National Grid metres)


@dataclass
class Draw:
    """Columns of death reports being built (one entry per report)."""

    day: np.ndarray
    cause: np.ndarray
    x: np.ndarray
    y: np.ndarray
    area: np.ndarray
    age: np.ndarray
    male: np.ndarray
    place: list[str]
    substances: list[str]
    category: list[str]
    flags: dict[str, np.ndarray]
    finder: list[str | None]
    last_seen: list[str | None]
    series: list[str | None]
    kind: list[str | None]


def draw(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    """``n`` values drawn with the given shares, as an object array."""
    keys = np.array(list(shares), dtype=object)
    p = np.array(list(shares.values()), dtype=np.float64)
    return keys[rng.choice(keys.size, size=n, p=p / p.sum())]


def choice(rng: np.random.Generator, shares: dict[str, float], n: int) -> list[str]:
    return [str(v) for v in draw(rng, shares, n)]


class Areas:
    """The square grid of small areas, their resident weights and drug hotspots."""

    def __init__(self, cfg: DeathWorld, rng: np.random.Generator) -> None:
        g, side = cfg.area_grid, cfg.area_metres
        col, row = np.meshgrid(np.arange(g), np.arange(g))
        self.cx = ORIGIN[0] + (col.ravel() + 0.5) * side
        self.cy = ORIGIN[1] + (row.ravel() + 0.5) * side
        self.codes = np.array([f"E01{k:06d}" for k in range(g * g)], dtype=object)
        self.side = side
        weight = rng.lognormal(0.0, 0.5, g * g)
        self.weight = weight / weight.sum()
        hot = np.ones(g * g)
        hot[rng.choice(g * g, size=min(cfg.drug_hotspots, g * g), replace=False)] = cfg.hotspot_ratio
        self.drug_weight = self.weight * hot / (self.weight * hot).sum()

    def place(self, rng: np.random.Generator, area: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = rng.uniform(-0.5, 0.5, (2, area.size)) * self.side
        return self.cx[area] + u[0], self.cy[area] + u[1]

    def of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        g = int(np.sqrt(self.cx.size))
        col = np.clip(((x - ORIGIN[0]) // self.side).astype(int), 0, g - 1)
        row = np.clip(((y - ORIGIN[1]) // self.side).astype(int), 0, g - 1)
        return row * g + col


def season(days: np.ndarray, excess: float) -> np.ndarray:
    doy = (days.astype("datetime64[D]") - days.astype("datetime64[D]").astype("datetime64[Y]")).astype(int)
    return 1.0 + excess / 2 * np.cos(2 * np.pi * (doy - 15) / 365.25)


def joined(a: Draw, b: Draw) -> Draw:
    """The reports of ``a`` then those of ``b``."""
    return reordered(a, b, None)


def reordered(a: Draw, b: Draw | None, order: np.ndarray | None) -> Draw:
    """``a`` (then ``b``) as one draw, its reports in ``order`` (as they are when None)."""
    parts = [a] if b is None else [a, b]

    def arr(name: str) -> np.ndarray:
        v = np.concatenate([getattr(p, name) for p in parts])
        return v if order is None else v[order]

    def lst(name: str) -> list[Any]:
        v = [x for p in parts for x in getattr(p, name)]
        return v if order is None else [v[i] for i in order]

    flags = {k: np.concatenate([p.flags[k] for p in parts]) for k in a.flags}
    return Draw(
        day=arr("day"),
        cause=arr("cause"),
        x=arr("x"),
        y=arr("y"),
        area=arr("area"),
        age=arr("age"),
        male=arr("male"),
        place=lst("place"),
        substances=lst("substances"),
        category=lst("category"),
        flags=flags if order is None else {k: v[order] for k, v in flags.items()},
        finder=lst("finder"),
        last_seen=lst("last_seen"),
        series=lst("series"),
        kind=lst("kind"),
    )
