"""The group make-up of the list actually released this month, beside this month's cohort.

The backtest audit pools many months of lists scored by models trained for the backtest; this
table describes the one list officers receive. For each characteristic and group it counts the
people in this month's cohort and on this month's list (persons, one row each), their shares and
the ratio of the two shares (list share / cohort share: 1 means the group is listed in proportion
to its place in the cohort; it equals the group's selection rate divided by everyone's).

Suppression follows :func:`fairness.groups.suppress`: a count of 1 to ``min_cell - 1`` is withheld
with enough other cells that it cannot be recovered from a total, the reference group last.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from fairness.groups import margins, reference_index, suppress

MAKEUP_COLUMNS = [
    "characteristic",
    "group",
    "cohort",
    "listed",
    "cohort_share",
    "list_share",
    "representation",
    "suppressed",
]


def list_makeup(
    groups: pd.DataFrame, listed: np.ndarray, min_cell: int, reference: str | Mapping[str, str] = "largest"
) -> pd.DataFrame:
    """Cohort and list counts of every group of every characteristic, with suppression.

    Parameters
    ----------
    groups
        This month's cohort (n rows, one per person), one ``str`` column per characteristic and
        intersection (:func:`fairness.groups.attach_groups`).
    listed
        Bool (n): the person is on this month's list.
    min_cell
        Counts from 1 to ``min_cell - 1`` are suppressed (cohort and list alike).
    reference
        :attr:`FairnessSettings.reference`: the group hidden only when nothing else can protect
        a small one, as in the audit.

    Returns
    -------
    pandas.DataFrame
        :data:`MAKEUP_COLUMNS`, characteristics in ``groups`` order and groups by name; ``cohort``
        and ``listed`` Int64, missing where suppressed; shares and representation NaN there too.
    """
    listed = np.asarray(listed, dtype=bool)
    n_listed, n_cohort = int(listed.sum()), len(listed)
    frames = []
    for name in groups.columns:
        codes, names = pd.factorize(groups[name].astype("str"), sort=True)
        labels = [str(n) for n in names]
        cohort = np.bincount(codes, minlength=len(labels))
        on_list = np.bincount(codes, weights=listed, minlength=len(labels)).astype("int64")
        ref = reference_index(name, labels, cohort, reference)
        blocks = margins(name, labels)
        hidden_cohort = suppress(cohort[None, :], min_cell, blocks, keep=ref)
        hidden = suppress(on_list[None, :], min_cell, blocks, hidden_cohort, ref)[0]
        cohort_share = cohort / max(n_cohort, 1)
        list_share = on_list / max(n_listed, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            representation = np.where(cohort_share > 0, list_share / cohort_share, np.nan)
        frame = pd.DataFrame(
            {
                "characteristic": name,
                "group": labels,
                "cohort": pd.array(cohort, dtype="Int64"),
                "listed": pd.array(on_list, dtype="Int64"),
                "cohort_share": cohort_share,
                "list_share": list_share,
                "representation": representation,
                "suppressed": hidden,
            }
        )
        frame.loc[hidden, ["listed", "list_share", "representation"]] = pd.NA
        frame.loc[hidden_cohort[0], ["cohort", "cohort_share"]] = pd.NA
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=MAKEUP_COLUMNS)
    out = pd.concat(frames, ignore_index=True)[MAKEUP_COLUMNS]
    for col in ("cohort_share", "list_share", "representation"):
        out[col] = out[col].astype("float64")
    return out
