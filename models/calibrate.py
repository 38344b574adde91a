"""Turning scores into probabilities, fitted on held-out rows, and a report on how well they match.

A :class:`Calibrator` is fitted on rows the model never trained on (the calibration as-of dates of
a :class:`models.splits.Split`) and maps a score to the observed rate of the outcome. Every method
is monotone: a higher score never gets a lower probability.

isotonic
    A non-decreasing step function: ``sklearn.isotonic.IsotonicRegression`` (pool adjacent
    violators), then any step resting on fewer than ``min_step_rows`` calibration rows is merged
    with its neighbour (merging neighbours keeps the function non-decreasing). Each step's
    probability is the observed outcome rate of its rows; without the floor the top step often
    rests on a handful of people who all had the outcome and reads 100%. A score takes the step
    at or below it (the lowest step below the fitted range). It keeps the order of scores but
    makes equal probabilities of nearby scores: the top of a list (often the whole top 100) can
    share one step and one probability.
isotonic_interp
    The same steps (and the same ``min_step_rows`` floor, so each region rests on as much
    evidence as the isotonic band), but the probability is interpolated linearly, on the score,
    between the steps' mean scores, and held flat beyond the first and last; the band interpolates
    the steps' Wilson intervals. Scores between two step centres get distinct probabilities;
    scores above the top step's centre still share its rate.
sigmoid
    Platt scaling: ``p = 1 / (1 + exp(-(a x + b)))`` with ``x`` the logit of a probability score
    or a raw margin, fitted by Newton's method on Platt's smoothed targets ((N+ + 1) / (N+ + 2)
    and 1 / (N- + 2)), which keep the fit finite when the classes separate. A score that ranks
    the outcome backwards (``a < 0``) gets ``a = 0``: the smoothed base rate for everyone.
beta
    Beta calibration (Kull, Silva Filho and Flach, 2017) of ``s``, the probability score or
    ``sigmoid(margin)``: ``logit p = a ln s - b ln(1 - s) + c`` with ``a, b >= 0`` (so ``p`` is
    non-decreasing in ``s``), fitted by Newton's method on Platt's smoothed targets. When the
    unconstrained fit has a negative ``a`` or ``b`` the best fit with that coefficient fixed at 0
    is used (on this convex problem that is the constrained optimum). On a margin ``m`` the two
    terms are ``-softplus(-m)`` and ``softplus(m)``: the log-odds bend from slope ``a`` at low
    margins to slope ``b`` at high ones, so the top of the list gets its own slope instead of
    the whole range's. ``a = b = 1, c = 0`` is the identity on a log-odds margin.

Bands: isotonic steps carry the Wilson interval of their rows; the parametric methods the
delta-method interval of the fitted line on the logit scale (from the inverse Fisher information).

:func:`calibration_report` gives Brier score, log-loss, expected calibration error, calibration
slope and intercept (logistic regression of y on logit(p): 1 and 0 when calibrated, a slope
below 1 means over-confident scores) and a reliability table by decile of the probability, and
the Brier score, ECE and reliability within the top of the scores (by default the top 1% by
probability), where the listed people are.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from sklearn.isotonic import IsotonicRegression

from features.errors import PipelineError
from models.metrics import quantile_bins

Method = Literal["isotonic", "isotonic_interp", "sigmoid", "beta"]
METHODS: tuple[Method, ...] = get_args(Method)
ScoreKind = Literal["probability", "margin"]
LOGIT_EPS = 1e-6  # probabilities are clipped to [eps, 1 - eps] before taking the logit
LOG_LOSS_EPS = 1e-15  # and to this before taking the log in log-loss
Z95 = 1.959964  # standard normal quantile of a two-sided 95% interval
STEPPED = ("isotonic", "isotonic_interp")  # methods built on isotonic steps


def _logit(p: np.ndarray) -> np.ndarray:
    return logit(np.clip(p, LOGIT_EPS, 1 - LOGIT_EPS))


def fit_logistic(design: np.ndarray, target: np.ndarray, max_iter: int = 100) -> tuple[np.ndarray, float]:
    """Coefficients of ``sigmoid(design @ beta)`` minimising cross-entropy to ``target``, and that loss.

    Parameters
    ----------
    design
        Shape (n, d); its last column is the intercept's column of ones.
    target
        Shape (n,); targets in [0, 1] (0/1 outcomes, or smoothed targets).

    Newton steps with step halving, from all zero but the intercept (the logit of the mean);
    stops when no step lowers the loss or a step changes no coefficient by 1e-10.
    """
    mean = float(np.clip(target.mean(), 1e-9, 1 - 1e-9))
    beta = np.zeros(design.shape[1])
    beta[-1] = float(logit(mean))

    def loss(b: np.ndarray) -> float:
        eta = design @ b
        return float(np.sum(np.logaddexp(0.0, eta) - target * eta))

    current = loss(beta)
    for _ in range(max_iter):
        p = expit(design @ beta)
        grad = design.T @ (p - target)
        hess = design.T @ (design * (p * (1 - p))[:, None]) + 1e-12 * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        size = 1.0
        while (trial := loss(beta - size * step)) > current + 1e-12 and size > 1e-8:
            size /= 2
        if trial > current + 1e-12:
            break  # no step lowers the loss: at the optimum, to rounding
        beta, current = beta - size * step, trial
        if np.abs(size * step).max() < 1e-10:
            break
    return beta, current


def fit_logistic_1d(x: np.ndarray, target: np.ndarray, max_iter: int = 100) -> tuple[float, float]:
    """Slope and intercept (a, b) of ``sigmoid(a x + b)`` minimising cross-entropy to ``target``
    (shape (n,) each); see :func:`fit_logistic`."""
    beta, _ = fit_logistic(np.column_stack([x, np.ones_like(x)]), target, max_iter)
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


def _smoothed(t: np.ndarray) -> np.ndarray:
    """Platt's targets: (N+ + 1) / (N+ + 2) for an outcome, 1 / (N- + 2) for none."""
    n_pos = t.sum()
    return np.where(t == 1, (n_pos + 1) / (n_pos + 2), 1 / (len(t) - n_pos + 2))


def _delta_band(design: np.ndarray, beta: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95% delta-method band of ``sigmoid(design @ beta)`` given the coefficients' covariance."""
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", design, cov, design), 0.0))
    eta = design @ beta
    return expit(eta - Z95 * se), expit(eta + Z95 * se)


def _covariance(design: np.ndarray, beta: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Inverse Fisher information of the free coefficients, zero rows and columns for fixed ones."""
    p = expit(design @ beta)
    d = design[:, free]
    cov = np.zeros((len(beta), len(beta)))
    cov[np.ix_(free, free)] = np.linalg.pinv(d.T @ (d * (p * (1 - p))[:, None]))
    return cov


class Calibrator:
    """Maps scores to probabilities of the outcome; fitted on held-out rows only.

    Parameters
    ----------
    method
        ``isotonic``, ``isotonic_interp``, ``sigmoid`` (Platt) or ``beta`` (see the module).
    scores_are
        ``probability`` (in [0, 1]; Platt works on its logit, beta on it) or ``margin`` (any real
        number, such as LightGBM's raw score; Platt works on it directly, beta on its sigmoid).
    min_step_rows
        Isotonic methods only: the fewest calibration rows a step of the function may rest on.
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

    def _design(self, s: np.ndarray) -> np.ndarray:
        """Columns (x, 1) for sigmoid, (ln s, -ln(1 - s), 1) for beta; shape (n, 2) or (n, 3)."""
        if self.method == "sigmoid":
            x = self._platt_x(s)
            return np.column_stack([x, np.ones_like(x)])
        if self.scores_are == "margin":  # ln sigmoid(m) = -softplus(-m); -ln(1 - sigmoid(m)) = softplus(m)
            log_s, minus_log_1ms = -np.logaddexp(0.0, -s), np.logaddexp(0.0, s)
        else:
            c = np.clip(s, LOGIT_EPS, 1 - LOGIT_EPS)
            log_s, minus_log_1ms = np.log(c), -np.log1p(-c)
        return np.column_stack([log_s, minus_log_1ms, np.ones_like(s)])

    def fit(self, scores: np.ndarray | pd.Series, y: np.ndarray | pd.Series) -> Calibrator:
        """Fit on held-out ``scores`` (shape (n,)) and their 0/1 outcomes ``y`` (shape (n,))."""
        if self.method not in METHODS or self.scores_are not in ("probability", "margin"):
            raise ValueError(f"unknown calibration {self.method!r} on {self.scores_are!r} scores")
        s, t = self._input(scores), np.asarray(y, dtype="float64")
        _check_fit_input(s, t)
        self.n_, self.base_rate_ = len(t), float(t.mean())
        if self.method in STEPPED:
            self._fit_steps(s, t)
            return self
        design = self._design(s)
        beta, free = _fit_non_negative(design, _smoothed(t))
        if self.method == "sigmoid":
            self.slope_, self.intercept_ = float(beta[0]), float(beta[1])
        else:
            self.coef_ = beta
        self.band_cov_ = _covariance(design, beta, free)
        return self

    def _coefficients(self) -> np.ndarray:
        return np.array([self.slope_, self.intercept_]) if self.method == "sigmoid" else self.coef_

    def transform(self, scores: np.ndarray | pd.Series) -> np.ndarray:
        """Calibrated probabilities, shape (n,), for ``scores`` of the kind fitted on."""
        s = self._input(scores)
        if self.method == "isotonic":
            return self.band_positives_[self._step(s)] / self.band_n_[self._step(s)]
        if self.method == "isotonic_interp":
            return np.interp(s, self.band_centres_, self.band_positives_ / self.band_n_)
        return expit(self._design(s) @ self._coefficients())

    def _step(self, s: np.ndarray) -> np.ndarray:
        """Index of the isotonic step each score falls on."""
        return np.clip(np.searchsorted(self.band_edges_, s, side="right") - 1, 0, len(self.band_n_) - 1)

    def _fit_steps(self, s: np.ndarray, t: np.ndarray) -> None:
        """The steps: first score (``band_edges_``), mean score (``band_centres_``), rows
        (``band_n_``) and outcomes (``band_positives_``)."""
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
        self.band_centres_ = np.add.reduceat(s[order], np.asarray(first)) / self.band_n_

    def band(self, scores: np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """95% interval band (lo, hi), each shape (n,), around the calibrated probability of ``scores``.

        Isotonic: the Wilson interval of the observed rate among the calibration rows of the step
        the score falls on (the probability *is* that rate, so small steps give wide bands);
        isotonic_interp interpolates the steps' intervals as it interpolates their rates.
        Sigmoid and beta: the delta-method interval of the fitted line on the logit scale.
        It says how precisely the calibration months pin the probability down, not how sure
        anyone can be about one person.
        """
        s = self._input(scores)
        if self.method in STEPPED:
            lo, hi = _wilson(self.band_positives_.astype(float), self.band_n_.astype(float))
            lo, hi = np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)
            if self.method == "isotonic":
                return lo[self._step(s)], hi[self._step(s)]
            return np.interp(s, self.band_centres_, lo), np.interp(s, self.band_centres_, hi)
        return _delta_band(self._design(s), self._coefficients(), self.band_cov_)


def _fit_non_negative(design: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logistic fit with every slope >= 0 (the last column is the intercept): the lowest-loss fit,
    among the unconstrained one and those with some slopes fixed at 0, whose free slopes are all
    >= 0. On this convex problem that is the constrained optimum.

    Returns the coefficients (zero where fixed) and the indices of the free ones.
    """
    slopes = list(range(design.shape[1] - 1))
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for size in range(len(slopes), -1, -1):  # larger models first: a smaller one must do better
        for kept in itertools.combinations(slopes, size):
            columns = np.array([*kept, design.shape[1] - 1])
            coef, loss = fit_logistic(design[:, columns], target)
            if (coef[:-1] < 0).any() or (best is not None and loss >= best[0]):
                continue
            full = np.zeros(design.shape[1])
            full[columns] = coef
            best = (loss, full, columns)
    assert best is not None  # the intercept-only fit has no slope to be negative
    return best[1], best[2]


@dataclass
class CalibrationReport:
    """How far probabilities are from observed rates, over all rows and within the top.

    ``reliability`` has one row per non-empty decile bin of the probability: bin, n, mean_predicted,
    observed_rate, lo and hi (Wilson 95% interval of the observed rate). The ``*_top`` figures are
    the same within the top rows (by default the top 1% by probability): ``n_top`` rows,
    ``distinct_top`` distinct probabilities among them, and ``reliability_top`` in fewer bins.
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
    n_top: int = 0
    distinct_top: int = 0
    mean_predicted_top: float = math.nan
    observed_rate_top: float = math.nan
    brier_top: float = math.nan
    ece_top: float = math.nan
    reliability_top: pd.DataFrame | None = None

    def summary(self) -> dict[str, float]:
        """The scalar figures, for logging."""
        names = (
            *("n", "base_rate", "mean_predicted", "brier", "log_loss", "ece", "slope", "intercept"),
            *("n_top", "distinct_top", "mean_predicted_top", "observed_rate_top", "brier_top", "ece_top"),
        )
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


def _ece(table: pd.DataFrame, n: int) -> float:
    return float((table["n"] * (table["mean_predicted"] - table["observed_rate"]).abs()).sum() / n)


def top_rows(score: np.ndarray, share: float = 0.01, groups: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask (shape (n,)) of the top ``share`` of rows by ``score``, ``ceil(share x rows)``
    of them, within each group when ``groups`` (such as the as-of month) is given; equal scores
    are taken in row order."""
    score = np.asarray(score, dtype="float64")
    codes = np.zeros(len(score), "int64") if groups is None else pd.factorize(np.asarray(groups))[0]
    mask = np.zeros(len(score), dtype=bool)
    for code in np.unique(codes):
        rows = np.flatnonzero(codes == code)
        take = math.ceil(share * len(rows))
        mask[rows[np.argsort(-score[rows], kind="stable")[:take]]] = True
    return mask


def calibration_report(
    p: np.ndarray | pd.Series,
    y: np.ndarray | pd.Series,
    n_bins: int = 10,
    *,
    top: np.ndarray | None = None,
    top_share: float = 0.01,
    top_bins: int = 5,
) -> CalibrationReport:
    """Brier, log-loss, ECE, slope, intercept and reliability table of probabilities ``p`` (shape (n,))
    against 0/1 outcomes ``y`` (shape (n,)), overall and within the top rows.

    ECE is the row-weighted mean of |mean_predicted - observed_rate| over the reliability bins (the
    same equal-count bins as :func:`models.evaluate.evaluate`). Slope and intercept come from an
    unpenalised logistic regression of y on logit(p) (p clipped to [1e-6, 1 - 1e-6]).

    Parameters
    ----------
    top
        Boolean mask of the rows where the list is drawn (say, each month's top 1% by the ranking
        score, :func:`top_rows`); by default the top ``top_share`` of rows by ``p``.
    top_bins
        Equal-count bins of the top rows' ECE: fewer rows, fewer bins (the noise in a bin's
        observed rate, which ECE counts as error, shrinks as 1 / sqrt(rows in the bin)).
    """
    p, y = np.asarray(p, dtype="float64"), np.asarray(y, dtype="float64")
    _check_fit_input(p, y)
    table = reliability_table(p, y, n_bins)
    clipped = np.clip(p, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS)
    log_loss = float(-np.mean(y * np.log(clipped) + (1 - y) * np.log1p(-clipped)))
    slope, intercept = fit_logistic_1d(_logit(p), y)
    mask = top_rows(p, top_share) if top is None else np.asarray(top, dtype=bool)
    tp, ty = p[mask], y[mask]
    table_top = reliability_table(tp, ty, top_bins) if mask.any() else None
    return CalibrationReport(
        n=len(y),
        base_rate=float(y.mean()),
        mean_predicted=float(p.mean()),
        brier=float(np.mean((p - y) ** 2)),
        log_loss=log_loss,
        ece=_ece(table, len(y)),
        slope=slope,
        intercept=intercept,
        reliability=table,
        n_top=int(mask.sum()),
        distinct_top=len(np.unique(tp)),
        mean_predicted_top=float(tp.mean()) if len(tp) else math.nan,
        observed_rate_top=float(ty.mean()) if len(ty) else math.nan,
        brier_top=float(np.mean((tp - ty) ** 2)) if len(tp) else math.nan,
        ece_top=_ece(table_top, len(ty)) if table_top is not None else math.nan,
        reliability_top=table_top,
    )
