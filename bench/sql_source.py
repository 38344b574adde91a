"""Reading the records from a database against reading them from Parquet: time and peak memory.

Usage: PYTHONPATH=. python bench/sql_source.py [--world data/world] [--repeats 3] [--url URL]
                                              [--whole-run 2026-11-01 [--run-repeats 1]]

Copies the world's tables into PostgreSQL (a throwaway server from ``tests.pgserver`` unless
``--url`` names an empty database) under other table and column names, as a force's would be, with
dates as DATE columns and harm as NUMERIC, then times ``load_records`` (reading plus validation) from
the Parquet files and from the database, ``--repeats`` times each, and prints the median, the rows
per second and the peak memory the reading added (tracemalloc: Python and Arrow allocations that go
through Python's allocator are counted; numpy and Arrow buffers largely are not, so the figure is
indicative). With ``--whole-run DATE`` it also times the whole monthly job (``run_monthly``: records,
features, backtest, training, audit and list, with configs/default.yaml and MLflow off, nothing
written) from each source, and says whether the two lists are identical. Asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from features.records.schema import TABLES, ValidationSettings  # noqa: E402
from scoring.config import RunConfig, SourceSettings, load_config  # noqa: E402
from scoring.records import load_records  # noqa: E402

NAMES = {
    "persons": "nominal",
    "events": "occurrence",
    "offences": "offence_ref",
    "protected": "equality_data",
}
COLUMNS = {
    "persons": {"person_id": "nominal_ref", "birth_date": "dob"},
    "events": {"event_id": "occ_id", "person_id": "nominal_ref", "occurred_date": "committed_on"},
    "offences": {"offence_code": "ho_class", "harm_days": "cchi_days"},
    "protected": {"person_id": "nominal_ref"},
}


def copy_world(url: str, world: Path, schema: str = "crime") -> int:
    """The world's tables in ``schema`` under the force-like names (COPY, as CSV); returns the rows."""
    engine = sa.create_engine(url)
    rows = 0
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    for name, table in NAMES.items():
        frame = pd.read_parquet(world / f"{name}.parquet").rename(columns=COLUMNS[name])
        dates = {c: sa.Date for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])}
        numbers = {c: sa.Numeric(10, 2) for c in frame.columns if frame[c].dtype == "float64"}
        frame.head(0).to_sql(table, engine, schema=schema, index=False, dtype={**dates, **numbers})
        text = io.StringIO()
        frame.to_csv(text, index=False, header=False, date_format="%Y-%m-%d")
        quoted = ", ".join(f'"{c}"' for c in frame.columns)
        raw = engine.raw_connection()
        try:
            driver = raw.driver_connection  # psycopg's own connection, for COPY
            assert driver is not None
            statement = f"COPY {schema}.{table} ({quoted}) FROM STDIN (FORMAT CSV)"
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                copy.write(text.getvalue())
            raw.commit()
        finally:
            raw.close()
        rows += len(frame)
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    return rows


def timed(read, repeats: int) -> tuple[float, list[float], int]:
    """Median seconds over ``repeats`` reads, every time, and the events read."""
    times, events = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        records, _ = read()
        times.append(time.perf_counter() - start)
        events = len(records.events)
        del records
    return statistics.median(times), times, events


def peak_mib(read) -> float:
    import tracemalloc

    tracemalloc.start()
    read()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


@contextlib.contextmanager
def database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from tests.pgserver import throwaway_postgres

    with throwaway_postgres() as started:
        yield started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--world", type=Path, default=ROOT / "data" / "world")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--url", help="an empty PostgreSQL database (default: a throwaway server)")
    parser.add_argument("--chunk-rows", type=int, default=SourceSettings().chunk_rows)
    parser.add_argument("--whole-run", metavar="DATE", help="also time the whole monthly job for this as-of")
    parser.add_argument("--run-repeats", type=int, default=1, help="whole runs per source")
    args = parser.parse_args()
    settings = ValidationSettings(max_bad_share=1.0)
    offences = RunConfig().offences
    source = SourceSettings(
        tables={n: f"crime.{t}" for n, t in NAMES.items()}, columns=COLUMNS, chunk_rows=args.chunk_rows
    )
    with database(args.url) as url:
        start = time.perf_counter()
        rows = copy_world(url, args.world)
        took = time.perf_counter() - start
        print(f"copied {rows:,} rows of {', '.join(TABLES)} into PostgreSQL in {took:.1f} s")
        runs = {
            "parquet": lambda: load_records(args.world, settings, offences),
            "postgresql": lambda: load_records(url, settings, offences, source),
        }
        print(f"{'source':<12}{'median s':>10}{'events/s':>12}{'peak MiB':>10}  runs (s)")
        for label, read in runs.items():
            median, times, events = timed(read, args.repeats)
            peak = peak_mib(read)
            listed = ", ".join(f"{t:.2f}" for t in times)
            print(f"{label:<12}{median:>10.2f}{events / median:>12,.0f}{peak:>10.0f}  {listed}")
        if args.whole_run:
            whole_runs(args, url, source)


def whole_runs(args: argparse.Namespace, url: str, source: SourceSettings) -> None:
    """The whole monthly job from Parquet and from the database: seconds each, and the lists compared."""
    from scoring.pipeline import run_monthly

    config = load_config(ROOT / "configs" / "default.yaml")
    config = config.model_copy(
        update={"source": source, "tracking": config.tracking.model_copy(update={"enabled": False})}
    )
    as_of = pd.Timestamp(args.whole_run).date()
    lists: dict[str, pd.DataFrame] = {}
    print(f"\nwhole run for {as_of} ({config.output.k} listed; MLflow off, nothing written)")
    print(f"{'source':<12}{'median s':>10}  runs (s)")
    for label, where in (("parquet", args.world), ("postgresql", url)):
        times = []
        for _ in range(args.run_repeats):
            start = time.perf_counter()
            result = run_monthly(config, as_of, where)
            times.append(time.perf_counter() - start)
            lists[label] = result.top(config.output.k)[["person_id", "score"]].reset_index(drop=True)
            del result
        listed = ", ".join(f"{t:.1f}" for t in times)
        print(f"{label:<12}{statistics.median(times):>10.1f}  {listed}")
    same = lists["parquet"].equals(lists["postgresql"])
    print(f"the two lists are {'identical' if same else 'DIFFERENT'} (person_id and score, in order)")


if __name__ == "__main__":
    main()
