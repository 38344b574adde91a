"""The monthly job at scale: time and peak memory of each stage, for worlds of 50k, 200k and 1M persons.

Usage: PYTHONPATH=. python bench/monthly.py [--sizes 50000 200000 1000000] [--repeats 3]
           [--modes full scoring] [--bench-dir data/bench] [--as-of 2026-11-01]
           [--config configs/default.yaml] [--set backtest.enabled=false ...] [--json out.json]

For each size it builds (once; reused later) a synthetic world of 6 years with ``harmrank synth`` in
``<bench-dir>/world-<size>/``, then runs the monthly job in a fresh process per repeat:

full
    what a retraining month does (``scoring.retrain: true``), on the month before ``--as-of``:
    records, features, backtest, equality audit, final fit, list, reports, MLflow (a store per size
    in the bench directory). The model it trains is made the store's champion.
scoring
    the next month, ``--as-of``, scored by that champion (``scoring.retrain: false``): a month in
    which nothing is retrained.

Each child process reports its stages' seconds (the job's own stage names) and its peak resident
memory (``ru_maxrss``) after each stage, so a stage's figure is the peak so far. The table gives the
median over repeats of the whole run, the backtest, the equality audit, the final fit and the peak;
then the scaling exponent b in time ~ persons^b between consecutive sizes. Asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package features, not its sibling script bench/features.py
COLUMNS = ("whole run", "validation", "features", "backtest", "equality audit", "final training", "writing")
STAGES = {  # the pipeline's stage names (scoring.pipeline, scoring.outputs) by their start
    "Validating records": "validation",
    "Building features": "features",
    "Backtesting": "backtest",
    "Auditing equality": "equality audit",
    "Training LightGBM": "final training",
    "Explaining the list": "writing",
    "Writing the": "writing",
}


def world(bench: Path, persons: int) -> Path:
    """The synthetic world of ``persons`` (built once with ``harmrank synth``)."""
    out = bench / f"world-{persons}"
    if not (out / "events.parquet").is_file():
        command = [sys.executable, "-c", "from scoring.cli import main; main()", "synth"]
        command += ["--persons", str(persons), "--years", "6", "--seed", "20261101", "--out", str(out)]
        start = time.perf_counter()
        subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        print(f"built {out} in {time.perf_counter() - start:.0f} s", flush=True)
    return out


def child(args: argparse.Namespace) -> None:
    """One monthly job in this process; prints one JSON line with the stages and peaks."""
    from datetime import date

    from scoring.config import load_config
    from scoring.outputs import write_run
    from scoring.pipeline import run_monthly
    from scoring.progress import Advance, QuietReporter

    class Measured(QuietReporter):
        def __init__(self) -> None:
            super().__init__()
            self.stages: list[dict[str, Any]] = []

        @contextmanager
        def stage(self, name: str, total: int | None = None) -> Iterator[Advance]:
            with super().stage(name, total) as advance:
                yield advance
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
            self.stages.append({"name": name, "seconds": self.timings[name], "peak_gib": peak})

    config = load_config(Path(args.config))
    updates = json.loads(args.updates)
    data = config.model_dump()
    for dotted, value in updates.items():
        node = data
        *parents, last = dotted.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    config = type(config).model_validate(data)
    reporter = Measured()
    start = time.perf_counter()
    result = run_monthly(config, date.fromisoformat(args.as_of), Path(args.data), reporter)
    write_run(result, config, Path(args.data), reporter)
    if config.tracking.enabled:
        from scoring.tracking import track_run

        with reporter.stage("Logging to MLflow"):
            track_run(result, config, config.runs_dir / args.as_of)
    whole = time.perf_counter() - start
    rows = len(result.current)
    del result
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps({"whole": whole, "peak_gib": peak, "stages": reporter.stages, "cohort": rows}))


def run_child(data: Path, runs: Path, config: Path, as_of: str, updates: dict[str, object]) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", "--data", str(data), "--runs", str(runs)]
    command += ["--config", str(config), "--as-of", as_of, "--updates", json.dumps(updates)]
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", PYTHONPATH=str(ROOT), MLFLOW_DISABLE_TELEMETRY="true")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the monthly job failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def columns(measured: dict[str, Any]) -> dict[str, float]:
    """Seconds per reported column, and the peak."""
    out = dict.fromkeys(COLUMNS, 0.0)
    out["whole run"] = measured["whole"]
    for stage in measured["stages"]:
        for start, column in STAGES.items():
            if stage["name"].startswith(start):
                out[column] += stage["seconds"]
    out["peak GiB"] = measured["peak_gib"]
    return out


def promote_latest(store: Path) -> None:
    """Make the store's newest registered version the champion (whatever the promotion rule says)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    uri = f"sqlite:///{store / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    versions = client.search_model_versions("name = 'harmrank'")
    newest = max(int(v.version) for v in versions)
    client.set_registered_model_alias("harmrank", "champion", str(newest))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 200_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", nargs="+", default=["full", "scoring"], choices=["full", "scoring"])
    parser.add_argument("--bench-dir", type=Path, default=ROOT / "data" / "bench")
    parser.add_argument("--as-of", default="2026-11-01")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "default.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON", help="config override")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--runs", help=argparse.SUPPRESS)
    parser.add_argument("--updates", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    args.bench_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[int, list[dict[str, float]]]] = {mode: {} for mode in args.modes}
    for persons in args.sizes:
        data = world(args.bench_dir, persons)
        events = _rows(data / "events.parquet")
        for repeat in range(args.repeats):
            with tempfile.TemporaryDirectory(dir=args.bench_dir) as tmp:
                runs, store = Path(tmp) / "runs", Path(tmp) / "mlflow"
                tracking = {
                    "tracking.uri": f"sqlite:///{store / 'mlflow.db'}",
                    "tracking.artifact_dir": str(store),
                }
                base = {"runs_dir": str(runs), "scoring.review_log": str(Path(tmp) / "reviews.sqlite")}
                for mode in args.modes:
                    updates = base | tracking | {"scoring.retrain": mode == "full"} | overrides
                    day = months_before(args.as_of) if mode == "full" else args.as_of
                    measured = run_child(data, runs, args.config, day, updates)
                    figures = columns(measured)
                    results[mode].setdefault(persons, []).append(figures)
                    shown = ", ".join(f"{k} {v:.1f}" for k, v in figures.items() if v)
                    print(
                        f"{persons:>9,} persons ({events:,} events) {mode} #{repeat + 1}: {shown}", flush=True
                    )
                    if mode == "full" and "scoring" in args.modes:
                        promote_latest(store)
    for mode, by_size in results.items():
        _table(mode, by_size, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def months_before(as_of: str) -> str:
    """The first of the month before ``as_of`` (YYYY-MM-DD)."""
    year, month = int(as_of[:4]), int(as_of[5:7])
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return f"{year:04d}-{month:02d}-01"


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def _table(mode: str, by_size: dict[int, list[dict[str, float]]], args: argparse.Namespace) -> None:
    names = [*COLUMNS, "peak GiB"]
    day = months_before(args.as_of) if mode == "full" else args.as_of
    print(f"\n{mode} month, as of {day} (median of {args.repeats}; seconds, peak resident GiB)")
    print(f"{'persons':>10}" + "".join(f"{n:>16}" for n in names))
    medians = {}
    for persons, runs in sorted(by_size.items()):
        medians[persons] = {n: statistics.median(r[n] for r in runs) for n in names}
        print(f"{persons:>10,}" + "".join(f"{medians[persons][n]:>16.1f}" for n in names))
    sizes = sorted(medians)
    for small, large in itertools.pairwise(sizes):
        ratio = math.log(large / small)
        exponents = {
            n: math.log(medians[large][n] / medians[small][n]) / ratio
            for n in ("whole run", "backtest", "equality audit", "final training")
            if medians[small][n] > 0 and medians[large][n] > 0
        }
        text = ", ".join(f"{n} {b:.2f}" for n, b in exponents.items())
        print(f"scaling exponent {small:,} -> {large:,}: {text}")


if __name__ == "__main__":
    main()
