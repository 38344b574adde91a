"""The `harmrank` command line: synth, validate, run, backtest, splits, promote, review, status.

User errors (bad records, bad config, bad options) print one message and exit with
status 2; only bugs show a traceback.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from features.errors import HarmrankError, PipelineError, TooManyBadRows
from scoring.cli_review import review, status

if TYPE_CHECKING:  # the heavy modules load inside the commands that need them
    import pandas as pd

    from scoring.config import RunConfig
    from scoring.pipeline import RunResult
    from scoring.tracking import Tracked

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="harmrank: an advisory, explained and audited top-k list of people most likely "
    "to cause serious harm, from a force's records.",
)
console = Console(stderr=False)
err_console = Console(stderr=True)

DEFAULT_CONFIG = Path("configs/default.yaml")
DEFAULT_SYNTH_CONFIG = Path("configs/synthetic.yaml")


def _parse_date(value: str, option: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-01", param_hint=option
        ) from None


def _table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for name, value in rows:
        table.add_row(name, value)
    return table


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="Directory to write the records (and truth/) into.")] = Path(
        "data/world"
    ),
    persons: Annotated[int | None, typer.Option(help="Number of persons (overrides the config).")] = None,
    years: Annotated[int | None, typer.Option(help="Years of records (overrides the config).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (overrides the config).")] = None,
    recording_bias: Annotated[
        float | None, typer.Option(help="Recording bias for the bias group; 0 = none.")
    ] = None,
    config: Annotated[Path, typer.Option(help="Synthetic-world settings (YAML).")] = DEFAULT_SYNTH_CONFIG,
    offences: Annotated[Path, typer.Option(help="Offence catalogue the world draws from.")] = Path(
        "configs/offences.csv"
    ),
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
) -> None:
    """Generate a synthetic police-records world (records plus ground truth in truth/)."""
    import pandas as pd

    from features.synthetic.settings import SyntheticConfig
    from features.synthetic.summary import summarise_world
    from features.synthetic.world import generate_world
    from scoring.config import load_model
    from scoring.io import write_json, write_table

    if fmt not in ("parquet", "csv"):
        raise typer.BadParameter(f"{fmt!r}: use parquet or csv", param_hint="--format")
    settings = load_model(config, SyntheticConfig) if config.is_file() else SyntheticConfig()
    overrides = {"persons": persons, "years": years, "seed": seed, "recording_bias": recording_bias}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    settings = SyntheticConfig.model_validate(settings.model_dump())
    start = time.perf_counter()
    with console.status(f"Generating {settings.persons:,} persons over {settings.years} years"):
        world = generate_world(settings, pd.read_csv(offences))
    with console.status(f"Writing to {out}"):
        for name, frame in world.records.items():
            write_table(frame, out / f"{name}.{fmt}")
        for name, frame in world.truth.items():
            write_table(frame, out / "truth" / f"{name}.parquet")
        figures = summarise_world(world)
        write_json(
            {"config": settings.model_dump(mode="json"), "figures": figures}, out / "truth" / "world.json"
        )
    rows = [(f"{name} rows", f"{len(frame):,}") for name, frame in world.records.items()]
    rows += [
        (name, f"{value:.3f}" if isinstance(value, float) else str(value)) for name, value in figures.items()
    ]
    rows.append(("seconds", f"{time.perf_counter() - start:.1f}"))
    console.print(_table(f"Synthetic world written to {out}", rows))


@app.command()
def validate(
    data: Annotated[Path, typer.Argument(help="Records directory (persons, events, offences, protected).")],
    config: Annotated[Path, typer.Option(help="Run configuration (YAML).")] = DEFAULT_CONFIG,
    quarantine: Annotated[
        Path | None, typer.Option(help="Also write the quarantined rows to DIR/quarantine/<table>.csv.")
    ] = None,
) -> None:
    """Check a records directory against the data contract and report what would be quarantined."""
    from scoring.config import load_config
    from scoring.records import load_records, validation_table, write_quarantine

    cfg = load_config(config)
    with console.status(f"Validating {data}"), _keep_rejected_rows(quarantine):
        _, report = load_records(data, cfg.validation, cfg.offences)
    console.print(validation_table(report))
    if quarantine is not None:
        written = write_quarantine(report, quarantine)
        console.print(f"Quarantined rows: {len(written)} file(s) in {quarantine / 'quarantine'}")


@contextmanager
def _keep_rejected_rows(where: Path | None) -> Iterator[None]:
    """When a table has too many bad rows, write those found so far to ``where`` before failing."""
    from scoring.records import write_quarantine

    try:
        yield
    except TooManyBadRows as exc:
        if where is not None and exc.report is not None:
            write_quarantine(exc.report, where)
            raise TooManyBadRows(f"{exc}\nThe bad rows found are in {where / 'quarantine'}.") from None
        raise


@app.command()
def run(
    as_of: Annotated[
        str,
        typer.Option("--as-of", help="The as-of date, YYYY-MM-DD: nothing recorded on or after it is used."),
    ],
    config: Annotated[Path, typer.Option(help="Run configuration (YAML).")] = DEFAULT_CONFIG,
    data: Annotated[
        Path | None, typer.Option(help="Records directory (default: data_dir in the config).")
    ] = None,
) -> None:
    """Run the monthly job for one as-of date and write runs/<DATE>/."""
    from scoring.config import load_config
    from scoring.outputs import ADVISORY, summary_rows, write_run
    from scoring.pipeline import run_monthly
    from scoring.progress import RichReporter
    from scoring.records import validation_table

    day = _parse_date(as_of, "--as-of")
    cfg = load_config(config)
    data_dir = data or cfg.data_dir
    start = time.perf_counter()
    with _keep_rejected_rows(cfg.runs_dir / f"{day.isoformat()}.rejected"):
        result = run_monthly(cfg, day, data_dir, RichReporter(console))
    run_dir, listing = write_run(result, cfg, data_dir)
    tracked = _track(result, cfg, run_dir)
    console.print(validation_table(result.validation))
    console.print(_top_table(listing.listed.head(10)))
    rows = [
        *summary_rows(result, listing, cfg.output.k),
        ("seconds", f"{time.perf_counter() - start:.1f}"),
    ]
    console.print(_table("Run summary", rows))
    console.print(f"[bold]{ADVISORY}[/bold]")
    console.print(
        f"List: {run_dir / 'top100.csv'}\nManifest: {run_dir / 'manifest.json'}\n"
        f"Model report: {run_dir / 'model.html'}\n"
        f"Officer report: [bold]{run_dir / 'report' / 'index.html'}[/bold]"
    )
    if result.equality is not None:
        release = result.equality.release
        console.print(f"Equality report: [bold]{run_dir / 'equality.html'}[/bold] ({release})")
    if tracked is not None:
        registered = f", registered as version {tracked.version} (alias candidate)" if tracked.version else ""
        console.print(f"MLflow run {tracked.run_id}{registered}; `harmrank promote` checks it against V100.")


def _top_table(top: pd.DataFrame) -> Table:
    table = Table(title="Top 10 (the full list: top100.csv and the officer report)")
    for col in ("rank", "person", "probability (band)", "V100", "status", "first reason"):
        table.add_column(col, justify="left" if col in ("person", "first reason") else "right")
    for row in top.itertuples(index=False):
        status = row.status if row.status != "stayed" else f"stayed ({row.rank_change:+d})"
        table.add_row(
            str(row.rank),
            str(row.person_id),
            f"{row.probability:.3f} ({row.probability_lo:.2f}-{row.probability_hi:.2f})",
            f"{row.v100_score:,.0f}",
            status,
            str(row.reason_1),
        )
    return table


def _track(result: RunResult, cfg: RunConfig, run_dir: Path) -> Tracked | None:
    from scoring.io import write_json
    from scoring.tracking import track_run

    with console.status("Logging to MLflow"):
        tracked = track_run(result, cfg, run_dir)
    if tracked is not None:  # beside the run, not in it: the run's own files stay byte-identical
        write_json(
            {"run_id": tracked.run_id, "registered_version": tracked.version, "uri": cfg.tracking.uri},
            run_dir / "mlflow.json",
        )
    return tracked


@app.command()
def promote(
    config: Annotated[Path, typer.Option(help="Run configuration (YAML): where the registry is.")] = (
        DEFAULT_CONFIG
    ),
    version: Annotated[
        int | None, typer.Option(help="Registered version to promote (default: the candidate).")
    ] = None,
) -> None:
    """Make the candidate the champion if it beats V100 on precision@100 and harm captured@100.

    Exits 1 with the reasons when the model is refused.
    """
    from models.registry import promote as promote_version
    from scoring.config import load_config

    cfg = load_config(config)
    with console.status("Checking the candidate"):
        outcome = promote_version(cfg.tracking, version)
    colour = "green" if outcome.promoted else "red"
    verdict = "promoted to champion" if outcome.promoted else "refused"
    console.print(f"[bold {colour}]Version {outcome.version}: {verdict}[/bold {colour}]")
    for reason in outcome.reasons:
        console.print(f"  - {reason}")
    console.print(f"Rule: {outcome.rule}")
    if any(reason.startswith("release blocked") for reason in outcome.reasons):
        console.print(
            "The equality gate blocked this run. Fix the model, or have an equality reviewer record an "
            "accepted breach (fairness.gate.accepted, with the reason; docs/equality-audit.md) and run again."
        )
    if not outcome.promoted:
        raise typer.Exit(1)


@app.command()
def splits(
    as_of: Annotated[str, typer.Option("--as-of", help="The run's as-of date, YYYY-MM-DD.")],
    config: Annotated[Path, typer.Option(help="Run configuration (YAML).")] = DEFAULT_CONFIG,
    data: Annotated[
        Path | None, typer.Option(help="Records directory (default: data_dir in the config).")
    ] = None,
) -> None:
    """Print the backtest's split table and this run's own training split, without training."""
    import pandas as pd

    from models.splits import split_table
    from scoring.config import load_config
    from scoring.pipeline import plan_splits
    from scoring.records import load_records

    day = _parse_date(as_of, "--as-of")
    cfg = load_config(config)
    with console.status("Reading records"):
        records, _ = load_records(data or cfg.data_dir, cfg.validation, cfg.offences)
    known = records.events[records.events["recorded_date"] < pd.Timestamp(day)]
    if known.empty:
        raise PipelineError(f"no event was recorded before {day}; choose a later --as-of")
    backtest_splits, production, skipped = plan_splits(pd.Timestamp(day), cfg, known["occurred_date"].min())
    if backtest_splits:
        title = f"Backtest: {len(backtest_splits)} test months"
        console.print(_frame_table(split_table(backtest_splits), title))
        months = ", ".join(s.test.date().isoformat() for s in backtest_splits)
        console.print(f"Test months: {months}")
    else:
        console.print(f"[yellow]No backtest:[/yellow] {skipped}")
    if production is not None:
        console.print(_frame_table(split_table([production]), f"This run's model (scores {day})"))
    console.print(
        "Rule: a split trains only on as-of dates whose whole label horizon ends on or before its "
        "test date; early stopping and calibration use later dates than training."
    )


def _frame_table(frame: pd.DataFrame, title: str) -> Table:
    """A rich table of ``frame``, leaving out columns with no value in any row."""
    frame = frame.loc[:, [c for c in frame.columns if frame[c].map(lambda v: v not in (None, "")).any()]]
    frame = frame.rename(columns=lambda c: str(c).replace("_from", " from").replace("_to", " to"))
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(str(col), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(*["" if v is None or v != v else str(v) for v in row])
    return table


def _columns(values: list[str] | None) -> list[str]:
    """Repeated or comma-separated column names, in order, without duplicates."""
    names = [part.strip() for value in values or [] for part in value.split(",")]
    return list(dict.fromkeys(n for n in names if n))


HEADLINE = ("precision@100", "recall@100", "harm_captured@100", "auc_roc", "average_precision", "brier")


@app.command()
def backtest(
    matrix: Annotated[Path, typer.Option(help="Person-level feature matrix (.parquet or .csv).")],
    label: Annotated[str, typer.Option(help="0/1 outcome column.")],
    harm: Annotated[
        str | None, typer.Option(help="Future CCHI harm column (days), if the table has one.")
    ] = None,
    protected: Annotated[
        list[str] | None, typer.Option(help="Protected-characteristic columns: kept aside, never features.")
    ] = None,
    baseline: Annotated[
        list[str] | None, typer.Option(help="A score column to rank by as a further baseline (repeatable).")
    ] = None,
    ignore: Annotated[list[str] | None, typer.Option(help="Columns to leave out altogether.")] = None,
    out: Annotated[Path, typer.Option(help="Directory for metrics.json and predictions.parquet.")] = Path(
        "backtest"
    ),
    config: Annotated[Path, typer.Option(help="Run configuration (YAML).")] = DEFAULT_CONFIG,
) -> None:
    """Backtest LightGBM on any table meeting the feature-matrix contract."""
    from scoring.backtesting import backtest_matrix
    from scoring.config import load_config

    cfg = load_config(config)
    with console.status(f"Backtesting {matrix}"):
        result, document = backtest_matrix(
            matrix,
            label,
            cfg,
            out,
            harm=harm,
            protected=_columns(protected),
            baselines=_columns(baseline),
            ignore=_columns(ignore),
        )
    for note in document["notes"]:
        console.print(f"[yellow]note:[/yellow] {note}")
    table = Table(title=f"Pooled over {len(result.splits)} test split(s), 95% intervals")
    table.add_column("model")
    for metric in HEADLINE:
        table.add_column(metric, justify="right")
    for model, figures in document["models"].items():
        cells = []
        for metric in HEADLINE:
            f = figures.get(metric)
            cells.append("-" if not f or f["value"] is None else _interval_text(f))
        table.add_row(model, *cells)
    console.print(table)
    chosen = document["selection"]
    console.print(f"Chosen: [bold]{chosen['chosen']}[/bold] (mean regret {chosen['mean_regret']:.4f})")
    console.print(f"Metrics: {out / 'metrics.json'}")


app.command()(review)
app.command()(status)


def _interval_text(figure: dict[str, float | None]) -> str:
    if figure["lo"] is None:
        return f"{figure['value']:.3f}"
    return f"{figure['value']:.3f} ({figure['lo']:.3f}-{figure['hi']:.3f})"


def main() -> None:
    """Entry point: run the app, turning user errors into one clear message."""
    logging.basicConfig(level=os.environ.get("HARMRANK_LOG", "WARNING"), format="%(levelname)s %(message)s")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # OpenMP threads that spin while waiting make LightGBM 10-20x slower whenever another process
    # shares the two cores (measured); passive waiting costs nothing when the machine is idle.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        app()
    except HarmrankError as exc:
        err_console.print(f"[bold red]harmrank:[/bold red] {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
