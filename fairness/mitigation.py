"""Mitigation analysis: what removing a disparity would cost in precision and harm captured.

Analysis only, never the production score. Each approach is trained on the same past months and
scored on the same test months, and its list (the top ``k`` of each test month, pooled) is measured
for precision@k, harm captured@k and the largest disparity between groups of one characteristic:

- ``production model``: LightGBM on the model features (binary objective, the production
  :class:`models.train.LightGBMRanker` with the settings in ``MitigationSettings.model``);
- ``ExponentiatedGradient (error-rate parity)`` and ``(TPR parity)``: Fairlearn's reduction
  around the same LightGBM as a classifier. The constrained models here are *trained with the
  protected characteristic* (the reduction reweights each group); the production score never
  takes one as input, and using one at scoring time (for example group-specific thresholds)
  would be direct discrimination under the Equality Act 2010. The list is ordered by the
  randomized classifier's probability of a positive prediction (``_pmf_predict(X)[:, 1]`` in
  Fairlearn 0.15), ties (it takes few values) broken by the mixture's mean predicted probability
  ``sum_t weights_[t] * predict_proba_t(X)``, then person_id. The constraint binds at the
  classifier's threshold, not at the top ``k``, so it need not narrow the gap at k. Every group
  of the characteristic is constrained, "not recorded" included. With ``balance_classes`` the
  objective is a cost-weighted error (a missed outcome costs (1 - p)/p false alarms), because
  the plain error rate of a rare outcome is minimised by predicting nobody;
- ``without flagged proxies``: the production model without the features the proxy audit
  flagged for the characteristic.

``largest_disparity`` is ``max |1 - ratio|`` (a distance from parity, not a ratio: a ratio of 2.84
gives 1.84) over recorded groups with at least ``min_group``
test rows, where ``ratio`` is a group's metric at k (``disparity_metric``: the selection rate by
default) over that of the largest group; "not recorded" is left out. The notes name the group with
the largest gap and how few people of the smallest group were listed; ``largest_ratio`` is that
group's ratio itself and ``largest_group`` its name: with a list of 100 a
month these ratios rest on a few dozen people, so read them as indications, not findings.
Training rows are a seeded subsample of ``max_train_rows``; only the latest ``test_months`` test
dates are scored, so the whole table costs well under a minute on the default world.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd
from fairlearn.reductions import ErrorRate, ErrorRateParity, ExponentiatedGradient, TruePositiveRateParity

from fairness.proxy_settings import MitigationSettings
from features.errors import PipelineError
from features.records.schema import NOT_RECORDED
from models.splits import Split
from models.train import LightGBMRanker, ModelSettings

TRADEOFF_COLUMNS = [
    "approach",
    "characteristic",
    "precision_at_100",
    "harm_captured_at_100",
    "largest_disparity",
    "disparity_metric",
    "notes",
    "largest_ratio",
    "largest_group",
]
PRODUCTION = "production model"
EG_ERROR = "ExponentiatedGradient (error-rate parity)"
EG_TPR = "ExponentiatedGradient (TPR parity)"
NO_PROXIES = "without flagged proxies"
METRIC_NAMES = {"selection_rate": "selection rate", "fpr": "FPR", "tpr": "TPR", "precision": "precision"}


def mitigation_split(
    as_of: pd.Series, horizon_months: int, test_months: int, history_months: int
) -> tuple[np.ndarray, np.ndarray]:
    """Positional (train, test) rows: the latest ``test_months`` dates are tested; training uses the
    ``history_months`` latest dates whose label horizon ends on or before the first test date."""
    dates = pd.DatetimeIndex(sorted(pd.to_datetime(pd.Series(as_of)).unique()))
    test_dates = dates[-test_months:]
    eligible = dates[dates + pd.DateOffset(months=horizon_months) <= test_dates[0]][-history_months:]
    if len(eligible) == 0:
        raise PipelineError(
            f"mitigation analysis: no as-of date ends its {horizon_months}-month label horizon before the "
            f"first test date {test_dates[0].date()}; give more months or fewer test months"
        )
    stamps = pd.to_datetime(pd.Series(np.asarray(as_of)))
    return np.flatnonzero(stamps.isin(eligible).to_numpy()), np.flatnonzero(
        stamps.isin(test_dates).to_numpy()
    )


def _rows(
    matrix: pd.DataFrame,
    split: Split | tuple[np.ndarray, np.ndarray],
    settings: MitigationSettings,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(split, Split):
        parts = split.indices(matrix["as_of"])
        train = np.sort(np.concatenate([parts["train"], parts["validation"], parts["calibration"]]))
        test = parts["test"]
    else:
        train, test = (np.asarray(a, dtype="int64") for a in split)
    if len(train) > settings.max_train_rows:
        train = np.sort(np.random.default_rng(seed).choice(train, settings.max_train_rows, replace=False))
    months = pd.to_datetime(matrix["as_of"].iloc[test])
    latest = np.sort(months.unique())[-settings.test_months :]
    return train, test[months.isin(latest).to_numpy()]


def _inputs(X: pd.DataFrame) -> pd.DataFrame:
    return X.apply(lambda c: c if isinstance(c.dtype, pd.CategoricalDtype) else c.astype("float64"))


def _model_settings(settings: MitigationSettings) -> ModelSettings:
    m = settings.model
    return ModelSettings(
        objective="binary",
        n_estimators=m.n_estimators,
        early_stopping_rounds=0,
        learning_rate=m.learning_rate,
        num_leaves=m.num_leaves,
        min_child_samples=m.min_child_samples,
        threads=m.threads,
    )


def _classifier(settings: MitigationSettings, seed: int) -> lgb.LGBMClassifier:
    """The production model's LightGBM as a sample-weighted classifier, for the reductions."""
    ms = _model_settings(settings)
    return lgb.LGBMClassifier(
        n_estimators=ms.n_estimators,
        learning_rate=ms.learning_rate,
        num_leaves=ms.num_leaves,
        min_child_samples=ms.min_child_samples,
        colsample_bytree=ms.feature_fraction,
        reg_lambda=ms.reg_lambda,
        n_jobs=ms.threads,
        random_state=seed,
        deterministic=True,
        force_row_wise=True,
        verbosity=-1,
    )


def _positive_proba(model: object, X: pd.DataFrame) -> np.ndarray:
    """P(y = 1) from a fitted classifier (LightGBM, or Fairlearn's constant dummy), shape (n,)."""
    proba = model.predict_proba(X)  # type: ignore[attr-defined]
    classes = list(model.classes_)  # type: ignore[attr-defined]
    return proba[:, classes.index(1)] if 1 in classes else np.zeros(len(X))


def _reduction(
    X: pd.DataFrame,
    y: np.ndarray,
    sensitive: np.ndarray,
    constraint: ErrorRateParity | TruePositiveRateParity,
    settings: MitigationSettings,
    seed: int,
) -> ExponentiatedGradient:
    rate = float(y.mean())
    costs = {"fp": rate, "fn": 1 - rate} if settings.balance_classes and 0 < rate < 1 else None
    eg = ExponentiatedGradient(
        _classifier(settings, seed),
        constraint,
        objective=ErrorRate(costs=costs),
        eps=settings.eg_eps,
        max_iter=settings.eg_max_iter,
        run_linprog_step=settings.eg_linprog,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LightGBM's feature-name and fairlearn's convergence chatter
        eg.fit(X, y, sensitive_features=sensitive)
    return eg


def _reduction_scores(eg: ExponentiatedGradient, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(P(positive) of the randomized classifier, the mixture's mean probability), each shape (n,)."""
    pmf = np.asarray(eg._pmf_predict(X))[:, 1]
    soft = np.zeros(len(X))
    for t, weight in eg.weights_.items():
        if weight > 0:
            soft += weight * _positive_proba(eg.predictors_[t], X)
    return pmf, soft


def listed(test: pd.DataFrame, score: np.ndarray, secondary: np.ndarray, k: int) -> np.ndarray:
    """Bool per test row: in its month's top ``k`` by score, then secondary (both higher first), then
    person_id ascending."""
    order = np.lexsort(
        (test["person_id"].astype("str").to_numpy(), -secondary, -score, test["as_of"].to_numpy())
    )
    month = test["as_of"].to_numpy()[order]
    starts = np.flatnonzero(np.r_[True, month[1:] != month[:-1]])
    position = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    out = np.zeros(len(order), dtype=bool)
    out[order] = position < k
    return out


def _group_metric(on_list: np.ndarray, y: np.ndarray, groups: np.ndarray, metric: str) -> pd.DataFrame:
    """Per group: rows and the metric at k (NaN where its denominator is zero)."""
    frame = pd.DataFrame({"g": groups, "n": 1, "top": on_list, "y": y})
    frame["tp"] = frame["top"] & (frame["y"] == 1)
    frame["fp"] = frame["top"] & (frame["y"] == 0)
    frame["pos"], frame["neg"] = frame["y"] == 1, frame["y"] == 0
    sums = frame.groupby("g", sort=True)[["n", "top", "tp", "fp", "pos", "neg"]].sum().astype("float64")
    num, den = {
        "selection_rate": ("top", "n"),
        "fpr": ("fp", "neg"),
        "tpr": ("tp", "pos"),
        "precision": ("tp", "top"),
    }[metric]
    sums["value"] = sums[num] / sums[den].where(sums[den] > 0)
    return sums[["n", "top", "value"]]


def _disparity(
    on_list: np.ndarray, y: np.ndarray, groups: np.ndarray, settings: MitigationSettings
) -> tuple[float, float, str, str, str]:
    """(largest |1 - ratio|, that ratio, its group, metric description, note naming the group)."""
    table = _group_metric(on_list, y, groups, settings.disparity_metric)
    table = table[(table.index != NOT_RECORDED) & (table["n"] >= settings.min_group)]
    name = METRIC_NAMES[settings.disparity_metric]
    if len(table) < 2:
        return (
            np.nan,
            np.nan,
            "",
            f"{name} ratio",
            f"fewer than two groups with {settings.min_group}+ test rows",
        )
    reference = table["n"].idxmax()
    ratios = (table["value"] / table.loc[reference, "value"]).drop(reference)
    gaps = (1 - ratios).abs()
    description = f"{name}@k ratio to {reference} (largest group)"
    if gaps.isna().all():
        return np.nan, np.nan, "", description, f"{name} of {reference} is 0 or undefined"
    worst = gaps.idxmax()
    fewest = table["top"].idxmin()
    note = f"largest gap: {worst} at {ratios[worst]:.2f}; "
    note += f"fewest listed: {fewest} ({int(table.loc[fewest, 'top'])})"
    return float(gaps[worst]), float(ratios[worst]), str(worst), description, note


def _figures(test: pd.DataFrame, on_list: np.ndarray, label_col: str, harm_col: str) -> tuple[float, float]:
    y = test[label_col].to_numpy(dtype="float64")
    harm = test[harm_col].to_numpy(dtype="float64")
    total = harm.sum()
    return float(y[on_list].mean()), float(harm[on_list].sum() / total) if total > 0 else np.nan


def _approach_scores(
    X: pd.DataFrame,
    y: np.ndarray,
    X_test: pd.DataFrame,
    sensitive: np.ndarray,
    features: list[str],
    flagged_features: Sequence[str],
    settings: MitigationSettings,
    seed: int,
) -> dict[str, tuple[np.ndarray, np.ndarray, str]]:
    """Approach -> (score, tie-break score, note) on the test rows; every approach fitted on ``X``, ``y``."""
    zeros = np.zeros(len(X_test))
    production = LightGBMRanker(_model_settings(settings), seed).fit(X, y)
    scores = {PRODUCTION: (production.margin(X_test), zeros, "")}
    for name, constraint in ((EG_ERROR, ErrorRateParity()), (EG_TPR, TruePositiveRateParity())):
        eg = _reduction(X, y, sensitive, constraint, settings, seed)
        pmf, soft = _reduction_scores(eg, X_test)
        used = int((eg.weights_ > 0).sum())
        scores[name] = (pmf, soft, f"{used} of {len(eg.weights_)} classifiers in the mixture")
    dropped = [f for f in features if f in set(flagged_features)]
    kept = [f for f in features if f not in set(dropped)]
    if dropped and kept:
        model = LightGBMRanker(_model_settings(settings), seed).fit(X[kept], y)
        note = f"dropped {len(dropped)}: {', '.join(dropped)}"
        scores[NO_PROXIES] = (model.margin(X_test[kept]), zeros, note)
    else:
        why = "no feature flagged" if not dropped else "every feature flagged"
        scores[NO_PROXIES] = (scores[PRODUCTION][0], zeros, f"{why}; same as the production model")
    return scores


def mitigation_analysis(
    matrix: pd.DataFrame,
    features: Sequence[str],
    groups: pd.DataFrame,
    split: Split | tuple[np.ndarray, np.ndarray],
    characteristic: str,
    settings: MitigationSettings,
    seed: int,
    *,
    label_col: str = "label",
    harm_col: str = "future_harm",
    flagged_features: Sequence[str] = (),
    k: int = 100,
) -> pd.DataFrame:
    """The trade-off table: each approach's precision@k and harm captured@k against its largest disparity.

    Parameters
    ----------
    matrix
        Labelled rows: person_id, as_of, ``features``, ``label_col`` (0/1) and ``harm_col`` (CCHI days).
    groups
        Same index as ``matrix``; column ``characteristic`` holds each row's group (str).
    split
        A :class:`models.splits.Split` (its train, validation and calibration dates train; its test
        date is scored) or positional ``(train_rows, test_rows)``, e.g. from :func:`mitigation_split`.
    flagged_features
        Features the proxy audit flagged for ``characteristic``; none: the last row repeats the
        production model.
    k
        List length per test month (the columns keep the contract's names ``..._at_100``).

    Returns
    -------
    DataFrame with columns ``TRADEOFF_COLUMNS``, one row per approach in the order of the module
    docstring; precision and harm captured are pooled over the test months (per-month top k).

    Raises
    ------
    PipelineError
        When the groups frame does not line up, the characteristic is missing, or the training rows
        hold only one outcome value.
    """
    if not groups.index.equals(matrix.index) or characteristic not in groups.columns:
        raise PipelineError(
            f"mitigation analysis: the groups frame must have the matrix's index and a column "
            f"{characteristic!r}; it has {', '.join(map(str, groups.columns))}"
        )
    train, test_rows = _rows(matrix, split, settings, seed)
    y = matrix[label_col].iloc[train].to_numpy(dtype="int64")
    if len(np.unique(y)) < 2:
        raise PipelineError(
            f"mitigation analysis: the {len(train)} training rows all have {label_col} = {y[:1]}; "
            "give more months so that both outcomes occur"
        )
    X = _inputs(matrix[list(features)].iloc[train])
    test = matrix.iloc[test_rows]
    X_test = _inputs(test[list(features)])
    sensitive = groups[characteristic].iloc[train].astype("str").to_numpy()
    test_groups = groups[characteristic].iloc[test_rows].astype("str").to_numpy()
    y_test = test[label_col].to_numpy(dtype="int64")

    scores = _approach_scores(X, y, X_test, sensitive, list(features), flagged_features, settings, seed)
    months = test["as_of"].nunique()
    rows = []
    for name, (score, secondary, note) in scores.items():
        on_list = listed(test, score, secondary, k)
        precision, harm = _figures(test, on_list, label_col, harm_col)
        gap, ratio, worst, description, gap_note = _disparity(on_list, y_test, test_groups, settings)
        notes = "; ".join(n for n in (note, gap_note, f"top {k} in each of {months} test months") if n)
        rows.append([name, characteristic, precision, harm, gap, description, notes, ratio, worst])
    return pd.DataFrame(rows, columns=TRADEOFF_COLUMNS)
