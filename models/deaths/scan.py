"""A prospective space-time permutation scan of death reports (Kulldorff et al. 2005).

Cylinders are centred on each small area: the base is the area and its nearest neighbours (up to
``max_areas`` areas, at most ``max_radius_m`` from the centre), the height the last 1 to
``max_weeks`` weeks before the as-of date (a prospective scan: only clusters still going on). For a
cylinder with ``c`` reports, the expectation given where and when reports happen overall is
``mu = C_zone * C_weeks / C``; the log likelihood ratio of a cluster is
``c ln(c / mu) + (C - c) ln((C - c) / (C - mu))`` where ``c > mu``. The significance of the most
likely clusters comes from replications with the weeks shuffled among the reports (places kept):
``p = (1 + #{max LLR* >= LLR}) / (1 + replications)``. With one analysis a month, a cluster this
strong arises by chance once in ``1 / p`` months: its recurrence interval.

No maintained Python library does this scan (SaTScan is a separate, closed program), so it is
written here, vectorised over cylinders and windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

CLUSTER_COLUMNS: tuple[str, ...] = (
    "cluster",
    "centre_area",
    "areas",
    "radius_m",
    "weeks",
    "observed",
    "expected",
    "ratio",
    "llr",
    "p_value",
    "recurrence_years",
    "area_codes",
)


@dataclass(frozen=True)
class Scan:
    """Result of a scan.

    Attributes
    ----------
    reports : int
        Reports in the study period.
    weeks, areas : int
        Weeks of the study period, and areas with a centroid.
    replications : int
        Replications run.
    clusters : pandas.DataFrame
        :data:`CLUSTER_COLUMNS`, the most likely cluster first, then secondary clusters that share
        no area with a stronger one.
    """

    reports: int
    weeks: int
    areas: int
    replications: int
    clusters: pd.DataFrame


def _llr(c: np.ndarray, mu: np.ndarray, total: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        value = c * np.log(c / mu) + (total - c) * np.log((total - c) / (total - mu))
    return np.where((c > mu) & (mu > 0), np.nan_to_num(value, nan=0.0, posinf=0.0), 0.0)


def _zone_counts(
    area: np.ndarray, week: np.ndarray, neighbours: np.ndarray, n_areas: int, max_weeks: int
) -> np.ndarray:
    """Reports in each cylinder: (areas, max_areas, max_weeks), cumulative over neighbours and weeks."""
    recent = week < max_weeks
    grid = np.zeros((n_areas + 1, max_weeks))  # the last row is the padding of short neighbour lists
    np.add.at(grid, (area[recent], week[recent]), 1.0)
    grid = np.cumsum(grid, axis=1)
    return np.cumsum(grid[neighbours], axis=1)


def scan(
    area: np.ndarray,
    week: np.ndarray,
    centres: np.ndarray,
    codes: np.ndarray,
    max_weeks: int,
    max_radius_m: float,
    max_areas: int,
    replications: int,
    seed: int,
    shown: int = 5,
) -> Scan:
    """Scan reports in areas ``area`` (positions in ``centres``) and weeks ``week`` (0 = latest).

    Parameters
    ----------
    area : numpy.ndarray
        Each report's area, an index into ``centres``; shape (n,).
    week : numpy.ndarray
        Each report's week counted back from the as-of date (0: the last 7 days); shape (n,).
    centres : numpy.ndarray
        (areas, 2) centroids in metres.
    codes : numpy.ndarray
        Each area's code, for the result.
    max_weeks, max_radius_m, max_areas, replications, seed, shown
        The cylinders' limits, the replications for p-values, their seed, and clusters listed.
    """
    n_areas = len(centres)
    if n_areas == 0 or area.size == 0:  # no report in the study period: nothing to scan
        return Scan(0, 0, n_areas, replications, pd.DataFrame(columns=list(CLUSTER_COLUMNS)))
    k = min(max_areas, n_areas)
    dist, idx = cKDTree(centres).query(centres, k=k)
    dist, idx = dist.reshape(n_areas, k), idx.reshape(n_areas, k)
    neighbours = np.where(dist <= max_radius_m, idx, n_areas)  # beyond the radius: the empty padding row
    total = float(area.size)
    per_area = np.bincount(area, minlength=n_areas + 1).astype(np.float64)
    per_area[n_areas] = 0.0
    c_zone = np.cumsum(per_area[neighbours], axis=1)  # (areas, k)
    c_weeks = np.cumsum(np.bincount(np.clip(week, 0, max_weeks), minlength=max_weeks + 1)[:max_weeks])
    mu = c_zone[:, :, None] * c_weeks[None, None, :] / max(total, 1.0)
    observed = _zone_counts(area, week, neighbours, n_areas, max_weeks)
    llr = _llr(observed, mu, total)
    rng = np.random.default_rng(seed)
    best = np.array(
        [
            _llr(_zone_counts(area, rng.permutation(week), neighbours, n_areas, max_weeks), mu, total).max()
            for _ in range(replications)
        ]
    )
    clusters: list[dict[str, object]] = []
    used = np.zeros(n_areas + 1, dtype=bool)
    used[n_areas] = True
    for flat in np.argsort(-llr, axis=None, kind="stable"):
        if len(clusters) >= shown or llr.flat[flat] <= 0:
            break
        centre, j, w = np.unravel_index(flat, llr.shape)
        members = neighbours[centre, : j + 1]
        members = members[members < n_areas]
        if used[members].any() or observed[centre, j, w] < 2:
            continue
        used[members] = True
        p = (1 + np.count_nonzero(best >= llr[centre, j, w])) / (1 + replications)
        clusters.append(
            {
                "cluster": len(clusters) + 1,
                "centre_area": str(codes[centre]),
                "areas": int(members.size),
                "radius_m": float(dist[centre, : j + 1][neighbours[centre, : j + 1] < n_areas].max()),
                "weeks": int(w + 1),
                "observed": int(observed[centre, j, w]),
                "expected": float(mu[centre, j, w]),
                "ratio": float(observed[centre, j, w] / mu[centre, j, w]),
                "llr": float(llr[centre, j, w]),
                "p_value": float(p),
                "recurrence_years": float(1 / p / 12),
                "area_codes": ";".join(sorted(str(codes[m]) for m in members)),
            }
        )
    frame = pd.DataFrame(clusters, columns=list(CLUSTER_COLUMNS))
    weeks = int(week.max()) + 1 if week.size else 0
    return Scan(int(area.size), weeks, n_areas, replications, frame)
