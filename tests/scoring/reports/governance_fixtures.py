"""Small governance facts made by hand, shaped like :func:`scoring.governance.governance_facts`."""

from __future__ import annotations

import copy
from typing import Any

HOSTILE = 'A. <script>alert("x")</script> *Reviewer* | [link](http://evil) & _lead_\x00\x07\x1b'


def _fig(value: float, lo: float, hi: float) -> dict[str, float]:
    return {"value": value, "lo": lo, "hi": hi}


def _check(group: str, metric: str, ratio: float | None, status: str, **extra: Any) -> dict[str, Any]:
    row = {
        "characteristic": "ethnicity",
        "group": group,
        "reference": "White",
        "metric": metric,
        "k": 100,
        "ratio": ratio,
        "lo": None if ratio is None else ratio * 0.8,
        "hi": None if ratio is None else ratio * 1.2,
        "lower": 0.8,
        "upper": 1.25,
        "status": status,
        "why": "",
        "decision": "",
    }
    return row | extra


def _groups() -> list[dict[str, Any]]:
    rows = []
    for group, n, share, sel in (
        ("Black", 1500, 0.15, 0.012),
        ("White", 6000, 0.6, 0.008),
        ("Mixed", 9, 0.01, None),
    ):
        rows.append(
            {
                "characteristic": "ethnicity",
                "group": group,
                "metric": "size",
                "value": n * 10.0,
                "lo": None,
                "hi": None,
                "n": n,
                "suppressed": False,
            }
        )
        rows.append(
            {
                "characteristic": "ethnicity",
                "group": group,
                "metric": "cohort_share",
                "value": share,
                "lo": share * 0.9,
                "hi": share * 1.1,
                "n": n,
                "suppressed": False,
            }
        )
        for metric in ("selection_rate", "precision", "recall", "fpr"):
            value = None if sel is None else sel
            rows.append(
                {
                    "characteristic": "ethnicity",
                    "group": group,
                    "metric": metric,
                    "value": value,
                    "lo": None if value is None else value * 0.8,
                    "hi": None if value is None else value * 1.2,
                    "n": None if value is None else n,
                    "suppressed": value is None,
                }
            )
    return rows


BASE: dict[str, Any] = {
    "as_of": "2026-11-01",
    "marking": "OFFICIAL-SENSITIVE",
    "seed": 7,
    "list": {
        "k": 100,
        "cohort_size": 8321,
        "cohort_event_types": ["crime_suspect"],
        "cohort_lookback_days": 1095,
        "rank_by": "probability",
        "probability_max": 0.93,
        "probability_min": 0.41,
        "in_v100_top": 37,
    },
    "data": {
        "tables": [
            {
                "table": "persons",
                "rows_read": 50000,
                "rows_valid": 50000,
                "rows_quarantined": 0,
                "reasons": {},
            },
            {
                "table": "events",
                "rows_read": 926369,
                "rows_valid": 925906,
                "rows_quarantined": 463,
                "reasons": {"person_id: not in persons": 116},
            },
        ],
        "events_used": 900000,
        "first_occurred": "2019-11-03",
        "last_recorded": "2026-10-31",
        "protected_columns": ["ethnicity", "religion", "sex"],
    },
    "outcome": {"event_types": ["crime_suspect"], "min_harm_days": 365.0, "horizon_months": 12},
    "model": {
        "source": "trained",
        "champion_version": None,
        "objective": "lambdarank",
        "chosen": "lightgbm_lambdarank",
        "calibration": "beta",
        "train_dates": ["2023-11-01", "2024-10-01"],
        "validation_dates": ["2024-11-01"],
        "calibration_dates": ["2025-11-01"],
        "rows": 180000,
        "positives": 16000,
    },
    "features": {
        "count": 3,
        "families": [
            {"family": "Events by type", "features": ["suspect_count_30d", "arrest_count_365d"]},
            {"family": "Harm (CCHI days, as suspect)", "features": ["suspect_harm_365d"]},
        ],
        "reason_families": ["Harm of the offences alleged"],
        "policies": [
            {"switch": "use_age", "on": False, "excluded": ["age", "age_at_first_offence"]},
            {"switch": "use_victimisation", "on": False, "excluded": ["victim_count_30d"]},
            {"switch": "use_police_activity", "on": False, "excluded": ["stop_count_30d"]},
        ],
        "catalogue_size": 120,
    },
    "backtest": {
        "months": ["2025-01-01", "2025-02-01", "2025-03-01"],
        "first_month": "2025-01",
        "last_month": "2025-03",
        "k": 100,
        "chosen": "lightgbm_lambdarank",
        "candidates": ["lightgbm_binary", "lightgbm_lambdarank"],
        "selection": {"metric": "precision", "k": 100, "std_penalty": 0.5},
        "models": [
            {
                "key": "lightgbm_lambdarank",
                "name": "lightgbm_lambdarank",
                "figures": {
                    "precision@100": _fig(0.62, 0.57, 0.695),
                    "recall@100": _fig(0.081, 0.07, 0.09),
                    "harm_captured@100": _fig(0.21, 0.17, 0.25),
                    "auc_roc": _fig(0.81, 0.8, 0.82),
                    "average_precision": _fig(0.41, 0.39, 0.43),
                    "brier": _fig(0.063, 0.06, 0.066),
                    "ece": _fig(0.012, 0.01, 0.02),
                },
            },
            {
                "key": "v100",
                "name": "V100 list",
                "figures": {
                    "precision@100": _fig(0.55, 0.5, 0.6),
                    "recall@100": _fig(0.07, 0.06, 0.08),
                    "harm_captured@100": _fig(0.18, 0.14, 0.22),
                    "auc_roc": _fig(0.73, 0.71, 0.75),
                    "average_precision": _fig(0.34, 0.32, 0.37),
                },
            },
        ],
        "versus_v100": {
            "precision@100": _fig(0.07, 0.02, 0.12),
            "harm_captured@100": _fig(0.03, -0.01, 0.07),
        },
        "calibration": {
            "method": "beta",
            "setting": "auto",
            "ece": 0.0123,
            "ece_top": 0.042,
            "slope": 0.91,
            "brier": 0.0634,
            "mean_predicted_top": 0.85,
            "observed_rate_top": 0.81,
            "n": 91256.0,
            "n_top": 917.0,
        },
        "confidence": 0.95,
        "n_boot": 300,
        "notes": [],
    },
    "equality": {
        "release": "not for release",
        "months": ["2025-01-01", "2025-02-01", "2025-03-01"],
        "first_month": "2025-01",
        "last_month": "2025-03",
        "characteristics": ["ethnicity"],
        "gate": {
            "enabled": True,
            "passed": False,
            "k": 100,
            "counts": {"passed": 1, "not established": 1, "breached": 1, "accepted": 1, "not checkable": 1},
            "checks": [
                _check("Asian", "precision", 1.02, "passed", why="within the tolerance"),
                _check("Black", "fpr", 1.9, "breached", why="outside the tolerance and corrected p < 0.001"),
                _check("Black", "selection_rate", 1.5, "accepted", decision=f"accepted by {HOSTILE}"),
                _check("Other", "recall", 0.7, "not established", why="parity is plausible"),
                _check("Mixed", "precision", None, "not checkable", why="Mixed: fewer than 10 people listed"),
            ],
            "reasons": ["false positive rate@100 for ethnicity=Black is 1.90x the reference group White"],
            "accepted": [f"selection rate@100 for ethnicity=Black: accepted by {HOSTILE}"],
            "unused": [],
        },
        "acceptances": [
            {
                "characteristic": "ethnicity",
                "group": "Black",
                "metric": "selection_rate",
                "reason": f"Reviewed by the panel: {HOSTILE}",
                "decided_by": HOSTILE,
                "decided_on": "2026-10-20",
                "review_by": "2027-04-20",
            }
        ],
        "groups": _groups(),
        "flagged": [
            {
                "characteristic": "ethnicity",
                "group": "Black",
                "reference": "White",
                "metric": "fpr",
                "k": 100,
                "ratio": 1.9,
                "lo": 1.5,
                "hi": 2.3,
                "p_adjusted": 0.0001,
            },
        ],
        "coverage": [{"characteristic": "ethnicity", "lowest_recorded_share": 0.93}],
        "proxies": {
            "threshold_auc": 0.65,
            "threshold_association": 0.3,
            "characteristics": [
                {"characteristic": "ethnicity", "cv_auc": 0.58, "lo": 0.56, "hi": 0.6, "flagged": False}
            ],
            "flagged_characteristics": [],
            "flagged_features": [],
        },
        "mitigation": None,
        "min_cell": 10,
        "alpha": 0.05,
        "correction": "holm",
        "confidence": 0.95,
        "notes": [],
    },
    "policy": {"use_age": False, "use_victimisation": False, "use_police_activity": False},
    "review": {
        "log_intact": True,
        "log_entries": 0,
        "this_list": {
            "listed": 100.0,
            "reviewed": 0.0,
            "share_reviewed": 0.0,
            "no_action": 0.0,
            "override_rate": None,
        },
        "previous_list": None,
    },
    "tracking": False,
    "packages": {"harmrank": "0.1.0", "lightgbm": "4.7.0"},
    "python": "3.11.7",
    "notes": [],
}


def facts(**changes: Any) -> dict[str, Any]:
    """A deep copy of the base facts with top-level keys replaced."""
    out = copy.deepcopy(BASE)
    out.update(changes)
    return out
