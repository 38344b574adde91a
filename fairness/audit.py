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
    their intersections are summed from their joint groups, so one sparse product serves them
    (:mod:`fairness.group_sums`).
Disparities
    Each group against its characteristic's reference group: ratio and difference with paired
    intervals, and a two-sided p-value z = difference / se (a Wald test: percentile p-values
    cannot go below 1/n_boot, too coarse for a corrected family). se adds the two bootstrap
    variances, each at least the other side's scaled to its sample size (see
    :func:`fairness.group_sums.p_values`). p-values are corrected (Holm or Benjamini-Hochberg)
    over each family (one characteristic in one scope, or all of a scope), withheld comparisons
    (below) included; ``flagged`` means the corrected p-value is below alpha, i.e. the corrected
    interval excludes parity.
Suppression
    See :func:`fairness.groups.suppress`. A cell is withheld (value, interval and n missing)
    when the people it is computed from number 1 to min_cell - 1 (none describes nobody and is
    shown): the group's persons (every
    cell), its listed persons at that k (top-k cells), its persons with the outcome (recall,
    fnr, auc) or without it (fpr, auc). Counts are distinct persons, so a person listed in
    several months counts once. A disparity involving a withheld cell is withheld too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fairness.group_sums import BASE_Q, Data, interval, metrics, p_values, people, prepare, sums, units
from fairness.groups import coverage, margins, reference_index, suppress
from fairness.settings import INTERSECTION_SEP, FairnessSettings
from features.errors import PipelineError
from models.metrics import ratio

POOLED = "pooled"
OVERALL, ALL = "overall", "all"
_MAX_ATOMS = 400  # joint groups of a family computed together
_N_BASIS = {"list_share": "listed", "precision": "listed", "recall": "positives", "fnr": "positives"}
_N_BASIS |= {"fpr": "negatives"}
HEADLINE_METRICS = ("selection_rate", "precision", "recall", "fpr")


@dataclass
class AuditResult:
    """Every figure of the equality audit; the report, the gate and MLflow all read this.

    Columns of ``groups``, ``disparities`` and ``coverage`` are those of the fairness contract
    (see the module docstring for the definitions); ``n`` is Int64, missing where suppressed.
    ``withheld`` holds, with the columns of ``disparities``, the pooled and monthly comparisons
    suppressed only to protect another cell (neither figure rests on fewer than ``min_cell``
    people): the gate decides on them and publishes only its result. It is never written out.
    """

    groups: pd.DataFrame
    disparities: pd.DataFrame
    coverage: pd.DataFrame
    settings: FairnessSettings
    score_col: str
    months: list[pd.Timestamp]
    notes: list[str]
    withheld: pd.DataFrame = field(default_factory=lambda: _empty_disparities())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of every figure: NaN and <NA> become null, dates ISO text (large: the
        run writes :meth:`summary` to audit.json and the tables to Parquet)."""
        return {
            "score_col": self.score_col,
            "months": [m.date().isoformat() for m in self.months],
            "settings": self.settings.model_dump(mode="json"),
            "notes": list(self.notes),
            "groups": _records(self.groups),
            "disparities": _records(self.disparities),
            "coverage": _records(self.coverage),
        }

    def headline(self, k: int) -> pd.DataFrame:
        """Pooled disparities at list length ``k`` of the single characteristics (no intersections)
        for selection rate, precision, recall and FPR: the figures a reader compares month to month."""
        d = self.disparities
        keep = (
            (d["scope"] == POOLED)
            & (d["k"] == k)
            & d["metric"].isin(HEADLINE_METRICS)
            & ~d["characteristic"].str.contains(INTERSECTION_SEP, regex=False)
        )
        return d[keep].reset_index(drop=True)

    def summary(self, k: int) -> dict[str, Any]:
        """The small JSON part of the audit: scope, settings, notes, the headline disparities at
        ``k``, every pooled flagged disparity and the coverage. The long tables go to Parquet."""
        d = self.disparities
        flagged = d[(d["scope"] == POOLED) & d["flagged"].astype(bool)]
        return {
            "score_col": self.score_col,
            "months": [m.date().isoformat() for m in self.months],
            "settings": self.settings.model_dump(mode="json"),
            "notes": list(self.notes),
            "counts": {
                "group_figures": len(self.groups),
                "group_figures_suppressed": int(self.groups["suppressed"].sum()),
                "comparisons_pooled": int((d["scope"] == POOLED).sum()),
                "comparisons_pooled_flagged": len(flagged),
            },
            "headline_k": k,
            "headline": _records(self.headline(k)),
            "flagged": _records(flagged.reset_index(drop=True)),
            "coverage": _records(self.coverage),
        }

    def mlflow_metrics(self, k: int | None = None) -> dict[str, float]:
        """The headline ratios at ``k`` (default the smallest audited k) keyed like
        ``audit.disparity.ethnicity.Black.selection_rate_at_100.ratio``, and the number of pooled
        comparisons flagged (``audit.flagged``). The full tables are logged as artifacts."""
        k = min(self.settings.ks) if k is None else k
        out: dict[str, float] = {}
        d = self.headline(k)
        d = d[~d["suppressed"] & np.isfinite(d["ratio"].to_numpy(dtype="float64"))]
        for c, grp, metric, value in zip(
            d["characteristic"], d["group"], d["metric"], d["ratio"], strict=True
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


def _suppression(d: Data, name: str, codes: np.ndarray, names: list[str], settings: FairnessSettings):
    """Distinct-person counts of each basis, their suppression flags (all (S, G)) and the reference.

    The reference group is hidden as a complement only when no other group can serve: every
    disparity of the characteristic is read against it.
    """
    n_groups, min_cell, blocks = len(names), settings.min_cell, margins(name, names)
    counts = {"persons": people(d, codes, n_groups, None), "positives": people(d, codes, n_groups, 1)}
    counts["negatives"] = people(d, codes, n_groups, -1)
    listed = [people(d, codes, n_groups, BASE_Q + 3 * j) for j in range(len(settings.ks))]
    ref = reference_index(name, names, counts["persons"][0], settings.reference)
    persons = suppress(counts["persons"], min_cell, blocks, keep=ref)
    flags = {"persons": persons, "listed": [suppress(c, min_cell, blocks, persons, ref) for c in listed]}
    for basis in ("positives", "negatives"):
        flags[basis] = suppress(counts[basis], min_cell, blocks, persons, ref)

    def few(c: np.ndarray) -> np.ndarray:
        return (c > 0) & (c < min_cell)

    primary = {"persons": few(counts["persons"]), "listed": [few(c) for c in listed]}
    primary |= {basis: few(counts[basis]) for basis in ("positives", "negatives")}
    return counts, listed, flags, ref, primary


def _characteristic(
    d: Data,
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
    figures, dens = metrics(*sums_auc, ks, has_prob)
    counts, listed, flags, ref, primary = _suppression(d, name, codes, names, settings)
    frames, cells = [], {}
    for (metric, k), values in figures.items():
        j = None if k is None else ks.index(k)
        sup = _cell_flags(flags, metric, j)
        basis = _N_BASIS.get(metric, "persons")
        n = listed[j] if basis == "listed" and j is not None else counts[basis]
        lo, hi = interval(values[..., 1:], settings.confidence) if metric != "size" else (np.nan, np.nan)
        cells[(metric, k)] = (values, sup, dens[(metric, k)], _cell_flags(primary, metric, j))
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
    return table, _disparities(cells, name, names, ref, settings, scopes), int(table["suppressed"].sum())


def _disparities(
    cells: dict, name: str, names: list[str], ref: int, settings: FairnessSettings, scopes: list[str]
) -> pd.DataFrame:
    """Ratio and difference of each group to the reference, with intervals and raw p-values."""
    frames = []
    others = np.array([i for i in range(len(names)) if i != ref], dtype="int64")
    for (metric, k), (values, sup, den, few) in cells.items():
        if metric not in settings.disparity_metrics or not len(others):
            continue
        v, r = values[:, others], values[:, [ref]]
        rat, diff = ratio(v, r), v - r
        rlo, rhi = interval(rat[..., 1:], settings.confidence)
        dlo, dhi = interval(diff[..., 1:], settings.confidence)
        hidden = sup[:, others] | sup[:, [ref]]
        shown = {"ratio": rat[..., 0], "ratio_lo": rlo, "ratio_hi": rhi, "difference": diff[..., 0]}
        shown |= {"difference_lo": dlo, "difference_hi": dhi, "p_value": p_values(values, others, ref, den)}
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
            frame[col] = np.asarray(x, dtype="float64").ravel() * np.ones(hidden.size)
        frame["suppressed"] = hidden.ravel()
        # withheld only to protect another cell: neither figure rests on fewer than min_cell people
        frame["withheld"] = (hidden & ~(few[:, others] | few[:, [ref]])).ravel()
        frame.loc[frame["suppressed"] & ~frame["withheld"], list(shown)] = np.nan
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
    d, order, months = prepare(predictions, score_col, settings.ks, cols)
    scopes = [POOLED, *(m.date().isoformat() for m in months)]
    tables, disparities, refs, n_suppressed = {}, {}, {}, 0
    columns = {OVERALL: (np.zeros(len(order), dtype="int64"), [ALL])}
    for c in groups.columns:
        codes, names = pd.factorize(groups[c].astype("str"), sort=True)
        columns[c] = (codes[order].astype("int64"), [str(n) for n in names])
    for atoms, maps in units(columns, OVERALL, _MAX_ATOMS):
        for name, sums_auc in sums(d, atoms, maps, seed, settings.n_boot).items():
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
    if "withheld" not in disp:
        disp["withheld"] = False
    family = ["scope", "characteristic"] if settings.family == "characteristic" else ["scope"]
    disp["p_adjusted"] = np.nan
    for _, idx in disp.groupby(family, sort=False).groups.items():
        disp.loc[idx, "p_adjusted"] = adjust(
            disp.loc[idx, "p_value"].to_numpy(dtype="float64"), settings.correction
        )
    disp["flagged"] = (disp["p_adjusted"] < settings.alpha).to_numpy(dtype=bool)
    hidden = disp["withheld"].astype(bool).to_numpy()
    withheld = disp[hidden].reset_index(drop=True)[[*_DISPARITY_COLUMNS]]
    figures = ["ratio", "ratio_lo", "ratio_hi", "difference", "difference_lo", "difference_hi"]
    disp.loc[hidden, [*figures, "p_value", "p_adjusted"]] = np.nan  # published as suppressed
    disp.loc[hidden, "flagged"] = False
    disp = disp[[*_DISPARITY_COLUMNS]]
    cov = coverage(predictions["as_of"], groups)
    notes = _notes(settings, len(months), {c: refs[c] for c in columns if c in refs}, n_suppressed)
    if not probability_col:
        notes.append("No calibrated probability was given: calibration in the large is not audited.")
    table = pd.concat([tables[c] for c in columns], ignore_index=True)
    return AuditResult(table, disp, cov, settings, score_col, months, notes, withheld=withheld)


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
