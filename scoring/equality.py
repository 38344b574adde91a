"""The equality audit of a run: group metrics, the release gate, the proxy audit and the mitigation analysis.

Reads the backtest's test predictions (the months the model never trained on), the protected
table and birth dates; nothing here feeds the model. Each part can be switched off in the config;
the audit and the gate always run when there is a backtest and a protected table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from fairness.audit import AuditResult, audit
from fairness.gate import GateResult, gate
from fairness.groups import attach_groups
from fairness.mitigation import mitigation_analysis, mitigation_split
from fairness.proxies import ProxyResult, proxy_audit
from features.errors import PipelineError
from features.records.schema import Records
from models.backtest import PROBABILITY, BacktestResult
from models.reasons import police_activity_share
from scoring.config import RunConfig
from scoring.io import write_json, write_text
from scoring.reports.equality import render_equality_report

log = logging.getLogger("harmrank")


@dataclass
class Equality:
    """What the equality report, the manifest, MLflow and ``harmrank promote`` read."""

    audit: AuditResult
    gate: GateResult
    proxies: ProxyResult | None
    tradeoff: pd.DataFrame | None
    policy: dict[str, bool]
    notes: list[str] = field(default_factory=list)

    @property
    def release(self) -> str:
        return "release allowed" if self.gate.passed else "not for release"

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
) -> Equality | None:
    """Audit the chosen model's backtest; None (logged) when the records have no protected table.

    ``as_of`` is the run's date: reviewers' acceptances of gate breaches lapse after their
    review-by date.
    """
    protected = records.protected
    if protected is None or protected.empty or len(protected.columns) < 2:
        log.warning("no protected table: the equality audit cannot run")
        return None
    chosen = backtest.selection.chosen
    predictions = backtest.predictions.reset_index(drop=True)
    settings = config.fairness
    birth = _birth(records)
    groups = attach_groups(predictions[["person_id", "as_of"]], protected, birth, settings)
    result = audit(
        predictions, groups, chosen, settings, config.seed, probability_col=f"{chosen}{PROBABILITY}"
    )
    notes: list[str] = []
    proxies = None
    panel_groups = None
    if config.proxies.enabled or config.mitigation.enabled:
        panel_groups = attach_groups(labelled[["person_id", "as_of"]], protected, birth, settings)
    if config.proxies.enabled:
        proxies = proxy_audit(
            labelled[names], panel_groups, config.proxies, config.seed, keys=labelled[["person_id", "as_of"]]
        )
    tradeoff = None
    if config.mitigation.enabled:
        tradeoff = _mitigation(labelled, names, panel_groups, proxies, config, notes)
    return Equality(result, gate(result, settings.gate, as_of), proxies, tradeoff, policy(config), notes)


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


def audit_document(equality: Equality) -> dict[str, object]:
    """audit.json: every group figure with its interval, the proxy audit, the trade-off and the gate."""
    return {
        "release": equality.release,
        "gate": equality.gate.to_dict(),
        "policy": equality.policy,
        "audit": equality.audit.to_dict(),
        "proxies": equality.proxies.to_dict() if equality.proxies is not None else None,
        "mitigation": (
            equality.tradeoff.to_dict(orient="records") if equality.tradeoff is not None else None
        ),
        "notes": equality.notes,
    }


def police_activity_by_group(
    families: pd.DataFrame, protected: pd.DataFrame | None, min_cell: int
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
        for group, shares in table["share"].groupby(groups, sort=True):
            small = len(shares) < min_cell
            rows.append((column, group, len(shares), float("nan") if small else float(shares.mean()), small))
    return pd.DataFrame(rows, columns=["characteristic", "group", "listed", "share", "suppressed"])


def write_equality(
    equality: Equality, as_of: str, directory: Path, police_activity: pd.DataFrame | None = None
) -> None:
    """Write audit.json and equality.html into ``directory``."""
    write_json(audit_document(equality), directory / "audit.json")
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
    )
    write_text(page, directory / "equality.html")
