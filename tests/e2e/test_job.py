"""The monthly job end to end on a small synthetic world, through the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from scoring.cli import app, main

REPO = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-01"
runner = CliRunner()


def write_config(tmp: Path, runs: Path) -> Path:
    text = (REPO / "configs" / "default.yaml").read_text()
    text = text.replace("runs_dir: runs", f"runs_dir: {runs}")
    text = text.replace("offences: configs/offences.csv", f"offences: {REPO / 'configs' / 'offences.csv'}")
    # a lighter backtest than the default's, to keep the suite within minutes
    for old, new in (
        ("test_months: 12", "test_months: 3"),
        ("n_boot: 300", "n_boot: 50"),
        ("n_estimators: 300", "n_estimators: 60"),
    ):
        assert old in text
        text = text.replace(old, new)
    path = tmp / "config.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    result = runner.invoke(
        app,
        [
            "synth",
            "--persons",
            "6000",
            "--years",
            "7",
            "--seed",
            "7",
            "--out",
            str(out),
            "--config",
            str(REPO / "configs" / "synthetic.yaml"),
            "--offences",
            str(REPO / "configs" / "offences.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def run_job(world: Path, tmp: Path, name: str) -> Path:
    runs = tmp / name
    config = write_config(tmp, runs)
    result = runner.invoke(app, ["run", "--as-of", AS_OF, "--data", str(world), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "top100.csv" in result.output
    return runs / AS_OF


def test_job_writes_list_and_manifest(world: Path, tmp_path: Path) -> None:
    run_dir = run_job(world, tmp_path, "runs")
    top = pd.read_csv(run_dir / "top100.csv", dtype={"person_id": str})
    assert list(top.columns) == [
        "rank",
        "person_id",
        "score",
        "probability",
        "model_score",
        "v100_score",
        "v100_rank",
    ]
    assert len(top) == 100 and list(top["rank"]) == list(range(1, 101))
    assert top["person_id"].is_unique
    assert top["score"].is_monotonic_decreasing
    assert top["score"].between(0, 1).all() and (top["v100_score"] >= 0).all()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["as_of"] == AS_OF
    assert set(manifest["inputs"]) >= {"persons", "events", "offences"}
    assert all(len(v["sha256"]) == 64 for v in manifest["inputs"].values())
    assert manifest["packages"]["lightgbm"] != "not installed"
    assert manifest["training"]["positives"] >= 20
    assert "protected" not in " ".join(manifest["training"]["features"])
    quarantined = sum(v["rows_quarantined"] for v in manifest["inputs"].values())
    assert quarantined > 0  # the synthetic world carries a few broken rows
    assert (run_dir / "quarantine" / "events.csv").is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {"v100", "rfg", "logistic"} <= set(metrics["models"])
    page = (run_dir / "model.html").read_text()
    assert "<svg" in page and "V100" in page and "https://" not in page


def test_same_inputs_give_byte_identical_list(world: Path, tmp_path: Path) -> None:
    first = run_job(world, tmp_path, "a")
    second = run_job(world, tmp_path, "b")
    assert (first / "top100.csv").read_bytes() == (second / "top100.csv").read_bytes()
    assert (first / "scores.parquet").read_bytes() == (second / "scores.parquet").read_bytes()
    assert (first / "model.html").read_bytes() == (second / "model.html").read_bytes()


def test_truth_is_never_read(world: Path, tmp_path: Path) -> None:
    with_truth = run_job(world, tmp_path, "with")
    blind = tmp_path / "blind"
    shutil.copytree(world, blind, ignore=shutil.ignore_patterns("truth"))
    without_truth = run_job(blind, tmp_path, "without")
    assert (with_truth / "top100.csv").read_bytes() == (without_truth / "top100.csv").read_bytes()


def test_protected_table_does_not_change_the_list(world: Path, tmp_path: Path) -> None:
    base = run_job(world, tmp_path, "base")
    shuffled = tmp_path / "shuffled"
    shutil.copytree(world, shuffled, ignore=shutil.ignore_patterns("truth", "protected.*"))
    protected = pd.read_parquet(world / "protected.parquet")
    for col in protected.columns.drop("person_id"):
        protected[col] = protected[col].sample(frac=1, random_state=1).to_numpy()
    protected.to_parquet(shuffled / "protected.parquet", index=False)
    other = run_job(shuffled, tmp_path, "other")
    assert (base / "top100.csv").read_bytes() == (other / "top100.csv").read_bytes()


def test_user_error_is_one_message_without_traceback(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(
        "sys.argv",
        [
            "harmrank",
            "run",
            "--as-of",
            AS_OF,
            "--data",
            str(tmp_path / "none"),
            "--config",
            str(REPO / "configs" / "default.yaml"),
        ],
    )
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "none") in err.replace("\n", "")
    assert "Traceback" not in err


def test_bad_as_of_date_is_refused(world: Path) -> None:
    result = runner.invoke(app, ["run", "--as-of", "01/11/2026", "--data", str(world)])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


def test_validate_prints_table(world: Path) -> None:
    result = runner.invoke(app, ["validate", str(world), "--config", str(REPO / "configs" / "default.yaml")])
    assert result.exit_code == 0, result.output
    for table in ("persons", "events", "offences", "protected"):
        assert table in result.output


def test_too_many_bad_rows_stops_the_run_and_keeps_them(world: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    config = write_config(tmp_path, runs)
    config.write_text(config.read_text().replace("max_bad_share: 0.01", "max_bad_share: 0.0001"))
    result = runner.invoke(app, ["run", "--as-of", AS_OF, "--data", str(world), "--config", str(config)])
    assert result.exit_code != 0
    message = str(result.exception)
    assert "validation.max_bad_share" in message and "events" in message
    rejected = runs / f"{AS_OF}.rejected" / "quarantine" / "events.csv"
    assert rejected.is_file()
    bad = pd.read_csv(rejected)
    assert {"reason", "source_row"} <= set(bad.columns) and len(bad) > 0
    assert not (runs / AS_OF).exists()  # no list is published from rejected records
