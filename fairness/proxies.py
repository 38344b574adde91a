"""Proxy audit: how well the model's features predict each protected characteristic, and which do it.

The production score never takes a protected characteristic as input, but a feature matrix can
carry one indirectly (a proxy): if the features predict group membership, a model can treat a
group differently without being told who is in it. For each characteristic this module reports

- ``cv_auc``: the cross-validated AUC of a small LightGBM classifier predicting each group
  one-vs-rest from all the features, and the macro mean over groups (target ``"all"``). Folds are
  seeded and stratified by the target. The interval is a percentile bootstrap of persons over the
  pooled out-of-fold predictions: it covers the sampling of persons, not the refitting of models
  (fold-to-fold spread is smaller than it with five folds and would understate the uncertainty).
  With no signal a cross-validated AUC often lands a little below 0.5 (each fold's model is fitted
  on data where the group is slightly over-represented among the rest): read it as "none".
- ``association`` per feature: Somers' D, ``|2 AUC - 1|``, of the single feature against
  membership of the group, in [0, 1] (0: the feature's values are distributed alike inside and
  outside the group; 1: it separates them perfectly). It is rank-based (Mann-Whitney), so it sees
  any monotone relation whatever the units, but not a U-shaped one. Missing values rank lowest.
  A categorical feature is scored with its categories ordered by the group's share in each (the
  best order, so slightly optimistic). Target ``"all"`` holds the largest association over the
  characteristic's groups.

Rows: one per person. Given ``keys`` (person_id, as_of), each person's latest row is kept, so no
person is in two folds; without it every row is taken to be a different person. "not recorded"
is never a target and its rows are left out (their group is unknown); groups with fewer than
``min_group`` persons are not targets but stay in the "rest". Each characteristic's persons are
subsampled to ``max_rows``, seeded and stratified by group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.model_selection import StratifiedKFold

from fairness.proxy_settings import LightGBMSmall, ProxySettings
from fairness.settings import INTERSECTION_SEP
from features.errors import PipelineError
from features.records.schema import NOT_RECORDED
from models.metrics import resample_weights, weighted_auc

ALL = "all"
CHARACTERISTIC_COLUMNS = ["characteristic", "target", "cv_auc", "auc_lo", "auc_hi", "n", "flagged"]
FEATURE_COLUMNS = ["characteristic", "target", "feature", "association", "flagged"]
BOOT_CHUNK = 50  # bootstrap resamples computed at once (memory: rows x chunk floats per array)


@dataclass
class ProxyResult:
    """What the proxy audit found; read by the equality report and MLflow.

    ``characteristics``: characteristic, target (a group, or "all" for the macro mean), cv_auc,
    auc_lo, auc_hi (bootstrap interval; NaN without resamples), n (persons in the group; for "all",
    every person used), flagged
    (cv_auc >= threshold_auc). ``features``: characteristic, target, feature, association
    (Somers' D in [0, 1], see the module docstring), flagged (association >= threshold_association).
    """

    characteristics: pd.DataFrame
    features: pd.DataFrame
    threshold_auc: float
    threshold_association: float
    notes: list[str] = field(default_factory=list)

    def flagged_features(self, characteristic: str | None = None) -> list[str]:
        """Features flagged for any group of ``characteristic`` (all characteristics when None), sorted."""
        rows = self.features[self.features["flagged"]]
        if characteristic is not None:
            rows = rows[rows["characteristic"] == characteristic]
        return sorted(rows["feature"].unique().tolist())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: thresholds, notes and both tables as lists of records (NaN -> None)."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            clean = frame.astype(object).where(frame.notna(), None)
            return [
                {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
                for row in clean.to_dict(orient="records")
            ]

        return {
            "threshold_auc": float(self.threshold_auc),
            "threshold_association": float(self.threshold_association),
            "notes": list(self.notes),
            "characteristics": records(self.characteristics),
            "features": records(self.features),
        }


def _lgb_params(model: LightGBMSmall, seed: int) -> dict[str, object]:
    return {
        "objective": "binary",
        "learning_rate": model.learning_rate,
        "num_leaves": model.num_leaves,
        "min_data_in_leaf": model.min_child_samples,
        "num_threads": model.threads,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }


def _inputs(X: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns kept (LightGBM's native handling), the rest as float64."""
    return X.apply(lambda c: c if isinstance(c.dtype, pd.CategoricalDtype) else c.astype("float64"))


def one_per_person(keys: pd.DataFrame) -> np.ndarray:
    """Positional indices of each person's latest-as_of row (ties: the later row), sorted ascending."""
    frame = pd.DataFrame(
        {"p": keys["person_id"].astype("str").to_numpy(), "t": pd.to_datetime(keys["as_of"]).to_numpy()}
    )
    frame["row"] = np.arange(len(frame))
    last = frame.sort_values(["p", "t", "row"], kind="mergesort").drop_duplicates("p", keep="last")
    return np.sort(last["row"].to_numpy())


def stratified_subsample(labels: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """Sorted positions of at most ~``max_rows`` rows, the same share of each label value (seeded)."""
    if len(labels) <= max_rows:
        return np.arange(len(labels))
    frac = max_rows / len(labels)
    frame = pd.DataFrame({"g": labels, "row": np.arange(len(labels))})
    kept = frame.groupby("g", sort=True).sample(frac=frac, random_state=seed)
    return np.sort(kept["row"].to_numpy())


def _oof_scores(X: pd.DataFrame, y: np.ndarray, settings: ProxySettings, seed: int) -> np.ndarray:
    """Out-of-fold predicted probabilities of ``y`` from ``X``, shape (n,)."""
    folds = StratifiedKFold(n_splits=settings.n_folds, shuffle=True, random_state=seed)
    params = _lgb_params(settings.classifier, seed)
    out = np.empty(len(y))
    for train, test in folds.split(np.zeros(len(y)), y):
        data = lgb.Dataset(X.iloc[train], label=y[train].astype("float64"))
        booster = lgb.train(params, data, num_boost_round=settings.classifier.n_estimators)
        out[test] = booster.predict(X.iloc[test])
    return out


def _feature_aucs(X: pd.DataFrame, targets: np.ndarray) -> np.ndarray:
    """Single-feature AUC of every column for every target, shape (T, p); ``targets`` is (n, T) 0/1."""
    n, p = X.shape
    aucs = np.empty((targets.shape[1], p))
    m = targets.sum(axis=0)
    numeric = [j for j, c in enumerate(X.columns) if not isinstance(X[c].dtype, pd.CategoricalDtype)]
    if numeric:
        values = X.iloc[:, numeric].to_numpy(dtype="float64", na_value=np.nan)
        values = np.where(np.isnan(values), -np.inf, values)  # missing ranks lowest
        ranks = rankdata(values, axis=0)
        sums = targets.T.astype("float64") @ ranks
        aucs[:, numeric] = (sums - (m * (m + 1) / 2)[:, None]) / (m * (n - m))[:, None]
    for j, col in enumerate(X.columns):
        if j in numeric:
            continue
        codes = pd.Series(X[col]).cat.codes.to_numpy() + 1  # 0: missing, its own category
        counts = np.bincount(codes)
        for t in range(targets.shape[1]):
            share = np.bincount(codes, weights=targets[:, t], minlength=len(counts)) / np.maximum(counts, 1)
            aucs[t, j] = weighted_auc(share[codes], targets[:, t], np.ones((n, 1)))[0]
    return aucs


def _boot_aucs(
    scores: dict[str, np.ndarray], targets: dict[str, np.ndarray], settings: ProxySettings, seed: int
) -> dict[str, np.ndarray]:
    """Bootstrap AUCs per target (shape (n_boot,)), all targets on the same resamples of persons."""
    rng = np.random.default_rng(seed)
    n = len(next(iter(targets.values())))
    persons = np.arange(n)
    out: dict[str, list[np.ndarray]] = {t: [] for t in targets}
    for start in range(0, settings.n_boot, BOOT_CHUNK):
        weights = resample_weights(rng, persons, min(BOOT_CHUNK, settings.n_boot - start))
        for t in targets:
            out[t].append(weighted_auc(scores[t], targets[t], weights))
    return {t: np.concatenate(v) for t, v in out.items()}


def _targets(labels: np.ndarray, min_group: int) -> list[str]:
    values, counts = np.unique(labels, return_counts=True)
    eligible = [str(v) for v, c in zip(values, counts, strict=True) if c >= min_group and len(labels) - c > 0]
    return sorted(eligible)


def _characteristic(
    X: pd.DataFrame, labels: np.ndarray, name: str, settings: ProxySettings, seed: int
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Rows of both tables for one characteristic (``labels``: its group per row, recorded rows only)."""
    targets = _targets(labels, max(settings.min_group, settings.n_folds))
    if not targets:
        return [], pd.DataFrame(columns=FEATURE_COLUMNS)
    y = {t: (labels == t).astype("int64") for t in targets}
    complement = len(targets) == 2 and len(np.unique(labels)) == 2
    scores: dict[str, np.ndarray] = {}
    for i, t in enumerate(targets):
        scores[t] = -scores[targets[0]] if complement and i == 1 else _oof_scores(X, y[t], settings, seed)
    point = {t: float(weighted_auc(scores[t], y[t], np.ones((len(labels), 1)))[0]) for t in targets}
    alpha = (1 - settings.confidence) / 2
    boot = _boot_aucs(scores, y, settings, seed) if settings.n_boot else {}
    rows = []
    for t in [*targets, ALL]:
        value = float(np.mean(list(point.values()))) if t == ALL else point[t]
        draws = np.mean(np.stack(list(boot.values())), axis=0) if t == ALL and boot else boot.get(t)
        lo, hi = np.nanquantile(draws, [alpha, 1 - alpha]) if draws is not None else (np.nan, np.nan)
        n = len(labels) if t == ALL else int(y[t].sum())
        row = {"characteristic": name, "target": t, "cv_auc": value, "auc_lo": lo, "auc_hi": hi, "n": n}
        rows.append(row | {"flagged": value >= settings.threshold_auc})
    assoc = np.abs(2 * _feature_aucs(X, np.column_stack([y[t] for t in targets])) - 1)
    table = pd.DataFrame(
        np.vstack([assoc, assoc.max(axis=0, keepdims=True)]), index=[*targets, ALL], columns=X.columns
    )
    feats = table.rename_axis(index="target", columns="feature").stack().rename("association").reset_index()
    feats.insert(0, "characteristic", name)
    feats["flagged"] = feats["association"] >= settings.threshold_association
    return rows, feats


def proxy_audit(
    X: pd.DataFrame,
    groups: pd.DataFrame,
    settings: ProxySettings,
    seed: int,
    *,
    keys: pd.DataFrame | None = None,
) -> ProxyResult:
    """Cross-validated AUC of predicting each protected group from the features, and per-feature association.

    Parameters
    ----------
    X
        Model features only, shape (n, p); numeric or categorical columns.
    groups
        Same index as ``X``: one str column per protected characteristic, "not recorded" where missing;
        intersection columns (named "a x b") only with ``settings.intersections``.
    settings
        Thresholds, folds, sample size, bootstrap and classifier.
    seed
        Seeds the subsample, the folds, LightGBM and the bootstrap.
    keys
        Optional person_id and as_of per row of ``X``: each person's latest row is kept. Without it
        each row must be a different person.

    Returns
    -------
    ProxyResult
        Characteristics in ``groups`` column order, targets sorted with "all" last, features in
        ``X`` column order.

    Raises
    ------
    PipelineError
        When ``X`` and ``groups`` (or ``keys``) do not have the same index.
    """
    if not X.index.equals(groups.index) or (keys is not None and not X.index.equals(keys.index)):
        raise PipelineError(
            "proxy audit: the feature matrix, the groups frame and the keys must have the same rows and "
            "index; build the groups from the matrix's person_id so that they line up"
        )
    rows = one_per_person(keys) if keys is not None else np.arange(len(X))
    notes = [] if keys is not None else ["each row taken to be a different person (no person_id given)"]
    inputs, frame = _inputs(X.iloc[rows]), groups.iloc[rows]
    char_rows: list[dict[str, Any]] = []
    feat_frames = []
    audited = [c for c in groups.columns if settings.intersections or INTERSECTION_SEP not in str(c)]
    for name in audited:
        labels = frame[name].astype("str").to_numpy()
        recorded = np.flatnonzero(labels != NOT_RECORDED)
        keep = recorded[stratified_subsample(labels[recorded], settings.max_rows, seed)]
        found, feats = _characteristic(inputs.iloc[keep], labels[keep], str(name), settings, seed)
        if not found:
            notes.append(f"{name}: no group with at least {settings.min_group} persons and others to compare")
        char_rows += found
        feat_frames.append(feats)
    characteristics = pd.DataFrame(char_rows, columns=CHARACTERISTIC_COLUMNS)
    characteristics["n"] = characteristics["n"].astype("int64")
    characteristics["flagged"] = characteristics["flagged"].astype("bool")
    features = pd.concat(feat_frames, ignore_index=True) if feat_frames else pd.DataFrame()
    features = features.reindex(columns=FEATURE_COLUMNS)
    features["flagged"] = features["flagged"].astype("bool")
    return ProxyResult(
        characteristics, features, settings.threshold_auc, settings.threshold_association, notes
    )
