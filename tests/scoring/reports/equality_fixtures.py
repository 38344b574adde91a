"""Objects in the fairness contract's shapes for the equality report's tests (no fairness module imported).

The audit's figures are computed from a small seeded backtest: 12 months (2025-11 to 2026-10) of
3,000 people, a list of 100, 500 and 1,000 a month. People recorded as Black are scored higher than
their outcomes warrant, so the pooled false positive rate and precision at 100 show a flagged
disparity against White. Proportions get Wilson intervals, ratios delta-method intervals on the log
scale, p-values a Holm correction over the groups of a characteristic (per scope, metric and k);
cells from fewer than 10 people are suppressed. :func:`tiny_audit` holds hand-set figures.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import norm

MONTHS = list(pd.date_range("2025-11-01", "2026-10-01", freq="MS"))
KS = (100, 500, 1000)
LIMIT = 10
SEX = {"Male": 0.55, "Female": 0.44, "not recorded": 0.01}
ETHNICITY = {"White": 0.56, "Asian": 0.17, "Black": 0.12, "Mixed": 0.05, "Other": 0.05, "not recorded": 0.05}
CHARACTERISTICS = ("sex", "ethnicity", "sex x ethnicity")
REFERENCE = {"sex": "Male", "ethnicity": "White", "sex x ethnicity": "Male | White"}
RATIO_METRICS = ("selection_rate", "base_rate", "precision", "recall", "fpr", "fnr", "harm_captured")
Z = float(norm.ppf(0.975))


class GateSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metrics: list[str] = Field(["fpr", "precision"], description="Ratios checked at k = 100 for every group.")
    lower: float = Field(
        0.8, description="Lowest allowed ratio: the four-fifths rule of thumb for adverse impact."
    )
    upper: float = Field(1.25, description="Highest allowed ratio: 1 / 0.8, the same distance above parity.")
    min_recall_ratio: float = Field(
        0.8, description="Groups' recall must be at least this share of the reference."
    )


class FairnessSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ks: list[int] = Field(list(KS), description="List lengths audited.")
    min_cell: int = Field(LIMIT, description="Cells from fewer people are suppressed.")
    correction: str = Field("holm", description="Multiple-comparison correction.")
    n_boot: int = Field(200, description="Bootstrap resamples.")
    gate: GateSettings = GateSettings()


def simulate(seed: int = 7, n: int = 3000, bias: float = 0.4) -> pd.DataFrame:
    """Person-month rows: month, sex, ethnicity, label, harm, probability, score and rank within month."""
    rng = np.random.default_rng(seed)
    rows = n * len(MONTHS)
    frame = pd.DataFrame(
        {
            "month": np.repeat(MONTHS, n),
            "sex": rng.choice(list(SEX), rows, p=list(SEX.values())),
            "ethnicity": rng.choice(list(ETHNICITY), rows, p=list(ETHNICITY.values())),
        }
    )
    risk = rng.normal(-3.0, 1.1, rows)
    frame["label"] = (rng.random(rows) < 1 / (1 + np.exp(-risk))).astype(int)
    frame["harm"] = frame["label"] * np.round(rng.lognormal(5, 1, rows), 1)
    score = risk + rng.normal(0, 0.7, rows) + bias * (frame["ethnicity"] == "Black").to_numpy()
    frame["probability"] = 1 / (1 + np.exp(-score))
    frame["score"] = score
    frame["rank"] = frame.groupby("month")["score"].rank(ascending=False, method="first")
    frame["sex x ethnicity"] = frame["sex"] + " | " + frame["ethnicity"]
    return frame


def _long(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (scope, characteristic, person-month): pooled and per month."""
    cols = ["month", "label", "harm", "probability", "score", "rank"]
    parts = [frame[cols].assign(characteristic=c, group=frame[c]) for c in CHARACTERISTICS]
    long = pd.concat(parts, ignore_index=True)
    monthly = long.assign(scope=long["month"].dt.strftime("%Y-%m-%d"))
    return pd.concat([long.assign(scope="pooled"), monthly], ignore_index=True)


def _wilson(p: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series]:
    n = n.where(n > 0)
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z * np.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / (1 + Z**2 / n)
    return centre - half, centre + half


def _row(
    agg: pd.DataFrame, metric: str, value: pd.Series, n: pd.Series, k: int | None, ci: str
) -> pd.DataFrame:
    out = agg[["scope", "characteristic", "group"]].assign(metric=metric, value=value, n=n.astype(int))
    if ci == "wilson":
        out["lo"], out["hi"] = _wilson(value, n)
    elif ci == "auc":
        q1, q2 = value / (2 - value), 2 * value**2 / (1 + value)
        pos, neg = agg["pos"], agg["size"] - agg["pos"]
        var = (value * (1 - value) + (pos - 1) * (q1 - value**2) + (neg - 1) * (q2 - value**2)) / (pos * neg)
        out["lo"], out["hi"] = value - Z * np.sqrt(var), value + Z * np.sqrt(var)
    else:
        out["lo"], out["hi"] = np.nan, np.nan
    out["k"] = pd.array([k] * len(out), dtype="Int64")
    return out


def group_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The audit's ``groups`` table in the contract's columns."""
    long = _long(frame)
    long["pos_rank"] = long.groupby(["scope", "characteristic", "group"])["score"].rank()
    long["pos_rank"] = long["pos_rank"] * long["label"]
    for k in KS:
        long[f"list{k}"] = (long["rank"] <= k).astype(int)
        long[f"tp{k}"] = long[f"list{k}"] * long["label"]
        long[f"harm{k}"] = long[f"list{k}"] * long["harm"]
    keys = ["scope", "characteristic", "group"]
    agg = (
        long.groupby(keys, sort=True)
        .agg(
            size=("label", "size"),
            pos=("label", "sum"),
            harm=("harm", "sum"),
            pred=("probability", "mean"),
            rank_sum=("pos_rank", "sum"),
            months=("month", "nunique"),
            **{f"{c}{k}": (f"{c}{k}", "sum") for k in KS for c in ("list", "tp", "harm")},
        )
        .reset_index()
    )
    total = agg.groupby(["scope", "characteristic"])["size"].transform("sum")
    months = agg.groupby(["scope", "characteristic"])["months"].transform("max")
    size, pos = agg["size"], agg["pos"]
    neg, base = size - pos, pos / size
    auc = (agg["rank_sum"] - pos * (pos + 1) / 2) / (pos * neg)
    parts = [
        _row(agg, "size", size.astype(float), size, None, ""),
        _row(agg, "cohort_share", size / total, size, None, "wilson"),
        _row(agg, "base_rate", base, size, None, "wilson"),
        _row(agg, "observed_rate", base, size, None, "wilson"),
        _row(agg, "mean_predicted", agg["pred"], size, None, ""),
        _row(agg, "calibration_in_large", agg["pred"] / base, size, None, ""),
        _row(agg, "auc", auc, size, None, "auc"),
    ]
    for k in KS:
        listed, tp = agg[f"list{k}"], agg[f"tp{k}"]
        parts += [
            _row(agg, "list_share", listed / (k * months), listed, k, "wilson"),
            _row(agg, "selection_rate", listed / size, size, k, "wilson"),
            _row(agg, "precision", tp / listed.where(listed > 0), listed, k, "wilson"),
            _row(agg, "recall", tp / pos.where(pos > 0), pos, k, "wilson"),
            _row(agg, "fpr", (listed - tp) / neg, neg, k, "wilson"),
            _row(agg, "fnr", 1 - tp / pos.where(pos > 0), pos, k, "wilson"),
            _row(
                agg, "harm_captured", agg[f"harm{k}"] / agg["harm"].where(agg["harm"] > 0), pos, k, "wilson"
            ),
        ]
    table = pd.concat(parts, ignore_index=True)
    table["suppressed"] = table["n"] < LIMIT
    table.loc[table["suppressed"], ["value", "lo", "hi"]] = np.nan
    columns = ["scope", "characteristic", "group", "k", "metric", "value", "lo", "hi", "n", "suppressed"]
    return table[columns].sort_values(columns[:5], kind="stable").reset_index(drop=True)


def _holm(p: pd.Series) -> pd.Series:
    order = p.sort_values(kind="stable")
    m = len(order)
    adjusted = (order * (m - np.arange(m))).cummax().clip(upper=1.0)
    return adjusted.reindex(p.index)


def disparity_table(groups: pd.DataFrame) -> pd.DataFrame:
    """The audit's ``disparities`` table: every group against its characteristic's reference group."""
    rows = groups[groups["metric"].isin(RATIO_METRICS)].copy()
    rows["k_key"] = rows["k"].fillna(-1).astype(int)
    rows["reference"] = rows["characteristic"].map(REFERENCE)
    ref = rows[rows["group"] == rows["reference"]]
    keys = ["scope", "characteristic", "metric", "k_key"]
    ref = ref[[*keys, "value", "n", "suppressed"]].rename(
        columns={"value": "rv", "n": "rn", "suppressed": "rs"}
    )
    d = rows[rows["group"] != rows["reference"]].merge(ref, on=keys, how="left")
    p, q, n, rn = d["value"], d["rv"], d["n"], d["rn"]
    d["suppressed"] = d["suppressed"] | d["rs"].fillna(True).astype(bool) | ~(p > 0) | ~(q > 0)
    se_log = np.sqrt((1 - p) / (n * p) + (1 - q) / (rn * q))
    d["ratio"] = p / q
    d["ratio_lo"], d["ratio_hi"] = d["ratio"] * np.exp(-Z * se_log), d["ratio"] * np.exp(Z * se_log)
    se_d = np.sqrt(p * (1 - p) / n + q * (1 - q) / rn)
    d["difference"] = p - q
    d["difference_lo"], d["difference_hi"] = d["difference"] - Z * se_d, d["difference"] + Z * se_d
    with np.errstate(divide="ignore", invalid="ignore"):
        d["p_value"] = 2 * norm.sf(np.abs(np.log(d["ratio"])) / se_log)
    figures = ["ratio", "ratio_lo", "ratio_hi", "difference", "difference_lo", "difference_hi", "p_value"]
    d.loc[d["suppressed"], figures] = np.nan
    d["p_adjusted"] = d.groupby(["scope", "characteristic", "metric", "k_key"])["p_value"].transform(_holm)
    d["flagged"] = (d["p_adjusted"] < 0.05) & ~d["suppressed"]
    columns = [
        "scope",
        "characteristic",
        "group",
        "reference",
        "k",
        "metric",
        *figures[:-1],
        "p_value",
        "p_adjusted",
        "flagged",
        "suppressed",
    ]
    return d[columns].reset_index(drop=True)


def coverage_table(frame: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for c in ("sex", "ethnicity"):
        recorded = (frame[c] != "not recorded").groupby(frame["month"]).agg(["sum", "size"])
        parts.append(
            pd.DataFrame(
                {
                    "month": recorded.index,
                    "characteristic": c,
                    "recorded": recorded["sum"].to_numpy(),
                    "total": recorded["size"].to_numpy(),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out["recorded_share"] = out["recorded"] / out["total"]
    return out


def make_audit(seed: int = 7, bias: float = 0.4) -> SimpleNamespace:
    """An ``AuditResult`` look-alike: groups, disparities, coverage, settings, score_col, months, notes."""
    frame = simulate(seed=seed, bias=bias)
    groups = group_table(frame)
    return SimpleNamespace(
        groups=groups,
        disparities=disparity_table(groups),
        coverage=coverage_table(frame),
        settings=FairnessSettings(),
        score_col="lightgbm_binary",
        months=MONTHS,
        notes=["Bootstrap intervals use 200 resamples of persons."],
    )


def make_gate(audit: SimpleNamespace, lower: float = 0.8, upper: float = 1.25) -> SimpleNamespace:
    """A ``GateResult`` look-alike: FPR and precision ratios at 100 against [lower, upper]."""
    d = audit.disparities
    rows = d[(d["scope"] == "pooled") & (d["k"] == 100) & d["metric"].isin(["fpr", "precision"])]
    rows = rows[rows["characteristic"].isin(["sex", "ethnicity"]) & ~rows["suppressed"]]
    checks = rows[["characteristic", "group", "metric", "k", "ratio", "ratio_lo", "ratio_hi"]].assign(
        lower=lower, upper=upper
    )
    outside = (checks["ratio"] < lower) | (checks["ratio"] > upper)
    checks["breached"] = outside & rows["flagged"]
    checks["rule"] = [
        f"{m}@100 ratio within {lower}-{upper} when its interval excludes parity" for m in checks["metric"]
    ]
    reasons = [
        f"{r.metric.upper()}@100 for {r.group} is {r.ratio:.2f} times {r.characteristic} reference, outside "
        f"{lower}-{upper}, with an interval excluding parity."
        for r in checks[checks["breached"]].itertuples(index=False)
    ]
    return SimpleNamespace(passed=not reasons, checks=checks.reset_index(drop=True), reasons=reasons)


def make_proxies() -> SimpleNamespace:
    characteristics = pd.DataFrame(
        {
            "characteristic": ["ethnicity", "ethnicity", "sex"],
            "target": ["Black", "all", "Female"],
            "cv_auc": [0.682, 0.604, 0.571],
            "auc_lo": [0.664, 0.591, 0.560],
            "auc_hi": [0.700, 0.617, 0.582],
            "n": [36000, 36000, 36000],
            "flagged": [True, False, False],
        }
    )
    features = pd.DataFrame(
        {
            "characteristic": ["ethnicity", "ethnicity", "ethnicity", "sex", "ethnicity"],
            "target": ["Black", "Black", "Black", "Female", "all"],
            "feature": [
                "stop_search_count_365d",
                "intelligence_count_365d",
                "arrest_count_730d",
                "dv_suspect_365d",
                "stop_search_count_365d",
            ],
            "association": [0.262, 0.214, 0.118, 0.151, 0.205],
            "flagged": [True, True, False, False, True],
        }
    )
    return SimpleNamespace(
        characteristics=characteristics, features=features, threshold_auc=0.65, threshold_association=0.2
    )


def make_tradeoff() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "approach": [
                "production model",
                "ExponentiatedGradient (error-rate parity)",
                "ExponentiatedGradient (TPR parity)",
                "without flagged proxies",
            ],
            "characteristic": ["ethnicity"] * 4,
            "precision_at_100": [0.412, 0.371, 0.388, 0.402],
            "harm_captured_at_100": [0.186, 0.158, 0.169, 0.181],
            "largest_disparity": [0.62, 0.21, 0.34, 0.48],
            "disparity_metric": ["fpr"] * 4,
            "notes": ["", "10 iterations, eps 0.01", "10 iterations, eps 0.01", "2 features removed"],
            "largest_ratio": [1.62, 0.79, 1.34, 1.48],
            "largest_group": ["Black", "Asian", "Black", "Black"],
        }
    )


def make_label_bias() -> dict[str, pd.DataFrame]:
    groups = ["Asian", "Black", "Mixed", "Other", "White", "not recorded"]
    recording = pd.DataFrame(
        {
            "characteristic": "ethnicity",
            "group": groups,
            "n": [10102, 6522, 2722, 3012, 25769, 8],
            "true_rate": [0.041, 0.042, 0.040, 0.039, 0.041, 0.05],
            "recorded_rate": [0.030, 0.041, 0.031, 0.029, 0.030, 0.04],
        }
    )
    recording["recorded_to_true"] = recording["recorded_rate"] / recording["true_rate"]
    selection = pd.DataFrame(
        {
            "characteristic": "ethnicity",
            "group": groups[:5],
            "model_share": [0.16, 0.21, 0.05, 0.05, 0.53],
            "oracle_share": [0.19, 0.13, 0.05, 0.06, 0.57],
        }
    )
    selection["ratio"] = selection["model_share"] / selection["oracle_share"]
    return {"recording": recording, "selection": selection}


def _figure(characteristic: str, group: str, metric: str, k: int | None, value: float, **kw: float) -> dict:
    n = int(kw.get("n", 100))
    suppressed = n < LIMIT
    lo, hi = kw.get("lo", np.nan), kw.get("hi", np.nan)
    return {
        "scope": kw.get("scope", "pooled"), "characteristic": characteristic, "group": group, "k": k,
        "metric": metric, "value": np.nan if suppressed else value, "lo": np.nan if suppressed else lo,
        "hi": np.nan if suppressed else hi, "n": n, "suppressed": suppressed,
    }  # fmt: skip


def tiny_audit() -> SimpleNamespace:
    """One characteristic (sex), one month, hand-set figures: Female's FPR@100 is twice Male's
    (2.0% against 1.0%) and her precision@100 half (12.5% against 25.0%); "not recorded" has
    8 people and is suppressed. Settings are a plain namespace with 90% intervals and BH."""
    f = _figure
    rows = [
        f("sex", "Male", "size", None, 800, n=800),
        f("sex", "Female", "size", None, 190, n=190),
        f("sex", "not recorded", "size", None, 8, n=8),
        f("overall", "all", "size", None, 998, n=998),
        f("sex", "Male", "base_rate", None, 0.1, lo=0.08, hi=0.12, n=800),
        f("sex", "Female", "base_rate", None, 0.1, lo=0.06, hi=0.14, n=190),
        f("sex", "not recorded", "base_rate", None, 0.125, n=8),
        f("sex", "Male", "precision", 100, 0.25, lo=0.2, hi=0.3, n=80),
        f("sex", "Female", "precision", 100, 0.125, lo=0.1, hi=0.15, n=16),
        f("sex", "not recorded", "precision", 100, 0.5, n=4),
        f("sex", "Male", "fpr", 100, 0.01, lo=0.008, hi=0.012, n=720),
        f("sex", "Female", "fpr", 100, 0.02, lo=0.015, hi=0.025, n=171),
        f("sex", "not recorded", "fpr", 100, 0.1, n=7),
    ]
    groups = pd.DataFrame(rows)
    groups["k"] = groups["k"].astype("Int64")
    groups["n"] = groups["n"].astype("Int64")
    disparities = pd.DataFrame(
        {
            "scope": "pooled", "characteristic": "sex", "group": ["Female", "Female", "not recorded"],
            "reference": "Male", "k": pd.array([100, 100, 100], dtype="Int64"),
            "metric": ["fpr", "precision", "fpr"], "ratio": [2.0, 0.5, np.nan],
            "ratio_lo": [1.5, 0.35, np.nan], "ratio_hi": [2.667, 0.7, np.nan],
            "difference": [0.01, -0.125, np.nan],
            "difference_lo": [0.005, -0.2, np.nan], "difference_hi": [0.015, -0.05, np.nan],
            "p_value": [0.0001, 0.001, np.nan], "p_adjusted": [0.0004, 0.002, np.nan],
            "flagged": [True, True, False], "suppressed": [False, False, True],
        }
    )  # fmt: skip
    coverage = pd.DataFrame(
        {"month": [pd.Timestamp("2026-10-01")], "characteristic": ["sex"], "recorded": [990], "total": [998]}
    )
    coverage["recorded_share"] = coverage["recorded"] / coverage["total"]
    gate_settings = SimpleNamespace(k=100, ratio_bounds=(0.8, 1.25), metrics=["fpr", "precision"])
    settings = SimpleNamespace(
        min_cell=LIMIT, correction="bh", n_boot=100, confidence=0.9, gate=gate_settings
    )
    return SimpleNamespace(
        groups=groups, disparities=disparities, coverage=coverage, settings=settings,
        score_col="v100", months=[pd.Timestamp("2026-10-01")], notes=[],
    )  # fmt: skip
