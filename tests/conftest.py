"""Shared fixtures: small hand-made tables in the validated-records layout."""

from __future__ import annotations

import os

# Before any test imports LightGBM: OpenMP threads that spin-wait are 10-20x slower on a shared machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from features.build import prepare_events
from features.records.schema import Records
from scoring.config import RunConfig, load_config
from scoring.defaults import CATALOGUE
from scoring.records import load_records
from tests.pgserver import available, throwaway_postgres

REPO = Path(__file__).resolve().parents[1]


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a throwaway PostgreSQL for the session; fails (does not skip) without PostgreSQL."""
    if not available():
        pytest.fail("PostgreSQL (/usr/lib/postgresql/*/bin/initdb) is needed: run `make postgres`")
    with throwaway_postgres() as url:
        yield url


@pytest.fixture
def offences() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "offence_code": pd.Series(["VSO02", "SHP01", "VSO06"], dtype="str"),
            "description": ["Violence with injury", "Shoplifting", "Rape offences"],
            "subgroup": ["Violence with injury", "Shoplifting", "Rape offences"],
            "category": ["Violence and sexual offences", "Shoplifting", "Violence and sexual offences"],
            "harm_days": [365.0, 1.0, 2555.0],
            "harm_q": pd.Series([1460, 4, 10220], dtype="int64"),
        }
    )


def make_events(rows: list[tuple[str, str, str | None, str, str]]) -> pd.DataFrame:
    """Events from (person_id, event_type, offence_code, occurred, recorded) tuples."""
    frame = pd.DataFrame(
        rows, columns=["person_id", "event_type", "offence_code", "occurred_date", "recorded_date"]
    )
    frame["event_id"] = [f"E{i:04d}" for i in range(len(frame))]
    for col in ("occurred_date", "recorded_date"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


@dataclass(frozen=True)
class DemoWorld:
    """The demo world (`make demo`'s settings: 50k persons, 6 years), validated and prepared."""

    records: Records
    events: pd.DataFrame
    config: RunConfig


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> DemoWorld:
    """`harmrank synth` with configs/synthetic.yaml, read and prepared as a run reads it (about 15 s)."""
    from typer.testing import CliRunner

    from scoring.cli import app

    out = tmp_path_factory.mktemp("demo-world")
    config = REPO / "configs" / "synthetic.yaml"
    result = CliRunner().invoke(app, ["synth", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    run_config = load_config(REPO / "configs" / "default.yaml")
    records, _ = load_records(out, run_config.validation, CATALOGUE)
    return DemoWorld(records, prepare_events(records.events, records.offences), run_config)
