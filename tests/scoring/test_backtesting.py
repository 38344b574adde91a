"""Matrix mode: `harmrank backtest --matrix` on person-level tables a force might already have."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.errors import RecordsError
from models.matrix import prepare_matrix
from scoring.cli import app
from tests.models.test_backtest import monthly_panel

runner = CliRunner()

SMALL = """
backtest:
  splits: {test_months: 3, history_months: 6}
  evaluation: {ks: [50], n_boot: 40}
  selection: {k: 50}
model: {n_estimators: 40, min_child_samples: 20, early_stopping_rounds: 5}
label: {horizon_months: 3}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(SMALL)
    return path


def force_extract(months: int = 12, per_month: int = 500) -> pd.DataFrame:
    frame = monthly_panel(months=months, per_month=per_month, seed=4)
    rng = np.random.default_rng(5)
    frame["ethnicity"] = rng.choice(["Asian", "Black", "White"], len(frame))
    frame["force_score"] = frame["harm_365d"] + rng.normal(0, 30, len(frame))
    frame["area_type"] = rng.choice(["urban", "rural"], len(frame))
    frame["flagged"] = rng.random(len(frame)) < 0.1
    return frame


def invoke(matrix: Path, out: Path, config: Path, *extra: str) -> dict:
    args = [
        "backtest",
        "--matrix",
        str(matrix),
        "--label",
        "label",
        "--out",
        str(out),
        "--config",
        str(config),
    ]
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "metrics.json" in result.output
    return json.loads((out / "metrics.json").read_text())


def test_multi_month_matrix_backtests_models_and_baselines(tmp_path: Path, config: Path) -> None:
    path = tmp_path / "extract.parquet"
    force_extract().to_parquet(path)
    doc = invoke(
        path,
        tmp_path / "out",
        config,
        "--harm",
        "future_harm",
        "--protected",
        "ethnicity",
        "--baseline",
        "force_score",
    )
    assert set(doc["models"]) >= {"lightgbm_binary", "lightgbm_lambdarank", "baseline:force_score"}
    figure = doc["models"]["lightgbm_binary"]["precision@50"]
    assert figure["lo"] <= figure["value"] <= figure["hi"] and figure["greater_is_better"] is True
    assert doc["models"]["lightgbm_binary"]["brier"]["greater_is_better"] is False
    assert len(doc["splits"]) == 3
    assert doc["selection"]["chosen"] in {"lightgbm_binary", "lightgbm_lambdarank"}
    predictions = pd.read_parquet(tmp_path / "out" / "predictions.parquet")
    assert "ethnicity" not in predictions.columns
    audit = json.loads((tmp_path / "out" / "audit.json").read_text())
    assert audit["release"] in ("release allowed", "not for release")
    assert doc["release"] == audit["release"] and "passed" in doc["gate"]
    groups = pd.DataFrame(audit["audit"]["groups"])
    assert "ethnicity" in set(groups["characteristic"])
    page = (tmp_path / "out" / "equality.html").read_text()
    assert "ethnicity" in page and "P0" not in page  # aggregates only: no person id
    model_page = (tmp_path / "out" / "model.html").read_text()
    assert "<svg" in model_page and "force_score" in model_page


def test_protected_and_baseline_columns_are_never_features() -> None:
    prepared = prepare_matrix(
        force_extract(2, 50),
        "label",
        source="x",
        harm="future_harm",
        protected=["ethnicity"],
        baselines=["force_score"],
    )
    assert "ethnicity" not in prepared.features and "force_score" not in prepared.features
    assert isinstance(prepared.frame["area_type"].dtype, pd.CategoricalDtype)
    assert list(prepared.frame["area_type"].cat.categories) == ["rural", "urban"]
    assert set(prepared.frame["flagged"].unique()) <= {0.0, 1.0}


def test_single_date_matrix_says_it_used_folds(tmp_path: Path, config: Path) -> None:
    path = tmp_path / "one.csv"
    force_extract(1, 2000).drop(columns="as_of").to_csv(path, index=False)
    doc = invoke(path, tmp_path / "out", config)
    notes = " ".join(doc["notes"])
    assert "fold" in notes and "no as_of column" in notes and "no --harm column" in notes
    assert (tmp_path / "out" / "model.html").is_file()
    assert not (tmp_path / "out" / "audit.json").exists()  # no --protected: no audit


def test_identifier_column_is_refused_with_a_way_out(tmp_path: Path, config: Path) -> None:
    frame = force_extract(2, 50)
    frame["case_number"] = [f"C{i}" for i in range(len(frame))]
    with pytest.raises(
        RecordsError, match=r"'case_number' has a different value on every row.*--ignore case_number"
    ):
        prepare_matrix(frame, "label", source="x")
    prepare_matrix(frame, "label", source="x", ignore=["case_number"])


def test_bad_label_and_missing_column_messages() -> None:
    frame = force_extract(2, 50)
    frame.loc[3, "label"] = 2
    with pytest.raises(RecordsError, match=r"label column 'label' must hold 0 or 1.*row 4: '2'"):
        prepare_matrix(frame, "label", source="x")
    with pytest.raises(RecordsError, match=r"no column 'nope' \(given as --protected\)"):
        prepare_matrix(force_extract(2, 50), "label", source="x", protected=["nope"])
