"""`harmrank splits` and `harmrank backtest`: the month splits of a run, and a backtest of any
table that meets the feature-matrix contract."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from features.errors import PipelineError
from scoring.cli.common import DEFAULT_CONFIG, config_option, console, open_config, parse_date
from scoring.terminal import plain, safe

if TYPE_CHECKING:
    import pandas as pd


def splits(
    as_of: Annotated[str, typer.Option("--as-of", help="The run's as-of date, YYYY-MM-DD.")],
    config: Annotated[Path, config_option(help="Run configuration (YAML).")] = DEFAULT_CONFIG,
    data: Annotated[
        str | None,
        typer.Option(
            help="Records directory, or a database URL (tables and columns mapped by source in the "
            "config); default: data_dir in the config."
        ),
    ] = None,
) -> None:
    """Print the backtest's split table and this run's own training split, without training."""
    import pandas as pd

    from models.splits import split_table
    from scoring.pipeline import check_as_of, plan_splits
    from scoring.records import load_records, records_at, shown

    day = parse_date(as_of, "--as-of")
    cfg = open_config(config)
    where = records_at(data) if data else cfg.data_dir
    with console.status(f"Reading records from {safe(shown(where))}"):
        records, _ = load_records(where, cfg.validation, cfg.offences, cfg.source)
    check_as_of(records.events, pd.Timestamp(day), where)
    known = records.events[records.events["recorded_date"] < pd.Timestamp(day)]
    if known.empty:
        raise PipelineError(f"no event was recorded before {day}; choose a later --as-of")
    backtest_splits, production, skipped = plan_splits(pd.Timestamp(day), cfg, known["occurred_date"].min())
    if backtest_splits:
        title = f"Backtest: {len(backtest_splits)} test months"
        console.print(_frame_table(split_table(backtest_splits), title))
        months = ", ".join(s.test.date().isoformat() for s in backtest_splits)
        console.print(f"Test months: {months}", highlight=False)
    else:
        console.print(f"[yellow]No backtest:[/yellow] {safe(skipped)}", highlight=False)
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
        table.add_column(plain(col), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(*[plain("" if v is None or v != v else v) for v in row])
    return table


def _columns(values: list[str] | None) -> list[str]:
    """Repeated or comma-separated column names, in order, without duplicates."""
    names = [part.strip() for value in values or [] for part in value.split(",")]
    return list(dict.fromkeys(n for n in names if n))


HEADLINE = ("precision@100", "recall@100", "harm_captured@100", "auc_roc", "average_precision", "brier")


def backtest(
    matrix: Annotated[Path, typer.Option(help="Person-level feature matrix (.parquet or .csv).")],
    label: Annotated[str, typer.Option(help="0/1 outcome column.")],
    harm: Annotated[
        str | None, typer.Option(help="Future CCHI harm column (days), if the table has one.")
    ] = None,
    protected: Annotated[
        list[str] | None,
        typer.Option(
            help="Protected-characteristic columns: kept aside, never features; the equality audit and the "
            "proxy audit of the table's features run on them."
        ),
    ] = None,
    baseline: Annotated[
        list[str] | None,
        typer.Option(
            help="A score column to rank by as a further baseline (repeatable); rows without a number are "
            "ranked last and counted in the notes."
        ),
    ] = None,
    ignore: Annotated[list[str] | None, typer.Option(help="Columns to leave out altogether.")] = None,
    out: Annotated[Path, typer.Option(help="Directory for metrics.json and predictions.parquet.")] = Path(
        "backtest"
    ),
    config: Annotated[Path, config_option(help="Run configuration (YAML).")] = DEFAULT_CONFIG,
) -> None:
    """Backtest LightGBM on any table meeting the feature-matrix contract (a small table's model
    settings are chosen inside each split: backtest.small_table)."""
    from scoring.backtesting import backtest_matrix

    cfg = open_config(config)
    with console.status(f"Backtesting {safe(matrix)}"):
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
        console.print(f"[yellow]note:[/yellow] {safe(note)}", highlight=False)
    table = Table(title=f"Pooled over {len(result.splits)} test split(s), 95% intervals")
    table.add_column("model")
    for metric in HEADLINE:
        table.add_column(metric, justify="right")
    for model, figures in document["models"].items():
        cells = []
        for metric in HEADLINE:
            f = figures.get(metric)
            cells.append("-" if not f or f["value"] is None else _interval_text(f))
        table.add_row(plain(model), *cells)
    console.print(table)
    chosen = document["selection"]
    console.print(
        f"Chosen: [bold]{safe(chosen['chosen'])}[/bold] (mean regret {chosen['mean_regret']:.4f})",
        highlight=False,
    )
    settings = _settings_chosen(document["tuning"], chosen["chosen"])
    if settings:
        console.print(f"Its settings, chosen inside each split: {safe(settings)}", highlight=False)
    proxies = document.get("proxies")
    if proxies and proxies["flagged_features"]:
        console.print(
            f"[yellow]Proxy audit:[/yellow] features that carry a protected characteristic: "
            f"{safe(', '.join(proxies['flagged_features']))} (equality.html)",
            highlight=False,
        )
    console.print(f"Metrics: {safe(out / 'metrics.json')}", highlight=False)


def _settings_chosen(tuning: list[dict], candidate: str) -> str:
    """``num_leaves 4, min_child_samples 20 in 3 of 5 splits; ...`` for one candidate, or empty."""
    chosen = [row["setting"] for row in tuning if row["candidate"] == candidate and row["chosen"]]
    counts = {setting: chosen.count(setting) for setting in dict.fromkeys(chosen)}
    return "; ".join(f"{setting} in {n} of {len(chosen)} splits" for setting, n in counts.items())


def _interval_text(figure: dict[str, float | None]) -> str:
    if figure["lo"] is None:
        return f"{figure['value']:.3f}"
    return f"{figure['value']:.3f} ({figure['lo']:.3f}-{figure['hi']:.3f})"
