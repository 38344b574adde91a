"""Config validation: unknown keys and bad values name the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.errors import ConfigError
from scoring.config import RunConfig, load_config

REPO = Path(__file__).resolve().parents[2]


def test_default_config_loads_and_matches_defaults() -> None:
    config = load_config(REPO / "configs" / "default.yaml")
    assert config == RunConfig()


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
