"""What drives a difference between groups: where each group's scores lie, and which reason
families separate their scores.

A gate breach on, say, recall for one age band says that the list finds fewer of that band's
people who go on to serious harm. It does not say why. Two figures help a reviewer decide:

Score distribution by group
    Each row's score as a percentile within its own month (0 lowest, 100 highest), and per group
    the 25th, 50th, 75th and 90th percentiles of those. A group whose people sit lower in every
    month's ranking is listed less; together with its base rate this shows whether the list
    follows recorded offending or departs from it. No count is published: counts at the top of
    the ranking would undo the suppression of the list's own small counts.
Reason families by group
    SHAP contributions (raw-score units) summed by reason family, averaged over each group, minus
    the reference group's average. By additivity the family differences add up to the difference
    in mean raw score between the two groups, so each family's share of that gap says how much of
    the difference in scores it accounts for (a share above 100% is offset by families pulling the
    other way).

Both are aggregates without counts; a group of fewer than ``min_cell`` rows (persons for the
families) is left out (no figure at all). Protected characteristics are read here only to group; they are
never model inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.reasons import family_of

QUANTILES = (25, 50, 75, 90)  # percentiles of each group's within-month score percentiles
DISTRIBUTION_COLUMNS = ["characteristic", "group", *(f"p{q}" for q in QUANTILES)]
FAMILY_COLUMNS = ["characteristic", "group", "reference", "family", "difference", "share_of_gap"]


def score_distribution(
    scores: pd.Series, months: pd.Series, groups: pd.DataFrame, min_cell: int
) -> pd.DataFrame:
    """Where each group's rows fall in their month's ranking.

    Parameters
    ----------
    scores, months
        One value per row (n): the score (higher is listed first) and the row's as-of month.
    groups
        Same index; one ``str`` column per characteristic (intersections are skipped by the caller).
    min_cell
        Groups with fewer rows are left out.

    Returns
    -------
    pandas.DataFrame
        :data:`DISTRIBUTION_COLUMNS`: the 25th, 50th, 75th and 90th percentiles (0-100) of the
        group's within-month percentiles; characteristic then group order.
    """
    percentile = scores.groupby(months.to_numpy()).rank(pct=True, method="average").to_numpy() * 100
    frames = []
    for name in groups.columns:
        frame = pd.DataFrame({"group": groups[name].to_numpy(), "p": percentile})
        by = frame.groupby("group", sort=True)["p"]
        sizes = by.size()
        table = pd.DataFrame({f"p{q}": by.quantile(q / 100) for q in QUANTILES})
        table = table[sizes >= min_cell]
        frames.append(table.reset_index().assign(characteristic=name))
    if not frames:
        return pd.DataFrame(columns=DISTRIBUTION_COLUMNS)
    return pd.concat(frames, ignore_index=True)[DISTRIBUTION_COLUMNS]


def family_gaps(
    contributions: pd.DataFrame, groups: pd.DataFrame, references: dict[str, str], min_cell: int
) -> pd.DataFrame:
    """Each group's mean SHAP contribution by reason family, minus its reference group's.

    Parameters
    ----------
    contributions
        One row per person (m), one column per model feature (raw-score units); any
        ``base_value`` column is ignored.
    groups
        Same index as ``contributions``: one ``str`` column per characteristic.
    references
        Reference group of each characteristic (the audit's); a characteristic without one is skipped.
    min_cell
        Groups (or references) with fewer persons are skipped.

    Returns
    -------
    pandas.DataFrame
        :data:`FAMILY_COLUMNS`, one row per (characteristic, group other than the reference,
        family), families by decreasing absolute difference; ``share_of_gap`` is the difference
        over the difference in mean raw score (NaN when that is within 1e-9 of zero).
    """
    features = [c for c in contributions.columns if c != "base_value"]
    families = pd.Series([family_of(f) for f in features], index=features)
    by_family = contributions[features].T.groupby(families.to_numpy(), sort=True).sum().T
    rows = []
    for name in groups.columns:
        reference = references.get(name)
        labels = groups[name].to_numpy()
        counts = pd.Series(labels).value_counts()
        if reference is None or counts.get(reference, 0) < min_cell:
            continue
        means = by_family.groupby(labels, sort=True).mean()
        for group in means.index:
            if group == reference or counts[group] < min_cell:
                continue
            diff = means.loc[group] - means.loc[reference]
            gap = float(diff.sum())
            order = diff.abs().sort_values(ascending=False, kind="stable").index
            for family in order:
                share = float(diff[family] / gap) if abs(gap) > 1e-9 else np.nan
                rows.append((name, str(group), reference, family, float(diff[family]), share))
    return pd.DataFrame(rows, columns=FAMILY_COLUMNS)
