"""`harmrank synth` and `harmrank validate`: a synthetic world, and records (a directory or a database)
checked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from features.errors import TooManyBadRows
from scoring.cli.common import (
    DEFAULT_CONFIG,
    DEFAULT_OFFENCES,
    DEFAULT_SYNTH_CONFIG,
    config_option,
    console,
    facts_table,
    open_config,
    packaged,
)
from scoring.terminal import safe


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
    offences: Annotated[
        Path, typer.Option(help="Offence catalogue the world draws from (default: harmrank's own).")
    ] = DEFAULT_OFFENCES,
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
    from scoring.defaults import CATALOGUE, SYNTHETIC_CONFIG

    settings = load_model(packaged(config, DEFAULT_SYNTH_CONFIG, SYNTHETIC_CONFIG), SyntheticConfig)
    offences = packaged(offences, DEFAULT_OFFENCES, CATALOGUE)
    overrides = {"persons": persons, "years": years, "seed": seed, "recording_bias": recording_bias}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    settings = SyntheticConfig.model_validate(settings.model_dump())
    start = time.perf_counter()
    with console.status(f"Generating {settings.persons:,} persons over {settings.years} years"):
        world = generate_world(settings, pd.read_csv(offences))
    with console.status(f"Writing to {safe(out)}"):
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
    console.print(facts_table(f"Synthetic world written to {safe(out)}", rows))


def validate(
    data: Annotated[
        str,
        typer.Argument(
            help="Records directory (persons, events, offences, protected), or a database URL "
            "(tables and columns mapped by source in the config)."
        ),
    ],
    config: Annotated[Path, config_option(help="Run configuration (YAML).")] = DEFAULT_CONFIG,
    quarantine: Annotated[
        Path | None, typer.Option(help="Also write the quarantined rows to DIR/quarantine/<table>.csv.")
    ] = None,
) -> None:
    """Check a records directory or database against the data contract and report what would be
    quarantined."""
    from scoring.records import (
        has_death_records,
        load_death_records,
        load_records,
        records_at,
        shown,
        validation_table,
        write_quarantine,
    )

    cfg = open_config(config)
    where = records_at(data)
    with console.status(f"Validating {safe(shown(where))}"), keep_rejected_rows(quarantine):
        _, report = load_records(where, cfg.validation, cfg.offences, cfg.source)
        deaths = None
        if has_death_records(where):  # the deaths job's tables
            _, deaths = load_death_records(where, cfg.validation, cfg.source)
    console.print(validation_table(report))
    if deaths is not None:
        console.print(validation_table(deaths))
    if quarantine is not None:
        written = write_quarantine(report, quarantine)
        if deaths is not None:
            written |= write_quarantine(deaths, quarantine)
        console.print(
            f"Quarantined rows: {len(written)} file(s) in {safe(quarantine / 'quarantine')}", highlight=False
        )


@contextmanager
def keep_rejected_rows(where: Path | None) -> Iterator[None]:
    """When a table has too many bad rows, write those found so far to ``where`` before failing."""
    from features.records.schema import ValidationReport
    from scoring.records import write_quarantine

    try:
        yield
    except TooManyBadRows as exc:
        # the validator attaches its ValidationReport, or nothing
        if where is not None and isinstance(exc.report, ValidationReport):
            write_quarantine(exc.report, where)
            raise TooManyBadRows(f"{exc}\nThe bad rows found are in {where / 'quarantine'}.") from None
        raise
