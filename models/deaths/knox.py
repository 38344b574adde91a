"""The Knox test for space-time interaction among death reports.

Of the ``n (n - 1) / 2`` pairs of reports, ``NS`` are close in space (at most ``distance`` apart),
``NT`` close in time (at most ``days`` apart) and ``NST`` both. With no interaction, closeness in
space says nothing about closeness in time, and ``NST`` is expected to be ``NS * NT / pairs``. The
p-value is a permutation test: the dates are shuffled among the reports (locations kept) and
``NST`` recounted, ``(1 + #{NST* >= NST}) / (1 + permutations)``.

pointpats (``pointpats.spacetime.Knox``) computes the same statistic, but permutes with numpy's
global random state (a run could not be repeated byte for byte) and recounts each permutation in a
Python loop over the reports. Here the close-in-space pairs are found once with a k-d tree, and
each permutation recounts them as one vectorised comparison, from a seeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import poisson


@dataclass(frozen=True)
class Knox:
    """Result of a Knox test.

    Attributes
    ----------
    n, pairs : int
        Reports, and pairs of reports.
    distance_m, days : float
        The closeness thresholds.
    close_space, close_time, close_both : int
        NS, NT and NST.
    expected : float
        NST expected with no space-time interaction, ``NS * NT / pairs``.
    p_value : float
        Permutation p-value (one-sided: more pairs close in both than chance allows).
    p_poisson : float
        ``P(X >= NST)`` for X Poisson with mean ``expected``: an approximation, for reference.
    permutations : int
        Permutations run.
    """

    n: int
    pairs: int
    distance_m: float
    days: float
    close_space: int
    close_time: int
    close_both: int
    expected: float
    p_value: float
    p_poisson: float
    permutations: int

    @property
    def ratio(self) -> float:
        """Observed over expected NST (NaN when nothing is expected)."""
        return self.close_both / self.expected if self.expected > 0 else float("nan")


def _close_in_time(t: np.ndarray, a: np.ndarray, b: np.ndarray, days: float) -> int:
    return int(np.count_nonzero(np.abs(t[a] - t[b]) <= days))


def _pairs_in_time(t: np.ndarray, days: float) -> int:
    s = np.sort(t)
    return int((np.searchsorted(s, s + days, side="right") - np.arange(s.size) - 1).sum())


def knox(
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    distance_m: float,
    days: float,
    permutations: int,
    seed: int,
) -> Knox:
    """Knox test of reports at ``(x, y)`` metres found on day ``t``.

    Parameters
    ----------
    x, y : numpy.ndarray
        Locations in metres, shape (n,).
    t : numpy.ndarray
        Days (any origin), shape (n,).
    distance_m, days : float
        Close in space and in time: at most this far apart (inclusive).
    permutations : int
        Shuffles of the dates for the p-value.
    seed : int
        Seed of the shuffles.
    """
    n = int(x.size)
    pairs = n * (n - 1) // 2
    t = np.asarray(t, dtype=np.float64)
    if n < 2:
        return Knox(n, pairs, distance_m, days, 0, 0, 0, 0.0, 1.0, 1.0, 0)
    close = cKDTree(np.column_stack([x, y])).query_pairs(distance_m, output_type="ndarray")
    a, b = close[:, 0], close[:, 1]
    ns, nt = int(a.size), _pairs_in_time(t, days)
    nst = _close_in_time(t, a, b, days)
    expected = ns * nt / pairs
    rng = np.random.default_rng(seed)
    exceed = 0
    for _ in range(permutations):  # one vectorised recount per shuffle
        exceed += _close_in_time(rng.permutation(t), a, b, days) >= nst
    return Knox(
        n=n,
        pairs=pairs,
        distance_m=distance_m,
        days=days,
        close_space=ns,
        close_time=nt,
        close_both=nst,
        expected=expected,
        p_value=(1 + exceed) / (1 + permutations),
        p_poisson=float(poisson.sf(nst - 1, expected)) if expected > 0 else 1.0,
        permutations=permutations,
    )
