"""Benchmark the synthetic world: time, peak memory, table sizes, on-disk size and realism figures.

Usage: python bench/synth.py --persons 50000 --years 6 --seed 20261101

Prints figures; asserts nothing. Peak memory is the process's peak resident set size
(``resource.getrusage(...).ru_maxrss``), which includes the interpreter and imported libraries.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package features, not its sibling script bench/features.py

from features.synthetic.settings import SyntheticConfig  # noqa: E402
from features.synthetic.summary import summarise_world  # noqa: E402
from features.synthetic.world import generate_world  # noqa: E402

FIGURES = (
    "top5_share",
    "top10_share",
    "share_for_50",
    "share_for_80",
    "median_suspect_harm",
    "share_suspects_le_11_days",
    "top1_turnover",
    "top1_mean_offences",
    "suspects_per_year",
    "named_share",
    "age_rate_10_13",
    "age_rate_14_17",
    "age_rate_18_25",
    "age_rate_26_39",
    "age_rate_40_plus",
    "bias_named_ratio",
    "bias_stop_ratio",
    "mix_max_abs_error",
    "domestic_repeat_victim_share",
    "suspect_delay_median_days",
    "suspect_delay_share_over_30",
    "sexual_delay_median_days",
    "bad_row_share",
    "oracle_auc",
    "serious_label_rate",
)


def peak_gib() -> float:
    """Peak resident set size of this process so far, in GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def dir_mib(path: Path) -> float:
    """Total size of the files under ``path`` in MiB."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def main() -> None:
    """Generate a world, write it as Parquet to a temporary directory and print figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--years", type=int, default=6)
    parser.add_argument("--seed", type=int, default=SyntheticConfig().seed)
    parser.add_argument("--skip-summary", action="store_true", help="skip the realism figures")
    args = parser.parse_args()
    config = SyntheticConfig(persons=args.persons, years=args.years, seed=args.seed)
    offences = pd.read_csv(ROOT / "configs" / "offences.csv")
    base = peak_gib()
    t0 = time.perf_counter()
    world = generate_world(config, offences)
    gen_s = time.perf_counter() - t0
    print(f"persons={args.persons:,} years={args.years} seed={args.seed}")
    print(f"generation: {gen_s:.1f} s, peak RSS {peak_gib():.2f} GiB (after imports {base:.2f} GiB)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        t0 = time.perf_counter()
        for group, tables in (("records", world.records), ("truth", world.truth)):
            (out / group).mkdir()
            for name, frame in tables.items():
                frame.to_parquet(out / group / f"{name}.parquet", index=False)
        write_s = time.perf_counter() - t0
        print(
            f"parquet write: {write_s:.1f} s; on disk: records {dir_mib(out / 'records'):.1f} "
            f"MiB, truth {dir_mib(out / 'truth'):.1f} MiB"
        )
        for group, tables in (("records", world.records), ("truth", world.truth)):
            for name, frame in tables.items():
                size = (out / group / f"{name}.parquet").stat().st_size / 2**20
                mem = frame.memory_usage(deep=True).sum() / 2**20
                print(
                    f"  {group}/{name:15s} {len(frame):>12,} rows  {mem:9.1f} MiB in memory"
                    f"  {size:8.1f} MiB parquet"
                )
    counts = world.records["events"]["event_type"].value_counts()
    print("events per type: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    if not args.skip_summary:
        t0 = time.perf_counter()
        summary = summarise_world(world)
        print(f"realism figures ({time.perf_counter() - t0:.1f} s):")
        for key in FIGURES:
            print(f"  {key:32s} {summary[key]:.4g}")
    print(f"peak RSS overall {peak_gib():.2f} GiB")


if __name__ == "__main__":
    main()
