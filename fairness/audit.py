"""Group and intersectional metrics at the list cut-off, with intervals, disparities and suppression.

The list
    Each month's list is its top ``k`` rows by score, ties broken by person_id ascending (text
    order): score descending, then person_id ascending. The list is fixed: it is what was
    published. Pooled figures pool the sums over months (hits over all months / places on all
    lists), as the backtest does.
Metrics (per scope, characteristic, group; ``k`` for the top-k ones)
    size (rows: person-months when pooled), cohort_share, list_share, selection_rate (listed /
    group rows), base_rate (label rate), precision, recall (equal opportunity), fpr (listed
    without the outcome / group rows without it), fnr (1 - recall), harm_captured (share of the
    group's future CCHI harm caused by its listed people), auc (the group's own AUC-ROC, pooled
    months as pooled rows), and with a probability column mean_predicted, observed_rate and
    calibration_in_large (mean predicted / observed: 1 is calibrated, 1.2 over-predicts by 20%).
    Characteristic ``overall`` (group ``all``) carries the whole population.
Intervals
    Persons are resampled with replacement ``n_boot`` times (one seeded draw, shared by every
    metric, group, characteristic and month, so comparisons are paired); a person drawn twice
    brings all of their rows twice. Every figure is a ratio of weighted sums, so the point value
    (all weights 1) and the replicates come from one sparse product. Intervals are percentiles,
    NaN when fewer than half of the replicates are defined. The AUC replicates count pairs in
    score bins (500 pooled, 200 a month; ties within a bin count half), shifted by the gap
    between the exact and the binned point value. The groups of sex, ethnicity, age band and
    their intersections are summed from their joint groups, so one sparse product serves them.
Disparities
    Each group against its characteristic's reference group: ratio and difference with paired
    intervals, and a two-sided p-value z = difference / se (a Wald test: percentile p-values
    cannot go below 1/n_boot, too coarse for a corrected family). se adds the two bootstrap
    variances, each at least the other side's scaled to its sample size (see :func:`_p_values`).
    p-values are corrected (Holm or Benjamini-Hochberg) over each family (one characteristic
    in one scope, or all of a scope); ``flagged`` means the corrected p-value is below alpha,
    i.e. the corrected interval excludes parity.
Suppression
    See :func:`fairness.groups.suppress`. A cell is withheld (value, interval and n missing)
    when the people it is computed from number 1 to min_cell - 1 (none describes nobody and is
    shown): the group's persons (every
    cell), its listed persons at that k (top-k cells), its persons with the outcome (recall,
    fnr, auc) or without it (fpr, auc). Counts are distinct persons, so a person listed in
    several months counts once. A disparity involving a withheld cell is withheld too.
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import erfc

from fairness.groups import coverage, margins, suppress
from fairness.settings import (
    GROUP_SEP,
    INTERSECTION_SEP,
    METRIC_NAMES,
    NOT_RECORDED,
    FairnessSettings,
)
from features.errors import ConfigError, PipelineError
from models.metrics import quantile_bins, ratio, resample_weights

POOLED = "pooled"
OVERALL, ALL = "overall", "all"
AUC_BINS = (500, 200)  # score bins of the bootstrap AUC: pooled, monthly
_MAX_ATOMS = 400  # joint groups of a family computed together
_CHUNK_ELEMENTS = 4_000_000  # person weights held at once (32 MB of float64)
_BASE_Q = 4  # rows, label, harm, probability; then listed, hits, listed harm per k
_N_BASIS = {"list_share": "listed", "precision": "listed", "recall": "positives", "fnr": "positives"}
_N_BASIS |= {"fpr": "negatives"}


@dataclass
class AuditResult:
    """Every figure of the equality audit; the report, the gate and MLflow all read this.

    Columns of ``groups``, ``disparities`` and ``coverage`` are those of the fairness contract
    (see the module docstring for the definitions); ``n`` is Int64, missing where suppressed.
    """

    groups: pd.DataFrame
    disparities: pd.DataFrame
    coverage: pd.DataFrame
    settings: FairnessSettings
    score_col: str
    months: list[pd.Timestamp]
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (audit.json): NaN and <NA> become null, dates ISO text."""
        return {
            "score_col": self.score_col,
            "months": [m.date().isoformat() for m in self.months],
            "settings": self.settings.model_dump(mode="json"),
            "notes": list(self.notes),
            "groups": _records(self.groups),
            "disparities": _records(self.disparities),
            "coverage": _records(self.coverage),
        }

    def mlflow_metrics(self) -> dict[str, float]:
        """Pooled, unsuppressed figures keyed like ``audit.sex.Male.precision_at_100``, and the
        disparity ratios like ``audit.disparity.sex.Female.precision_at_100.ratio``."""
        out: dict[str, float] = {}
        g = self.groups[(self.groups["scope"] == POOLED) & ~self.groups["suppressed"]]
        g = g[np.isfinite(g["value"].to_numpy(dtype="float64"))]
        for c, grp, metric, k, value in zip(
            g["characteristic"], g["group"], g["metric"], g["k"], g["value"], strict=False
        ):
            out[_key(f"audit.{c}.{grp}.{metric}", k)] = float(value)
        d = self.disparities[(self.disparities["scope"] == POOLED) & ~self.disparities["suppressed"]]
        d = d[np.isfinite(d["ratio"].to_numpy(dtype="float64"))]
        for c, grp, metric, k, value in zip(
            d["characteristic"], d["group"], d["metric"], d["k"], d["ratio"], strict=False
        ):
            out[_key(f"audit.disparity.{c}.{grp}.{metric}", k) + ".ratio"] = float(value)
        out["audit.flagged"] = float(
            self.disparities.loc[self.disparities["scope"] == POOLED, "flagged"].sum()
        )
        return out


def _key(stem: str, k: object) -> str:
    key = stem if pd.isna(k) else f"{stem}_at_{int(k)}"  # type: ignore[call-overload]
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", key)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.astype(object).where(frame.notna(), None)
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            out[col] = [None if v is None else v.date().isoformat() for v in out[col]]
    rows = out.to_dict(orient="records")
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()} for r in rows]


@dataclass(frozen=True)
class _Data:
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


def _prepare(
    frame: pd.DataFrame, score_col: str, ks: list[int], cols: dict[str, str | None]
) -> tuple[_Data, np.ndarray, list[pd.Timestamp]]:
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
    data = _Data(
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
    neg, pos = counts[..., 0, :], counts[..., 1, :]
    below = np.cumsum(neg, axis=-2) - neg
    return ratio((pos * (below + 0.5 * neg)).sum(axis=-2), pos.sum(axis=-2) * neg.sum(axis=-2))


def _auc_exact(d: _Data, seg: np.ndarray, n_seg: int) -> np.ndarray:
    """Exact AUC-ROC of each segment of rows (ties count half), shape (n_seg,)."""
    order = d.by_score[np.argsort(seg[d.by_score], kind="stable")]
    s, sc, yy = seg[order], d.score[order], d.y[order]
    starts = np.flatnonzero(np.r_[True, (s[1:] != s[:-1]) | (sc[1:] != sc[:-1])])
    pos = np.add.reduceat(yy, starts) if len(starts) else np.zeros(0)
    neg = np.diff(np.r_[starts, len(order)]) - pos
    run_seg = s[starts]
    before = np.cumsum(neg) - neg
    below = before - before[np.searchsorted(run_seg, run_seg)]  # negatives lower in the same segment
    num = np.bincount(run_seg, pos * (below + 0.5 * neg), minlength=n_seg)
    n_pos = np.bincount(run_seg, pos, minlength=n_seg)
    return ratio(num, n_pos * (np.bincount(run_seg, neg, minlength=n_seg)))


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


def _units(columns: dict[str, tuple[np.ndarray, np.ndarray]]) -> Iterator[tuple[np.ndarray, dict]]:
    """(atoms, maps) per family of characteristics (overall joins the first); a family whose joint
    groups exceed _MAX_ATOMS is computed one characteristic at a time."""
    families = _families([c for c in columns if c != OVERALL]) or [[]]
    families[0].insert(0, OVERALL)
    for family in families:
        derived = [
            c for c in family if INTERSECTION_SEP in c and set(c.split(INTERSECTION_SEP)) <= set(family)
        ]
        atoms = _joint([columns[c][0] for c in family if c not in derived])
        units = [family] if atoms.max() < _MAX_ATOMS else [[c] for c in family]
        for unit in units:
            if len(units) > 1:
                atoms = columns[unit[0]][0]
            first = np.unique(atoms, return_index=True)[1]
            yield atoms, {c: columns[c][0][first] for c in unit}


def _sums(
    d: _Data, atoms: np.ndarray, maps: dict[str, np.ndarray], seed: int, n_boot: int
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


def _design(d: _Data, atoms: np.ndarray, n_atoms: int, n_q: int) -> sparse.csr_array:
    """Sparse (atom, month, quantity) x person matrix of the non-zero quantities."""
    n_months = len(d.starts) - 1
    rows = np.concatenate([(atoms[r] * n_months + d.month[r]) * n_q + q for q, r in enumerate(d.nonzero)])
    cols = np.concatenate([d.person[r] for r in d.nonzero])
    vals = np.concatenate([d.values[r, q] for q, r in enumerate(d.nonzero)])
    return sparse.csr_array((vals, (rows, cols)), shape=(n_atoms * n_months * n_q, d.n_persons))


def _auc_design(
    d: _Data, atoms: np.ndarray, n_atoms: int, which: int, a: int, b: int, n_bins: int
) -> sparse.csr_array:
    """Sparse (atom, score bin, label) x person counts of rows a:b, for the bootstrap AUC."""
    cell = (atoms[a:b] * n_bins + d.bins[which, a:b]) * 2 + d.y[a:b].astype("int64")
    return sparse.csr_array(
        (np.ones(b - a), (cell, d.person[a:b])), shape=(n_atoms * n_bins * 2, d.n_persons)
    )


def _people(d: _Data, g: np.ndarray, n_groups: int, q: int | None) -> np.ndarray:
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


def _metrics(sums: np.ndarray, auc: np.ndarray, ks: list[int], has_prob: bool) -> tuple[dict, dict]:
    """Every metric (S, G, B') by (name, k) from the weighted sums, in METRIC_NAMES order; and the
    sample size (S, G) behind each (its denominator: rows, listed rows, rows with or without the
    outcome), which scales the null variance of the disparity test."""
    rows, pos, harm, prob = (sums[:, :, q] for q in range(_BASE_Q))
    out: dict[tuple[str, int | None], np.ndarray] = {
        ("size", None): rows,
        ("cohort_share", None): ratio(rows, rows.sum(axis=1, keepdims=True)),
        ("base_rate", None): ratio(pos, rows),
    }
    size = {"rows": rows[..., 0], "positives": pos[..., 0]}
    dens = {("auc", None): size["positives"], ("calibration_in_large", None): size["positives"]}
    for j, k in enumerate(ks):
        listed, hits, listed_harm = (sums[:, :, _BASE_Q + 3 * j + i] for i in range(3))
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


def _interval(reps: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over the last axis (numpy's linear rule over the defined replicates);
    NaN where fewer than half the replicates are defined."""
    n_boot = reps.shape[-1]
    srt = np.sort(reps, axis=-1)  # NaN last
    n = np.isfinite(reps).sum(axis=-1)
    ends = []
    for q in ((1 - confidence) / 2, (1 + confidence) / 2):
        at = q * np.maximum(n - 1, 0)
        below = np.floor(at).astype("int64")
        above = np.minimum(below + 1, np.maximum(n - 1, 0))
        lo = np.take_along_axis(srt, below[..., None], axis=-1)[..., 0] if n_boot else at * np.nan
        hi = np.take_along_axis(srt, above[..., None], axis=-1)[..., 0] if n_boot else at * np.nan
        ends.append(np.where((n > 0) & (n >= 0.5 * n_boot), lo + (at - below) * (hi - lo), np.nan))
    return ends[0], ends[1]


def _cell_flags(flags: dict[str, np.ndarray], metric: str, j: int | None) -> np.ndarray:
    """Suppression (S, G) of one metric from the flags of the counts it is computed from."""
    out = flags["persons"].copy()
    if j is not None:
        out |= flags["listed"][j]
    if metric in ("recall", "fnr", "auc"):
        out |= flags["positives"]
    if metric in ("fpr", "auc"):
        out |= flags["negatives"]
    return out


def _suppression(d: _Data, name: str, codes: np.ndarray, names: list[str], settings: FairnessSettings):
    """Distinct-person counts of each basis and their suppression flags, all (S, G)."""
    n_groups, min_cell, blocks = len(names), settings.min_cell, margins(name, names)
    counts = {"persons": _people(d, codes, n_groups, None), "positives": _people(d, codes, n_groups, 1)}
    counts["negatives"] = _people(d, codes, n_groups, -1)
    listed = [_people(d, codes, n_groups, _BASE_Q + 3 * j) for j in range(len(settings.ks))]
    persons = suppress(counts["persons"], min_cell, blocks)
    flags = {"persons": persons, "listed": [suppress(c, min_cell, blocks, persons) for c in listed]}
    for basis in ("positives", "negatives"):
        flags[basis] = suppress(counts[basis], min_cell, blocks, persons)
    return counts, listed, flags


def _characteristic(
    d: _Data,
    name: str,
    codes: np.ndarray,
    names: list[str],
    sums_auc: tuple[np.ndarray, np.ndarray],
    settings: FairnessSettings,
    has_prob: bool,
    scopes: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Group table and disparities of one characteristic; also the number of suppressed cells."""
    n_groups, ks = len(names), settings.ks
    metrics, dens = _metrics(*sums_auc, ks, has_prob)
    counts, listed, flags = _suppression(d, name, codes, names, settings)
    frames, cells = [], {}
    for (metric, k), values in metrics.items():
        j = None if k is None else ks.index(k)
        sup = _cell_flags(flags, metric, j)
        basis = _N_BASIS.get(metric, "persons")
        n = listed[j] if basis == "listed" and j is not None else counts[basis]
        lo, hi = _interval(values[..., 1:], settings.confidence) if metric != "size" else (np.nan, np.nan)
        cells[(metric, k)] = (values, sup, dens[(metric, k)])
        frames.append(
            pd.DataFrame(
                {
                    "scope": np.repeat(scopes, n_groups),
                    "characteristic": name,
                    "group": np.tile(names, len(scopes)),
                    "k": pd.array([k] * sup.size, dtype="Int64"),
                    "metric": metric,
                    "value": np.where(sup, np.nan, values[..., 0]).ravel(),
                    "lo": np.where(sup, np.nan, lo).ravel(),
                    "hi": np.where(sup, np.nan, hi).ravel(),
                    "n": pd.array(np.where(sup, 0, n).ravel(), dtype="Int64"),
                    "suppressed": sup.ravel(),
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    table.loc[table["suppressed"], "n"] = pd.NA
    ref = _reference(name, names, counts["persons"][0], settings)
    return table, _disparities(cells, name, names, ref, settings, scopes), int(table["suppressed"].sum())


def _reference(name: str, names: list[str], persons: np.ndarray, settings: FairnessSettings) -> int:
    """Index of the reference group: configured, or the largest recorded group (name order on ties)."""
    if isinstance(settings.reference, dict) and name in settings.reference:
        wanted = settings.reference[name]
        if wanted not in names:
            raise ConfigError(
                f"fairness.reference.{name} = {wanted!r} is not a group of {name}; groups: {names}"
            )
        return names.index(wanted)
    recorded = np.array([NOT_RECORDED not in n.split(GROUP_SEP) for n in names])
    size = np.where(recorded, persons, -1) if recorded.any() else persons
    return int(np.argmax(size))


def _p_values(values: np.ndarray, others: np.ndarray, ref: int, size: np.ndarray) -> np.ndarray:
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


def _disparities(
    cells: dict, name: str, names: list[str], ref: int, settings: FairnessSettings, scopes: list[str]
) -> pd.DataFrame:
    """Ratio and difference of each group to the reference, with intervals and raw p-values."""
    frames = []
    others = np.array([i for i in range(len(names)) if i != ref], dtype="int64")
    for (metric, k), (values, sup, den) in cells.items():
        if metric not in settings.disparity_metrics or not len(others):
            continue
        v, r = values[:, others], values[:, [ref]]
        rat, diff = ratio(v, r), v - r
        rlo, rhi = _interval(rat[..., 1:], settings.confidence)
        dlo, dhi = _interval(diff[..., 1:], settings.confidence)
        hidden = sup[:, others] | sup[:, [ref]]
        shown = {"ratio": rat[..., 0], "ratio_lo": rlo, "ratio_hi": rhi, "difference": diff[..., 0]}
        shown |= {"difference_lo": dlo, "difference_hi": dhi, "p_value": _p_values(values, others, ref, den)}
        frame = pd.DataFrame(
            {
                "scope": np.repeat(scopes, len(others)),
                "characteristic": name,
                "group": np.tile(np.asarray(names, dtype=object)[others], len(scopes)),
                "reference": names[ref],
                "k": pd.array([k] * hidden.size, dtype="Int64"),
                "metric": metric,
            }
        )
        for col, x in shown.items():
            frame[col] = np.where(hidden, np.nan, x).ravel()
        frame["suppressed"] = hidden.ravel()
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else _empty_disparities()


def adjust(p: np.ndarray, method: str) -> np.ndarray:
    """Holm or Benjamini-Hochberg adjusted p-values of one family; NaN stays NaN and is not counted."""
    out = np.full(len(p), np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if not m:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    ranked = p[order]
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * ranked))
    else:
        adj = np.minimum.accumulate((m / np.arange(1, m + 1) * ranked)[::-1])[::-1].clip(max=1.0)
    out[order] = adj
    return out


def _notes(settings: FairnessSettings, n_months: int, refs: dict[str, str], n_suppressed: int) -> list[str]:
    """Plain-language caveats for the report."""
    method = "Holm" if settings.correction == "holm" else "Benjamini-Hochberg"
    references = "; ".join(f"{c}: {g}" for c, g in refs.items())
    return [
        f"{min(settings.ks)} people a month are too few for stable group figures: a group with a few "
        "listed people moves a long way from month to month by chance. Read the monthly figures with "
        f"their intervals, and rely on the figures pooled over the {n_months} months.",
        f"Intervals are {settings.confidence:.0%} percentile intervals from {settings.n_boot} resamples "
        "of persons; the lists themselves are held fixed.",
        f"Disparities compare each group with a reference group ({references}). A disparity is flagged "
        f"when its p-value, corrected by {method} over every comparison of one {settings.family} in "
        f"one scope, is below {settings.alpha:g}.",
        f"Figures from 1 to {settings.min_cell - 1} people are suppressed, with one more group where "
        f"needed so that they cannot be recovered from the totals: {n_suppressed} cells.",
    ]


def audit(
    predictions: pd.DataFrame,
    groups: pd.DataFrame,
    score_col: str,
    settings: FairnessSettings,
    seed: int,
    *,
    probability_col: str | None = None,
    label_col: str = "label",
    harm_col: str = "future_harm",
) -> AuditResult:
    """Group metrics, disparities, suppression and coverage of one score over backtest months.

    Parameters
    ----------
    predictions
        Rows (n), one per (person_id, as_of): ``score_col`` (higher = listed first), ``label_col``
        (0/1), ``harm_col`` (future CCHI days) and optionally ``probability_col``.
    groups
        Same index as ``predictions``, one ``str`` column per characteristic and intersection
        (:func:`fairness.groups.attach_groups`).
    seed
        Seed of the person resampling.

    Returns
    -------
    AuditResult

    Raises
    ------
    PipelineError
        Missing or invalid columns, duplicate rows, or ``groups`` not aligned to ``predictions``.
    ConfigError
        A configured reference group does not exist.
    """
    if not groups.index.equals(predictions.index):
        raise PipelineError(
            "groups must have the same index (rows, in order) as predictions: use attach_groups."
        )
    cols = {"label": label_col, "harm": harm_col, "prob": probability_col}
    d, order, months = _prepare(predictions, score_col, settings.ks, cols)
    scopes = [POOLED, *(m.date().isoformat() for m in months)]
    tables, disparities, refs, n_suppressed = {}, {}, {}, 0
    columns = {OVERALL: (np.zeros(len(order), dtype="int64"), [ALL])}
    for c in groups.columns:
        codes, names = pd.factorize(groups[c].astype("str"), sort=True)
        columns[c] = (codes[order].astype("int64"), [str(n) for n in names])
    for atoms, maps in _units(columns):
        for name, sums_auc in _sums(d, atoms, maps, seed, settings.n_boot).items():
            codes, names = columns[name]
            table, disp, sup = _characteristic(
                d, name, codes, list(names), sums_auc, settings, bool(probability_col), scopes
            )
            tables[name], disparities[name] = table, disp
            n_suppressed += sup
            if len(disp):
                refs[name] = str(disp["reference"].iloc[0])
    disp = pd.concat([disparities[c] for c in columns if len(disparities[c])] or [_empty_disparities()])
    disp = disp.reset_index(drop=True)
    family = ["scope", "characteristic"] if settings.family == "characteristic" else ["scope"]
    disp["p_adjusted"] = np.nan
    for _, idx in disp.groupby(family, sort=False).groups.items():
        disp.loc[idx, "p_adjusted"] = adjust(
            disp.loc[idx, "p_value"].to_numpy(dtype="float64"), settings.correction
        )
    disp["flagged"] = (disp["p_adjusted"] < settings.alpha).to_numpy(dtype=bool)
    disp = disp[[*_DISPARITY_COLUMNS]]
    cov = coverage(predictions["as_of"], groups)
    notes = _notes(settings, len(months), {c: refs[c] for c in columns if c in refs}, n_suppressed)
    if not probability_col:
        notes.append("No calibrated probability was given: calibration in the large is not audited.")
    table = pd.concat([tables[c] for c in columns], ignore_index=True)
    return AuditResult(table, disp, cov, settings, score_col, months, notes)


_DISPARITY_COLUMNS = (
    "scope",
    "characteristic",
    "group",
    "reference",
    "k",
    "metric",
    "ratio",
    "ratio_lo",
    "ratio_hi",
    "difference",
    "difference_lo",
    "difference_hi",
    "p_value",
    "p_adjusted",
    "flagged",
    "suppressed",
)


def _empty_disparities() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in _DISPARITY_COLUMNS})
    for c in ("scope", "characteristic", "group", "reference", "metric"):
        frame[c] = frame[c].astype("str")
    frame["k"] = frame["k"].astype("Int64")
    frame["suppressed"] = frame["suppressed"].astype(bool)
    return frame
