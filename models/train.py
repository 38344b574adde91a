"""The LightGBM ranker: trained on past as-of dates, scores the cohort at the run's date.

It shares the small interface of every scorer in harmrank (``fit(X, y)``, ``score(X)``) so
that backtests treat the model and the baselines alike. Two objectives:

- ``binary``: the probability of the serious-harm outcome (log-loss);
- ``lambdarank``: a ranking objective on relevance graded in integer bands of future CCHI
  harm (see :func:`relevance`). LightGBM caps a query group at 10,000 rows, so each as-of
  date's cohort is cut into seeded random groups of at most ``query_group_size`` rows.

Either way ``margin`` is the raw score that a calibrator turns into a probability.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Literal, cast

import lightgbm as lgb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from features.catalogue import by_name
from models import dask_engine
from models.dask_engine import DaskSettings

LIGHTGBM_GROUP_CAP = 10_000


class ModelSettings(BaseModel):
    """LightGBM settings. Deterministic by construction: fixed seed, threads and row-wise histograms."""

    model_config = ConfigDict(extra="forbid")

    objective: Literal["binary", "lambdarank"] = Field("binary", description="Training objective.")
    n_estimators: int = Field(300, gt=0, description="Most boosting rounds.")
    early_stopping_rounds: int = Field(
        30,
        ge=0,
        description="binary: stop when the validation months' log-loss stops improving for this many "
        "rounds (0: off); lambdarank always uses every round.",
    )
    learning_rate: float = Field(0.03, gt=0, le=1)
    num_leaves: int = Field(15, ge=2)
    min_child_samples: int = Field(
        100, ge=1, description="Minimum rows in a leaf: guards against fitting a few people."
    )
    feature_fraction: float = Field(0.9, gt=0, le=1)
    reg_lambda: float = Field(1.0, ge=0)
    threads: int = Field(2, ge=1, description="LightGBM threads; results do not depend on it.")
    relevance_bands: list[float] = Field(
        [1, 365, 2555],
        min_length=1,
        description="lambdarank: future CCHI days at which relevance steps up by one (0 below the first).",
    )
    query_group_size: int = Field(
        5000, ge=2, le=LIGHTGBM_GROUP_CAP, description="lambdarank: rows per group."
    )
    monotone_constraints: bool = Field(
        True,
        description="Train with each catalogue feature's declared direction (features.catalogue): more "
        "alleged offending, harm, charges or convictions never lowers the score, more time since the "
        "last offence never raises it. Columns outside the catalogue are free.",
    )
    monotone_method: Literal["basic", "intermediate", "advanced"] = Field(
        "intermediate",
        description="LightGBM's monotone_constraints_method: how strictly splits are restricted "
        "(basic is the most restrictive, advanced the least).",
    )
    negative_rate: float = Field(
        1.0,
        gt=0,
        le=1,
        description="binary: share of the negative training rows kept (a seeded draw; every positive is "
        "kept), each kept negative weighted 1/negative_rate so the fit still sees the true balance. 1: all. "
        "Validation months are never subsampled, and calibration is fitted on its own months afterwards.",
    )
    engine: Literal["local", "dask"] = Field(
        "local",
        description="Where LightGBM trains: local (this process) or dask (LightGBM's Dask interface on "
        "the cluster in dask; needs pip install 'harmrank[dask]'). See docs/scale-out.md.",
    )
    dask: DaskSettings = Field(
        default_factory=DaskSettings, description="The Dask cluster: scheduler address or a LocalCluster."
    )

    @field_validator("relevance_bands")
    @classmethod
    def _increasing(cls, bands: list[float]) -> list[float]:
        if any(b <= a for a, b in itertools.pairwise(bands)):
            raise ValueError("relevance_bands must increase")
        return bands


class TrainingSettings(BaseModel):
    """Guards on the production fit (which months it uses is set by ``backtest.splits``)."""

    model_config = ConfigDict(extra="forbid")

    history_months: int = Field(
        24,
        gt=0,
        description="Monthly as-of dates to train on, ending where the latest full label horizon ends.",
    )
    min_positives: int = Field(
        20, ge=1, description="Refuse to train on fewer serious-harm outcomes than this."
    )


def relevance(future_harm: np.ndarray, bands: list[float]) -> np.ndarray:
    """Integer relevance 0..len(bands): how many band thresholds the future CCHI harm reaches."""
    return np.searchsorted(np.asarray(bands, dtype="float64"), np.asarray(future_harm), side="right")


def query_groups(as_of: pd.Series | np.ndarray, size: int, seed: int) -> np.ndarray:
    """Group id per row: each as-of date's rows cut into seeded random groups of at most ``size`` rows."""
    dates = pd.Series(np.asarray(as_of))
    date_code = pd.factorize(dates, sort=True)[0].astype("int64")
    rng = np.random.default_rng(seed)
    position = np.empty(len(dates), dtype="int64")
    for code in np.unique(date_code):
        rows = np.flatnonzero(date_code == code)
        position[rows] = rng.permutation(len(rows))
    return date_code * (LIGHTGBM_GROUP_CAP * 1000) + position // size


def _inputs(X: pd.DataFrame) -> pd.DataFrame:
    """Model inputs: categorical columns kept (LightGBM's native handling), the rest as float64."""
    return X.apply(lambda col: col if isinstance(col.dtype, pd.CategoricalDtype) else col.astype("float64"))


def monotone_directions(columns: list[str]) -> list[int]:
    """Each column's declared direction in the feature catalogue (1, -1 or 0); 0 for other columns."""
    out = []
    for name in columns:
        try:
            out.append(int(by_name(name).monotone))
        except KeyError:
            out.append(0)
    return out


def _array(values: np.ndarray | pd.Series | None) -> np.ndarray | None:
    return None if values is None else np.asarray(values)


class LightGBMRanker:
    """LightGBM model of the serious-harm outcome.

    Parameters
    ----------
    settings
        Model hyper-parameters and objective.
    seed
        Seed for every random choice LightGBM makes and for the query groups.
    """

    def __init__(self, settings: ModelSettings, seed: int) -> None:
        self.settings = settings
        self.seed = seed

    def _params(self, columns: list[str] | None = None) -> dict[str, object]:
        s = self.settings
        params: dict[str, object] = {
            "objective": s.objective,
            "learning_rate": s.learning_rate,
            "num_leaves": s.num_leaves,
            "min_data_in_leaf": s.min_child_samples,
            "feature_fraction": s.feature_fraction,
            "lambda_l2": s.reg_lambda,
            "num_threads": s.threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        if s.monotone_constraints and columns is not None:
            directions = monotone_directions(columns)
            if any(directions):
                params |= {
                    "monotone_constraints": directions,
                    "monotone_constraints_method": s.monotone_method,
                }
        if s.objective == "lambdarank":
            params |= {
                "metric": "ndcg",
                "eval_at": [100],
                "label_gain": list(range(len(s.relevance_bands) + 1)),
            }
        else:
            params["metric"] = "binary_logloss"
        return params

    def _rows(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        harm: np.ndarray | None,
        as_of: np.ndarray | None,
        *,
        sample: bool = False,
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Inputs, labels, query-group sizes (lambdarank; rows then in group order) and row weights.

        With ``sample`` (training rows, binary) negatives are kept at ``negative_rate`` and weighted
        by its inverse; the draw is seeded, so the same rows give the same sample.
        """
        values = _inputs(X)
        if self.settings.objective == "binary":
            rate = self.settings.negative_rate
            if not sample or rate >= 1:
                return values, y.astype("float64"), None, None
            positive = y.astype(bool)
            keep = positive | (np.random.default_rng(self.seed).random(len(y)) < rate)
            weight = np.where(positive[keep], 1.0, 1.0 / rate)
            return values[keep], y[keep].astype("float64"), None, weight
        if harm is None or as_of is None:
            raise ValueError("lambdarank needs future harm and as-of dates for every training row")
        groups = query_groups(as_of, self.settings.query_group_size, self.seed)
        order = np.argsort(groups, kind="stable")
        sizes = np.unique(groups[order], return_counts=True)[1]
        label = relevance(harm[order], self.settings.relevance_bands).astype("float64")
        return values.iloc[order], label, sizes, None

    def _dataset(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        harm: np.ndarray | None,
        as_of: np.ndarray | None,
        *,
        reference: lgb.Dataset | None = None,
        free_raw_data: bool = True,
        sample: bool = False,
    ) -> lgb.Dataset:
        values, label, sizes, weight = self._rows(X, y, harm, as_of, sample=sample)
        return lgb.Dataset(
            values, label=label, group=sizes, weight=weight, reference=reference, free_raw_data=free_raw_data
        )

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray | pd.Series,
        *,
        harm: np.ndarray | pd.Series | None = None,
        as_of: np.ndarray | pd.Series | None = None,
        valid: tuple[pd.DataFrame, np.ndarray, np.ndarray | None, np.ndarray | None] | None = None,
    ) -> LightGBMRanker:
        """Train on feature rows ``X`` (numeric columns) and binary outcomes ``y``.

        Parameters
        ----------
        harm, as_of
            Future CCHI harm (days) and as-of date per row; needed by ``lambdarank``.
        valid
            ``(X, y, harm, as_of)`` of later months for early stopping (``binary`` only); without
            it all ``n_estimators`` rounds are used. ``lambdarank`` always uses every round: its
            validation NDCG@100 on one month is too noisy to stop on (measured on the default world:
            it stopped after 4 rounds with a pooled backtest AUC of 0.68, against 0.84 with 300).
        """
        self.feature_names_ = list(X.columns)
        if self.settings.engine == "dask":
            return self._fit_dask(X, np.asarray(y), _array(harm), _array(as_of), valid)
        train = self._dataset(X, np.asarray(y), _array(harm), _array(as_of), free_raw_data=True, sample=True)
        callbacks: list[Callable[..., Any]] = []
        valid_sets: list[lgb.Dataset] = []
        if (
            valid is not None
            and self.settings.early_stopping_rounds > 0
            and self.settings.objective == "binary"
        ):
            vx, vy, vh, va = valid
            valid_sets = [self._dataset(vx, np.asarray(vy), _array(vh), _array(va), reference=train)]
            callbacks = [lgb.early_stopping(self.settings.early_stopping_rounds, verbose=False)]
        self.booster_ = lgb.train(
            self._params(self.feature_names_),
            train,
            num_boost_round=self.settings.n_estimators,
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        self.best_iteration_ = self.booster_.best_iteration or self.settings.n_estimators
        return self

    def _fit_dask(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        harm: np.ndarray | None,
        as_of: np.ndarray | None,
        valid: tuple[pd.DataFrame, np.ndarray, np.ndarray | None, np.ndarray | None] | None,
    ) -> LightGBMRanker:
        values, label, sizes, weight = self._rows(X, y, harm, as_of, sample=True)
        held_out = None
        if (
            valid is not None
            and self.settings.objective == "binary"
            and self.settings.early_stopping_rounds > 0
        ):
            held_out = (_inputs(valid[0]).to_numpy("float64"), np.asarray(valid[1], dtype="float64"))
        self.booster_ = dask_engine.train(
            self._params(self.feature_names_),
            self.settings.n_estimators,
            values.to_numpy("float64"),
            label,
            self.feature_names_,
            self.settings.dask,
            group_sizes=sizes,
            weight=weight,
            valid=held_out,
            patience=self.settings.early_stopping_rounds,
        )
        self.best_iteration_ = self.booster_.best_iteration or self.settings.n_estimators
        return self

    @classmethod
    def from_booster(cls, booster: lgb.Booster, seed: int) -> LightGBMRanker:
        """A fitted ranker around a saved booster, such as the registry's champion.

        The objective is read from the booster; every saved round is used (a booster saved after
        early stopping holds only the rounds up to its best iteration).
        """
        objective = str(booster.params.get("objective", "binary"))
        if objective not in ("binary", "lambdarank"):
            raise ValueError(f"a harmrank booster has objective binary or lambdarank, not {objective!r}")
        # checked just above; pydantic validates it again
        ranker = cls(ModelSettings(objective=cast(Literal["binary", "lambdarank"], objective)), seed)
        ranker.booster_ = booster
        ranker.feature_names_ = list(booster.feature_name())
        ranker.best_iteration_ = booster.current_iteration()
        return ranker

    def _values(self, X: pd.DataFrame) -> pd.DataFrame:
        if list(X.columns) != self.feature_names_:
            raise ValueError(f"columns {list(X.columns)} differ from training columns {self.feature_names_}")
        return _inputs(X)

    def margin(self, X: pd.DataFrame) -> np.ndarray:
        """Raw score (log-odds for ``binary``), shape (n,); what calibrators and SHAP work on."""
        # dense input: predict returns an ndarray, which np.asarray passes through as is
        return np.asarray(
            self.booster_.predict(self._values(X), raw_score=True, num_iteration=self.best_iteration_)
        )

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Uncalibrated probability for ``binary``; the ranking margin for ``lambdarank``."""
        margin = self.margin(X)
        return 1.0 / (1.0 + np.exp(-margin)) if self.settings.objective == "binary" else margin
