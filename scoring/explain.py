"""Why each listed person is on the list: SHAP contributions turned into sentences an officer can read.

The contributions are exact TreeSHAP values on the model's raw margin (log-odds for the binary
objective, the ranking score for lambdarank), computed by the shap package's ``TreeExplainer`` on
the ranker's ``best_iteration_`` trees (:func:`models.importance.tree_shap`). LightGBM's own
``Booster.predict(pred_contrib=True)`` gives the same numbers (the tests hold them equal to 1e-9).
For every person ``base_value + sum(contributions) == raw margin``; the run stops if not.

Only the listed people are explained: TreeSHAP costs about 2 ms per person for a 300-tree model,
so explaining a whole cohort would take minutes and is not needed (global importance uses a
sample, :mod:`models.importance`). :func:`explain` refuses more than ``max_people`` rows.

Each contribution becomes a sentence from the feature catalogue's template filled with the
person's value, followed by its direction in words: ``"...: raises the score"``,
``"...: lowers the score"``, or ``"...: no effect on the score"`` for a feature the model gave
exactly zero (such rows rank last). These feature-level sentences are the analyst's view; an officer reads the
contributions summed by reason family (:mod:`models.reasons`), and the evidence behind the top families is
in :mod:`scoring.evidence`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.catalogue import Feature, by_name
from features.errors import PipelineError
from models.backtest import FittedModel
from models.importance import tree_shap
from models.train import LightGBMRanker

REASON_COLUMNS = ["person_id", "order", "feature", "value", "contribution", "direction", "sentence"]
RAISES, LOWERS, NO_EFFECT = "raises", "lowers", "no effect"
SUFFIX = {RAISES: ": raises the score", LOWERS: ": lowers the score", NO_EFFECT: ": no effect on the score"}
MAX_PEOPLE = 10_000
"""Most rows :func:`explain` accepts (about 20 s of TreeSHAP); a list is far shorter."""
SUM_TOLERANCE = 1e-6
"""Largest allowed gap between base value + contributions and the model's raw margin."""


@dataclass(frozen=True)
class Explanation:
    """SHAP explanation of the listed people.

    Attributes
    ----------
    base_value : float
        The model's expected raw margin (the same for everyone).
    contributions : DataFrame, shape (n_people, n_features)
        Contribution of each feature to each person's raw margin; index ``person_id`` in the order
        given, columns the model's features in training order.
    model_score : Series, shape (n_people,)
        Each person's raw margin, index ``person_id``; equals ``base_value`` plus the row sum of
        ``contributions`` to :data:`SUM_TOLERANCE`.
    reasons : DataFrame, shape (n_people * n_features, 7)
        One row per (person, feature), see :func:`reasons_table`.
    """

    base_value: float
    contributions: pd.DataFrame
    model_score: pd.Series
    reasons: pd.DataFrame


def _ranker(model: FittedModel | LightGBMRanker) -> LightGBMRanker:
    ranker = model.ranker if isinstance(model, FittedModel) else model
    if not hasattr(ranker, "booster_"):
        raise ValueError("the model is not fitted; call fit() before explain()")
    return ranker


def _person_index(person_ids: Sequence[str], rows: int) -> pd.Index:
    ids = pd.Index([str(p) for p in person_ids], dtype="str", name="person_id")
    if len(ids) != rows:
        raise ValueError(f"{len(ids)} person ids for {rows} feature rows; give one id per row of X")
    if not ids.is_unique:
        raise ValueError(f"person ids repeat: {sorted(set(ids[ids.duplicated()]))[:5]}")
    return ids


def explain(
    model: FittedModel | LightGBMRanker,
    X: pd.DataFrame,
    person_ids: Sequence[str],
    *,
    max_people: int = MAX_PEOPLE,
) -> Explanation:
    """SHAP contributions, base value and reasons for the listed people.

    Parameters
    ----------
    model
        The fitted production model (its ranker is explained) or a fitted ranker.
    X : DataFrame, shape (n_people, n_features)
        The listed people's feature rows, the model's feature columns only, in training order.
    person_ids
        The person_id of each row of ``X`` (same order), best first: the reasons keep this order.
    max_people
        Refuse to explain more rows than this (explain the list, never the cohort).

    Returns
    -------
    :class:`Explanation`.

    Raises
    ------
    PipelineError
        If ``X`` has more than ``max_people`` rows.
    ValueError
        If ``X`` is empty, its columns differ from the model's, or ``person_ids`` does not match it.
    """
    ranker = _ranker(model)
    if len(X) > max_people:
        raise PipelineError(
            f"asked to explain {len(X):,} people; explanations are for the listed people only "
            f"(at most {max_people:,}): lower output.k or pass only the list's rows"
        )
    if X.empty:
        raise ValueError("no person to explain; pass the listed people's feature rows")
    ids = _person_index(person_ids, len(X))
    margin = ranker.margin(X)  # also checks the columns against the training columns
    contribs = tree_shap(ranker.booster_, X, ranker.best_iteration_).set_axis(ids, axis=0)
    base_value = float(contribs["base_value"].iloc[0])
    contribs = contribs.drop(columns="base_value")
    gap = np.abs(base_value + contribs.sum(axis=1).to_numpy() - margin)
    if gap.max() > SUM_TOLERANCE:  # would be a bug in LightGBM or here, not the user's doing
        raise RuntimeError(f"SHAP contributions miss the raw margin by {gap.max():.3g}")
    reasons = reasons_table(contribs, X.set_axis(ids, axis=0))
    return Explanation(base_value, contribs, pd.Series(margin, index=ids, name="model_score"), reasons)


def _feature(name: str) -> Feature:
    """The catalogue feature ``name``, or a plain stand-in for a column of a supplied matrix."""
    try:
        return by_name(name)
    except KeyError:
        words = name.replace("_", " ")
        return Feature(name, None, "count", None, "", "float64", math.nan, f"{words} is {{value}}", "")


def _phrases(X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Value (float, NaN for categories) and the catalogue sentence of every cell, shape (n, f) each.

    Sentences are made once per distinct value of a column, not once per cell.
    """
    values = np.empty(X.shape, dtype="float64")
    phrases = np.empty(X.shape, dtype=object)
    for j, name in enumerate(X.columns):
        column = X[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            values[:, j] = np.nan
            words = str(name).replace("_", " ")
            text = column.astype("str").fillna("not recorded").to_numpy()
            phrases[:, j] = [f"{words} is {t}" for t in text]
            continue
        values[:, j] = column.to_numpy(dtype="float64", na_value=np.nan)
        codes, uniques = pd.factorize(values[:, j], use_na_sentinel=False)
        feature = _feature(str(name))
        phrases[:, j] = np.array([feature.sentence(float(u)) for u in uniques], dtype=object)[codes]
    return values, phrases


def reasons_table(contribs: pd.DataFrame, X: pd.DataFrame) -> pd.DataFrame:
    """One row per (person, feature), people in the given order, largest |contribution| first.

    Parameters
    ----------
    contribs : DataFrame, shape (n, f)
        Contributions (raw-margin units), index person_id, columns the features.
    X : DataFrame, shape (n, f)
        The same people's feature values, same index and columns.

    Returns
    -------
    DataFrame with person_id (str), order (int64, 1 = largest |contribution|), feature (str),
    value (float64), contribution (float64), direction (``"raises"``, ``"lowers"`` or
    ``"no effect"``) and sentence (str). Ties in |contribution| keep the feature column order, so
    zero contributions come last in column order.
    """
    n, f = contribs.shape
    values, phrases = _phrases(X[list(contribs.columns)])
    c = contribs.to_numpy(dtype="float64")
    person_pos = np.repeat(np.arange(n), f)
    feature_pos = np.tile(np.arange(f), n)
    sort = np.lexsort((feature_pos, -np.abs(c).ravel(), person_pos))
    flat = c.ravel()[sort]
    direction = np.select([flat > 0, flat < 0], [RAISES, LOWERS], NO_EFFECT)
    sentence = phrases.ravel()[sort] + pd.Series(direction).map(SUFFIX).to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "person_id": pd.array(np.asarray(contribs.index)[person_pos[sort]], dtype="str"),
            "order": np.tile(np.arange(1, f + 1, dtype="int64"), n),
            "feature": pd.array(np.asarray(contribs.columns, dtype=object)[feature_pos[sort]], dtype="str"),
            "value": values.ravel()[sort],
            "contribution": flat,
            "direction": pd.array(direction, dtype="str"),
            "sentence": pd.array(sentence, dtype="str"),
        }
    )


def top_reasons(reasons: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """The ``n`` largest reasons of each person as sentences, one row per person.

    Parameters
    ----------
    reasons
        :attr:`Explanation.reasons` (or any frame with person_id, order, direction, sentence).
    n
        Reasons per person.

    Returns
    -------
    DataFrame with person_id and reason_1 .. reason_n (str), people in the order of ``reasons``.
    Only features with an effect are reasons: a person with fewer than ``n`` non-zero
    contributions gets empty strings for the rest.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    people = pd.unique(reasons["person_id"])
    kept = reasons[(reasons["order"] <= n) & (reasons["direction"] != NO_EFFECT)]
    wide = kept.pivot(index="person_id", columns="order", values="sentence")
    wide = wide.reindex(index=people, columns=range(1, n + 1)).fillna("").astype("str")
    wide.columns = [f"reason_{k}" for k in range(1, n + 1)]
    out = wide.rename_axis(index="person_id", columns=None).reset_index()
    return out.astype({"person_id": "str"})
