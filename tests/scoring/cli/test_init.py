"""`harmrank init` and commands run from any directory: a force's folder, its config found inside it or
named from outside, its relative paths taken from the folder; harmrank's built-in config elsewhere."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from features.errors import ConfigError
from scoring.cli import app
from scoring.config import load_config
from scoring.defaults import CATALOGUE, RUN_CONFIG
from scoring.starter import starter_config, write_starter
from tests.scoring.test_records import EVENTS, PERSONS, PROTECTED, make_dir

runner = CliRunner()


def test_init_lays_out_a_force_folder_whose_config_takes_paths_from_it(tmp_path: Path) -> None:
    force = tmp_path / "force"
    written = write_starter(force)
    assert [p.relative_to(force).as_posix() for p in written] == [
        "configs/default.yaml",
        "data/records/README.md",
        "docs/data-contract.md",
        "docs/features.md",
    ]
    for private in ("data", "data/records", "runs"):  # personal data goes here
        assert stat.S_IMODE((force / private).stat().st_mode) == 0o700
    config = load_config(force / "configs" / "default.yaml")
    assert config.root == force and config.data_dir == force / "data" / "records"
    assert config.runs_dir == force / "runs"
    assert config.scoring.review_log == force / "data" / "reviews.sqlite"
    assert config.offences == CATALOGUE
    # harmrank's defaults, every key and comment kept: only the heading and the records folder differ
    ours = RUN_CONFIG.read_text().splitlines()
    theirs = (force / "configs" / "default.yaml").read_text().splitlines()
    changed = [(a, b) for a, b in zip(ours, theirs, strict=True) if a != b]
    assert [b.split("#")[0].strip() for _, b in changed] == ["", "data_dir: data/records"]
    assert "this force's configuration" in changed[0][1]
    assert yaml.safe_load(starter_config()).keys() == yaml.safe_load(RUN_CONFIG.read_text()).keys()
    readme = (force / "data" / "records" / "README.md").read_text()
    assert "`persons` (required): `person_id`, `birth_date`" in readme
    assert "`protected` (optional)" in readme


def test_init_never_overwrites_a_force_config(tmp_path: Path) -> None:
    force = tmp_path / "force"
    write_starter(force)
    config = force / "configs" / "default.yaml"
    config.write_text("seed: 7\n")
    with pytest.raises(ConfigError, match=r"exists already; harmrank init never overwrites"):
        write_starter(force)
    assert config.read_text() == "seed: 7\n"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        write_starter(tmp_path / "file")
    result = runner.invoke(app, ["init", str(force)])
    assert result.exit_code != 0 and config.read_text() == "seed: 7\n"


def test_commands_find_the_force_config_inside_the_folder_or_by_option_or_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    force = tmp_path / "force"
    monkeypatch.chdir(tmp_path)
    done = runner.invoke(app, ["init", "force"])
    assert done.exit_code == 0, done.output
    assert f"--config {force / 'configs' / 'default.yaml'}" in done.output
    make_dir(force / "data" / "records", persons__csv=PERSONS, events__csv=EVENTS, protected__csv=PROTECTED)
    monkeypatch.chdir(force)  # inside the folder: configs/default.yaml is found
    inside = runner.invoke(app, ["validate", "data/records"])
    assert inside.exit_code == 0, inside.output
    assert "built-in configuration" not in inside.output
    assert "events" in inside.output and "persons" in inside.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # outside: named by --config or HARMRANK_CONFIG, paths from the folder
    listing = runner.invoke(app, ["runs", "--config", str(force / "configs" / "default.yaml")])
    assert listing.exit_code == 0 and "No runs" in listing.output and str(force / "runs") in listing.output
    monkeypatch.setenv("HARMRANK_CONFIG", str(force / "configs" / "default.yaml"))
    listing = runner.invoke(app, ["runs"])
    assert listing.exit_code == 0 and str(force / "runs") in listing.output
    assert not (elsewhere / "runs").exists() and not (elsewhere / "data").exists()


def test_without_a_config_here_the_built_in_one_is_used_with_paths_from_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    listing = runner.invoke(app, ["runs"])
    assert listing.exit_code == 0, listing.output
    assert "No configs/default.yaml here: harmrank's built-in configuration" in listing.output
    assert str(tmp_path / "runs") in listing.output
    missing = runner.invoke(app, ["runs", "--config", "configs/force.yaml"])
    assert isinstance(missing.exception, ConfigError)  # main() prints it and exits 2
    assert "config file configs/force.yaml does not exist" in str(missing.exception)
    assert "harmrank init DIR writes one" in str(missing.exception)
