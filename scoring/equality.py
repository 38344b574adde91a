"""The equality audit of a run: group metrics, the release gate, the proxy audit and the mitigation analysis.

Reads the backtest's test predictions (the months the model never trained on), the protected
table and birth dates; nothing here feeds the model. Each part can be switched off in the config;
the audit and the gate always run when there is a backtest and a protected table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from fairness.audit import AuditResult, _records, audit
from fairness.drivers import family_gaps, score_distribution
from fairness.gate import GateResult, gate
from fairness.groups import attach_groups, margins, reference_index, suppress
from fairness.makeup import list_makeup
from fairness.mitigation import mitigation_analysis, mitigation_split
from fairness.proxies import ProxyResult, proxy_audit
from fairness.settings import INTERSECTION_SEP
from features.errors import PipelineError
from features.records.schema import Records
from models.backtest import PROBABILITY, BacktestResult
from models.importance import tree_shap
from models.reasons import police_activity_share
from models.train import LightGBMRanker
from scoring.config import RunConfig
from scoring.io import write_json, write_table, write_text
from scoring.reports.equality import render_equality_report

log = logging.getLogger("harmrank")
RELEASED, NOT_RELEASED = "release allowed", "not for release"
"""The two release states the equality gate gives a run."""
FAMILY_SAMPLE = 4_000  # persons of the cohort whose reasons are summed by group (TreeSHAP, ~2 ms each)


@dataclass
class Equality:
    """What the equality report, the manifest, MLflow and ``harmrank promote`` read."""

    audit: AuditResult
    gate: GateResult
    proxies: ProxyResult | None
    tradeoff: pd.DataFrame | None
    policy: dict[str, bool]
    notes: list[str] = field(default_factory=list)
    list_makeup: pd.DataFrame | None = None  # this month's released list by group (fairness.makeup)
    model: str = ""  # which model the backtest figures describe, in words
    score_distribution: pd.DataFrame | None = None  # backtest scores by group (fairness.drivers)
    family_gaps: pd.DataFrame | None = None  # this month's cohort: reason families by group
    family_sample: int = 0  # persons of this month's cohort the family gaps were computed on
    list_length: int | None = None  # people on this month's list (output.k), when it is described
    analyses_elsewhere: str = ""  # why the proxy audit and mitigation analysis were not made in this run

    @property
    def release(self) -> str:
        return RELEASED if self.gate.passed else NOT_RELEASED

    def blocked_reason(self) -> str | None:
        """The gate's reasons in one line, or None when it passed."""
        if self.gate.passed:
            return None
        text = "equality gate: " + "; ".join(self.gate.reasons)
        return text if len(text) <= 2000 else text[:1960] + " ... (all reasons: equality.html)"


def _birth(records: Records) -> pd.DataFrame | None:
    """Birth dates for the age bands; None when no person has one (a protected table's own
    age_band column is then used)."""
    cols = [c for c in ("birth_date", "birth_year") if c in records.persons.columns]
    if not cols or not records.persons[cols].notna().to_numpy().any():
        return None
    return records.persons[["person_id", *cols]]


def policy(config: RunConfig) -> dict[str, bool]:
    """The policy switches an equality reviewer must see."""
    return config.features.policies()


def equality_audit(
    backtest: BacktestResult,
    labelled: pd.DataFrame,
    names: list[str],
    records: Records,
    config: RunConfig,
    as_of: date,
    analyses_elsewhere: str = "",
) -> Equality | None:
    """Audit the chosen model's backtest; None (logged) when the records have no protected table.

    ``as_of`` is the run's date: reviewers' acceptances of gate breaches lapse after their
    review-by date. ``analyses_elsewhere``, when given, says why the proxy audit and the mitigation
    analysis belong to another run (a month scored by the champion: they concern the features and
    the training of a model, and the run that trained it made them); they are then not made here.
    """
    protected = records.protected
    if protected is None or protected.empty or len(protected.columns) < 2:
        log.warning("no protected table: the equality audit cannot run")
        return None
    chosen = backtest.selection.chosen
    predictions = backtest.predictions.reset_index(drop=True)
    settings = config.fairness
    birth = _birth(records)
    start = time.perf_counter()
    groups = attach_groups(predictions[["person_id", "as_of"]], protected, birth, settings)
    result = audit(
        predictions, groups, chosen, settings, config.seed, probability_col=f"{chosen}{PROBABILITY}"
    )
    log.info("equality audit: group figures: %.1f s", time.perf_counter() - start)
    notes: list[str] = []
    proxies = None
    panel_groups = None
    run_proxies = config.proxies.enabled and not analyses_elsewhere
    run_mitigation = config.mitigation.enabled and not analyses_elsewhere
    if run_proxies or run_mitigation:
        panel_groups = attach_groups(labelled[["person_id", "as_of"]], protected, birth, settings)
    if run_proxies:
        start = time.perf_counter()
        proxies = proxy_audit(
            labelled[names], panel_groups, config.proxies, config.seed, keys=labelled[["person_id", "as_of"]]
        )
        log.info("equality audit: proxies: %.1f s", time.perf_counter() - start)
    tradeoff = None
    if run_mitigation:
        start = time.perf_counter()
        tradeoff = _mitigation(labelled, names, panel_groups, proxies, config, notes)
        log.info("equality audit: mitigation analysis: %.1f s", time.perf_counter() - start)
    single = [c for c in groups.columns if INTERSECTION_SEP not in c]
    distribution = score_distribution(
        predictions[chosen], predictions["as_of"], groups[single], settings.min_cell
    )
    start = time.perf_counter()
    checked = gate(result, settings.gate, as_of)
    log.info("equality audit: release gate: %.1f s", time.perf_counter() - start)
    return Equality(
        result,
        checked,
        proxies,
        tradeoff,
        policy(config),
        notes,
        score_distribution=distribution,
        analyses_elsewhere=analyses_elsewhere,
    )


def _mitigation(
    labelled: pd.DataFrame,
    names: list[str],
    groups: pd.DataFrame,
    proxies: ProxyResult | None,
    config: RunConfig,
    notes: list[str],
) -> pd.DataFrame | None:
    settings = config.mitigation
    frames = []
    try:
        split = mitigation_split(
            labelled["as_of"],
            config.label.horizon_months,
            settings.test_months,
            config.backtest.splits.history_months,
        )
    except PipelineError as exc:
        notes.append(f"mitigation analysis skipped: {exc}")
        return None
    for characteristic in settings.characteristics:
        if characteristic not in groups.columns:
            notes.append(f"mitigation analysis: no characteristic {characteristic!r} in the protected table")
            continue
        flagged = proxies.flagged_features(characteristic) if proxies is not None else []
        frames.append(
            mitigation_analysis(
                labelled,
                names,
                groups,
                split,
                characteristic,
                settings,
                config.seed,
                flagged_features=flagged,
                k=settings.k,
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else None


def this_months_list(
    equality: Equality,
    cohort: pd.DataFrame,
    listed_ids: pd.Series,
    records: Records,
    config: RunConfig,
    ranker: LightGBMRanker | None = None,
    names: list[str] | None = None,
) -> None:
    """Describe this month's list and cohort by group: ``equality.list_makeup`` and, given the
    ranker that scored the list and its features, ``equality.family_gaps`` (reason families
    by group, on a seeded sample of :data:`FAMILY_SAMPLE` persons of the cohort).

    ``cohort`` is this month's scored cohort (person_id, as_of and the features), ``listed_ids``
    the listed people.
    """
    if records.protected is None:
        return
    groups = attach_groups(
        cohort[["person_id", "as_of"]], records.protected, _birth(records), config.fairness
    )
    listed = cohort["person_id"].astype("str").isin(set(listed_ids.astype("str"))).to_numpy()
    equality.list_makeup = list_makeup(groups, listed, config.fairness.min_cell, config.fairness.reference)
    equality.list_length = int(listed.sum())
    if ranker is None or names is None:
        return
    rng = np.random.default_rng(config.seed)
    rows = np.sort(rng.choice(len(cohort), size=min(FAMILY_SAMPLE, len(cohort)), replace=False))
    X = cohort.iloc[rows][names].reset_index(drop=True)
    contributions = tree_shap(ranker.booster_, X, ranker.best_iteration_)
    single = [c for c in groups.columns if INTERSECTION_SEP not in c]
    d = equality.audit.disparities
    references = dict(zip(d["characteristic"], d["reference"], strict=False))
    equality.family_gaps = family_gaps(
        contributions, groups.iloc[rows][single].reset_index(drop=True), references, config.fairness.min_cell
    )
    equality.family_sample = len(rows)


AUDIT_TABLES = {
    "groups": "audit_groups.parquet",
    "disparities": "audit_disparities.parquet",
    "proxy_features": "audit_proxy_features.parquet",
}


def audit_document(equality: Equality, as_of: str | None = None, k: int | None = None) -> dict[str, object]:
    """audit.json: the gate, the headline and flagged disparities, this month's list make-up, the
    proxy audit's summary and the trade-off; the long tables are named under ``tables`` (Parquet
    beside it, :data:`AUDIT_TABLES`)."""
    audit = equality.audit
    k = k or equality.audit.settings.gate.k
    proxies = equality.proxies
    proxy_summary = None
    if proxies is not None:
        full = proxies.to_dict()
        flagged = proxies.features[proxies.features["flagged"].astype(bool)]
        proxy_summary = {key: full[key] for key in ("threshold_auc", "threshold_association", "notes")}
        proxy_summary |= {"characteristics": full["characteristics"], "flagged_features": _records(flagged)}
    tables = dict(AUDIT_TABLES)
    if proxies is None:
        tables.pop("proxy_features")
    return {
        "release": equality.release,
        "gate": equality.gate.to_dict(),
        "policy": equality.policy,
        "model": equality.model,
        "scope": {
            "backtest_months": [m.date().isoformat() for m in audit.months],
            "list": as_of,
            "list_length": equality.list_length,
            "gate_k": k,
        },
        "audit": audit.summary(k),
        "list_makeup": _records(equality.list_makeup) if equality.list_makeup is not None else None,
        "drivers": {
            key: _records(value) if isinstance(value, pd.DataFrame) else value
            for key, value in _drivers(equality).items()
        },
        "proxies": proxy_summary,
        "mitigation": (
            equality.tradeoff.to_dict(orient="records") if equality.tradeoff is not None else None
        ),
        "notes": equality.notes,
        "tables": tables,
    }


def _drivers(equality: Equality) -> dict[str, object]:
    return {
        "score_distribution": equality.score_distribution,
        "family_gaps": equality.family_gaps,
        "family_sample": equality.family_sample,
    }


def write_audit_tables(equality: Equality, directory: Path) -> None:
    """The audit's long tables as Parquet (every group figure, every comparison, every proxy feature)."""
    write_table(equality.audit.groups, directory / AUDIT_TABLES["groups"])
    write_table(equality.audit.disparities, directory / AUDIT_TABLES["disparities"])
    if equality.proxies is not None:
        write_table(equality.proxies.features, directory / AUDIT_TABLES["proxy_features"])


def police_activity_by_group(
    families: pd.DataFrame,
    protected: pd.DataFrame | None,
    min_cell: int,
    reference: str | Mapping[str, str] = "largest",
) -> pd.DataFrame | None:
    """Per characteristic and group of the listed people, the mean share of their reasons that came
    from police-activity families; None when no police-activity feature was a model input.

    ``families`` are the listed people's family reasons (:func:`models.reasons.family_reasons`).
    A group of fewer than ``min_cell`` listed people is suppressed.
    """
    if families.empty or not families["police_activity"].any() or protected is None:
        return None
    share = police_activity_share(families)
    people = pd.DataFrame({"person_id": share.index.astype(str), "share": share.to_numpy()})
    table = protected.astype({"person_id": "str"}).merge(people, on="person_id", how="right")
    rows = []
    for column in [c for c in protected.columns if c != "person_id"]:
        groups = table[column].astype("str").where(table[column].notna(), "not recorded")
        by = table["share"].groupby(groups, sort=True)
        names, counts, means = list(by.groups), by.size().to_numpy(), by.mean().to_numpy()
        # the same disclosure control as the list make-up: small counts, and a complement, withheld
        keep = reference_index(column, names, counts, reference)
        hidden = suppress(counts[None, :], min_cell, margins(column, names), keep=keep)[0]
        for group, n, mean, small in zip(names, counts, means, hidden, strict=True):
            rows.append((column, group, int(n), float("nan") if small else float(mean), bool(small)))
    return pd.DataFrame(rows, columns=["characteristic", "group", "listed", "share", "suppressed"])


def write_equality(
    equality: Equality, as_of: str, directory: Path, police_activity: pd.DataFrame | None = None
) -> None:
    """Write audit.json, the audit's Parquet tables and equality.html into ``directory``."""
    write_json(audit_document(equality, as_of), directory / "audit.json")
    write_audit_tables(equality, directory)
    page = render_equality_report(
        as_of=as_of,
        audit=equality.audit,
        gate=equality.gate,
        proxies=equality.proxies,
        tradeoff=equality.tradeoff,
        label_bias=None,
        policy=equality.policy,
        notes=equality.notes,
        police_activity=police_activity,
        list_makeup=equality.list_makeup,
        model=equality.model,
        drivers=_drivers(equality),
        analyses_elsewhere=equality.analyses_elsewhere,
    )
    write_text(page, directory / "equality.html")
