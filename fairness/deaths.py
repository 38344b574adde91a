"""Equality of death investigations: are some victims' deaths closed as not suspicious more often,
or faster, than their circumstances predict?

Among the unexpected deaths already classified, the decision studied is "not suspicious"
(``unexpected_not_suspicious``) against investigated (``unexpected_under_investigation`` or
``homicide``). A logistic model predicts the decision from the circumstances alone: the place
type, the substances found and the circumstance flags (never the victim's characteristics, nor the
cause-of-death group, which an investigation decides). For each group of each characteristic:

- the share closed as not suspicious, the share the circumstances predict, and the difference
  with a Wilson score interval of the share (the prediction taken as fixed; unlike a bootstrap it
  stays honest when every report of a small group was closed);
- the median days from report to a not-suspicious decision, with its interval.

A group with fewer than ``min_group`` reports is suppressed: its figures are not shown, only that
it was too small. The comparison is descriptive: a difference says where to look, not why.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression

from features.records.death_tables import FLAGS, SUBSTANCES
from models.deaths.linkage import substance_mask
from models.deaths.settings import EqualitySettings

DECIDED = ("unexpected_not_suspicious", "unexpected_under_investigation", "homicide")
CLOSED = "unexpected_not_suspicious"
AGE_BANDS = (0, 18, 25, 35, 50, 65, 200)
DECISION_COLUMNS: tuple[str, ...] = (
    "characteristic",
    "group",
    "reports",
    "suppressed",
    "closed_share",
    "predicted_share",
    "difference",
    "difference_low",
    "difference_high",
    "median_days_to_close",
    "days_low",
    "days_high",
)


def circumstances(deaths: pd.DataFrame) -> np.ndarray:
    """The circumstances a decision may rest on, as model inputs: place type (one-hot), each
    substance found, each flag."""
    place = pd.get_dummies(deaths["place_type"].astype("str"), dtype=np.float64).sort_index(axis=1)
    mask = substance_mask(deaths["substances"])
    subst = np.column_stack([(mask >> k) & 1 for k in range(len(SUBSTANCES))]).astype(np.float64)
    flags = np.column_stack([deaths[f].to_numpy(bool) for f in FLAGS]).astype(np.float64)
    return np.column_stack([place.to_numpy(), subst, flags])


def age_band(age: pd.Series) -> pd.Series:
    """Age bands ``"0-17"``, ``"18-24"``, ... ``"65+"``; ``"not recorded"`` where unknown."""
    labels = [f"{lo}-{hi - 1}" for lo, hi in pairwise(AGE_BANDS[:-1])]
    labels.append(f"{AGE_BANDS[-2]}+")
    band = pd.cut(age, bins=list(AGE_BANDS), right=False, labels=labels)
    return band.astype("str").where(age.notna(), "not recorded")


def wilson(successes: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval of a share ``successes / n``."""
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _interval(
    values: np.ndarray, stat: str, settings: EqualitySettings, rng: np.random.Generator
) -> tuple[float, float]:
    if settings.n_boot == 0 or values.size == 0:
        return float("nan"), float("nan")
    draws = values[rng.integers(0, values.size, (settings.n_boot, values.size))]
    stats = draws.mean(axis=1) if stat == "mean" else np.nanmedian(draws, axis=1)
    tail = (1 - settings.confidence) / 2 * 100
    low, high = np.nanpercentile(stats, [tail, 100 - tail])
    return float(low), float(high)


def decisions_by_group(
    deaths: pd.DataFrame,
    groups: pd.DataFrame,
    settings: EqualitySettings,
    seed: int,
) -> pd.DataFrame:
    """Closed-as-not-suspicious shares and speed by victim group, against the circumstances.

    Parameters
    ----------
    deaths : pandas.DataFrame
        Death reports (validated), each already classified into one of :data:`DECIDED`.
    groups : pandas.DataFrame
        One row per report (same order), one column per characteristic, values as text.
    settings : EqualitySettings
        Suppression threshold, bootstrap resamples and confidence.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        :data:`DECISION_COLUMNS`; figures of suppressed groups are NaN.
    """
    closed = (deaths["category"] == CLOSED).to_numpy()
    x = circumstances(deaths)
    if closed.all() or not closed.any():
        predicted = np.full(closed.size, closed.mean() if closed.size else np.nan)
    else:
        model = LogisticRegression(C=1.0, max_iter=1_000)
        predicted = model.fit(x, closed).predict_proba(x)[:, 1]
    days = (deaths["classified_date"] - deaths["reported_date"]).dt.days.to_numpy(np.float64)
    days = np.where(closed, days, np.nan)
    rng = np.random.default_rng(seed)
    rows = []
    for characteristic in groups.columns:
        values = groups[characteristic].astype("str").to_numpy()
        for group in sorted(set(values)):
            at = values == group
            n = int(at.sum())
            row: dict[str, object] = {"characteristic": characteristic, "group": group, "reports": n}
            row["suppressed"] = n < settings.min_group
            if not row["suppressed"]:
                share, expected = float(closed[at].mean()), float(predicted[at].mean())
                low, high = (
                    bound - expected for bound in wilson(int(closed[at].sum()), n, settings.confidence)
                )
                spans = days[at][~np.isnan(days[at])]
                d_low, d_high = _interval(spans, "median", settings, rng)
                row |= {
                    "closed_share": share,
                    "predicted_share": expected,
                    "difference": share - expected,
                    "difference_low": low,
                    "difference_high": high,
                    "median_days_to_close": float(np.median(spans)) if spans.size else float("nan"),
                    "days_low": d_low,
                    "days_high": d_high,
                }
            rows.append(row)
    return pd.DataFrame(rows, columns=list(DECISION_COLUMNS))
