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
    groups = pd.read_parquet(tmp_path / "out" / audit["tables"]["groups"])
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


def hand_built(n: int = 1200) -> pd.DataFrame:
    """One date, n people: a force score that is missing (or unreadable text) for some of them, and a
    postcode area that follows ethnicity (a proxy), as a force's own extract might have."""
    rng = np.random.default_rng(11)
    ethnicity = rng.choice(["Black", "White"], n, p=[0.3, 0.7])
    area = np.where(rng.random(n) < 0.85, np.where(ethnicity == "Black", "E1", "S3"), "L4")
    priors = rng.poisson(2, n).astype(float)
    label = (rng.random(n) < 0.05 + 0.06 * priors).astype(int)
    score: list[object] = list(priors * 10 + rng.normal(0, 5, n))
    for i in range(0, n, 25):
        score[i] = None  # 48 rows with no score
    score[1], score[2] = "not scored", "unknown"  # and 2 with text that is not a number
    return pd.DataFrame(
        {
            "person_id": [f"P{i:04d}" for i in range(n)],
            "priors": priors,
            "months_free": rng.exponential(12, n),
            "postcode_area": area,
            "ethnicity": ethnicity,
            "force_score": score,
            "label": label,
        }
    )


def test_baseline_with_missing_values_ranks_them_last_and_counts_them(tmp_path: Path, config: Path) -> None:
    path = tmp_path / "extract.csv"
    hand_built().to_csv(path, index=False)
    doc = invoke(path, tmp_path / "out", config, "--baseline", "force_score")
    assert (
        "baseline force_score: 50 of 1,200 rows missing (2 of them text that is not a number), ranked last"
        in doc["notes"]
    )
    assert doc["models"]["baseline:force_score"]["precision@50"]["value"] is not None
    predictions = pd.read_parquet(tmp_path / "out" / "predictions.parquet")
    missing = predictions["person_id"].isin([f"P{i:04d}" for i in [*range(0, 1200, 25), 1, 2]])
    assert missing.sum() == 50 and len(predictions) == 1200
    for _, fold in predictions.groupby("fold"):  # below every recorded score of the fold
        gap = fold.loc[~missing, "baseline:force_score"].min() - fold.loc[missing, "baseline:force_score"]
        assert (gap == 1.0).all()
    page = (tmp_path / "out" / "model.html").read_text()
    assert "50 of 1,200 rows missing" in page


def test_matrix_mode_runs_the_proxy_audit_on_the_tables_own_features(tmp_path: Path, config: Path) -> None:
    path = tmp_path / "extract.parquet"
    hand_built().drop(columns="force_score").to_parquet(path)
    untuned = config.read_text().replace("backtest:\n", "backtest:\n  small_table: {max_rows: 0}\n")
    config.write_text(untuned)  # the model's settings do not matter here
    doc = invoke(path, tmp_path / "out", config, "--protected", "ethnicity")
    assert doc["proxies"] == {"flagged_characteristics": ["ethnicity"], "flagged_features": ["postcode_area"]}
    page = (tmp_path / "out" / "equality.html").read_text()
    assert "postcode_area" in page and "P0001" not in page
    audit = json.loads((tmp_path / "out" / "audit.json").read_text())
    assert audit["proxies"] is not None and any("proxy audit" in note for note in audit["notes"])
    off = tmp_path / "off.yaml"
    off.write_text(config.read_text() + "proxies: {enabled: false}\n")
    doc = invoke(path, tmp_path / "off", off, "--protected", "ethnicity")
    assert "proxies" not in doc
    audit = json.loads((tmp_path / "off" / "audit.json").read_text())
    assert audit["proxies"] is None and any("proxies.enabled: false" in note for note in audit["notes"])


def test_small_table_is_tuned_per_split_and_says_which_rows_did_what(tmp_path: Path, config: Path) -> None:
    path = tmp_path / "extract.csv"
    hand_built().to_csv(path, index=False)
    doc = invoke(path, tmp_path / "out", config)
    assert any(note.startswith("small table (1,200 rows") for note in doc["notes"])
    tuning = pd.DataFrame(doc["tuning"])
    assert set(tuning["candidate"]) == {"lightgbm_binary"} and (tuning["inner_folds"] == 3).all()
    assert tuning.groupby("split")["chosen"].sum().tolist() == [1] * 5  # one setting per fold
    assert set(tuning["setting"]) == {
        "configured model",
        "num_leaves 4, min_child_samples 20",
        "num_leaves 7, min_child_samples 20",
        "num_leaves 7, min_child_samples 50",
    }
    parts = pd.DataFrame(doc["parts"]).pivot(index="split", columns="part", values="rows")
    assert (parts.sum(axis=1) == 1200).all() and parts["test"].sum() == 1200
    fitting = parts["train"] + parts["validation"] + parts["calibration"]
    assert ((parts["calibration"] / fitting).round(2) == 0.20).all()  # backtest.splits.fold_calibration_share
    page = (tmp_path / "out" / "model.html").read_text()
    assert "Which model settings each split was fitted with" in page and "calibration rows" in page
    assert "with the outcome" in page and "inner average precision by split" in page
    big = tmp_path / "big.yaml"
    big.write_text(config.read_text().replace("backtest:\n", "backtest:\n  small_table: {max_rows: 100}\n"))
    doc = invoke(path, tmp_path / "big", big)
    assert doc["tuning"] == [] and not any(note.startswith("small table") for note in doc["notes"])
