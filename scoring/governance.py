"""The governance pack of a run: the facts its documents are filled from, and writing them.

``runs/<DATE>/governance/`` holds a model card, a draft Algorithmic Transparency Recording Standard
record, DPIA inputs, equality impact assessment inputs and the ALGO-CARE checklist, each as HTML,
Markdown and .docx, an index page, and ``facts.json``: every figure the documents quote, so that
they can be checked against the run (and rendered again) without re-running it.

:func:`governance_facts` gathers the facts from the run's result, its config, the explained list
(review progress from the review log) and the package versions into one plain, JSON-safe dict;
:mod:`scoring.reports.governance` renders it. Figures keep their scope: the backtest's are pooled
over its test months, the list's are this month's. Nothing here depends on the clock, so the same
run gives the same bytes.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from features.catalogue import CATALOGUE, by_name
from models.backtest import PROBABILITY, BacktestResult
from models.evaluate import POOLED as EVAL_POOLED
from models.evaluate import SelectionSettings
from scoring.config import RunConfig
from scoring.governance_equality import equality_facts, json_int, json_number, month
from scoring.io import private_dir, write_json, write_text
from scoring.listing import Listing
from scoring.pipeline import RunResult
from scoring.reports.governance import render_governance

#: The backtest's figures the documents quote, as (metric, at the list length?) pairs.
BACKTEST_METRICS = (
    ("precision", True),
    ("recall", True),
    ("harm_captured", True),
    ("auc_roc", False),
    ("average_precision", False),
)
CALIBRATION_METRICS = ("brier", "ece")


def _dates(value: object) -> list[str]:
    return [str(d) for d in value] if isinstance(value, list | tuple) else []


def _data(result: RunResult) -> dict[str, Any]:
    """The records read: each table's rows, and the period the run's events cover."""
    tables = [
        {
            "table": t.table,
            "rows_read": int(t.rows_read),
            "rows_valid": int(t.rows_valid),
            "rows_quarantined": int(t.rows_quarantined),
            "reasons": {str(k): int(v) for k, v in sorted(t.reasons.items())},
        }
        for t in result.validation.tables
    ]
    events = result.records.events
    recorded = pd.to_datetime(events["recorded_date"])
    known = recorded < result.as_of
    occurred = pd.to_datetime(events.loc[known, "occurred_date"]).dropna()
    protected = result.records.protected
    columns = [] if protected is None else sorted(str(c) for c in protected.columns if c != "person_id")
    return {
        "tables": tables,
        "events_used": int(known.sum()),
        "first_occurred": occurred.min().date().isoformat() if len(occurred) else None,
        "last_recorded": recorded[known].max().date().isoformat() if known.any() else None,
        "protected_columns": columns,
    }


def _features(names: list[str], config: RunConfig) -> dict[str, Any]:
    """The model's inputs by family, and the catalogue features each policy switch kept out."""
    families: dict[str, list[str]] = {}
    for name in names:
        try:
            family = by_name(name).family
        except KeyError:
            family = "Other inputs (not in the catalogue)"
        families.setdefault(family, []).append(name)
    used = set(names)
    policies = []
    for switch, on in config.features.policies().items():
        kept_out = [f.name for f in CATALOGUE if f.policy == switch and f.name not in used]
        policies.append({"switch": switch, "on": bool(on), "excluded": kept_out})
    return {
        "count": len(names),
        "families": [{"family": f, "features": v} for f, v in families.items()],
        "policies": policies,
    }


def _figure(backtest: BacktestResult, model: str, metric: str, k: int | None) -> dict[str, float | None]:
    t = backtest.evaluation.table
    rows = t[
        (t["model"] == model) & (t["month"] == EVAL_POOLED) & (t["metric"] == metric) & (t["ties"] == "list")
    ]
    rows = rows[rows["k"].isna()] if k is None else rows[rows["k"] == k]
    if len(rows) != 1:
        return {"value": None, "lo": None, "hi": None}
    row = rows.iloc[0]
    return {"value": json_number(row["value"]), "lo": json_number(row["lo"]), "hi": json_number(row["hi"])}


def _backtest(
    backtest: BacktestResult, k: int, names: Mapping[str, str], selection: SelectionSettings
) -> dict[str, Any]:
    """The pooled backtest figures of the chosen model and the baselines, with their intervals."""
    chosen = backtest.selection.chosen
    months = sorted(pd.Timestamp(s.test).date().isoformat() for s in backtest.splits)
    models = []
    for key in [chosen, *names]:
        figures = {
            f"{m}@{k}" if at_k else m: _figure(backtest, key, m, k if at_k else None)
            for m, at_k in BACKTEST_METRICS
        }
        if key == chosen:
            figures |= {m: _figure(backtest, f"{chosen}{PROBABILITY}", m, None) for m in CALIBRATION_METRICS}
        models.append({"key": key, "name": names.get(key, key), "figures": figures})
    versus = {}
    if "v100" in names:
        for metric in ("precision", "harm_captured"):
            try:
                value, lo, hi = backtest.evaluation.compare(chosen, "v100", metric, k)
            except KeyError:
                continue
            versus[f"{metric}@{k}"] = {
                "value": json_number(value),
                "lo": json_number(lo),
                "hi": json_number(hi),
            }
    report = backtest.calibration.get(chosen)
    calibration: dict[str, Any] | None = None
    if report is not None:
        calibration = {name: json_number(v) for name, v in report.summary().items()}
        calibration["method"] = backtest.calibration_method
        calibration["setting"] = backtest.calibration_setting
    settings = backtest.evaluation.settings
    return {
        "months": months,
        "first_month": month(months[0]) if months else None,
        "last_month": month(months[-1]) if months else None,
        "k": k,
        "chosen": chosen,
        "candidates": sorted(str(m) for m in backtest.selection.ranking["model"]),
        "selection": selection.model_dump(mode="json"),
        "models": models,
        "versus_v100": versus,
        "calibration": calibration,
        "confidence": float(settings.confidence),
        "n_boot": int(settings.n_boot),
        "notes": sorted({s.note for s in backtest.splits if s.note}),
    }


def _review(listing: Listing) -> dict[str, Any]:
    def clean(summary: Mapping[str, object] | None) -> dict[str, Any] | None:
        if summary is None:
            return None
        return {k: (str(v) if k == "run" else json_number(v)) for k, v in summary.items()}

    return {
        "log_intact": bool(listing.log_check.ok),
        "log_entries": int(listing.log_check.entries),
        "this_list": clean(listing.review_summary),
        "previous_list": clean(listing.previous_review),
    }


def _list(result: RunResult, config: RunConfig) -> dict[str, Any]:
    k = min(config.output.k, len(result.ranked))
    top = result.top(k)
    probability = top["probability"].to_numpy(dtype="float64")
    return {
        "k": k,
        "cohort_size": len(result.current),
        "cohort_event_types": list(config.features.cohort_event_types),
        "cohort_lookback_days": int(config.features.cohort_lookback_days),
        "rank_by": config.scoring.rank_by,
        "probability_max": json_number(probability.max()) if k else None,
        "probability_min": json_number(probability.min()) if k else None,
        "in_v100_top": int((top["v100_rank"] <= k).sum()),
    }


def governance_facts(
    result: RunResult,
    config: RunConfig,
    listing: Listing,
    *,
    packages: Mapping[str, str],
    baseline_names: Mapping[str, str],
) -> dict[str, Any]:
    """Every fact the governance pack states, as one JSON-safe dict (see :mod:`scoring.reports.governance`).

    ``packages`` are the installed versions the manifest records; ``baseline_names`` name the
    backtest's baselines (key -> name) in the order the documents list them.
    """
    training = result.training
    return {
        "as_of": result.as_of.date().isoformat(),
        "marking": config.output.marking,
        "seed": int(config.seed),
        "list": _list(result, config),
        "data": _data(result),
        "outcome": {
            "event_types": list(config.label.event_types),
            "min_harm_days": json_number(config.label.min_harm_days),
            "horizon_months": int(config.label.horizon_months),
        },
        "model": {
            "source": str(training.get("model_source", result.model_source)),
            "champion_version": training.get("champion_version"),
            "objective": str(training.get("objective")),
            "chosen": result.backtest.selection.chosen if result.backtest is not None else None,
            "calibration": str(training.get("calibration")),
            "train_dates": _dates(training.get("train_dates")),
            "validation_dates": _dates(training.get("validation_dates")),
            "calibration_dates": _dates(training.get("calibration_dates")),
            "rows": json_int(training.get("rows")),
            "positives": json_int(training.get("positives")),
        },
        "features": _features(list(result.features), config),
        "backtest": _backtest(result.backtest, config.output.k, baseline_names, config.backtest.selection)
        if result.backtest is not None
        else None,
        "equality": equality_facts(result.equality, config) if result.equality is not None else None,
        "policy": {str(k): bool(v) for k, v in config.features.policies().items()},
        "review": _review(listing),
        "tracking": bool(config.tracking.enabled),
        "packages": {str(k): str(v) for k, v in sorted(packages.items())},
        "python": sys.version.split()[0],
        "notes": [str(n) for n in result.notes],
    }


def write_governance(facts: Mapping[str, Any], directory: Path) -> Path:
    """Write the governance pack into ``directory`` (created owner-only): each document as .html,
    .md and .docx, index.html and facts.json. Returns ``directory``."""
    private_dir(directory)
    write_json(facts, directory / "facts.json")
    for name, content in render_governance(facts).items():
        path = directory / name
        if isinstance(content, bytes):
            path.write_bytes(content)
            path.chmod(0o600)
        else:
            write_text(content, path)
    return directory
