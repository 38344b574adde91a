"""Config validation: unknown keys and bad values name the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.errors import ConfigError
from scoring.config import RunConfig, load_config, sqlite_under
from scoring.defaults import CATALOGUE

REPO = Path(__file__).resolve().parents[2]


def test_default_config_loads_and_matches_defaults() -> None:
    config = load_config(REPO / "configs" / "default.yaml")
    assert config == RunConfig().under(REPO)  # root: .. is the checkout
    assert config.root == REPO and config.data_dir == REPO / "data" / "world"
    assert (
        config.offences == CATALOGUE
        and CATALOGUE.read_bytes() == (REPO / "configs/offences.csv").read_bytes()
    )


def test_relative_paths_are_taken_from_the_config_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    force = tmp_path / "force"
    (force / "configs").mkdir(parents=True)
    path = force / "configs" / "harmrank.yaml"
    path.write_text(
        "root: ..\n"
        "data_dir: data/records\n"
        "runs_dir: /srv/harmrank/runs\n"
        "offences: configs/catalogue.csv\n"
        "scoring: {review_log: data/reviews.sqlite}\n"
        "tracking: {uri: 'sqlite:///data/mlflow/mlflow.db', artifact_dir: data/mlflow/artifacts}\n"
        "serve: {database: 'postgresql+psycopg://harmrank@db.force.local/service'}\n"
    )
    monkeypatch.chdir(tmp_path)  # anywhere else
    config = load_config(path)
    assert config.root == force
    assert config.data_dir == force / "data" / "records"
    assert config.runs_dir == Path("/srv/harmrank/runs")  # absolute paths stay
    assert config.offences == force / "configs" / "catalogue.csv"
    assert config.scoring.review_log == force / "data" / "reviews.sqlite"
    assert config.tracking.uri == f"sqlite:///{force}/data/mlflow/mlflow.db"
    assert config.tracking.artifact_dir == force / "data" / "mlflow" / "artifacts"
    assert config.serve.database == "postgresql+psycopg://harmrank@db.force.local/service"
    # without root: the file's own folder; an explicit root (the built-in config's cwd) wins
    path.write_text("data_dir: ../data/records\nserve: {database: 'sqlite:///service.db?timeout=5'}\n")
    config = load_config(path)
    assert config.data_dir == force / "data" / "records" and config.root == force / "configs"
    assert config.serve.database == f"sqlite:///{force}/configs/service.db?timeout=5"
    assert load_config(path, root=tmp_path).data_dir == tmp_path.parent / "data" / "records"
    # a service database given as a plain file path, and a home-relative path
    path.write_text("serve: {database: data/service.sqlite}\nruns_dir: ~/harmrank-runs\n")
    config = load_config(path)
    assert config.serve.database == str(force / "configs" / "data" / "service.sqlite")
    assert config.runs_dir == Path.home() / "harmrank-runs"


def test_sqlite_urls_under_a_root() -> None:
    root = Path("/srv/force")
    assert sqlite_under(root, "sqlite:///data/x.db") == "sqlite:////srv/force/data/x.db"
    assert sqlite_under(root, "sqlite:////abs/x.db") == "sqlite:////abs/x.db"
    assert sqlite_under(root, "sqlite:///:memory:") == "sqlite:///:memory:"
    assert sqlite_under(root, "postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert sqlite_under(root, "sqlite:///../shared/x.db") == "sqlite:////srv/shared/x.db"


def test_unknown_key_names_key_and_valid_keys(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  n_trees: 10\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "unknown key 'model.n_trees'" in message and str(path) in message
    assert "n_estimators" in message


def test_bad_value_names_key(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("output:\n  k: -5\n")
    with pytest.raises(ConfigError, match=r"bad value for 'output.k'"):
        load_config(path)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    path = tmp_path / "bad.yaml"
    path.write_text("model: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)
