"""Matrix mode on small tables: the small-table grid and the calibration share, against the defaults.

Usage: python bench/small_table.py [--tables 12] [--people 3000] [--out /tmp/small_table]

Generates single-date tables of a few thousand people like a force's own extract (a count of
priors that drives the outcome, a postcode area that follows ethnicity, a force score with gaps),
backtests each with ``harmrank backtest --matrix``'s code under three settings and prints the mean
of each pooled figure and its paired difference from the defaults (with the standard error over
tables) and the time per backtest. Variants: ``default`` (no grid, 20% held back for calibration),
``grid`` (the small-table grid, tuned per split), ``cal0.1`` (no grid, 10% held back). Asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring.backtesting import backtest_matrix  # noqa: E402
from scoring.config import RunConfig  # noqa: E402

FIGURES = {"precision@100": "p@100", "auc_roc": "auc", "average_precision": "ap", "ece": "ece"}


def table(n: int, seed: int) -> pd.DataFrame:
    """One single-date table of ``n`` people."""
    rng = np.random.default_rng(seed)
    ethnicity = rng.choice(["Asian", "Black", "White", "Mixed"], n, p=[0.15, 0.15, 0.6, 0.1])
    home = np.select([ethnicity == "Black", ethnicity == "Asian"], ["E1", "B2"], "S3")
    area = np.where(rng.random(n) < 0.7, home, rng.choice(["E1", "B2", "S3", "L4"], n))
    risk = rng.gamma(0.6, 1.0, n)
    frame = pd.DataFrame(
        {
            "person_id": [f"P{i:05d}" for i in range(n)],
            "priors": rng.poisson(1 + 3 * risk),
            "violent_priors": rng.poisson(0.5 * risk),
            "age": rng.integers(16, 60, n),
            "months_since_last": rng.exponential(12 / (1 + risk)),
            "postcode_area": area,
            "ethnicity": ethnicity,
        }
    )
    p = 1 - np.exp(-0.25 * risk * (1 + 0.5 * (frame["violent_priors"] > 0)))
    frame["label"] = (rng.random(n) < p).astype(int)
    harm = rng.choice([30.0, 365.0, 2555.0], n, p=[0.5, 0.4, 0.1])
    frame["future_harm"] = np.where(frame["label"] == 1, harm, 0.0)
    score = frame["priors"] * 2 + frame["violent_priors"] * 5 + rng.normal(0, 2, n)
    frame["force_score"] = score.where(rng.random(n) > 0.08)
    return frame


def config(variant: str) -> RunConfig:
    base = RunConfig()
    bt = base.backtest
    updates: dict[str, object] = {"evaluation": bt.evaluation.model_copy(update={"n_boot": 0, "ks": [100]})}
    if variant != "grid":
        updates["small_table"] = bt.small_table.model_copy(update={"max_rows": 0})
    if variant == "cal0.1":
        updates["splits"] = bt.splits.model_copy(update={"fold_calibration_share": 0.1})
    return base.model_copy(update={"backtest": bt.model_copy(update=updates)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=12)
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/small_table"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in range(args.tables):
        path = args.out / f"table{seed}.csv"
        table(args.people, seed).to_csv(path, index=False)
        for variant in ("default", "grid", "cal0.1"):
            start = time.perf_counter()
            out = args.out / variant
            _, doc = backtest_matrix(path, "label", config(variant), out, harm="future_harm")
            seconds = time.perf_counter() - start
            for model in ("lightgbm_binary", "lightgbm_lambdarank"):
                figures = {short: doc["models"][model][key]["value"] for key, short in FIGURES.items()}
                rows.append({"table": seed, "variant": variant, "model": model, "seconds": seconds} | figures)
    frame = pd.DataFrame(rows)
    for model, part in frame.groupby("model"):
        print(f"\n{model} ({args.tables} tables of {args.people:,} people)")
        for short in FIGURES.values():
            wide = part.pivot(index="table", columns="variant", values=short)
            cells = [f"default {wide['default'].mean():.4f}"]
            for variant in ("grid", "cal0.1"):
                diff = wide[variant] - wide["default"]
                se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
                cells.append(f"{variant} {diff.mean():+.4f} (se {se:.4f})")
            print(f"  {short:6} " + " | ".join(cells))
    print("\nseconds per backtest: " + frame.groupby("variant")["seconds"].mean().round(1).to_string())


if __name__ == "__main__":
    main()
