"""Global feature importance: mean absolute SHAP value over a seeded sample of rows.

LightGBM computes exact TreeSHAP contributions itself (``Booster.predict(X, pred_contrib=True)``):
one column per feature plus a last column holding the base value (the expected raw score), and
each row of contributions sums to that row's raw score (the margin; log-odds for a binary
objective). The importance of a feature is the mean of the absolute value of its contribution
over the sampled rows, in raw-score units; ``share`` expresses it as a fraction of the total.

Sampling keeps the cost bounded on a large cohort: ``sample`` rows are drawn without replacement
by a ``numpy.random.Generator`` seeded with ``seed`` and kept in their original order, so the
same inputs always give the same table.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.train import LightGBMRanker

DEFAULT_SAMPLE = 2_000
IMPORTANCE_COLUMNS = ["rank", "feature", "mean_abs_shap", "share", "mean_shap"]


def sample_rows(X: pd.DataFrame, sample: int | None, seed: int) -> pd.DataFrame:
    """At most ``sample`` rows of ``X``, drawn without replacement by a seeded generator, in input order.

    ``None`` (or a sample at least as large as ``X``) keeps every row.
    """
    if sample is None or sample >= len(X):
        return X
    if sample < 1:
        raise ValueError(f"sample must be at least 1 row, not {sample}")
    rng = np.random.default_rng(seed)
    return X.iloc[np.sort(rng.choice(len(X), size=sample, replace=False))]


def _model_inputs(X: pd.DataFrame) -> pd.DataFrame:
    """As the ranker feeds LightGBM: categorical columns kept, every other column as float64."""
    return X.apply(lambda col: col if isinstance(col.dtype, pd.CategoricalDtype) else col.astype("float64"))


def contributions(booster: lgb.Booster, X: pd.DataFrame, num_iteration: int | None = None) -> pd.DataFrame:
    """SHAP contributions of every feature to every row's raw score.

    Parameters
    ----------
    booster
        A trained LightGBM booster.
    X
        Rows to explain, with the booster's feature columns in training order.
    num_iteration
        Trees to use (the ranker's ``best_iteration_``); ``None`` for LightGBM's default.

    Returns
    -------
    DataFrame, shape (n, n_features + 1), indexed like ``X``: one column per feature and a last
    column ``base_value``. Each row sums to the row's raw score.
    """
    values = booster.predict(_model_inputs(X), pred_contrib=True, num_iteration=num_iteration)
    values = np.asarray(values, dtype="float64")
    if values.shape != (len(X), X.shape[1] + 1):
        raise ValueError(
            f"contributions of shape {values.shape} for {X.shape[1]} features; expected one more"
        )
    return pd.DataFrame(values, index=X.index, columns=[*X.columns, "base_value"])


def tree_shap(booster: lgb.Booster, X: pd.DataFrame, num_iteration: int | None = None) -> pd.DataFrame:
    """SHAP values of every feature to every row's raw score, by the shap package's TreeExplainer.

    The booster is cut to its first ``num_iteration`` trees (``None``: all), since TreeExplainer
    always explains every tree of the model it is given. The values are the exact (path-dependent)
    TreeSHAP values, the same numbers as :func:`contributions` (the tests hold them equal to 1e-9).

    Returns
    -------
    DataFrame of the same shape and columns as :func:`contributions`: one column per feature and a
    last column ``base_value`` (TreeExplainer's expected value). Each row sums to the raw score.
    """
    import warnings

    import shap  # imported here: about 3 s, and only the explanation of the list needs it

    if num_iteration is not None and num_iteration < booster.current_iteration():
        booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=num_iteration))
    with warnings.catch_warnings():  # shap warns on every LightGBM binary model (STACK.md)
        warnings.simplefilter("ignore", UserWarning)
        explainer = shap.TreeExplainer(booster)
        values = np.asarray(explainer.shap_values(_model_inputs(X)), dtype="float64")
    if values.shape != X.shape:
        raise ValueError(f"TreeExplainer gave values of shape {values.shape} for rows of shape {X.shape}")
    base = float(np.atleast_1d(explainer.expected_value)[0])
    frame = pd.DataFrame(values, index=X.index, columns=list(X.columns))
    frame["base_value"] = base
    return frame


def importance_table(contribs: pd.DataFrame) -> pd.DataFrame:
    """Rank features by mean absolute contribution.

    Parameters
    ----------
    contribs
        Output of :func:`contributions` (the ``base_value`` column is ignored).

    Returns
    -------
    One row per feature, most important first (ties by feature name): rank (1-based), feature,
    mean_abs_shap (raw-score units), share (of the summed mean_abs_shap; 0 when all are 0) and
    mean_shap (signed mean: which way the feature pushes on average).
    """
    values = contribs.drop(columns="base_value")
    mean_abs = values.abs().mean(axis=0)
    total = float(mean_abs.sum())
    table = pd.DataFrame(
        {
            "feature": [str(c) for c in values.columns],
            "mean_abs_shap": mean_abs.to_numpy(),
            "share": (mean_abs / total).to_numpy() if total > 0 else np.zeros(len(mean_abs)),
            "mean_shap": values.mean(axis=0).to_numpy(),
        }
    )
    table = table.sort_values(["mean_abs_shap", "feature"], ascending=[False, True], kind="mergesort")
    table.insert(0, "rank", np.arange(1, len(table) + 1, dtype="int64"))
    return table.reset_index(drop=True)[IMPORTANCE_COLUMNS]


def shap_importance(
    model: LightGBMRanker | lgb.Booster,
    X: pd.DataFrame,
    *,
    sample: int | None = DEFAULT_SAMPLE,
    seed: int = 0,
) -> pd.DataFrame:
    """Global feature importance of a fitted model: mean |SHAP| on a seeded sample of ``X``.

    Parameters
    ----------
    model
        A fitted :class:`models.train.LightGBMRanker` (its ``best_iteration_`` trees are explained)
        or a LightGBM booster.
    X
        Feature rows in the model's column order, such as the scored cohort.
    sample
        Rows explained (default 2,000); ``None`` explains every row.
    seed
        Seeds the draw of the sample.

    Returns
    -------
    The table of :func:`importance_table`; ``attrs["rows"]`` holds the number of rows explained.
    """
    if isinstance(model, LightGBMRanker):
        if list(X.columns) != model.feature_names_:
            raise ValueError(f"columns {list(X.columns)} differ from training columns {model.feature_names_}")
        booster, iteration = model.booster_, model.best_iteration_
    else:
        booster, iteration = model, None
    rows = sample_rows(X, sample, seed)
    table = importance_table(contributions(booster, rows, iteration))
    table.attrs["rows"] = len(rows)  # how many rows were explained, for the report
    return table
