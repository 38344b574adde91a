"""The governance pack's facts: gathered from a run's result, JSON-safe, with every gate check's status."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from fairness.gate import GateResult
from fairness.settings import FairnessSettings
from features.catalogue import active_features
from models.backtest import PROBABILITY, BacktestResult
from models.calibrate import calibration_report
from models.evaluate import EvaluationSettings, Selection, evaluate
from scoring.config import RunConfig
from scoring.equality import Equality
from scoring.governance import governance_facts, write_governance
from scoring.governance_equality import gate_status

AS_OF = pd.Timestamp("2026-11-01")
ACCEPTANCE = {
    "characteristic": "sex",
    "group": "Female",
    "metric": "fpr",
    "reason": 'Reviewed twice <b>"always"</b> | by a second officer.',
    "decided_by": "A. Reviewer <script>",
    "decided_on": "2026-10-20",
    "review_by": "2027-04-20",
}


def checks(status: bool) -> pd.DataFrame:
    """Five gate checks: passed, breached, accepted, outside but not significant, suppressed."""
    frame = pd.DataFrame(
        {
            "characteristic": "sex",
            "group": ["Female", "not recorded", "Female", "Female", "Other"],
            "reference": "Male",
            "metric": ["precision", "fpr", "fpr", "recall", "precision"],
            "k": 100,
            "ratio": [1.01, 1.6, 1.7, 0.6, np.nan],
            "ratio_lo": [0.9, 1.3, 1.4, 0.3, np.nan],
            "ratio_hi": [1.1, 1.9, 2.0, 1.2, np.nan],
            "lower": 0.8,
            "upper": [1.25, 1.25, 1.25, np.nan, 1.25],
            "breached": [False, True, True, False, False],
            "rule": ["ratio within 0.80-1.25"] * 4 + ["unchecked: suppressed (too few people)"],
            "accepted": [False, False, True, False, False],
            "decision": ["", "", "accepted by A. Reviewer <script>", "", ""],
        }
    )
    if status:
        frame["status"] = ["passed", "breached", "accepted", "not established", "not checkable"]
        frame["why"] = ["within", "outside", "", "parity plausible", "Other: fewer than 10 people listed"]
    return frame


EXPECTED = ["passed", "breached", "accepted", "not established", "not checkable"]


@pytest.mark.parametrize("status", [True, False], ids=["status column", "derived"])
def test_gate_status_reads_the_column_or_derives_it(status: bool) -> None:
    assert gate_status(checks(status)).tolist() == EXPECTED


def test_a_check_without_a_ratio_is_never_passed() -> None:
    frame = checks(True)
    frame.loc[0, "ratio"] = np.nan  # says passed, but nothing was compared
    frame.loc[1, "status"] = "something new"
    assert gate_status(frame).tolist()[:2] == ["not checkable", "not checkable"]
    old = checks(False)
    old.loc[0, ["ratio", "rule"]] = [np.nan, "ratio within 0.80-1.25"]  # not defined, rule not marked
    assert gate_status(old).iloc[0] == "not checkable"


def equality(config: RunConfig) -> Equality:
    groups = pd.DataFrame(
        {
            "scope": "pooled",
            "characteristic": ["sex", "sex", "sex", "sex x ethnicity"],
            "group": ["Female", "Female", "Male", "Female | White"],
            "k": pd.array([pd.NA, 100, 100, 100], dtype="Int64"),
            "metric": ["size", "selection_rate", "selection_rate", "selection_rate"],
            "value": [900.0, 0.011, np.nan, 0.02],
            "lo": [np.nan, 0.009, np.nan, 0.01],
            "hi": [np.nan, 0.013, np.nan, 0.03],
            "n": pd.array([90, 10, pd.NA, 8], dtype="Int64"),
            "suppressed": [False, False, True, False],
        }
    )
    disparities = pd.DataFrame(
        {
            "scope": "pooled",
            "characteristic": "sex",
            "group": "Female",
            "reference": "Male",
            "metric": "fpr",
            "k": pd.array([100], dtype="Int64"),
            "ratio": [1.7],
            "ratio_lo": [1.4],
            "ratio_hi": [2.0],
            "p_adjusted": [0.001],
            "flagged": [True],
            "suppressed": [False],
        }
    )
    coverage = pd.DataFrame({"characteristic": ["sex", "sex"], "recorded_share": [0.99, 0.97]})
    audit = SimpleNamespace(
        groups=groups,
        disparities=disparities,
        coverage=coverage,
        months=[pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")],
        notes=[],
        settings=FairnessSettings(),
    )
    gate = GateResult(False, checks(False), ["fpr for sex=not recorded"], accepted=["fpr for sex=Female"])
    return Equality(audit, gate, None, None, config.features.policies())  # type: ignore[arg-type]


def result(config: RunConfig, with_equality: bool) -> SimpleNamespace:
    events = pd.DataFrame(
        {
            "occurred_date": pd.to_datetime(["2019-05-01", "2024-01-01", "2026-12-01"]),
            "recorded_date": pd.to_datetime(["2019-05-03", "2026-10-30", "2026-12-02"]),  # the last: too late
        }
    )
    ranked = pd.DataFrame(
        {
            "person_id": ["a", "b", "c", "d"],
            "probability": [0.9, 0.5, 0.2, 0.1],
            "v100_rank": [1, 4, 2, 3],
        }
    )
    table = SimpleNamespace(table="events", rows_read=4, rows_valid=3, rows_quarantined=1, reasons={"bad": 1})
    names = [f.name for f in active_features()]
    return SimpleNamespace(
        as_of=AS_OF,
        validation=SimpleNamespace(tables=[table]),
        records=SimpleNamespace(events=events, protected=pd.DataFrame({"person_id": ["a"], "sex": ["Male"]})),
        ranked=ranked,
        current=ranked,
        training={
            "model_source": "trained",
            "objective": "binary",
            "calibration": "beta",
            "rows": 40,
            "positives": 4,
            "train_dates": ["2024-01-01"],
            "calibration_dates": ["2025-11-01"],
        },
        model_source="trained",
        features=names,
        backtest=None,
        equality=equality(config) if with_equality else None,
        notes=["a note"],
        top=lambda k: ranked.head(k),
    )


LISTING = SimpleNamespace(
    log_check=SimpleNamespace(ok=True, entries=0),
    review_summary={
        "listed": 3,
        "reviewed": 0,
        "share_reviewed": 0.0,
        "no_action": 0,
        "override_rate": math.nan,
    },
    previous_review=None,
)


@pytest.fixture
def config() -> RunConfig:
    return RunConfig.model_validate({"output": {"k": 3}, "fairness": {"gate": {"accepted": [ACCEPTANCE]}}})


def gather(config: RunConfig, with_equality: bool = True) -> dict:
    run = result(config, with_equality)
    return governance_facts(
        run,  # type: ignore[arg-type]
        config,
        LISTING,  # type: ignore[arg-type]
        packages={"harmrank": "0.1.0"},
        baseline_names={"v100": "V100 list"},
    )


def test_facts_are_json_safe_and_state_the_run(config: RunConfig) -> None:
    facts = gather(config)
    assert json.loads(json.dumps(facts, allow_nan=False)) == facts
    assert facts["as_of"] == "2026-11-01" and facts["list"]["k"] == 3
    assert facts["list"]["cohort_size"] == 4 and facts["list"]["in_v100_top"] == 2  # a and c
    assert facts["data"]["first_occurred"] == "2019-05-01"
    assert facts["data"]["last_recorded"] == "2026-10-30"  # nothing recorded on or after the as-of date
    assert facts["data"]["events_used"] == 2 and facts["data"]["protected_columns"] == ["sex"]
    assert facts["review"]["previous_list"] is None  # a first run: no rates yet
    assert facts["review"]["this_list"]["override_rate"] is None  # NaN is not a figure
    assert facts["packages"] == {"harmrank": "0.1.0"} and facts["notes"] == ["a note"]


def test_features_used_and_excluded_by_policy(config: RunConfig) -> None:
    features = gather(config)["features"]
    used = [n for family in features["families"] for n in family["features"]]
    assert features["count"] == len(used) and "age" not in used
    policies = {p["switch"]: p for p in features["policies"]}
    assert policies["use_age"]["on"] is False and "age" in policies["use_age"]["excluded"]
    assert policies["use_police_activity"]["excluded"]  # stop and search, intelligence


def test_equality_facts_keep_every_status_and_the_reviewers_reasons(config: RunConfig) -> None:
    e = gather(config)["equality"]
    assert [c["status"] for c in e["gate"]["checks"]] == EXPECTED
    unchecked = e["gate"]["checks"][-1]
    assert unchecked["ratio"] is None and unchecked["why"] == "suppressed (too few people)"
    assert e["gate"]["counts"] == {s: 1 for s in EXPECTED}
    assert e["acceptances"][0]["reason"] == ACCEPTANCE["reason"]  # kept as written: escaped when rendered
    assert e["characteristics"] == ["sex"]  # intersections are left to the equality report
    assert {(g["group"], g["suppressed"]) for g in e["groups"] if g["metric"] == "selection_rate"} == {
        ("Female", False),
        ("Male", True),
    }
    assert e["flagged"][0]["ratio"] == 1.7 and e["coverage"] == [
        {"characteristic": "sex", "lowest_recorded_share": 0.97}
    ]
    assert e["first_month"] == "2025-01" and e["last_month"] == "2025-02"


def test_the_pack_is_written_owner_only_with_its_facts(config: RunConfig, tmp_path: Path) -> None:
    facts = gather(config, with_equality=False)
    out = write_governance(facts, tmp_path / "governance")
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 17 and "facts.json" in names and "index.html" in names
    assert json.loads((out / "facts.json").read_text()) == facts
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in out.iterdir())
    assert "equality audit and its release gate did not run" in (out / "model-card.md").read_text()


def backtest() -> BacktestResult:
    """A small real evaluation: a model, its calibrated probability and the V100 list, two months."""
    rng = np.random.default_rng(3)
    months = [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")]
    n = 400
    frame = pd.DataFrame(
        {
            "person_id": np.tile([f"p{i}" for i in range(n)], 2),
            "as_of": np.repeat(months, n),
            "label": (rng.random(2 * n) < 0.2).astype("int8"),
        }
    )
    frame["future_harm"] = frame["label"] * rng.integers(365, 2000, 2 * n)
    frame["m"] = frame["label"] + rng.normal(0, 0.8, 2 * n)
    frame[f"m{PROBABILITY}"] = 1 / (1 + np.exp(-frame["m"]))
    frame["v100"] = frame["label"] + rng.normal(0, 1.2, 2 * n)
    scores = {"m": "m", f"m{PROBABILITY}": f"m{PROBABILITY}", "v100": "v100"}
    settings = EvaluationSettings(ks=[50], n_boot=40, monthly_intervals=False)
    evaluation = evaluate(frame, scores, settings, 7, probabilistic=[f"m{PROBABILITY}"])
    report = calibration_report(frame[f"m{PROBABILITY}"], frame["label"])
    ranking = pd.DataFrame({"model": ["m"], "months": [2], "mean": [0.5], "std": [0.1], "criterion": [0.45]})
    splits = [SimpleNamespace(test=m, note="") for m in months]
    return BacktestResult(
        splits,  # type: ignore[arg-type]
        frame,
        evaluation,
        Selection("m", ranking, pd.DataFrame({"regret": [0.0]})),
        {"m": report},
        {"m": 1.0},
        calibration_choice={"m": "beta"},
    )


def test_backtest_facts_carry_intervals_scope_and_the_comparison_with_v100(config: RunConfig) -> None:
    config = RunConfig.model_validate({"output": {"k": 50}})
    run = result(config, with_equality=False)
    run.backtest = backtest()
    facts = governance_facts(
        run,  # type: ignore[arg-type]
        config,
        LISTING,  # type: ignore[arg-type]
        packages={},
        baseline_names={"v100": "V100 list"},
    )
    json.dumps(facts, allow_nan=False)
    b = facts["backtest"]
    assert (b["first_month"], b["last_month"], b["k"], b["chosen"]) == ("2025-01", "2025-02", 50, "m")
    model, v100 = b["models"]
    assert (model["key"], v100["name"]) == ("m", "V100 list")
    precision = model["figures"]["precision@50"]
    assert precision["value"] == pytest.approx(run.backtest.evaluation.value("m", "precision", 50))
    assert precision["lo"] <= precision["value"] <= precision["hi"]
    assert {"brier", "ece"} <= set(model["figures"]) and "brier" not in v100["figures"]
    versus = b["versus_v100"]["precision@50"]
    assert versus["value"] == pytest.approx(precision["value"] - v100["figures"]["precision@50"]["value"])
    assert b["calibration"]["method"] == "beta" and 0 <= b["calibration"]["ece"] < 1
