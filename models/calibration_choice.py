"""Which calibration a candidate takes: every method compared on the test months, and the rule.

Every method of :data:`models.calibrate.METHODS` is fitted on each split's calibration rows and
scored on its test rows, overall and within each test month's top :data:`TOP_SHARE` by the model's
score, where the list is drawn (:func:`compare_calibrations`); :func:`choose_calibration` applies
:data:`CALIBRATION_RULE` to one candidate's rows. :mod:`models.backtest` runs both.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from models.calibrate import METHODS, CalibrationReport, Method, calibration_report, top_rows

TOP_SHARE = 0.01  # the top of each test month's scores where calibration is judged again
CALIBRATION_TARGETS = {"ece": 0.02, "ece_top": 0.05, "slope_lo": 0.9, "slope_hi": 1.1}
CALIBRATION_RULE = (
    "Only methods that give every distinct score in each test month's top 1% its own probability compete "
    "(a method that is flat there, such as isotonic steps, would show listed people one shared probability), "
    "or every method when none does. Of those, the ones meeting every target on the pooled test months "
    "(ECE <= 0.02 overall, ECE <= 0.05 within each month's top 1% by score, calibration slope between 0.9 "
    "and 1.1) compete, or all of them when none does; the lowest Brier score within the top 1% wins, then "
    "the lowest overall ECE."
)


def choose_calibration(comparison: pd.DataFrame) -> Method:
    """The method :data:`CALIBRATION_RULE` picks from one candidate's rows of the comparison
    (columns method, tied_top, meets_targets, brier_top and ece; ties go to the order of METHODS)."""
    rows = comparison
    if (rows["tied_top"] == 0).any():
        rows = rows[rows["tied_top"] == 0]
    if rows["meets_targets"].any():
        rows = rows[rows["meets_targets"]]
    order = rows.assign(_order=rows["method"].map(list(METHODS).index))
    best = order.sort_values(["brier_top", "ece", "_order"], kind="mergesort").iloc[0]
    method: Method = best["method"]
    return method


def meets_targets(report: CalibrationReport) -> bool:
    """Whether a report meets every one of :data:`CALIBRATION_TARGETS`."""
    t = CALIBRATION_TARGETS
    slope = t["slope_lo"] <= report.slope <= t["slope_hi"]
    return bool(report.ece <= t["ece"] and report.ece_top <= t["ece_top"] and slope)


def _distinct(groups: np.ndarray, values: np.ndarray) -> int:
    return len(pd.DataFrame({"g": groups, "v": values}).drop_duplicates())


def compare_calibrations(
    name: str,
    probabilities: Mapping[Method, np.ndarray],
    y: np.ndarray,
    score: np.ndarray,
    groups: np.ndarray,
) -> tuple[pd.DataFrame, dict[Method, CalibrationReport]]:
    """One candidate's comparison rows (see :class:`BacktestResult`) and report per method.

    ``score`` is the candidate's ranking score and ``groups`` the population of each row (test
    month or fold); the top is each group's top :data:`TOP_SHARE` by score. ``tied_top`` counts
    the distinct scores there that share a probability with another (0: the method resolves the top).
    """
    top = top_rows(score, TOP_SHARE, groups=groups)
    scores_top = _distinct(groups[top], score[top])
    reports = {m: calibration_report(p, y, top=top) for m, p in probabilities.items()}
    figures = ("n", "n_top", "distinct_top", "ece", "ece_top", "brier", "brier_top")
    rows = [
        {"candidate": name, "method": m}
        | {k: r.summary()[k] for k in figures}
        | {"tied_top": scores_top - _distinct(groups[top], probabilities[m][top])}
        | {"slope": r.slope, "intercept": r.intercept, "meets_targets": meets_targets(r)}
        for m, r in reports.items()
    ]
    frame = pd.DataFrame(rows)
    counts = ["n", "n_top", "distinct_top", "tied_top"]
    frame[counts] = frame[counts].astype("int64")
    return frame, reports
