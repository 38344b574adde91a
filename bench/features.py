"""Benchmark the feature engine: one as-of date, a 12-month panel, peak memory, speed-up over the reference.

Usage: python bench/features.py --persons 1000000 [--years 6] [--runs 3] [--sample 5000]

Generates a synthetic world (features.synthetic.world.generate_world), drops its deliberately broken
rows (what validation would quarantine), writes events and persons to a temporary Parquet
directory and frees the world. Each timing then runs in a fresh worker process that reads the
events' feature columns, prepares them and builds the matrix; its resident set size is sampled
every 10 ms during the build, so the peak shown is that of a monthly job's feature stage (the
prepared events in memory plus the engine), not of the world generator. Times are medians over
``--runs`` workers; peaks are maxima.
The speed-up over the plain-pandas reference (features.reference) is measured on the events of
a random sample of ``--sample`` persons. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package features, not this script (also named features)

from features.build import FeatureSettings, build_matrix, prepare_events  # noqa: E402
from features.reference import reference_matrix  # noqa: E402
from features.synthetic.settings import SyntheticConfig  # noqa: E402
from features.synthetic.world import generate_world  # noqa: E402


def peak_gib() -> float:
    """Peak resident set size of this process so far, in GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def rss_gib() -> float:
    """Current resident set size of this process, in GiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**30


class PeakWatcher:
    """Samples the resident set size every 10 ms while the ``with`` block runs."""

    def __enter__(self) -> PeakWatcher:
        self.peak, self.running = rss_gib(), True
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()
        return self

    def _watch(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_gib())
            time.sleep(0.01)

    def __exit__(self, *exc: object) -> None:
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, rss_gib())


EVENT_COLUMNS = [
    "person_id",
    "event_type",
    "offence_code",
    "occurred_date",
    "recorded_date",
    "victim_id",
    "domestic",
    "weapon",
]
"""What the feature stage reads of the events (event_id and source_ref are for the officer pages)."""


def offences() -> pd.DataFrame:
    """The default offence catalogue with harm_q, as validation would return it."""
    table = pd.read_csv(ROOT / "configs" / "offences.csv")
    return table.assign(harm_q=np.round(table["harm_days"] * 4).astype(np.int64))


def panel_dates(as_of: pd.Timestamp, months: int) -> list[pd.Timestamp]:
    """``months`` monthly as-of dates ending at ``as_of``."""
    return [as_of - pd.DateOffset(months=m) for m in range(months - 1, -1, -1)]


def worker(data: Path, task: str, as_of: pd.Timestamp, threads: int) -> dict[str, float]:
    """Load and prepare the events, then build one task in this process; return the figures."""
    events = pd.read_parquet(data / "events.parquet", columns=EVENT_COLUMNS)
    persons = pd.read_parquet(data / "persons.parquet")
    t0 = time.perf_counter()
    prepared = prepare_events(events, offences())
    prepare_s = time.perf_counter() - t0
    del events
    gc.collect()
    dates = [as_of] if task == "date" else panel_dates(as_of, 12)
    loaded = rss_gib()
    with PeakWatcher() as watch:
        t0 = time.perf_counter()
        matrix = build_matrix(prepared, persons, dates, FeatureSettings(threads=threads))
        seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "prepare_s": prepare_s,
        "rows": len(matrix),
        "columns": matrix.shape[1] - 2,
        "matrix_gib": matrix.memory_usage(deep=False).sum() / 2**30,
        "loaded_gib": loaded,
        "build_peak_gib": watch.peak,
        "process_peak_gib": peak_gib(),
    }


def run_worker(data: Path, task: str, as_of: pd.Timestamp, threads: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--worker", task, "--data", str(data)]
    command += ["--as-of", as_of.date().isoformat(), "--threads", str(threads)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_world(args: argparse.Namespace, out: Path) -> tuple[pd.Timestamp, int]:
    """Generate the world, drop its broken rows, write events and persons; return the as-of date."""
    config = SyntheticConfig(persons=args.persons, years=args.years, seed=args.seed)
    t0 = time.perf_counter()
    world = generate_world(config, pd.read_csv(ROOT / "configs" / "offences.csv"))
    events = world.records["events"]
    events = events[~events["event_id"].isin(world.truth["bad_rows"]["event_id"])]
    print(
        f"world: {args.persons:,} persons, {args.years} years, {len(events):,} events "
        f"(generated in {time.perf_counter() - t0:.0f} s, generator peak {peak_gib():.1f} GiB)"
    )
    events.to_parquet(out / "events.parquet", index=False)
    world.records["persons"].to_parquet(out / "persons.parquet", index=False)
    return pd.Timestamp(config.end_date) + pd.Timedelta(days=1), len(events)


def speed_up(data: Path, as_of: pd.Timestamp, sample: int, runs: int, seed: int) -> list[str]:
    """Engine and reference on the events of a sample of persons: one date and the 12-month panel."""
    persons = pd.read_parquet(data / "persons.parquet")
    chosen = persons.sample(n=min(sample, len(persons)), random_state=seed)
    chosen_ids = [("person_id", "in", chosen["person_id"].tolist())]
    events = pd.read_parquet(data / "events.parquet", columns=EVENT_COLUMNS, filters=chosen_ids)
    prepared = prepare_events(events, offences())
    lines = []
    for label, dates in (("one date", [as_of]), ("12-month panel", panel_dates(as_of, 12))):
        fast, slow = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            engine = build_matrix(prepared, chosen, dates, FeatureSettings())
            fast.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        reference = reference_matrix(prepared, chosen, dates, FeatureSettings())
        slow.append(time.perf_counter() - t0)
        pd.testing.assert_frame_equal(engine, reference, check_exact=True)
        f, s = statistics.median(fast), statistics.median(slow)
        lines.append(
            f"| speed-up, {label} ({len(chosen):,} persons, {len(engine):,} rows) | engine {f:.2f} s, "
            f"reference {s:.1f} s: **{s / f:.0f}x** (identical output) |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=6)
    parser.add_argument("--seed", type=int, default=SyntheticConfig().seed)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per figure (the median is shown)")
    parser.add_argument("--sample", type=int, default=5_000, help="persons in the speed-up comparison")
    parser.add_argument("--threads", type=int, default=FeatureSettings().threads)
    parser.add_argument("--worker", choices=("date", "panel"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--as-of", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.data, args.worker, pd.Timestamp(args.as_of), args.threads)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        as_of, _ = write_world(args, data)
        gc.collect()
        print(
            f"as-of {as_of.date()}; panel {panel_dates(as_of, 12)[0].date()} .. {as_of.date()} (12 monthly "
            f"dates); DuckDB threads {args.threads}; median of {args.runs} runs, each in a fresh process\n"
        )
        print("| figure | value |\n|---|---|")
        for task, label, target in (("date", "one as-of date", 20), ("panel", "12-month panel", 180)):
            results = [run_worker(data, task, as_of, args.threads) for _ in range(args.runs)]
            seconds = statistics.median(r["seconds"] for r in results)
            first = results[0]
            each = ", ".join(f"{r['seconds']:.1f}" for r in results)
            print(f"| {label}: build time | **{seconds:.1f} s** (runs: {each}; target <= {target} s) |")
            print(
                f"| {label}: matrix | {first['rows']:,} rows x {first['columns']} features, "
                f"{first['matrix_gib']:.2f} GiB |"
            )
            peak = max(r["build_peak_gib"] for r in results)
            loaded = statistics.median(r["loaded_gib"] for r in results)
            print(
                f"| {label}: peak memory while building | **{peak:.2f} GiB** (target <= 8 GiB; "
                f"{loaded:.2f} GiB before the build: interpreter, libraries and the prepared events) |"
            )
        process = max(r["process_peak_gib"] for r in results)
        print(f"| worker process peak (reading Parquet included) | {process:.2f} GiB |")
        print(
            f"| prepare_events (once per run) | {statistics.median(r['prepare_s'] for r in results):.1f} s |"
        )
        for line in speed_up(data, as_of, args.sample, args.runs, args.seed):
            print(line)


if __name__ == "__main__":
    main()
