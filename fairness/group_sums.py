"""Vectorised group sums behind the equality audit (:mod:`fairness.audit`).

Rows are arranged once in list order (:func:`prepare`). Every figure is a ratio of weighted sums
over persons, so the point value (all weights 1) and the bootstrap replicates of every group,
month and quantity come from one sparse (group, month, quantity) x person product per chunk of
person weights (:func:`sums`); the groups of a family of characteristics (sex, ethnicity, age
band and their intersections) are summed from their joint groups (:func:`units`). The AUC
replicates count pairs in score bins, centred on the exact AUC. :func:`metrics` turns the sums
into the audit's metrics, :func:`people` counts distinct persons for suppression, and
:func:`interval` and :func:`p_values` summarise the replicates.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import erfc

from fairness.settings import INTERSECTION_SEP, METRIC_NAMES
from features.errors import PipelineError
from models.metrics import auc_from_counts, percentile_interval, quantile_bins, ratio, resample_weights

AUC_BINS = (500, 200)  # score bins of the bootstrap AUC: pooled, monthly
BASE_Q = 4  # rows, label, harm, probability; then listed, hits, listed harm per k
_CHUNK_ELEMENTS = 4_000_000  # person weights held at once (32 MB of float64)


@dataclass(frozen=True)
class Data:
    """Audited rows in list order (month ascending, score descending, person_id ascending).

    ``values`` (n, Q) holds per row: 1, label, harm, probability, then per k: listed, listed x
    label, listed x harm. ``starts`` (M + 1,) are the month boundaries.
    """

    person: np.ndarray
    month: np.ndarray
    starts: np.ndarray
    score: np.ndarray
    y: np.ndarray
    values: np.ndarray
    nonzero: list[np.ndarray]
    bins: np.ndarray  # (2, n): AUC score bin pooled, and within the row's month
    by_score: np.ndarray

    @property
    def n_persons(self) -> int:
        return int(self.person.max()) + 1 if len(self.person) else 0


def prepare(
    frame: pd.DataFrame, score_col: str, ks: list[int], cols: dict[str, str | None]
) -> tuple[Data, np.ndarray, list[pd.Timestamp]]:
    """Validate the rows and arrange them in list order; returns the data, the row order and months."""
    needed = [
        "person_id",
        "as_of",
        score_col,
        cols["label"],
        cols["harm"],
        *([cols["prob"]] * bool(cols["prob"])),
    ]
    missing = [c for c in needed if c not in frame]
    if missing:
        raise PipelineError(f"predictions lack columns {missing}; the audit needs {needed}.")
    if frame.empty:
        raise PipelineError("predictions hold no rows: there is nothing to audit.")
    if frame.duplicated(["person_id", "as_of"]).any():
        raise PipelineError(
            "predictions hold more than one row for a (person_id, as_of); keep one per month."
        )
    score = frame[score_col].to_numpy(dtype="float64")
    y = frame[cols["label"]].to_numpy(dtype="float64")
    harm = frame[cols["harm"]].to_numpy(dtype="float64")
    prob = frame[cols["prob"]].to_numpy(dtype="float64") if cols["prob"] else np.zeros(len(frame))
    if not (np.isfinite(score).all() and np.isfinite(prob).all() and np.isfinite(harm).all()):
        raise PipelineError(f"{score_col}, the probability or the harm column holds missing values.")
    if not np.isin(y, [0.0, 1.0]).all():
        raise PipelineError(f"{cols['label']} must be 0 or 1 in every row.")
    person, _ = pd.factorize(frame["person_id"].astype("str"), sort=True)
    month, months = pd.factorize(pd.to_datetime(frame["as_of"]), sort=True)
    order = np.lexsort((person, -score, month))
    person, month, score, y = person[order], month[order], score[order], y[order]
    starts = np.searchsorted(month, np.arange(len(months) + 1))
    position = np.arange(len(order)) - starts[month]
    columns = [np.ones(len(order)), y, harm[order], prob[order]]
    for k in ks:
        listed = (position < k).astype("float64")
        columns += [listed, listed * y, listed * harm[order]]
    values = np.column_stack(columns)
    bins = np.empty((2, len(order)), dtype="int64")
    bins[0] = quantile_bins(score, AUC_BINS[0])
    for a, b in itertools.pairwise(starts):
        bins[1, a:b] = quantile_bins(score[a:b], AUC_BINS[1])
    data = Data(
        person=person,
        month=month,
        starts=starts,
        score=score,
        y=y,
        values=values,
        nonzero=[np.flatnonzero(values[:, q]) for q in range(values.shape[1])],
        bins=bins,
        by_score=np.argsort(score, kind="stable"),
    )
    return data, order, [pd.Timestamp(m) for m in months]


def _weight_chunks(seed: int, n_persons: int, n_boot: int) -> Iterator[tuple[slice, np.ndarray]]:
    """Column 0: all weights 1 (the point value); then the bootstrap person weights in chunks."""
    yield slice(0, 1), np.ones((n_persons, 1))
    width = max(1, _CHUNK_ELEMENTS // max(n_persons, 1))
    for i, start in enumerate(range(0, n_boot, width)):
        stop = min(n_boot, start + width)
        rng = np.random.default_rng([seed, i])
        yield slice(1 + start, 1 + stop), resample_weights(rng, np.arange(n_persons), stop - start)


def _auc_from_bins(counts: np.ndarray) -> np.ndarray:
    """AUC from (..., bins, 2, B) weighted negatives/positives per score bin; ties in a bin count half."""
    return auc_from_counts(counts[..., 1, :], counts[..., 0, :], axis=-2)


def _auc_exact(d: Data, seg: np.ndarray, n_seg: int) -> np.ndarray:
    """Exact AUC-ROC of each segment of rows (ties count half), shape (n_seg,)."""
    order = d.by_score[np.argsort(seg[d.by_score], kind="stable")]
    s, sc, yy = seg[order], d.score[order], d.y[order]
    starts = np.flatnonzero(np.r_[True, (s[1:] != s[:-1]) | (sc[1:] != sc[:-1])])
    pos = np.add.reduceat(yy, starts) if len(starts) else np.zeros(0)
    neg = np.diff(np.r_[starts, len(order)]) - pos
    return auc_from_counts(pos, neg, segment=s[starts], n_segments=n_seg)


def _families(columns: list[str]) -> list[list[str]]:
    """Characteristics joined by intersections (sex, ethnicity, age_band and their intersections):
    each family's sums are computed once, on the joint groups of its parts, and added up to each
    member. The parts come first in each family."""
    parent = {c: c for c in columns}

    def root(c: str) -> str:
        while parent[c] != c:
            c = parent[c]
        return c

    for c in columns:
        parts = c.split(INTERSECTION_SEP)
        if len(parts) > 1 and all(p in parent for p in parts):
            for p in parts:
                parent[root(p)] = root(c)
    families: dict[str, list[str]] = {}
    for c in sorted(columns, key=lambda c: INTERSECTION_SEP in c):
        families.setdefault(root(c), []).append(c)
    return list(families.values())


def _joint(codes: list[np.ndarray]) -> np.ndarray:
    """Codes 0..A-1 of the joint groups of several code arrays of equal length."""
    atoms = codes[0]
    for c in codes[1:]:
        atoms = pd.factorize(atoms * (int(c.max()) + 1) + c)[0]
    return pd.factorize(atoms, sort=True)[0]


def units(
    columns: dict[str, tuple[np.ndarray, list[str]]], overall: str, max_atoms: int
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Joint groups and their maps per unit of characteristics computed together.

    Parameters
    ----------
    columns
        Each characteristic's group codes (n,) in list order, and its group names.
    overall
        The whole-population characteristic (one group); it joins the first family.
    max_atoms
        A family whose joint groups reach this many is computed one characteristic at a time.

    Yields
    ------
    atoms, maps
        ``atoms`` (n,) are the unit's joint groups 0..A-1; ``maps[name]`` (A,) gives each joint
        group's group of that characteristic.
    """
    families = _families([c for c in columns if c != overall]) or [[]]
    families[0].insert(0, overall)
    for family in families:
        derived = [
            c for c in family if INTERSECTION_SEP in c and set(c.split(INTERSECTION_SEP)) <= set(family)
        ]
        atoms = _joint([columns[c][0] for c in family if c not in derived])
        batches = [family] if atoms.max() < max_atoms else [[c] for c in family]
        for unit in batches:
            if len(batches) > 1:
                atoms = columns[unit[0]][0]
            first = np.unique(atoms, return_index=True)[1]
            yield atoms, {c: columns[c][0][first] for c in unit}


def sums(
    d: Data, atoms: np.ndarray, maps: dict[str, np.ndarray], seed: int, n_boot: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Weighted sums (S, G, Q, B') and AUC (S, G, B') of each characteristic in ``maps``.

    ``atoms`` (n,) are the joint groups of a family; ``maps[name]`` (A,) gives each atom's group
    of that characteristic. S is the pooled scope, then the months.
    """
    n_atoms, n_months, n_q = int(atoms.max()) + 1, len(d.starts) - 1, d.values.shape[1]
    main = _design(d, atoms, n_atoms, n_q)
    pooled = _auc_design(d, atoms, n_atoms, 0, 0, len(atoms), AUC_BINS[0])
    monthly = [_auc_design(d, atoms, n_atoms, 1, a, b, AUC_BINS[1]) for a, b in itertools.pairwise(d.starts)]
    width = 1 + n_boot
    add = {name: sparse.csr_array((np.ones(n_atoms), (m, np.arange(n_atoms)))) for name, m in maps.items()}
    out = {
        name: (np.empty((n_months + 1, a.shape[0], n_q, width)), np.empty((n_months + 1, a.shape[0], width)))
        for name, a in add.items()
    }
    for cols, w in _weight_chunks(seed, d.n_persons, n_boot):  # drawn afresh: the same for every family
        x, xp = (main @ w).reshape(n_atoms, -1), (pooled @ w).reshape(n_atoms, -1)
        for name, a in add.items():
            sums, auc = out[name]
            sums[1:, ..., cols] = (a @ x).reshape(a.shape[0], n_months, n_q, -1).transpose(1, 0, 2, 3)
            auc[0, :, cols] = _auc_from_bins((a @ xp).reshape(a.shape[0], AUC_BINS[0], 2, -1))
        for m, design in enumerate(monthly, start=1):
            xm = (design @ w).reshape(n_atoms, -1)
            for name, a in add.items():
                out[name][1][m, :, cols] = _auc_from_bins((a @ xm).reshape(a.shape[0], AUC_BINS[1], 2, -1))
    for name, (sums, auc) in out.items():
        sums[0] = sums[1:].sum(axis=0)
        g, n_g = maps[name][atoms], add[name].shape[0]
        exact = np.vstack(
            [_auc_exact(d, g, n_g), _auc_exact(d, d.month * n_g + g, n_months * n_g).reshape(n_months, -1)]
        )
        auc[..., 1:] += (exact - auc[..., 0])[..., None]  # replicates centred on the exact value
        auc[..., 0] = exact
    return out


def _design(d: Data, atoms: np.ndarray, n_atoms: int, n_q: int) -> sparse.csr_array:
    """Sparse (atom, month, quantity) x person matrix of the non-zero quantities."""
    n_months = len(d.starts) - 1
    rows = np.concatenate([(atoms[r] * n_months + d.month[r]) * n_q + q for q, r in enumerate(d.nonzero)])
    cols = np.concatenate([d.person[r] for r in d.nonzero])
    vals = np.concatenate([d.values[r, q] for q, r in enumerate(d.nonzero)])
    return sparse.csr_array((vals, (rows, cols)), shape=(n_atoms * n_months * n_q, d.n_persons))


def _auc_design(
    d: Data, atoms: np.ndarray, n_atoms: int, which: int, a: int, b: int, n_bins: int
) -> sparse.csr_array:
    """Sparse (atom, score bin, label) x person counts of rows a:b, for the bootstrap AUC."""
    cell = (atoms[a:b] * n_bins + d.bins[which, a:b]) * 2 + d.y[a:b].astype("int64")
    return sparse.csr_array(
        (np.ones(b - a), (cell, d.person[a:b])), shape=(n_atoms * n_bins * 2, d.n_persons)
    )


def people(d: Data, g: np.ndarray, n_groups: int, q: int | None) -> np.ndarray:
    """Distinct persons (S, G) per scope and group, among rows where quantity ``q`` is non-zero
    (all rows when None, rows without the outcome when -1)."""
    rows = np.arange(len(g)) if q is None else np.flatnonzero(d.y == 0) if q == -1 else d.nonzero[q]
    n_months = len(d.starts) - 1
    out = np.zeros((n_months + 1, n_groups), dtype="int64")
    out[1:] = np.bincount(d.month[rows] * n_groups + g[rows], minlength=n_months * n_groups).reshape(
        n_months, -1
    )
    pairs = np.unique(d.person[rows].astype("int64") * n_groups + g[rows])
    out[0] = np.bincount(pairs % n_groups, minlength=n_groups)
    return out


def metrics(sums: np.ndarray, auc: np.ndarray, ks: list[int], has_prob: bool) -> tuple[dict, dict]:
    """Every metric (S, G, B') by (name, k) from the weighted sums, in METRIC_NAMES order; and the
    sample size (S, G) behind each (its denominator: rows, listed rows, rows with or without the
    outcome), which scales the null variance of the disparity test."""
    rows, pos, harm, prob = (sums[:, :, q] for q in range(BASE_Q))
    out: dict[tuple[str, int | None], np.ndarray] = {
        ("size", None): rows,
        ("cohort_share", None): ratio(rows, rows.sum(axis=1, keepdims=True)),
        ("base_rate", None): ratio(pos, rows),
    }
    size = {"rows": rows[..., 0], "positives": pos[..., 0]}
    dens: dict[tuple[str, int | None], np.ndarray] = {
        ("auc", None): size["positives"],
        ("calibration_in_large", None): size["positives"],
    }
    for j, k in enumerate(ks):
        listed, hits, listed_harm = (sums[:, :, BASE_Q + 3 * j + i] for i in range(3))
        recall = ratio(hits, pos)
        out[("list_share", k)] = ratio(listed, listed.sum(axis=1, keepdims=True))
        out[("selection_rate", k)] = ratio(listed, rows)
        out[("precision", k)] = ratio(hits, listed)
        out[("recall", k)] = recall
        out[("fpr", k)] = ratio(listed - hits, rows - pos)
        out[("fnr", k)] = 1 - recall
        out[("harm_captured", k)] = ratio(listed_harm, harm)
        dens |= {("precision", k): listed[..., 0], ("harm_captured", k): pos[..., 0]}
        dens |= {("recall", k): pos[..., 0], ("fnr", k): pos[..., 0], ("fpr", k): (rows - pos)[..., 0]}
    if has_prob:
        mean, observed = ratio(prob, rows), ratio(pos, rows)
        out[("mean_predicted", None)], out[("observed_rate", None)] = mean, observed
        out[("calibration_in_large", None)] = ratio(mean, observed)
    out[("auc", None)] = auc
    rank = {name: i for i, name in enumerate(METRIC_NAMES)}
    dens = {key: dens.get(key, size["rows"]) for key in out}
    return dict(sorted(out.items(), key=lambda item: (item[0][1] or 0, rank[item[0][0]]))), dens


def interval(reps: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over the last axis; NaN where fewer than half the replicates are defined."""
    return percentile_interval(reps, confidence, min_defined=0.5)


def p_values(values: np.ndarray, others: np.ndarray, ref: int, size: np.ndarray) -> np.ndarray:
    """Two-sided p-values (S, others) of group minus reference, from bootstrap variances.

    Under parity a group's figure varies like the reference group's, scaled by the sample sizes
    (``size``, the metric's denominator). Each side's variance is at least that null variance:
    a small group with few events has little bootstrap variance at its own observed rate (none
    with no events) and would otherwise look certain; the reference's bootstrap variance carries
    the clustering of a person's rows over months.
    """
    diff = values[:, others, 0] - values[:, [ref], 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        var = np.nanvar(values[..., 1:], axis=-1, ddof=1)  # (S, G)
        v_g, v_r, n_g, n_r = var[:, others], var[:, [ref]], size[:, others], size[:, [ref]]
        se = np.sqrt(np.fmax(v_g, v_r * ratio(n_r, n_g)) + np.fmax(v_r, v_g * ratio(n_g, n_r)))
        p = np.where(se > 0, erfc(np.abs(diff) / se / np.sqrt(2)), np.where(diff == 0, 1.0, 0.0))
    return np.where((values.shape[-1] > 3) & np.isfinite(se) & np.isfinite(diff), p, np.nan)
