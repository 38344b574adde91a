"""Matrix-mode backtest: `harmrank backtest --matrix FILE --label COL ... --out DIR`.

Reads a person-level table, backtests the LightGBM candidates against the force's own
baseline columns, and writes ``metrics.json``, ``predictions.parquet`` and ``model.html`` into
DIR; with protected columns also the equality audit (groups, gate and the proxy audit of the
table's own features), ``audit.json`` and ``equality.html``.

A small table (``backtest.small_table.max_rows``) is tuned per split over the small-table grid;
``backtest.search``, when set, is the grid instead (:mod:`models.tuning`).
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
from models.tuning import TUNING_METRIC, Setting, setting_label
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


def small_table(rows: int, config: RunConfig) -> bool:
    """Whether a matrix of ``rows`` rows gets the small-table settings (``backtest.small_table``)."""
    return rows <= config.backtest.small_table.max_rows


def make_splits(prepared: PreparedMatrix, horizon_months: int, config: RunConfig) -> list[Split]:
    """Temporal splits over the matrix's as-of dates, or seeded k-fold when it has a single date."""
    dates = prepared.frame["as_of"].unique()
    settings = config.backtest.splits
    if len(dates) == 1:
        return kfold_splits(prepared.frame["label_"], dates[0], settings, config.seed)
    return temporal_splits(dates, horizon_months, settings)


def candidates(config: RunConfig, has_harm: bool, rows: int | None = None) -> list[Candidate]:
    """LightGBM candidates: one per objective, named ``lightgbm_<objective>``.

    Lambdarank needs a harm column to grade relevance. With ``backtest.search`` set, the configured
    model and the search entries form the candidate's grid; otherwise a matrix of ``rows`` rows
    (matrix mode) that is small gets the small-table grid. A grid is tuned inside each split
    (:mod:`models.tuning`); the monthly job passes no ``rows``.
    """
    backtest_settings = config.backtest
    if backtest_settings.search:
        entries = [{}, *backtest_settings.search]
    elif rows is not None and small_table(rows, config):
        entries = list(backtest_settings.small_table.grid)
    else:
        entries = []
    out = []
    for objective in backtest_settings.objectives:
        if objective == "lambdarank" and not has_harm:
            continue
        base = config.model.model_dump() | {"objective": objective}
        grid = tuple(Setting(setting_label(o), config.model.model_validate(base | dict(o))) for o in entries)
        out.append(Candidate(f"lightgbm_{objective}", config.model.model_validate(base), grid))
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
        "parts": result.parts.to_dict(orient="records"),
        "tuning": _tuning_records(result),
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


def _tuning_records(result: BacktestResult) -> list[dict[str, Any]]:
    """Every grid setting's inner score per split and candidate (empty without a grid)."""
    return [
        {
            "split": int(r["split"]),
            "candidate": str(r["candidate"]),
            "setting": str(r["setting"]),
            "inner_folds": int(r["inner_folds"]),
            TUNING_METRIC: _clean(r[TUNING_METRIC]),
            "chosen": bool(r["chosen"]),
            "note": str(r["note"]),
        }
        for r in result.tuning.to_dict(orient="records")
    ]


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
    scorers = {f"baseline:{col}": ColumnScorer(col, missing_last=True) for col in prepared.baselines}
    if small_table(len(frame), config) and not config.backtest.search:
        prepared.notes.append(
            f"small table ({len(frame):,} rows, at most backtest.small_table.max_rows "
            f"{config.backtest.small_table.max_rows:,}): model settings chosen per split from the "
            "small-table grid by inner cross-validation on the split's own fitting rows"
        )
    result = backtest(
        frame,
        prepared.features,
        splits,
        candidates(config, harm is not None, rows=len(frame)),
        scorers,
        seed=config.seed,
        evaluation=config.backtest.evaluation,
        selection=config.backtest.selection,
        label_col="label_",
        harm_col=prepared.harm_col,
        calibration=config.backtest.calibration,
        decimals=config.output.score_decimals,
        inner_folds=config.backtest.inner_folds,
    )
    document = metrics_document(result, prepared.notes, str(path))
    private_dir(out)
    write_json(document, out / "metrics.json")
    write_table(result.predictions, out / "predictions.parquet")
    as_of = pd.Timestamp(frame["as_of"].max()).date().isoformat()
    importance = _importance(frame, prepared, result, config)
    page = render_model_report(
        result,
        as_of=as_of,
        importance=importance,
        notes=prepared.notes,
        baseline_names={name: name.removeprefix("baseline:") for name in scorers},
    )
    write_text(page, out / "model.html")
    if prepared.protected:
        equality = matrix_equality(
            result, frame, prepared.protected, prepared.harm_col, config, features=prepared.features
        )
        write_equality(equality, as_of, out)
        document["release"] = equality.release
        document["gate"] = equality.gate.to_dict()
        if equality.proxies is not None:
            flagged = equality.proxies.characteristics
            document["proxies"] = {
                "flagged_characteristics": sorted(set(flagged.loc[flagged["flagged"], "characteristic"])),
                "flagged_features": equality.proxies.flagged_features(),
            }
        write_json(document, out / "metrics.json")
    return result, document


def _importance(
    frame: pd.DataFrame, prepared: PreparedMatrix, result: BacktestResult, config: RunConfig
) -> pd.DataFrame:
    """Mean |SHAP| of the chosen candidate refitted on the last split (with the settings that split
    was fitted with), over a sample of its test rows."""
    chosen, split = result.selection.chosen, result.splits[-1]
    settings = result.settings_used[chosen][-1]
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
