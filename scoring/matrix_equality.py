"""The equality audit of a matrix-mode backtest (``harmrank backtest --matrix``): a force's own table."""

from __future__ import annotations

import pandas as pd

from fairness.audit import audit
from fairness.gate import gate
from fairness.groups import attach_groups
from models.backtest import PROBABILITY, BacktestResult
from scoring.config import RunConfig
from scoring.equality import Equality


def matrix_equality(
    backtest: BacktestResult, frame: pd.DataFrame, protected: list[str], harm_col: str, config: RunConfig
) -> Equality:
    """The audit of a matrix-mode backtest: groups from the matrix's own protected columns.

    A person's characteristics are taken from their latest row. No proxy audit or mitigation
    analysis (they need the event engine's feature panel); the gate applies as in a run.
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
    policy_flags = {"protected columns kept out of the features": True}
    today = config.validation.resolved_today()  # acceptances of gate breaches lapse after their date
    return Equality(result, gate(result, settings.gate, today), None, None, policy_flags, notes)
