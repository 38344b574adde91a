"""The synthetic-world check page, and the label-bias tables it shares with the equality report.

:func:`render_synthetic_check` is pure, like :func:`scoring.reports.equality.render_equality_report`: it reads
group tables (the truth was read by the caller, a benchmark script; the monthly job never reads it)
and returns one self-contained HTML page with the same stylesheet as the equality report.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from features.errors import PipelineError
from scoring.reports.env import environment, records
from scoring.reports.formats import finite


def render_synthetic_check(
    *,
    as_of: str,
    label_bias: dict[str, pd.DataFrame],
    flagged: list[str],
    world: str,
    bias: str = "",
    other_flags: int = 0,
    limit: int = 10,
    equality_href: str = "equality.html",
) -> str:
    """The synthetic-world check as one self-contained HTML page (deterministic bytes).

    Parameters
    ----------
    label_bias
        ``{"recording": ..., "selection": ...}`` as in :func:`render_equality_report`
        (:func:`fairness.label_bias.recording_rates` and :func:`~fairness.label_bias.selection_vs_oracle`).
    flagged
        The run's flagged disparities of the characteristic the bias was injected into, one
        sentence each; ``other_flags`` counts the run's other flagged disparities.
    world, bias
        The world in words, and the injected bias in words ("" when none is described).
    limit
        Groups of fewer persons show no figures (the equality report's suppression).

    Raises
    ------
    PipelineError
        When a table has a ``person_id`` column (aggregates only).
    """
    if any("person_id" in frame.columns for frame in label_bias.values()):
        raise PipelineError("The synthetic-world check shows aggregates only: pass group tables, not rows.")
    context = {
        "as_of": as_of,
        "label_bias": label_bias_context(label_bias, limit),
        "limit": limit,
        "flagged": [str(f) for f in flagged],
        "world": world,
        "bias": bias,
        "other_flags": other_flags,
        "equality_href": equality_href,
    }
    return environment().get_template("synthetic_check.html").render(**context)


def label_bias_context(label_bias: dict[str, pd.DataFrame] | None, limit: int) -> dict[str, Any] | None:
    """The recording and selection tables as template rows; a recording row from fewer than
    ``limit`` persons (person-months when the table has no ``persons``) is not shown, and missing
    interval columns read as NaN."""
    if not label_bias:
        return None
    order = ["characteristic", "group"]
    out = {name: records(label_bias.get(name), order) for name in ("recording", "selection")}
    for row in out["recording"]:  # n below the suppression limit (or missing): no figures at all
        count = row.get("persons", row.get("n"))
        row["shown"] = count is not None and finite(count) and int(count) >= limit
        for col in ("recorded_to_true_lo", "recorded_to_true_hi", "relative", "relative_lo", "relative_hi"):
            row.setdefault(col, math.nan)  # tables made without intervals or a reference
        row.setdefault("reference", "")
        lo, hi = row["relative_lo"], row["relative_hi"]
        row["excludes_parity"] = finite(lo) and finite(hi) and (lo > 1 or hi < 1)
    return out
