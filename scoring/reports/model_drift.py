"""The model report's Drift section: a scoring month's cohort against the champion's training months."""

from __future__ import annotations

from models.drift import Drift, level
from scoring.reports.formats import Cell, Table, feature_label

SHOWN = 15


def drift_section(drift: Drift | None) -> dict[str, object] | None:
    """Counts by level, the inputs that moved most and the score's quantiles; None when not measured."""
    if drift is None:
        return None
    features = drift.features
    counts = features["level"].value_counts()
    top = features.head(SHOWN)
    table = Table(
        ["feature", "mean then", "mean now", "PSI", "reading"],
        [
            [
                Cell(feature_label(r.feature)[0], sub=(r.feature,), numeric=False),
                Cell(f"{r.reference_mean:,.2f}"),
                Cell(f"{r.current_mean:,.2f}"),
                Cell(f"{r.psi:.2f}"),
                Cell(str(r.level), numeric=False, css="flag" if r.level == "major" else ""),
            ]
            for r in top.itertuples(index=False)
        ],
        f"The {len(top)} of {len(features)} model inputs that moved most (PSI, largest first); drift.csv "
        "holds every input",
    )
    scores = Table(
        ["quantile of the score", "training months", "this month"],
        [
            [Cell(f"{q:.0%}"), Cell(f"{a:.2f}"), Cell(f"{b:.2f}")]
            for q, a, b in drift.scores.itertuples(index=False)
        ],
        "The champion's raw score (margin) at three quantiles",
    )
    months = drift.reference_months
    return {
        "first": months[0].date().isoformat(),
        "last": months[-1].date().isoformat(),
        "n_months": len(months),
        "reference_rows": f"{drift.reference_rows:,}",
        "current_rows": f"{drift.current_rows:,}",
        "major": int(counts.get("major", 0)),
        "moderate": int(counts.get("moderate", 0)),
        "stable": int(counts.get("stable", 0)),
        "inputs": len(features),
        "score_psi": f"{drift.score_psi:.2f}",
        "score_level": level(drift.score_psi),
        "table": table,
        "scores": scores,
    }
