"""Runs that survive kills, clashes and odd settings, and personal data kept owner-only."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fairness.groups import attach_groups
from fairness.settings import FairnessSettings
from features.errors import ConfigError, PipelineError
from features.synthetic.settings import SyntheticConfig
from features.synthetic.world import generate_world
from models.registry import TrackingSettings
from scoring.cli import app
from scoring.config import RunConfig, load_config
from scoring.io import RunLocked, private_dir, run_lock, write_csv, write_json, write_table, write_text
from scoring.pipeline import check_as_of, latest_as_of, run_monthly
from scoring.records import load_records, write_quarantine
from scoring.tracking import secure_store
from tests.scoring.test_records import DEFAULT_OFFENCES, EVENTS, PERSONS, PROTECTED, SETTINGS, make_dir

REPO = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 persons over 4 years to 2026-10-31, written as Parquet records."""
    world = generate_world(
        SyntheticConfig(persons=600, years=4, seed=3), pd.read_csv(REPO / "configs" / "offences.csv")
    )
    folder = tmp_path_factory.mktemp("world")
    for name, frame in world.records.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def config(tmp_path: Path, **output: int) -> RunConfig:
    cfg = load_config(REPO / "configs" / "default.yaml")
    return cfg.model_copy(
        update={
            "runs_dir": tmp_path / "runs",
            "tracking": cfg.tracking.model_copy(update={"enabled": False}),
            "output": cfg.output.model_copy(update=output),
        }
    )


# ------------------------------------------------------------------ clashes and kills


def test_a_second_run_of_the_same_date_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    with run_lock(tmp_path, "2026-11-01"):
        with (
            pytest.raises(
                RunLocked, match=rf"another harmrank run for 2026-11-01 is writing .*pid {os.getpid()}"
            ),
            run_lock(tmp_path, "2026-11-01"),
        ):
            pass
        with run_lock(tmp_path, "2026-12-01"):  # another date is free
            pass
    with run_lock(tmp_path, "2026-11-01") as tidied:  # released when the first ended
        assert tidied == []
    assert mode(tmp_path / ".2026-11-01.lock") == 0o600


def test_staging_left_by_a_killed_run_is_cleaned_and_a_set_aside_run_put_back(tmp_path: Path) -> None:
    (tmp_path / ".2026-11-01.partial-abc123" / "report").mkdir(parents=True)
    (tmp_path / ".2026-11-01.partial-abc123" / "top100.csv").write_text("person_id\nP1\n")
    kept = tmp_path / ".2026-11-01.old-xyz789" / "2026-11-01"
    kept.mkdir(parents=True)
    (kept / "manifest.json").write_text("{}")
    (tmp_path / ".2026-12-01.partial-zzz").mkdir()  # another date's: not this run's to touch
    with run_lock(tmp_path, "2026-11-01") as tidied:
        pass
    assert (tmp_path / "2026-11-01" / "manifest.json").is_file()  # the earlier run, put back
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".2026-11")) == [".2026-11-01.lock"]
    assert (tmp_path / ".2026-12-01.partial-zzz").is_dir()
    assert len(tidied) == 3 and tidied[0].startswith("put back")
    assert "removed .2026-11-01.partial-abc123" in tidied[2]


# ------------------------------------------------------------------ odd dates and settings


def test_an_as_of_date_after_the_records_is_refused_naming_the_latest(
    tmp_path: Path, small_world: Path
) -> None:
    cfg = config(tmp_path)
    events = load_records(small_world, cfg.validation, cfg.offences)[0].events
    latest = latest_as_of(events)
    assert latest == events["recorded_date"].max().normalize() + pd.Timedelta(days=1)
    check_as_of(events, latest, small_world)  # the latest supported date itself is fine
    with pytest.raises(PipelineError, match=rf"the latest as-of date is {latest.date()}"):
        run_monthly(cfg, date(2027, 6, 1), small_world)


def test_a_list_longer_than_the_cohort_is_refused_before_training(tmp_path: Path, small_world: Path) -> None:
    with pytest.raises(
        PipelineError, match=r"output.k is 5,000, but the cohort at 2026-11-01 holds [\d,]+ people"
    ):
        run_monthly(config(tmp_path, k=5000), date(2026, 11, 1), small_world)
    assert not (tmp_path / "runs").exists()  # nothing written


@pytest.mark.parametrize("k", [1, 50, 100, 250])
def test_any_list_length_is_evaluated_by_the_backtest(tmp_path: Path, k: int) -> None:
    path = tmp_path / "k.yaml"
    path.write_text(f"output:\n  k: {k}\n", encoding="utf-8")
    cfg = load_config(path)
    assert k in cfg.backtest.evaluation.ks and cfg.backtest.evaluation.ks == sorted(
        set(cfg.backtest.evaluation.ks)
    )
    assert {100, 500, 1000} <= set(cfg.backtest.evaluation.ks)


def test_a_key_written_twice_in_the_config_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("seed: 1\noutput:\n  k: 50\n  score_decimals: 6\n  k: 100\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"the key 'k' appears twice \(lines 3 and 5\)"):
        load_config(path)


def test_a_protected_age_band_column_gives_way_to_bands_from_birth_dates(tmp_path: Path) -> None:
    protected = PROTECTED.replace("person_id,sex,ethnicity", "person_id,sex,ethnicity,age_band")
    protected = protected.replace("White\n", "White,65+\n").replace("Black\n", "Black,65+\n")
    data = make_dir(tmp_path, persons__csv=PERSONS, events__csv=EVENTS, protected__csv=protected)
    records, report = load_records(data, SETTINGS, DEFAULT_OFFENCES)
    assert any("has its own age_band column. The equality audit ignores it" in w for w in report.warnings)
    rows = pd.DataFrame({"person_id": ["P1", "P3"], "as_of": pd.Timestamp("2026-11-01")})
    bands = attach_groups(rows, records.protected, records.persons, FairnessSettings())["age_band"]
    assert bands.tolist() == ["35-49", "50-64"]  # born 1990 and 1975: not the table's 65+
    no_birth = PERSONS.replace("1990-01-01", "").replace("1975-03-09", "")
    data = make_dir(tmp_path / "nb", persons__csv=no_birth, events__csv=EVENTS, protected__csv=protected)
    _, report = load_records(data, SETTINGS, DEFAULT_OFFENCES)
    assert any(
        "There are no birth dates, so the equality audit uses this column" in w for w in report.warnings
    )


# ------------------------------------------------------------------ owner-only


def test_every_writer_makes_owner_only_files(tmp_path: Path) -> None:
    old = os.umask(0o022)  # as a shell would have it
    try:
        folder = private_dir(tmp_path / "a" / "b")
        frame = pd.DataFrame({"person_id": ["P1"]})
        written = [
            write_csv(frame, folder / "x.csv"),
            write_table(frame, folder / "y.parquet"),
            write_table(frame, folder / "z.csv"),
            write_json({"a": 1}, folder / "j.json"),
            write_text("<p>x</p>", folder / "t.html"),
        ]
    finally:
        os.umask(old)
    assert mode(folder) == 0o700
    assert [mode(p) for p in written] == [0o600] * 5


def test_quarantine_files_are_owner_only_also_outside_a_run(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        events = EVENTS.replace("E2,P2,arrest", "E2,P2,arest")
        data = make_dir(tmp_path / "data", persons__csv=PERSONS, events__csv=events)
        _, report = load_records(data, SETTINGS, DEFAULT_OFFENCES)
        where = tmp_path / "runs" / "2026-11-01.rejected"
        path = write_quarantine(report, where)["events"]
        lenient = tmp_path / "lenient.yaml"
        lenient.write_text("validation:\n  max_bad_share: 1.0\n", encoding="utf-8")
        command = ["validate", str(data), "--quarantine", str(tmp_path / "q"), "--config", str(lenient)]
        result = CliRunner().invoke(app, command)
    finally:
        os.umask(old)
    assert (mode(where), mode(path.parent), mode(path)) == (0o700, 0o700, 0o600)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "q" / "quarantine" / "events.csv").is_file()
    for found in (tmp_path / "q").rglob("*"):
        assert mode(found) == (0o700 if found.is_dir() else 0o600), found


def test_the_mlflow_store_is_made_owner_only(tmp_path: Path) -> None:
    store = tmp_path / "mlflow"
    store.mkdir(mode=0o755)
    sqlite3.connect(store / "mlflow.db").execute("CREATE TABLE t (x)").connection.close()
    (store / "artifacts" / "1" / "run").mkdir(parents=True)
    (store / "artifacts" / "1" / "run" / "model.lgb").write_text("tree")
    os.chmod(store / "mlflow.db", 0o644)
    settings = TrackingSettings(uri=f"sqlite:///{store / 'mlflow.db'}", artifact_dir=store / "artifacts")
    secure_store(settings)
    assert (mode(store), mode(store / "mlflow.db")) == (0o700, 0o600)
    assert mode(store / "artifacts" / "1" / "run" / "model.lgb") == 0o600
    assert mode(store / "artifacts" / "1") == 0o700
