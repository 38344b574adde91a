"""Turning scores into probabilities, fitted on held-out rows, and a report on how well they match.

A :class:`Calibrator` is fitted on rows the model never trained on (the calibration as-of dates of
a :class:`models.splits.Split`) and maps a score to the observed rate of the outcome:

isotonic (default)
    A non-decreasing step function: ``sklearn.isotonic.IsotonicRegression`` (pool adjacent
    violators), then any step resting on fewer than ``min_step_rows`` calibration rows is merged
    with its neighbour (merging neighbours keeps the function non-decreasing). Each step's
    probability is the observed outcome rate of its rows; without the floor the top step often
    rests on a handful of people who all had the outcome and reads 100%. A score takes the step
    at or below it (the lowest step below the fitted range). It keeps the order of scores but
    makes equal probabilities of nearby scores: rank by the raw score (or expect ties at the
    cut-off) when listing by calibrated probability.
sigmoid
    Platt scaling: ``p = 1 / (1 + exp(-(a x + b)))`` with ``x`` the logit of a probability score
    or a raw margin, fitted by Newton's method on Platt's smoothed targets ((N+ + 1) / (N+ + 2)
    and 1 / (N- + 2)), which keep the fit finite when the classes separate.

:func:`calibration_report` gives Brier score, log-loss, expected calibration error, calibration
slope and intercept (logistic regression of y on logit(p): 1 and 0 when calibrated, a slope
below 1 means over-confident scores) and a reliability table by decile of the probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from sklearn.isotonic import IsotonicRegression

from features.errors import PipelineError
from models.metrics import quantile_bins

Method = Literal["isotonic", "sigmoid"]
ScoreKind = Literal["probability", "margin"]
LOGIT_EPS = 1e-6  # probabilities are clipped to [eps, 1 - eps] before taking the logit
LOG_LOSS_EPS = 1e-15  # and to this before taking the log in log-loss
Z95 = 1.959964  # standard normal quantile of a two-sided 95% interval


def _logit(p: np.ndarray) -> np.ndarray:
    return logit(np.clip(p, LOGIT_EPS, 1 - LOGIT_EPS))


def fit_logistic_1d(x: np.ndarray, target: np.ndarray, max_iter: int = 100) -> tuple[float, float]:
    """Slope and intercept of ``sigmoid(a x + b)`` minimising cross-entropy to ``target``.

    Parameters
    ----------
    x, target
        Shape (n,); targets in [0, 1] (0/1 outcomes, or smoothed targets).

    Returns
    -------
    (a, b). Newton steps with step halving; stops when a step changes neither by 1e-10.
    """
    design = np.column_stack([x, np.ones_like(x)])
    mean = float(np.clip(target.mean(), 1e-9, 1 - 1e-9))
    beta = np.array([0.0, float(logit(mean))])

    def loss(b: np.ndarray) -> float:
        eta = design @ b
        return float(np.sum(np.logaddexp(0.0, eta) - target * eta))

    current = loss(beta)
    for _ in range(max_iter):
        p = expit(design @ beta)
        grad = design.T @ (p - target)
        hess = design.T @ (design * (p * (1 - p))[:, None]) + 1e-12 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        size = 1.0
        while (trial := loss(beta - size * step)) > current + 1e-12 and size > 1e-8:
            size /= 2
        if trial > current + 1e-12:
            break  # no step lowers the loss: at the optimum, to rounding
        beta, current = beta - size * step, trial
        if np.abs(size * step).max() < 1e-10:
            break
    return float(beta[0]), float(beta[1])


def _check_fit_input(scores: np.ndarray, y: np.ndarray) -> None:
    if scores.shape != y.shape or scores.ndim != 1:
        raise ValueError(f"scores {scores.shape} and outcomes {y.shape} must be 1-d and the same length")
    if not np.isfinite(scores).all():
        raise PipelineError(f"{int((~np.isfinite(scores)).sum())} calibration scores are missing or infinite")
    if not np.isin(y, (0, 1)).all():
        raise PipelineError("calibration outcomes must be 0 or 1")
    if y.min() == y.max():
        raise PipelineError(
            f"the calibration rows ({len(y)}) hold only outcome {int(y[0])}; calibration needs both "
            "outcomes. Give the splits more calibration months (calibration_months)."
        )


class Calibrator:
    """Maps scores to probabilities of the outcome; fitted on held-out rows only.

    Parameters
    ----------
    method
        ``isotonic`` or ``sigmoid`` (Platt).
    scores_are
        ``probability`` (in [0, 1]; Platt works on its logit) or ``margin`` (any real number,
        such as LightGBM's raw score; Platt works on it directly).
    min_step_rows
        Isotonic only: the fewest calibration rows a step of the function may rest on.
    """

    def __init__(
        self, method: Method = "isotonic", scores_are: ScoreKind = "probability", min_step_rows: int = 50
    ) -> None:
        self.method = method
        self.scores_are = scores_are
        self.min_step_rows = min_step_rows

    def _input(self, scores: np.ndarray | pd.Series) -> np.ndarray:
        s = np.asarray(scores, dtype="float64")
        if self.scores_are == "probability" and len(s) and (s.min() < 0 or s.max() > 1):
            raise ValueError("probability scores must lie in [0, 1]; use scores_are='margin' for margins")
        return s

    def _platt_x(self, s: np.ndarray) -> np.ndarray:
        return _logit(s) if self.scores_are == "probability" else s

    def fit(self, scores: np.ndarray | pd.Series, y: np.ndarray | pd.Series) -> Calibrator:
        """Fit on held-out ``scores`` (shape (n,)) and their 0/1 outcomes ``y`` (shape (n,))."""
        if self.method not in ("isotonic", "sigmoid") or self.scores_are not in ("probability", "margin"):
            raise ValueError(f"unknown calibration {self.method!r} on {self.scores_are!r} scores")
        s, t = self._input(scores), np.asarray(y, dtype="float64")
        _check_fit_input(s, t)
        self.n_, self.base_rate_ = len(t), float(t.mean())
        if self.method == "isotonic":
            self._fit_steps(s, t)
        else:
            n_pos = t.sum()
            smoothed = np.where(t == 1, (n_pos + 1) / (n_pos + 2), 1 / (len(t) - n_pos + 2))
            self.slope_, self.intercept_ = fit_logistic_1d(self._platt_x(s), smoothed)
        self._fit_bands(s, t)
        return self

    def transform(self, scores: np.ndarray | pd.Series) -> np.ndarray:
        """Calibrated probabilities, shape (n,), for ``scores`` of the kind fitted on."""
        s = self._input(scores)
        if self.method == "isotonic":
            return self.band_positives_[self._step(s)] / self.band_n_[self._step(s)]
        return expit(self.slope_ * self._platt_x(s) + self.intercept_)

    def _step(self, s: np.ndarray) -> np.ndarray:
        """Index of the isotonic step each score falls on."""
        return np.clip(np.searchsorted(self.band_edges_, s, side="right") - 1, 0, len(self.band_n_) - 1)

    def _fit_steps(self, s: np.ndarray, t: np.ndarray) -> None:
        """The steps: first score (``band_edges_``), rows (``band_n_``) and outcomes (``band_positives_``)."""
        order = np.argsort(s, kind="stable")
        fitted = IsotonicRegression(y_min=0.0, y_max=1.0).fit(s, t).predict(s[order])
        starts = np.flatnonzero(np.r_[True, fitted[1:] != fitted[:-1]])
        n = list(np.diff(np.append(starts, len(s))))
        pos = list(np.add.reduceat(t[order], starts).round().astype("int64"))
        first = list(starts)
        while len(n) > 1 and min(n) < self.min_step_rows:  # a loop over steps, not rows
            i = int(np.argmin(n))
            j = i - 1 if i == len(n) - 1 or (i > 0 and n[i - 1] <= n[i + 1]) else i + 1
            lo = min(i, j)
            n[lo : lo + 2], pos[lo : lo + 2], first[lo : lo + 2] = (
                [n[i] + n[j]],
                [pos[i] + pos[j]],
                [first[lo]],
            )
        self.band_edges_ = s[order][np.asarray(first)]
        self.band_n_ = np.asarray(n, dtype="int64")
        self.band_positives_ = np.asarray(pos, dtype="int64")

    def _fit_bands(self, s: np.ndarray, t: np.ndarray) -> None:
        """Sigmoid: the covariance of the fitted slope and intercept (inverse Fisher information);
        isotonic steps carry their own counts."""
        if self.method == "sigmoid":
            x = self._platt_x(s)
            p = expit(self.slope_ * x + self.intercept_)
            design = np.column_stack([x, np.ones_like(x)])
            info = design.T @ (design * (p * (1 - p))[:, None])
            self.band_cov_ = np.linalg.pinv(info)

    def band(self, scores: np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """95% interval band (lo, hi), each shape (n,), around the calibrated probability of ``scores``.

        Isotonic: the Wilson interval of the observed rate among the calibration rows of the step
        the score falls on (the probability *is* that rate, so small steps give wide bands).
        Sigmoid: the delta-method interval of the fitted line on the logit scale.
        It says how precisely the calibration months pin the probability down, not how sure
        anyone can be about one person.
        """
        s = self._input(scores)
        if self.method == "isotonic":
            which = self._step(s)
            lo, hi = _wilson(self.band_positives_[which].astype(float), self.band_n_[which].astype(float))
            return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)
        x = self._platt_x(s)
        design = np.column_stack([x, np.ones_like(x)])
        se = np.sqrt(np.einsum("ij,jk,ik->i", design, self.band_cov_, design))
        eta = self.slope_ * x + self.intercept_
        return expit(eta - Z95 * se), expit(eta + Z95 * se)


@dataclass
class CalibrationReport:
    """How far probabilities are from observed rates.

    ``reliability`` has one row per non-empty decile bin of the probability: bin, n, mean_predicted,
    observed_rate, lo and hi (Wilson 95% interval of the observed rate).
    """

    n: int
    base_rate: float
    mean_predicted: float
    brier: float
    log_loss: float
    ece: float
    slope: float
    intercept: float
    reliability: pd.DataFrame

    def summary(self) -> dict[str, float]:
        """The scalar figures, for logging."""
        names = ("n", "base_rate", "mean_predicted", "brier", "log_loss", "ece", "slope", "intercept")
        return {name: float(getattr(self, name)) for name in names}


def _wilson(successes: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    rate = successes / n
    centre = (rate + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(rate * (1 - rate) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def reliability_table(p: np.ndarray, y: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Observed rate against mean probability in equal-count bins (deciles by default).

    Equal probabilities share a bin, so a step-shaped (isotonic) calibration may leave bins empty;
    empty bins are left out.
    """
    frame = pd.DataFrame({"bin": quantile_bins(p, n_bins), "p": p, "y": y})
    table = frame.groupby("bin").agg(n=("y", "size"), mean_predicted=("p", "mean"), observed=("y", "sum"))
    lo, hi = _wilson(table["observed"].to_numpy(float), table["n"].to_numpy(float))
    table["observed_rate"] = table["observed"] / table["n"]
    table["lo"], table["hi"] = lo, hi
    return table.drop(columns="observed").reset_index()


def calibration_report(
    p: np.ndarray | pd.Series, y: np.ndarray | pd.Series, n_bins: int = 10
) -> CalibrationReport:
    """Brier, log-loss, ECE, slope, intercept and reliability table of probabilities ``p`` (shape (n,))
    against 0/1 outcomes ``y`` (shape (n,)).

    ECE is the row-weighted mean of |mean_predicted - observed_rate| over the reliability bins (the
    same equal-count bins as :func:`models.evaluate.evaluate`). Slope and intercept come from an
    unpenalised logistic regression of y on logit(p) (p clipped to [1e-6, 1 - 1e-6]).
    """
    p, y = np.asarray(p, dtype="float64"), np.asarray(y, dtype="float64")
    _check_fit_input(p, y)
    table = reliability_table(p, y, n_bins)
    ece = float((table["n"] * (table["mean_predicted"] - table["observed_rate"]).abs()).sum() / len(y))
    clipped = np.clip(p, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS)
    log_loss = float(-np.mean(y * np.log(clipped) + (1 - y) * np.log1p(-clipped)))
    slope, intercept = fit_logistic_1d(_logit(p), y)
    return CalibrationReport(
        n=len(y),
        base_rate=float(y.mean()),
        mean_predicted=float(p.mean()),
        brier=float(np.mean((p - y) ** 2)),
        log_loss=log_loss,
        ece=ece,
        slope=slope,
        intercept=intercept,
        reliability=table,
    )
