"""The equality audit of a matrix-mode backtest (``harmrank backtest --matrix``): a force's own table."""

from __future__ import annotations

import pandas as pd

from fairness.audit import audit
from fairness.gate import gate
from fairness.groups import attach_groups
from fairness.proxies import ProxyResult, proxy_audit
from fairness.settings import FairnessSettings
from models.backtest import PROBABILITY, BacktestResult
from scoring.config import RunConfig
from scoring.equality import Equality

PROXY_NOTE = (
    "proxy audit: the table's own features, each person's latest row (a force's extract is where "
    "proxies such as postcode or area variables hide)"
)


def matrix_equality(
    backtest: BacktestResult,
    frame: pd.DataFrame,
    protected: list[str],
    harm_col: str,
    config: RunConfig,
    *,
    features: list[str] | None = None,
) -> Equality:
    """The audit of a matrix-mode backtest: groups from the matrix's own protected columns.

    A person's characteristics are taken from their latest row. With ``features`` (the table's
    model features) the proxy audit runs on the whole table with the monthly job's settings and
    thresholds (``proxies``), unless ``proxies.enabled`` is false. No mitigation analysis (it needs
    the event engine's panel); the gate applies as in a run.
    """
    latest = frame.sort_values(["person_id", "as_of"], kind="stable").drop_duplicates(
        "person_id", keep="last"
    )
    table = latest[["person_id", *protected]].reset_index(drop=True)
    predictions = backtest.predictions.reset_index(drop=True)
    settings = config.fairness
    if settings.characteristics is None:  # intersections only of the columns this table has
        kept = [c for c in settings.intersections if all(part in protected for part in c)]
        settings = settings.model_copy(update={"intersections": kept})
    groups = attach_groups(predictions[["person_id", "as_of"]], table, None, settings)
    chosen = backtest.selection.chosen
    result = audit(
        predictions,
        groups,
        chosen,
        settings,
        config.seed,
        probability_col=f"{chosen}{PROBABILITY}",
        label_col="label_",
        harm_col=harm_col,
    )
    notes = ["characteristics are each person's values on their latest row of the matrix"]
    proxies = _proxies(frame, table, features, config, settings, notes)
    policy_flags = {"protected columns kept out of the features": True}
    today = config.validation.resolved_today()  # acceptances of gate breaches lapse after their date
    return Equality(result, gate(result, settings.gate, today), proxies, None, policy_flags, notes)


def _proxies(
    frame: pd.DataFrame,
    table: pd.DataFrame,
    features: list[str] | None,
    config: RunConfig,
    settings: FairnessSettings,
    notes: list[str],
) -> ProxyResult | None:
    """The proxy audit of the table's own features, or None (with a note) when it is switched off."""
    if features is None:
        return None
    if not config.proxies.enabled:
        notes.append(
            "proxy audit switched off (proxies.enabled: false): the table's features were not audited"
        )
        return None
    rows = frame[["person_id", "as_of"]].reset_index(drop=True)
    groups = attach_groups(rows, table, None, settings)
    notes.append(PROXY_NOTE)
    return proxy_audit(frame[features].reset_index(drop=True), groups, config.proxies, config.seed, keys=rows)
