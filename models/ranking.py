"""Turning scores into a ranked list, with one documented, deterministic tie-break.

Order: higher score first (scores rounded to a fixed number of decimals, so that what
is written is what was ranked); among equal scores, the higher underlying model score first
when one is given (isotonic calibration maps bands of model scores to one probability);
then higher V100 harm first (more harm already alleged); then person_id in ascending text order.
The same inputs therefore always give the same list, whatever the row order of the input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def rank_order(
    scores: pd.DataFrame, score_col: str, v100_col: str, decimals: int, secondary: str | None = None
) -> pd.DataFrame:
    """All rows of ``scores`` in list order, with the rounded score and a 1-based ``rank``.

    Parameters
    ----------
    scores
        One row per person, with person_id, ``score_col`` and ``v100_col``.
    decimals
        Scores are rounded to this many decimals before ordering.
    secondary
        Optional column ordering equal scores (higher first) before the V100 harm.
    """
    out = scores.copy()
    out[score_col] = out[score_col].round(decimals)
    keys = [score_col, *([secondary] if secondary else []), v100_col, "person_id"]
    ascending = [False] * (len(keys) - 1) + [True]
    out = out.sort_values(keys, ascending=ascending, kind="mergesort").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1, dtype="int64"))
    return out


def v100_rank(scores: pd.DataFrame, v100_col: str) -> pd.Series:
    """Each person's position on the V100 list (harm desc, then person_id), aligned to ``scores``."""
    order = scores.sort_values([v100_col, "person_id"], ascending=[False, True], kind="mergesort")
    ranks = pd.Series(np.arange(1, len(order) + 1, dtype="int64"), index=order.index)
    return ranks.reindex(scores.index)
