"""Matrix-mode backtest: `harmrank backtest --matrix FILE --label COL ... --out DIR`.

Reads a person-level table, backtests the LightGBM candidates against the force's own
baseline columns, and writes ``metrics.json``, ``predictions.parquet`` and ``model.html`` into
DIR; with protected columns also the equality audit, ``audit.json`` and ``equality.html``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from features.errors import RecordsError
from models.backtest import PROBABILITY, BacktestResult, Candidate, backtest, fit_model
from models.baselines import ColumnScorer
from models.evaluate import POOLED
from models.importance import shap_importance
from models.matrix import PreparedMatrix, prepare_matrix
from models.splits import Split, kfold_splits, split_table, temporal_splits
from scoring.config import RunConfig
from scoring.equality import write_equality
from scoring.io import private_dir, write_json, write_table, write_text
from scoring.matrix_equality import matrix_equality
from scoring.reports.model import render_model_report


def read_matrix(path: Path) -> pd.DataFrame:
    """A matrix from Parquet or CSV; problems become a :class:`RecordsError` naming the file."""
    if not path.is_file():
        raise RecordsError(f"matrix file {path} does not exist; pass a .parquet or .csv file")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except Exception as exc:  # any parse failure is the file's, not ours
        raise RecordsError(f"{path} could not be read as {path.suffix.lstrip('.') or 'CSV'}: {exc}") from None


def make_splits(prepared: PreparedMatrix, horizon_months: int, config: RunConfig) -> list[Split]:
    """Temporal splits over the matrix's as-of dates, or seeded k-fold when it has a single date."""
    dates = prepared.frame["as_of"].unique()
    settings = config.backtest.splits
    if len(dates) == 1:
        return kfold_splits(prepared.frame["label_"], dates[0], settings, config.seed)
    return temporal_splits(dates, horizon_months, settings)


def _suffix(overrides: dict[str, float | int]) -> str:
    return "".join(f"_{key}{value:g}" for key, value in sorted(overrides.items()))


def candidates(config: RunConfig, has_harm: bool) -> list[Candidate]:
    """LightGBM candidates: per objective, the configured model and each entry of the search.

    Lambdarank needs a harm column to grade relevance. A search entry's name carries its
    overrides, e.g. ``lightgbm_binary_num_leaves31``.
    """
    out = []
    for objective in config.backtest.objectives:
        if objective == "lambdarank" and not has_harm:
            continue
        for overrides in [{}, *config.backtest.search]:
            settings = config.model.model_validate(
                config.model.model_dump() | dict(overrides) | {"objective": objective}
            )
            out.append(Candidate(f"lightgbm_{objective}{_suffix(overrides)}", settings))
    return out


def _clean(value: Any) -> float | None:
    """A JSON-safe rounded number, None for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), 6)


def metrics_document(result: BacktestResult, notes: list[str], source: str) -> dict[str, Any]:
    """The pooled metrics of every model with intervals, the selection and calibration: metrics.json.

    A candidate's ranking figures come from its ranking score; its Brier score and ECE from its
    calibrated probability.
    """
    table = result.evaluation.table
    pooled = table[table["month"] == POOLED]
    models: dict[str, dict[str, Any]] = {}
    for row in pooled.itertuples(index=False):
        key = row.metric if pd.isna(row.k) else f"{row.metric}@{int(row.k)}"
        if row.ties != "list":
            key += f" ({row.ties})"
        model = row.model
        if model.endswith(PROBABILITY):  # a candidate's calibrated probability: only its calibration figures
            if row.metric not in ("brier", "ece"):
                continue
            model = model.removesuffix(PROBABILITY)
        models.setdefault(model, {})[key] = {
            "value": _clean(row.value),
            "lo": _clean(row.lo),
            "hi": _clean(row.hi),
            "greater_is_better": bool(row.greater_is_better),
        }
    return {
        "source": source,
        "notes": notes + sorted({s.note for s in result.splits if s.note}),
        "splits": split_table(result.splits).astype(str).to_dict(orient="records"),
        "models": models,
        "selection": {
            "chosen": result.selection.chosen,
            "ranking": result.selection.ranking.round(6).to_dict(orient="records"),
            "mean_regret": round(result.selection.mean_regret, 6),
            "max_regret": round(result.selection.max_regret, 6),
        },
        "calibration": {name: report.summary() for name, report in result.calibration.items()},
        "fit_seconds": {name: round(s, 1) for name, s in result.fit_seconds.items()},
    }


def backtest_matrix(
    path: Path,
    label: str,
    config: RunConfig,
    out: Path,
    *,
    harm: str | None = None,
    protected: list[str] | None = None,
    baselines: list[str] | None = None,
    ignore: list[str] | None = None,
) -> tuple[BacktestResult, dict[str, Any]]:
    """Backtest a person-level matrix file and write metrics.json and predictions.parquet to ``out``."""
    raw = read_matrix(path)
    prepared = prepare_matrix(
        raw,
        label,
        source=str(path),
        harm=harm,
        protected=protected or (),
        baselines=baselines or (),
        ignore=ignore or (),
    )
    frame = prepared.frame.rename(columns={label: "label_"})
    prepared.frame = frame
    splits = make_splits(prepared, config.label.horizon_months, config)
    scorers = {f"baseline:{col}": ColumnScorer(col) for col in prepared.baselines}
    result = backtest(
        frame,
        prepared.features,
        splits,
        candidates(config, harm is not None),
        scorers,
        seed=config.seed,
        evaluation=config.backtest.evaluation,
        selection=config.backtest.selection,
        label_col="label_",
        harm_col=prepared.harm_col,
        calibration=config.backtest.calibration,
        decimals=config.output.score_decimals,
    )
    document = metrics_document(result, prepared.notes, str(path))
    private_dir(out)
    write_json(document, out / "metrics.json")
    write_table(result.predictions, out / "predictions.parquet")
    as_of = pd.Timestamp(frame["as_of"].max()).date().isoformat()
    importance = _importance(frame, prepared, splits[-1], result.selection.chosen, config)
    page = render_model_report(
        result,
        as_of=as_of,
        importance=importance,
        notes=prepared.notes,
        baseline_names={name: name.removeprefix("baseline:") for name in scorers},
    )
    write_text(page, out / "model.html")
    if prepared.protected:
        equality = matrix_equality(result, frame, prepared.protected, prepared.harm_col, config)
        write_equality(equality, as_of, out)
        document["release"] = equality.release
        document["gate"] = equality.gate.to_dict()
        write_json(document, out / "metrics.json")
    return result, document


def _importance(
    frame: pd.DataFrame, prepared: PreparedMatrix, split: Split, chosen: str, config: RunConfig
) -> pd.DataFrame:
    """Mean |SHAP| of the chosen candidate refitted on the last split, over a sample of its test rows."""
    settings = next(c.settings for c in candidates(config, True) if c.name == chosen)
    fitted = fit_model(
        frame,
        split,
        prepared.features,
        settings,
        config.seed,
        label_col="label_",
        harm_col=prepared.harm_col,
        calibration=config.backtest.calibration,
    )
    test = frame.iloc[split.indices(frame["as_of"])["test"]]
    return shap_importance(fitted.ranker, test[prepared.features], seed=config.seed)
