"""Baseline scorers the model must beat, with the ranker's interface: ``fit(X, y)``, ``score(X)``.

Column names are constructor arguments, so the baselines read any table that has the columns
(a catalogue-built matrix or a force's own extract); nothing here knows the feature catalogue.

- :class:`V100Scorer`: the Metropolitan Police's V100 order, CCHI days alleged as suspect in the
  last 365 days (no fitting).
- :class:`RFGScorer`: a points matrix of recency, frequency and gravity (no fitting).
- :class:`LogisticBaseline`: an OGRS-like logistic regression on a few history features.
- :class:`ColumnScorer`: any existing column, such as a risk score the force already uses (missing
  values refused, filled, or ranked last).
- :class:`OracleScorer`: the true propensity of the synthetic world (evaluation only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, Self

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from features.catalogue import V100_FEATURE
from features.errors import PipelineError

Bands = tuple[tuple[float, int], ...]


class Scorer(Protocol):
    """What a backtest needs of a model or a baseline."""

    def fit(self, X: pd.DataFrame, y: np.ndarray | pd.Series) -> Self: ...

    def score(self, X: pd.DataFrame) -> np.ndarray: ...


def _columns(X: pd.DataFrame, names: Sequence[str], who: str) -> pd.DataFrame:
    """The named columns of ``X`` as float64, refusing missing columns and missing values."""
    missing = [c for c in names if c not in X.columns]
    if missing:
        raise PipelineError(f"{who} needs columns {missing}; the table has {list(X.columns)}")
    out = X[list(names)].astype("float64")
    bad = out.isna().sum()
    if bad.any():
        raise PipelineError(f"{who}: missing values in {bad[bad > 0].to_dict()}; impute them before scoring")
    return out


class ColumnScorer:
    """Scores each row by an existing column (higher = listed first); nothing is learned.

    Parameters
    ----------
    column
        The score column; it is never a model feature.
    fill_value
        Used for missing values; None refuses them (unless ``missing_last``).
    missing_last
        Rank rows without a value after every row with one: they score one below the lowest value
        among the scored rows (0 when none has a value), so they tie with each other and the list's
        tie-break (V100 harm, then person_id) orders them. The ranking score of a missing row is
        therefore not a value the column held.
    """

    def __init__(self, column: str, fill_value: float | None = None, missing_last: bool = False) -> None:
        self.column = column
        self.fill_value = fill_value
        self.missing_last = missing_last

    def fit(self, X: pd.DataFrame, y: np.ndarray | pd.Series | None = None) -> Self:
        """Check that ``X`` has the column; nothing is learned."""
        self.score(X)
        return self

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """The column as float64, shape (n,)."""
        if self.column in X.columns and (self.fill_value is not None or self.missing_last):
            values = pd.to_numeric(X[self.column], errors="coerce").astype("float64")
            values = values.where(np.isfinite(values))
            fill = self.fill_value
            if fill is None:
                lowest = values.min()
                fill = float(lowest) - 1.0 if pd.notna(lowest) else 0.0
            X = values.fillna(fill).to_frame(self.column)
        return _columns(X, [self.column], type(self).__name__)[self.column].to_numpy()

    def missing(self, X: pd.DataFrame) -> int:
        """How many rows of ``X`` have no (finite) value in the column."""
        values = pd.to_numeric(X[self.column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        return int((~np.isfinite(values)).sum())


class V100Scorer(ColumnScorer):
    """The V100 order: CCHI days of offences alleged as suspect in the last 365 days.

    Parameters
    ----------
    harm_365d_col
        Column with that sum (CCHI days); a missing value counts as 0 (no alleged offence).
    """

    def __init__(self, harm_365d_col: str) -> None:
        super().__init__(harm_365d_col, fill_value=0.0)
        self.harm_365d_col = harm_365d_col


class OracleScorer(ColumnScorer):
    """Scores by the true propensity of the synthetic world: the best any ranking could do.

    For evaluation only: the column comes from the synthetic world's ``truth/`` and must never
    reach a model as a feature or exist for real records.
    """

    def __init__(self, propensity_col: str) -> None:
        super().__init__(propensity_col, fill_value=None)
        self.propensity_col = propensity_col


#: Recency points: days since last named as suspect, at most the threshold.
RECENCY_BANDS: Bands = ((30, 4), (90, 3), (180, 2), (365, 1))
#: Frequency points: offences alleged as suspect in the last 365 days, at least the threshold.
FREQUENCY_BANDS: Bands = ((10, 4), (5, 3), (3, 2), (1, 1))
#: Gravity points: CCHI days of those offences, at least the threshold (365 = one violence with injury).
GRAVITY_BANDS: Bands = ((1825, 4), (365, 3), (30, 2), (1, 1))


def band_points(values: np.ndarray, bands: Bands, at_most: bool) -> np.ndarray:
    """Points of the first band each value falls in (bands in order), 0 if none; shape (n,)."""
    points = np.zeros(len(values), dtype="int64")
    placed = np.zeros(len(values), dtype=bool)
    for threshold, score in bands:
        hit = ~placed & ((values <= threshold) if at_most else (values >= threshold))
        points[hit], placed = score, placed | hit
    return points


class RFGScorer:
    """Recency-frequency-gravity points matrix, the score being the sum of three 0-4 points.

    ========= ============================================ ====== ===== ===== ===== ==============
    part      measure                                      4      3     2     1     0
    ========= ============================================ ====== ===== ===== ===== ==============
    recency   days since last named as suspect             <=30   <=90  <=180 <=365 more, or never
    frequency offences alleged as suspect, last 365 days   >=10   >=5   >=3   >=1   none
    gravity   CCHI days of those offences                  >=1825 >=365 >=30  >=1   none
    ========= ============================================ ====== ===== ===== ===== ==============

    The score is 0-12 with many ties; the list's tie-break (V100 harm) orders equal scores.
    A missing value scores 0 points for its part. Bands can be replaced (``(threshold, points)``
    pairs, first match wins).
    """

    def __init__(
        self,
        recency_col: str,
        frequency_col: str,
        gravity_col: str,
        recency_bands: Bands = RECENCY_BANDS,
        frequency_bands: Bands = FREQUENCY_BANDS,
        gravity_bands: Bands = GRAVITY_BANDS,
    ) -> None:
        self.recency_col = recency_col
        self.frequency_col = frequency_col
        self.gravity_col = gravity_col
        self.recency_bands = recency_bands
        self.frequency_bands = frequency_bands
        self.gravity_bands = gravity_bands

    def fit(self, X: pd.DataFrame, y: np.ndarray | pd.Series | None = None) -> Self:
        """Check that ``X`` has the columns; nothing is learned."""
        self.points(X)
        return self

    def points(self, X: pd.DataFrame) -> pd.DataFrame:
        """Recency, frequency and gravity points per row (int64 columns), for explanations."""
        cols = [self.recency_col, self.frequency_col, self.gravity_col]
        missing = [c for c in cols if c not in X.columns]
        if missing:
            raise PipelineError(f"RFGScorer needs columns {missing}; the table has {list(X.columns)}")
        values = {c: X[c].to_numpy(dtype="float64", na_value=np.nan) for c in cols}
        return pd.DataFrame(
            {
                "recency": band_points(values[self.recency_col], self.recency_bands, at_most=True),
                "frequency": band_points(values[self.frequency_col], self.frequency_bands, at_most=False),
                "gravity": band_points(values[self.gravity_col], self.gravity_bands, at_most=False),
            },
            index=X.index,
        )

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Total points (0-12) per row, float64, shape (n,)."""
        return self.points(X).sum(axis=1).to_numpy(dtype="float64")


class LogisticBaseline:
    """OGRS-like logistic regression of the outcome on a few offending-history features.

    Inputs, each standardised (mean 0, sd 1 on the training rows): ``log(1 + count)`` of each count
    column; a Copas-style rate ``ln((offences + 1) / (10 + career years))`` (OGRS's rate of
    offending over the criminal career; the + 1 keeps it finite for a person with none); and age in
    years when an age column is given (age as an input is a policy switch: pass it only when the
    config allows it).

    Parameters
    ----------
    count_cols
        Offence count columns (e.g. last 365 days, all history).
    offences_col
        All-history offence count for the Copas rate.
    career_days_col
        Days from the first recorded offence to the as-of date; None takes a career of 0 years.
    age_col
        Age in years at the as-of date, or None.
    C
        Inverse L2 penalty strength of the regression.
    seed
        ``random_state`` of the regression.
    """

    def __init__(
        self,
        count_cols: Sequence[str],
        offences_col: str,
        career_days_col: str | None = None,
        age_col: str | None = None,
        C: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.count_cols = count_cols
        self.offences_col = offences_col
        self.career_days_col = career_days_col
        self.age_col = age_col
        self.C = C
        self.seed = seed

    def design(self, X: pd.DataFrame) -> pd.DataFrame:
        """The unstandardised inputs, one column each, shape (n, len(count_cols) + 1 or 2)."""
        needed = [*self.count_cols, self.offences_col]
        needed += [c for c in (self.career_days_col, self.age_col) if c is not None]
        cols = _columns(X, list(dict.fromkeys(needed)), "LogisticBaseline")
        out = pd.DataFrame({f"log1p_{c}": np.log1p(cols[c].clip(lower=0)) for c in self.count_cols})
        years = cols[self.career_days_col].clip(lower=0) / 365.25 if self.career_days_col else 0.0
        out["copas_rate"] = np.log((cols[self.offences_col].clip(lower=0) + 1) / (10 + years))
        if self.age_col is not None:
            out["age"] = cols[self.age_col]
        return out

    def fit(self, X: pd.DataFrame, y: np.ndarray | pd.Series) -> Self:
        """Fit on rows ``X`` and 0/1 outcomes ``y`` (shape (n,))."""
        design = self.design(X)
        self.feature_names_ = list(design.columns)
        regression = LogisticRegression(C=self.C, random_state=self.seed, max_iter=1000)
        self.pipeline_: Pipeline = make_pipeline(StandardScaler(), regression)
        self.pipeline_.fit(design.to_numpy(), np.asarray(y, dtype="int64"))
        return self

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Probability of the outcome, float64, shape (n,)."""
        return self.pipeline_.predict_proba(self.design(X).to_numpy())[:, 1]

    def coefficients(self) -> pd.Series:
        """Coefficient per standardised input (log-odds per standard deviation)."""
        return pd.Series(self.pipeline_[-1].coef_[0], index=self.feature_names_)


def history_baselines(use_age: bool, seed: int) -> dict[str, Scorer]:
    """The baselines every backtest of the event engine's matrix reports, keyed by display name.

    ``v100`` ranks by CCHI days alleged in the last 365 days (the Met's list); ``rfg`` by the
    recency-frequency-gravity points above; ``logistic`` is the OGRS-like regression (with age
    only when the ``use_age`` policy switch is on).
    """
    return {
        "v100": V100Scorer(V100_FEATURE),
        "rfg": RFGScorer("days_since_last_offence", "suspect_count_365d", V100_FEATURE),
        "logistic": LogisticBaseline(
            count_cols=["suspect_count_365d", "suspect_count_all", "arrest_count_365d"],
            offences_col="suspect_count_all",
            career_days_col="days_since_first_offence",
            age_col="age" if use_age else None,
            seed=seed,
        ),
    }
