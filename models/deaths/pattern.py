"""The pattern of death reports: monthly counts by group against what was expected, with limits.

The expectation of a month follows the Farrington method of public-health surveillance, kept
simple: the counts of the same calendar month and the months either side in each of the previous
``reference_years`` years (the previous twelve months when there are fewer than three such) give
the mean; where a context figure (ONS or NHS expected deaths) is given for the month and for the
reference months, the mean is scaled by its change. Over-dispersion is the reference counts'
variance over their mean (at least 1), so the upper limit is a negative-binomial quantile, or a
Poisson one without over-dispersion. A month beyond its limit has, by chance alone, at most
probability ``alpha``; each chart's exact chance is kept so the report can state how many charts
would rise by chance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import nbinom, poisson

CHART_COLUMNS: tuple[str, ...] = (
    "month",
    "observed",
    "expected",
    "dispersion",
    "upper",
    "beyond",
    "p_value",
    "false_alarm",
)


def _reference(months: pd.DatetimeIndex, month: pd.Timestamp, years: int) -> pd.DatetimeIndex:
    wanted = [month - pd.DateOffset(years=y, months=d) for y in range(1, years + 1) for d in (-1, 0, 1)]
    ref = pd.DatetimeIndex(wanted).intersection(months)
    if len(ref) < 3:
        ref = pd.date_range(month - pd.DateOffset(months=12), periods=12, freq="MS").intersection(months)
    return ref


def _limits(mu: np.ndarray, phi: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Upper limits and the chance of exceeding each, for means ``mu`` and dispersions ``phi``."""
    mu = np.where(np.isfinite(mu) & (mu > 0), mu, np.nan)
    over = phi > 1.0
    size = np.where(over, mu / np.where(over, phi - 1.0, 1.0), 1.0)
    prob = size / (size + mu)
    with np.errstate(invalid="ignore"):
        upper = np.where(over, nbinom.ppf(1 - alpha, size, prob), poisson.ppf(1 - alpha, mu))
        chance = np.where(over, nbinom.sf(upper, size, prob), poisson.sf(upper, mu))
    return upper, np.nan_to_num(chance)


def _p_values(observed: np.ndarray, mu: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """``P(X >= observed)`` under each month's expectation (NaN where nothing is expected)."""
    mu = np.where(np.isfinite(mu) & (mu > 0), mu, np.nan)
    over = phi > 1.0
    size = np.where(over, mu / np.where(over, phi - 1.0, 1.0), 1.0)
    with np.errstate(invalid="ignore"):
        return np.where(over, nbinom.sf(observed - 1, size, size / (size + mu)), poisson.sf(observed - 1, mu))


def control_charts(
    counts: pd.DataFrame,
    months: pd.DatetimeIndex,
    reference_years: int,
    alpha: float,
    context: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Expected count, dispersion and upper limit of each month in ``months``, for every group.

    Parameters
    ----------
    counts : pandas.DataFrame
        Reports per month (rows: first days of months, every month of the history, zeros
        included) and group (columns).
    months : pandas.DatetimeIndex
        The months to chart (each must be a row of ``counts``).
    reference_years, alpha
        Years of the same season used, and the chance of a false alarm a month.
    context : pandas.DataFrame, optional
        Expected reports per month from another organisation, for the groups it covers (same
        rows as ``counts``; a column per group).

    Returns
    -------
    pandas.DataFrame
        ``group``, then :data:`CHART_COLUMNS`; one row per group and month, groups in column order.
    """
    history = pd.DatetimeIndex(counts.index)
    values = counts.to_numpy(np.float64)
    ctx = (
        None
        if context is None
        else context.reindex(index=history, columns=counts.columns).to_numpy(np.float64)
    )
    parts = []
    for month in months:
        ref = history.get_indexer(_reference(history[history < month], month, reference_years))
        block = values[ref]
        mu = block.mean(axis=0) if ref.size else np.full(values.shape[1], np.nan)
        phi = np.ones(values.shape[1])
        if ref.size >= 3:
            with np.errstate(invalid="ignore", divide="ignore"):
                phi = np.where(mu > 0, np.maximum(1.0, block.var(axis=0, ddof=1) / mu), 1.0)
        if ctx is not None and ref.size:
            base, now = ctx[ref].mean(axis=0), ctx[history.get_loc(month)]
            scale = np.isfinite(base) & np.isfinite(now) & (base > 0) & np.isfinite(ctx[ref]).all(axis=0)
            mu = np.where(scale, mu * now / np.where(scale, base, 1.0), mu)
        upper, chance = _limits(mu, phi, alpha)
        observed = values[history.get_loc(month)]
        parts.append(
            pd.DataFrame(
                {
                    "group": counts.columns,
                    "month": month,
                    "observed": observed.astype(np.int64),
                    "expected": mu,
                    "dispersion": phi,
                    "upper": upper,
                    "beyond": np.isfinite(upper) & (observed > upper),
                    "p_value": _p_values(observed, mu, phi),
                    "false_alarm": chance,
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    order = pd.Index(counts.columns).get_indexer(out["group"])
    return out.iloc[np.lexsort((out["month"].to_numpy(), order))].reset_index(drop=True)


def monthly_counts(dates: pd.Series, groups: pd.Series, months: pd.DatetimeIndex) -> pd.DataFrame:
    """Reports per month (rows: ``months``) and group (columns), zeros included."""
    month = dates.dt.to_period("M").dt.to_timestamp()
    table = pd.crosstab(month, groups.astype("str"))
    return table.reindex(months, fill_value=0).sort_index(axis=1)
