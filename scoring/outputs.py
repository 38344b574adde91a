"""Writing a run: runs/<DATE>/top100.csv, scores.parquet, quarantine/ and manifest.json."""

from __future__ import annotations

import platform
import shutil
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from fairness.audit import POOLED
from models.importance import shap_importance
from scoring.backtesting import metrics_document
from scoring.config import RunConfig
from scoring.equality import police_activity_by_group, write_equality
from scoring.excel import write_list_workbook
from scoring.governance import governance_facts, write_governance
from scoring.io import DEATHS_DIR, atomic_directory, sha256, write_csv, write_json, write_table
from scoring.listing import Listing, build_listing
from scoring.pipeline import RunResult
from scoring.progress import QuietReporter, Reporter
from scoring.provenance import provenance
from scoring.records import write_quarantine
from scoring.reports.model import render_model_report
from scoring.reports.officer import order_statement, render_officer_report

PACKAGES = (
    "harmrank",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "lightgbm",
    "fairlearn",
    "shap",
    "mlflow",
    "duckdb",
    "pydantic",
)

LIST_COLUMNS = [
    "rank",
    "person_id",
    "score",
    "probability",
    "probability_lo",
    "probability_hi",
    "model_score",
    "v100_score",
    "v100_rank",
]

STATUSES = ("new", "returned", "stayed")

#: The published list: the scores, the top reasons, the change since last month and the 95% rank
#: interval from the person bootstrap (rank_lo, rank_hi: <NA> when output.rank_intervals is 0).
PUBLISHED_COLUMNS = [
    *LIST_COLUMNS,
    "reason_1",
    "reason_2",
    "reason_3",
    "status",
    "previous_rank",
    "rank_change",
    "rank_lo",
    "rank_hi",
]

BASELINE_NAMES = {"v100": "V100 list", "rfg": "RFG matrix", "logistic": "Logistic (OGRS-like)"}

ADVISORY = (
    "Advisory only. This list prioritises people for review; it does not justify any action "
    "by itself. Every listed person must receive a recorded human review."
)


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a run's result depends on."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _inputs(result: RunResult) -> dict[str, dict[str, object]]:
    inputs: dict[str, dict[str, object]] = {}
    for report in result.validation.tables:
        source = Path(report.source)
        inputs[report.table] = {
            "path": str(source),
            "sha256": sha256(source) if source.is_file() else None,
            "rows_read": report.rows_read,
            "rows_valid": report.rows_valid,
            "rows_quarantined": report.rows_quarantined,
            "quarantine_reasons": dict(sorted(report.reasons.items())),
        }
    return inputs


def _release(result: RunResult) -> dict[str, object]:
    """Whether the run's model may be released, by the equality gate."""
    if result.equality is None:
        return {"status": "not audited", "reasons": ["no backtest or no protected table: nothing to audit"]}
    gate = result.equality.gate
    return {
        "status": result.equality.release,
        "reasons": gate.reasons,
        "accepted_breaches": gate.accepted,
        "checks": gate.counts(),
        "not_checkable": gate.not_checkable,
    }


def manifest(
    result: RunResult, config: RunConfig, data_dir: Path | str, log_head: dict[str, object] | None = None
) -> dict[str, object]:
    """Everything needed to reproduce and audit the run; ``log_head`` is the review log's head
    when the list was written (entries, last hash, intact), kept so that a later rewrite of the
    log shows (``harmrank verify-log``)."""
    return {
        "as_of": result.as_of.date().isoformat(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "advisory": ADVISORY,
        "seed": config.seed,
        "data_dir": str(data_dir),
        "config": config.model_dump(mode="json"),
        "inputs": _inputs(result),
        "training": result.training,
        "list_length": min(config.output.k, len(result.ranked)),
        "review_log": str(config.scoring.review_log),
        "review_log_head": log_head,
        "release": _release(result),
        "code": provenance(),
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


FRAMES = "frames"
"""The folder of ``runs/<DATE>/report`` holding what the review service renders the pages from."""


def write_page_frames(result: RunResult, config: RunConfig, listing: Listing, folder: Path) -> None:
    """The frames the officer pages are made from, beyond reasons/evidence (written beside the
    list), so the review service can render the same pages with live review state: the list with
    its status, who left, each listed person's history and past ranks, and the page settings."""
    write_table(listing.listed.reset_index(drop=True), folder / "listed.parquet")
    write_table(listing.left.reset_index(drop=True), folder / "left.parquet")
    write_table(listing.history.reset_index(drop=True), folder / "history.parquet")
    write_table(listing.rank_history.reset_index(drop=True), folder / "rank_history.parquet")
    pages = {
        "base_value": listing.base_value,
        "objective": str(result.training.get("objective", "binary")),
        "notes": list(result.notes),
        "marking": config.output.marking,
        "rank_by": config.scoring.rank_by,
        "features": list(result.features),
    }
    write_json(pages, folder / "pages.json")


def write_run(
    result: RunResult, config: RunConfig, data_dir: Path | str, reporter: Reporter | None = None
) -> tuple[Path, Listing]:
    """Write the run directory atomically; returns its final path and the explained list. Each step
    is a stage of ``reporter`` (timed in the run log)."""
    reporter = reporter or QuietReporter()
    target = config.runs_dir / result.as_of.date().isoformat()
    with reporter.stage("Explaining the list (reasons and their records)"):
        listing = build_listing(result, config)
    top = listing.listed[PUBLISHED_COLUMNS]
    decimals = config.output.score_decimals
    with atomic_directory(target) as staging:
        with reporter.stage("Writing the list and the officer report"):
            write_csv(top, staging / "top100.csv", float_format=f"%.{decimals}f")
            write_table(top.reset_index(drop=True), staging / "top100.parquet")
            write_list_workbook(
                top,
                staging / "top100.xlsx",
                as_of=result.as_of.date().isoformat(),
                marking=config.output.marking,
                order=order_statement(listing.listed, config.scoring.rank_by),
                advisory=ADVISORY,
                decimals=decimals,
            )
            write_table(listing.reasons, staging / "reasons.parquet")
            write_table(listing.families, staging / "reason_families.parquet")
            write_table(listing.evidence, staging / "evidence.parquet")
            render_officer_report(
                staging / "report",
                as_of=result.as_of.date().isoformat(),
                listed=listing.listed,
                left=listing.left,
                reasons=listing.reasons,
                families=listing.families,
                evidence=listing.evidence,
                history=listing.history,
                rank_history=listing.rank_history,
                reviews=listing.reviews,
                review_summary=listing.review_summary,
                previous_review=listing.previous_review,
                review_log={"ok": listing.log_check.ok, "text": listing.log_check.summary(where=False)},
                marking=config.output.marking,
                rank_by=config.scoring.rank_by,
                base_value=listing.base_value,
                objective=str(result.training.get("objective", "binary")),
                notes=result.notes,
            )
            write_page_frames(result, config, listing, staging / "report" / FRAMES)
            write_table(result.ranked[LIST_COLUMNS].reset_index(drop=True), staging / "scores.parquet")
            write_quarantine(result.validation, staging)
        with reporter.stage("Writing the model, equality and governance reports"):
            if result.backtest is not None:
                write_json(
                    metrics_document(result.backtest, result.notes, str(data_dir)), staging / "metrics.json"
                )
                write_table(result.backtest.predictions, staging / "backtest_predictions.parquet")
                importance = shap_importance(
                    result.model.ranker, result.current[result.features], seed=config.seed
                )
                page = render_model_report(
                    result.backtest,
                    as_of=result.as_of.date().isoformat(),
                    importance=importance,
                    notes=result.notes,
                    baseline_names=BASELINE_NAMES,
                    drift=result.drift,
                )
                (staging / "model.html").write_text(page, encoding="utf-8")
            if result.drift is not None:
                write_csv(result.drift.features, staging / "drift.csv", float_format="%.4f")
            if result.equality is not None:
                shares = police_activity_by_group(
                    listing.families,
                    result.records.protected,
                    config.fairness.min_cell,
                    config.fairness.reference,
                )
                write_equality(result.equality, result.as_of.date().isoformat(), staging, shares)
            write_governance(
                governance_facts(
                    result, config, listing, packages=package_versions(), baseline_names=BASELINE_NAMES
                ),
                staging / "governance",
            )
        head = listing.log_check.head_record()
        write_json(manifest(result, config, data_dir, head), staging / "manifest.json")
        if (target / DEATHS_DIR).is_dir():  # the month's deaths report is its own job's: kept as it is
            shutil.copytree(target / DEATHS_DIR, staging / DEATHS_DIR)
    return target, listing


def summary_rows(result: RunResult, listing: Listing, k: int) -> list[tuple[str, str]]:
    """Key figures for the closing summary table."""
    top = result.top(k)
    status = listing.listed["status"].value_counts()
    overlap = int((top["v100_rank"] <= k).sum())
    rows = [
        ("as-of date", result.as_of.date().isoformat()),
        ("records read", f"{sum(t.rows_read for t in result.validation.tables):,}"),
        ("rows quarantined", f"{sum(t.rows_quarantined for t in result.validation.tables):,}"),
        ("training rows (positives)", f"{result.training['rows']:,} ({result.training['positives']:,})"),
        ("cohort scored", f"{result.training['cohort_size']:,}"),
        ("list length", f"{len(top):,}"),
        ("new / returned / stayed", " / ".join(f"{int(status.get(s, 0)):,}" for s in STATUSES)),
        ("left since last month", f"{len(listing.left):,}"),
        (f"also in the V100 top {k}", f"{overlap:,}"),
        ("highest probability", f"{top['probability'].iloc[0]:.4f}" if len(top) else "-"),
        ("model objective", str(result.training["objective"])),
    ]
    if result.backtest is not None:
        value = result.backtest.evaluation.value
        chosen = result.backtest.selection.chosen
        for metric in ("precision", "harm_captured"):
            model, v100 = value(chosen, metric, k=k), value("v100", metric, k=k)
            rows.append((f"backtest {metric}@{k}: model / V100", f"{model:.3f} / {v100:.3f}"))
    if result.equality is not None:
        d = result.equality.audit.disparities
        pooled = d[d["scope"] == POOLED]
        flagged = pooled[pooled["flagged"].astype(bool)]
        rows.append(("equality: release", result.equality.release))
        rows.append(
            ("equality: disparities flagged", f"{len(flagged):,} of {len(pooled):,} pooled comparisons")
        )
    return rows
