"""Power of the equality audit: which recording bias it flags at which force size.

Usage:
    python bench/audit_power.py                                  # bias 0 0.25 0.5 1.0 x persons 50k 200k
    python bench/audit_power.py --bias 0 0.5 --persons 50000 --seeds 1 2 3

For each (persons, recording_bias, seed) a synthetic world is generated in memory and validated as
the monthly job would (the deliberately broken rows are quarantined); the feature panel is built
for the last ``--months`` labelled monthly as-of dates (:func:`scoring.pipeline.labelled_dates`,
configs/default.yaml); each month is ranked by the V100 score (``features.catalogue.V100_FEATURE``:
no training) and :func:`fairness.audit.audit` runs pooled over the months with the default
FairnessSettings except ``characteristics=["ethnicity"]``, no intersections and ``--n-boot``.

Printed per world: the Black/White ratio of selection rate at each k and of base rate (the recorded
outcome rate), with the 95% person-bootstrap interval, the Holm-adjusted p-value and whether it is
flagged; the recorded-to-true outcome ratio from the ground truth
(:func:`fairness.label_bias.recording_rates`); time and peak memory. Each world runs in its own
child process, so its peak resident memory is its own. Prints figures; asserts nothing. Reads the
ground truth because it is an evaluation; the pipeline never does.

Families. The selection-rate p-values are adjusted over the production family (every default
disparity metric, k and ethnic group against White, pooled scope), exactly as the audit flags them.
base_rate is not a default disparity metric: it is added to the same bootstrap run, and its p-values
are Holm-adjusted over their own family (base_rate, every ethnic group against White), so adding it
does not change the selection-rate figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from multiprocessing import get_context
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the packages, not the sibling script bench/features.py

from fairness.audit import POOLED, AuditResult, adjust, audit  # noqa: E402
from fairness.groups import attach_groups  # noqa: E402
from fairness.label_bias import recording_rates  # noqa: E402
from fairness.settings import FairnessSettings  # noqa: E402
from features.build import build_matrix, prepare_events  # noqa: E402
from features.catalogue import V100_FEATURE  # noqa: E402
from features.labels import build_labels  # noqa: E402
from features.records.schema import Records, ValidationSettings  # noqa: E402
from features.records.validate import validate  # noqa: E402
from features.synthetic.settings import SyntheticConfig  # noqa: E402
from features.synthetic.world import generate_world  # noqa: E402
from scoring.config import load_config  # noqa: E402
from scoring.pipeline import labelled_dates  # noqa: E402

CHARACTERISTIC, GROUP, REFERENCE = "ethnicity", "Black", "White"


@dataclass(frozen=True)
class Job:
    """One world to generate and audit."""

    persons: int
    bias: float
    seed: int
    years: int
    months: int
    n_boot: int


def peak_gib() -> float:
    """Peak resident set size of this process so far, in GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def audit_settings(n_boot: int) -> tuple[FairnessSettings, list[str]]:
    """The audited settings, and the disparity metrics of the production family."""
    default = FairnessSettings()
    settings = FairnessSettings(
        characteristics=[CHARACTERISTIC],
        intersections=[],
        n_boot=n_boot,
        disparity_metrics=[*default.disparity_metrics, "base_rate"],
    )
    return settings, list(default.disparity_metrics)


def panel(job: Job, seconds: dict[str, float]) -> tuple[pd.DataFrame, Records, dict[str, object]]:
    """Validated world and its labelled V100 panel for the last ``job.months`` labelled months."""
    clock = time.perf_counter()
    config = SyntheticConfig(persons=job.persons, years=job.years, seed=job.seed, recording_bias=job.bias)
    world = generate_world(config, pd.read_csv(ROOT / "configs" / "offences.csv"))
    seconds["generate"] = time.perf_counter() - clock
    clock = time.perf_counter()
    sources = {name: f"generated/{name}" for name in world.records}
    records, _ = validate(dict(world.records), ValidationSettings(today=date(2100, 1, 1)), sources)
    seconds["validate"] = time.perf_counter() - clock
    clock = time.perf_counter()
    run = load_config(ROOT / "configs" / "default.yaml")
    as_of = pd.Timestamp(config.end_date) + pd.Timedelta(days=1)
    events = prepare_events(records.events, records.offences)
    events = events[events["recorded_date"] < as_of].reset_index(drop=True)
    dates = labelled_dates(as_of, run, events["occurred_date"].min())[-job.months :]
    if len(dates) < job.months:
        print(f"  note: only {len(dates)} labelled months fit in {job.years} years", flush=True)
    matrix = build_matrix(events, records.persons, dates, run.features)
    labels = build_labels(matrix[["person_id", "as_of"]], events, run.label, observed_until=as_of)
    if not labels["labelled"].all():
        raise RuntimeError("internal: a panel row has an unobserved label horizon")
    keep = ["person_id", "as_of", V100_FEATURE]
    rows = matrix[keep].assign(
        label=labels["label"].astype("int8").to_numpy(), future_harm=labels["future_harm"].to_numpy()
    )
    seconds["panel"] = time.perf_counter() - clock
    return rows, records, {"offences": world.truth["offences"], "label": run.label}


def black_white(result: AuditResult, metric: str, k: int | None) -> dict[str, object]:
    """The pooled Black/White disparity row of one metric and k."""
    d = result.disparities
    row = d[
        (d["scope"] == POOLED)
        & (d["characteristic"] == CHARACTERISTIC)
        & (d["group"] == GROUP)
        & (d["metric"] == metric)
        & (d["k"].isna() if k is None else d["k"] == k)
    ]
    if len(row) != 1 or row["reference"].iloc[0] != REFERENCE:
        raise RuntimeError(f"expected one {GROUP}/{REFERENCE} row for {metric} k={k}, got {len(row)}")
    return row.iloc[0].to_dict()


def flagged_names(flagged: pd.DataFrame) -> list[str]:
    """Names like 'Black selection_rate@500' of flagged disparity rows."""
    at = ["" if pd.isna(k) else f"@{int(k)}" for k in flagged["k"]]
    return [f"{g} {m}{a}" for g, m, a in zip(flagged["group"], flagged["metric"], at, strict=True)]


def run_world(job: Job) -> dict[str, object]:
    """Generate, panel, score, audit and compare with the truth: one world (runs in a child process)."""
    start, seconds = time.perf_counter(), {}
    rows, records, truth = panel(job, seconds)
    clock = time.perf_counter()
    settings, production = audit_settings(job.n_boot)
    groups = attach_groups(rows[["person_id", "as_of"]], records.protected, None, settings)
    result = audit(rows, groups, V100_FEATURE, settings, job.seed)
    d = result.disparities
    pooled = (d["scope"] == POOLED) & (d["characteristic"] == CHARACTERISTIC)
    for family in (pooled & d["metric"].isin(production), pooled & (d["metric"] == "base_rate")):
        d.loc[family, "p_adjusted"] = adjust(d.loc[family, "p_value"].to_numpy(dtype="float64"), "holm")
    d["flagged"] = (d["p_adjusted"] < settings.alpha).to_numpy(dtype=bool)
    seconds["audit"] = time.perf_counter() - clock
    clock = time.perf_counter()
    label = truth["label"]
    rates = recording_rates(
        rows, groups, truth["offences"], records.offences, label.min_harm_days, label.horizon_months
    ).set_index("group")
    seconds["truth"] = time.perf_counter() - clock
    figures = [("selection_rate", k) for k in settings.ks] + [("base_rate", None)]
    return {
        "job": job,
        "months": len(result.months),
        "cohort_persons": rows["person_id"].nunique(),
        "rows_per_month": len(rows) / max(len(result.months), 1),
        "black_share": float((groups[CHARACTERISTIC] == GROUP).mean()),
        "disparities": [(m, k, black_white(result, m, k)) for m, k in figures],
        "family_flags": flagged_names(d[pooled & d["metric"].isin(production) & d["flagged"]]),
        "recorded_to_true": {g: float(rates.loc[g, "recorded_to_true"]) for g in (GROUP, REFERENCE)},
        "true_rate": {g: float(rates.loc[g, "true_rate"]) for g in (GROUP, REFERENCE)},
        "seconds": seconds,
        "total_s": time.perf_counter() - start,
        "peak_gib": peak_gib(),
    }


def _fmt(x: float, digits: int = 2) -> str:
    return "nan" if not np.isfinite(x) else f"{x:.{digits}f}"


def disparity_table(results: list[dict[str, object]]) -> pd.DataFrame:
    """One row per world and figure: Black/White ratio, interval, Holm p, flagged."""
    out = []
    for r in results:
        job = r["job"]
        for metric, k, row in r["disparities"]:
            out.append(
                {
                    "persons": f"{job.persons:,}",
                    "bias": job.bias,
                    "seed": job.seed,
                    "cohort persons": f"{r['cohort_persons']:,}",
                    "figure": metric if k is None else f"{metric}@{k}",
                    "B/W ratio": _fmt(row["ratio"]),
                    "95% CI": f"{_fmt(row['ratio_lo'])}-{_fmt(row['ratio_hi'])}",
                    "p (raw)": _fmt(row["p_value"], 4),
                    "p (Holm)": _fmt(row["p_adjusted"], 4),
                    "flagged": "YES" if row["flagged"] else "no",
                }
            )
    return pd.DataFrame(out)


def world_table(results: list[dict[str, object]]) -> pd.DataFrame:
    """One row per world: truth comparison, cohort, flags in the production family, time, memory."""
    out = []
    for r in results:
        job, rec, s = r["job"], r["recorded_to_true"], r["seconds"]
        out.append(
            {
                "persons": f"{job.persons:,}",
                "bias": job.bias,
                "seed": job.seed,
                "months": r["months"],
                "rows/month": f"{r['rows_per_month']:,.0f}",
                "Black share": f"{r['black_share']:.3f}",
                "rec/true Black": _fmt(rec[GROUP], 3),
                "rec/true White": _fmt(rec[REFERENCE], 3),
                "B/W of rec/true": _fmt(rec[GROUP] / rec[REFERENCE], 3),
                "flags (family)": len(r["family_flags"]),
                "gen s": f"{s['generate']:.0f}",
                "panel s": f"{s['validate'] + s['panel']:.0f}",
                "audit s": f"{s['audit']:.0f}",
                "total s": f"{r['total_s']:.0f}",
                "peak GiB": f"{r['peak_gib']:.2f}",
            }
        )
    return pd.DataFrame(out)


def summary(results: list[dict[str, object]]) -> pd.DataFrame:
    """Share of seeds flagged, per persons, bias and figure (the power estimate when seeds > 1)."""
    table = disparity_table(results)
    table["hit"] = table["flagged"] == "YES"
    table["ratio"] = table["B/W ratio"].astype("float64")
    keys = ["persons", "bias", "figure"]
    return (
        table.groupby(keys, sort=False)
        .agg(
            seeds=("hit", "size"),
            share_flagged=("hit", "mean"),
            ratio_median=("ratio", "median"),
            ratio_min=("ratio", "min"),
            ratio_max=("ratio", "max"),
        )
        .reset_index()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bias", type=float, nargs="+", default=[0.0, 0.25, 0.5, 1.0])
    parser.add_argument("--persons", type=int, nargs="+", default=[50_000, 200_000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[SyntheticConfig().seed])
    parser.add_argument("--years", type=int, default=5, help="years of each world")
    parser.add_argument("--months", type=int, default=12, help="latest labelled months audited")
    parser.add_argument("--n-boot", type=int, default=200, help="person-bootstrap resamples")
    args = parser.parse_args()
    jobs = [
        Job(p, b, s, args.years, args.months, args.n_boot)
        for p in args.persons
        for b in args.bias
        for s in args.seeds
    ]
    print(
        f"{len(jobs)} worlds: persons {args.persons}, recording_bias {args.bias}, seeds {args.seeds}, "
        f"{args.years} years; score = V100 ({V100_FEATURE}); audit pooled over the last {args.months} "
        f"labelled months, n_boot {args.n_boot}, Holm, alpha 0.05",
        flush=True,
    )
    results, clock = [], time.perf_counter()
    # one fresh child per world, one at a time: each world's peak memory is its own
    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), max_tasks_per_child=1) as pool:
        for job, result in zip(jobs, pool.map(run_world, jobs), strict=True):
            results.append(result)
            sel = result["disparities"][0][2]
            print(
                f"  done persons {job.persons:,} bias {job.bias} seed {job.seed}: "
                f"selection@{result['disparities'][0][1]} B/W {_fmt(sel['ratio'])} "
                f"({_fmt(sel['ratio_lo'])}-{_fmt(sel['ratio_hi'])}), {result['total_s']:.0f} s, "
                f"{result['peak_gib']:.2f} GiB",
                flush=True,
            )
    print(f"\nBlack/White disparities, pooled over {args.months} months (V100 score):")
    print(disparity_table(results).to_string(index=False))
    print("\nPer world: recorded-to-true serious-outcome ratio (truth), flags, time, peak memory:")
    print(world_table(results).to_string(index=False))
    print("\nFlagged in the production family (ethnicity, pooled; every group, metric and k):")
    for r in results:
        job = r["job"]
        names = ", ".join(r["family_flags"]) or "none"
        print(f"  persons {job.persons:,} bias {job.bias} seed {job.seed}: {names}")
    if len(args.seeds) > 1:
        print("\nShare of seeds flagged:")
        print(summary(results).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(
        f"\nTotal {time.perf_counter() - clock:.0f} s. The score is V100 (no training). The monthly "
        "job's LightGBM backtest on 50k worlds (6 years) gives selection-rate B/W at k=100 of about "
        "1.3 at bias 0.25 and 1.9 at bias 0.5, neither flagged, and 2.2-3.2 at bias 1.0 (the default "
        "world), flagged in 2 of 3 worlds; nothing on ethnicity is flagged at bias 0."
    )


if __name__ == "__main__":
    main()
