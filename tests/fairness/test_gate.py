"""The release gate: which disparities breach, which are unchecked, and the reasons in words."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from fairness.audit import AuditResult, audit
from fairness.gate import CHECK_COLUMNS, gate
from fairness.settings import FairnessSettings, GateSettings

NAN = np.nan
# group, metric, k, ratio, ratio_lo, ratio_hi, flagged, suppressed
ROWS = [
    ("Black", "precision", 100, 0.71, 0.60, 0.84, True, False),  # outside and significant: breach
    ("Asian", "precision", 100, 0.70, 0.45, 1.10, False, False),  # outside but parity plausible
    ("Mixed", "fpr", 100, 1.40, 1.20, 1.70, True, False),  # above the upper bound: breach
    ("Other", "fpr", 100, NAN, NAN, NAN, False, True),  # suppressed: unchecked
    ("Asian", "recall", 100, 0.62, 0.41, 0.90, True, False),  # below the minimum and significant
    ("Other", "recall", 100, 0.75, 0.40, 1.30, False, False),  # below the minimum, not significant
    ("Black", "precision", 500, 0.50, 0.40, 0.60, True, False),  # another k: not gated
    ("Black", "auc", None, 0.50, 0.40, 0.60, True, False),  # not a gate metric
]


def _audit(rows: list[tuple]) -> AuditResult:
    d = pd.DataFrame(
        rows, columns=["group", "metric", "k", "ratio", "ratio_lo", "ratio_hi", "flagged", "suppressed"]
    )
    d["k"] = d["k"].astype("Int64")
    d["p_value"] = np.where(d["flagged"], 0.0001, 0.2)
    d["p_adjusted"] = np.where(d["suppressed"], np.nan, np.where(d["flagged"], 0.004, 0.4))
    d.loc[d["suppressed"], "p_value"] = np.nan
    d.insert(0, "scope", "pooled")
    d.insert(1, "characteristic", "ethnicity")
    d.insert(3, "reference", "White")
    monthly = d.assign(scope="2026-01-01", ratio=0.1, flagged=True)  # months never gate
    frame = pd.concat([d, monthly], ignore_index=True)
    empty = pd.DataFrame()
    return AuditResult(empty, frame, empty, FairnessSettings(), "model", [], [])


def test_breaches_need_a_ratio_outside_the_bounds_and_a_corrected_test_that_rejects_parity() -> None:
    result = gate(_audit(ROWS), GateSettings())
    assert not result.passed
    assert list(result.checks.columns) == CHECK_COLUMNS
    assert len(result.checks) == 6  # pooled, k = 100, precision / fpr / recall
    status = result.checks.set_index(["group", "metric"])["status"].to_dict()
    assert status == {
        ("Asian", "precision"): "not established",
        ("Asian", "recall"): "breached",
        ("Black", "precision"): "breached",
        ("Mixed", "fpr"): "breached",
        ("Other", "fpr"): "not checkable",
        ("Other", "recall"): "not established",
    }
    breached = result.checks.loc[result.checks["breached"], ["group", "metric"]].values.tolist()
    assert breached == [["Asian", "recall"], ["Black", "precision"], ["Mixed", "fpr"]]
    # six comparisons were tested in the characteristic's family (the suppressed one was not)
    assert result.reasons == [
        "recall@100 for ethnicity=Asian is 0.62x the reference group White (95% CI 0.41-0.90; "
        "corrected p = 0.004), below the minimum 0.80",
        "precision@100 for ethnicity=Black is 0.71x the reference group White (95% CI 0.60-0.84; "
        "corrected p = 0.004), outside 0.80-1.25",
        "false positive rate@100 for ethnicity=Mixed is 1.40x the reference group White (95% CI "
        "1.20-1.70; corrected p = 0.004), outside 0.80-1.25",
    ]
    why = result.checks.set_index(["group", "metric"])["why"]
    assert why[("Asian", "precision")] == (
        "outside the tolerance, but the corrected test finds parity plausible (corrected p = 0.400 "
        "over 7 comparisons, not below 0.05)"
    )
    assert (
        why[("Black", "precision")]
        == "outside the tolerance, and the corrected test rejects parity (corrected p = 0.004 over 7 "
        "comparisons, below 0.05)"
    )
    unchecked = result.unchecked
    assert unchecked[["group", "metric"]].values.tolist() == [["Other", "fpr"]]
    assert not unchecked["breached"].any()
    assert result.not_checkable == [
        "false positive rate@100 for ethnicity=Other: suppressed so that a smaller figure of ethnicity "
        "cannot be recovered; needs a larger k, more months pooled or better recording"
    ]
    assert result.counts() == {
        "breached": 3, "accepted": 0, "not established": 2, "not checkable": 1, "passed": 0
    }  # fmt: skip
    recall = result.checks[result.checks["metric"] == "recall"]
    assert recall["lower"].tolist() == [0.8, 0.8] and recall["upper"].isna().all()


def test_a_comparison_too_small_at_k_is_checked_at_the_next_audited_k_and_says_so() -> None:
    rows = [
        *ROWS[:6],
        ("Other", "fpr", 500, 1.60, 1.30, 1.90, True, False),  # checkable on the longer list
        ("Asian", "fpr", 100, NAN, NAN, NAN, False, True),  # not checkable at any k
        ("Asian", "fpr", 500, NAN, NAN, NAN, False, True),
    ]
    result = gate(_audit(rows), GateSettings())
    other = result.checks.set_index(["group", "metric"]).loc[("Other", "fpr")]
    assert other["status"] == "breached" and other["k"] == 500 and other["gate_k"] == 100
    assert other["why"].startswith("checked at k = 500, because at k = 100: suppressed")
    assert any(r.startswith("false positive rate@500 for ethnicity=Other is 1.60x") for r in result.reasons)
    asian = result.checks.set_index(["group", "metric"]).loc[("Asian", "fpr")]
    assert asian["status"] == "not checkable"
    assert asian["why"].endswith(
        "also not checkable at k = 500: needs more months pooled or better recording"
    )
    strict = gate(_audit(rows), GateSettings(fallback_to_larger_k=False))
    assert strict.checks.set_index(["group", "metric"]).loc[("Other", "fpr"), "status"] == "not checkable"


def test_selection_rate_is_gated_with_its_own_bounds() -> None:
    rows = [("Black", "selection_rate", 100, 2.81, 1.99, 4.11, True, False)]
    result = gate(_audit(rows), GateSettings())
    assert not result.passed
    assert result.reasons[0].startswith("selection rate@100 for ethnicity=Black is 2.81x the reference group")
    wide = gate(_audit(rows), GateSettings(selection_rate_bounds=(0.25, 4.0)))
    assert wide.passed and wide.checks["status"].tolist() == ["passed"]
    off = gate(_audit(rows), GateSettings(selection_rate_bounds=None))
    assert off.passed and off.checks.empty
    with pytest.raises(ValidationError, match="selection_rate_bounds must satisfy"):
        GateSettings(selection_rate_bounds=(1.2, 2.0))
    accepted = gate(_audit(rows), GateSettings(accepted=[_acceptance("Black", "selection_rate")]))
    assert accepted.passed and accepted.checks["status"].tolist() == ["accepted"]


def test_the_recall_rule_can_ignore_the_test_and_can_be_switched_off() -> None:
    strict = gate(_audit(ROWS), GateSettings(recall_needs_significance=False))
    recall = strict.checks[strict.checks["metric"] == "recall"].set_index("group")["breached"]
    assert recall.to_dict() == {"Asian": True, "Other": True}
    other = strict.checks.set_index(["group", "metric"]).loc[("Other", "recall"), "why"]
    assert other == "below the minimum (no test needed: recall_needs_significance is false)"
    lenient = gate(_audit(ROWS), GateSettings(min_recall_ratio=None))
    assert "recall" not in set(lenient.checks["metric"])


def test_a_run_within_tolerance_passes_and_a_disabled_gate_checks_nothing() -> None:
    fine = [
        ("Black", "precision", 100, 0.95, 0.8, 1.1, False, False),
        ("Black", "fpr", 100, 1.1, 0.9, 1.3, False, False),
    ]
    result = gate(_audit(fine), GateSettings())
    assert result.passed and result.reasons == [] and not result.checks["breached"].any()
    assert result.checks["status"].tolist() == ["passed", "passed"]
    off = gate(_audit(ROWS), GateSettings(enabled=False))
    assert off.passed and not off.enabled and off.checks.empty
    text = json.dumps(result.to_dict(), allow_nan=False)
    assert '"passed": true' in text


def _lower_scores_for_b(tiny: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """2,000 people, 40% in group b whose scores are lowered at equal outcome rates; the first
    ``tiny`` people form a group c of their own."""
    rng = np.random.default_rng(0)
    n = 2_000
    grp = np.where(rng.random(n) < 0.4, "b", "a")
    grp[:tiny] = "c"
    frame = pd.DataFrame(
        {
            "person_id": [f"P{i:04d}" for i in range(n)],
            "as_of": pd.Timestamp("2026-01-01"),
            "score": rng.normal(size=n) - 0.8 * (grp == "b"),
            "label": (rng.random(n) < 0.3).astype(int),
            "future_harm": 1.0,
        }
    )
    return frame, grp


def test_the_gate_reads_a_real_audit() -> None:
    frame, grp = _lower_scores_for_b()
    s = FairnessSettings(ks=[300], n_boot=100, gate={"k": 300})
    result = gate(
        audit(frame, pd.DataFrame({"grp": pd.Series(grp, dtype="str")}), "score", s, seed=1), s.gate
    )
    assert not result.passed
    assert any(r.startswith("false positive rate@300 for grp=b is") for r in result.reasons)


def _acceptance(group: str, metric: str, review_by: str = "2027-05-31", **kw) -> dict:
    return {
        "characteristic": "ethnicity",
        "group": group,
        "metric": metric,
        "reason": kw.get("reason", "Mitigated by a second reviewer for every listed person of this group."),
        "decided_by": "A. Reviewer, equality lead",
        "decided_on": "2026-11-20",
        "review_by": review_by,
    }


def test_an_accepted_breach_does_not_block_and_is_shown_with_the_decision() -> None:
    accepted = [
        _acceptance("Black", "precision"),
        _acceptance("Mixed", "fpr"),
        _acceptance("Asian", "recall"),
    ]
    result = gate(_audit(ROWS), GateSettings(accepted=accepted), on=date(2026, 12, 1))
    assert result.passed and result.reasons == []
    assert result.checks["breached"].sum() == 3 and result.checks["accepted"].sum() == 3
    assert (result.checks["status"] == "accepted").sum() == 3
    assert result.accepted[1] == (
        "precision@100 for ethnicity=Black is 0.71x the reference group White (95% CI 0.60-0.84; "
        "corrected p = 0.004), outside 0.80-1.25: accepted by A. Reviewer, equality lead on 2026-11-20, "
        "to be reviewed by 2027-05-31: Mitigated by a second reviewer for every listed person of this group."
    )
    assert json.loads(json.dumps(result.to_dict()))["accepted"] == result.accepted


def test_an_acceptance_lapses_after_its_review_date_and_only_covers_its_own_breach() -> None:
    accepted = [_acceptance("Black", "precision", review_by="2026-11-30"), _acceptance("Other", "recall")]
    result = gate(_audit(ROWS), GateSettings(accepted=accepted), on=date(2026, 12, 1))
    assert not result.passed
    assert len(result.reasons) == 3  # Asian recall and Mixed FPR were never accepted
    black = next(r for r in result.reasons if "Black" in r)
    assert black.endswith("to be reviewed by 2026-11-30; LAPSED: the run's date 2026-12-01 is after it)")
    # Other's recall is below the minimum but not significant: not a breach, so its acceptance is unused
    assert result.unused == [
        "recall@100 for ethnicity=Other (accepted by A. Reviewer, equality lead on 2026-11-20, "
        "to be reviewed by 2027-05-31)"
    ]
    # on the review date itself the acceptance still holds
    on_the_day = gate(_audit(ROWS), GateSettings(accepted=accepted[:1]), on=date(2026, 11, 30))
    black = on_the_day.checks.set_index(["group", "metric"]).loc[("Black", "precision")]
    assert black["accepted"] and "LAPSED" not in black["decision"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"metric": "auc"}, r"metric 'auc' is not checked by the gate"),
        ({"metric": "selection_rate"}, None),
        ({"review_by": "2026-11-01"}, r"review_by \(2026-11-01\) must be after decided_on \(2026-11-20\)"),
        ({"reason": "fine"}, r"reason\n  String should have at least 20 characters"),
    ],
)
def test_an_acceptance_must_name_a_gate_check_a_later_review_date_and_a_reason(change, message) -> None:
    if message is None:  # valid
        GateSettings(accepted=[_acceptance("Black", "precision") | change])
        return
    with pytest.raises(ValidationError, match=message):
        GateSettings(accepted=[_acceptance("Black", "precision") | change])
    with pytest.raises(ValidationError, match="listed twice"):
        GateSettings(accepted=[_acceptance("Black", "precision")] * 2)


def test_an_acceptance_covers_its_own_list_length_only() -> None:
    rows = [
        ("Other", "fpr", 100, NAN, NAN, NAN, False, True),  # not checkable at 100 ...
        ("Other", "fpr", 500, 1.60, 1.30, 1.90, True, False),  # ... breached at 500
    ]
    at_100 = gate(_audit(rows), GateSettings(accepted=[_acceptance("Other", "fpr")]))
    assert not at_100.passed  # an acceptance of the top 100 does not cover the top 500
    assert at_100.unused[0].endswith("the breach is now at k = 500, which it does not cover")
    at_500 = gate(_audit(rows), GateSettings(accepted=[_acceptance("Other", "fpr") | {"k": 500}]))
    assert at_500.passed and at_500.checks["status"].tolist() == ["accepted"]
    unchecked = gate(_audit(rows[:1]), GateSettings(accepted=[_acceptance("Other", "fpr")]))
    assert unchecked.unused[0].endswith("keep it until the check can be made")


def test_without_a_test_the_gate_fails_closed() -> None:
    # n_boot = 0: no p-values, nothing flagged; a ratio outside the band must still breach
    rows = [("Black", "selection_rate", 100, 2.81, NAN, NAN, False, False)]
    audit = _audit(rows)
    audit.disparities["p_adjusted"] = np.nan
    audit.disparities["p_value"] = np.nan
    result = gate(audit, GateSettings())
    assert not result.passed and result.checks["status"].tolist() == ["breached"]
    assert (
        result.checks["why"].iloc[0].endswith("no test could be made (no resamples): the gate fails closed")
    )


def test_a_group_hidden_only_to_protect_a_smaller_one_is_still_checked_without_publishing_it() -> None:
    # a (60%) is the reference; b (40%) is scored lower at equal outcomes; c has 5 people. c's
    # figures are suppressed, and b's with them (else c = total - a - b): b can only be checked on
    # the withheld figures, and its figures must not appear in the gate's table.
    frame, grp = _lower_scores_for_b(tiny=5)
    s = FairnessSettings(ks=[300], n_boot=100, gate={"k": 300})
    result = audit(frame, pd.DataFrame({"grp": pd.Series(grp, dtype="str")}), "score", s, seed=1)
    published = result.disparities[result.disparities["group"] == "b"]
    assert published["suppressed"].all() and published["ratio"].isna().all()  # b is withheld ...
    assert (result.withheld["group"] == "b").any()  # ... but kept for the gate
    checked = gate(result, s.gate)
    b = checked.checks[checked.checks["group"] == "b"].set_index("metric")
    assert b.loc["fpr", "status"] == "breached" and np.isnan(b.loc["fpr", "ratio"])
    assert "corrected p" not in b.loc["fpr", "why"] and b.loc["fpr", "why"].endswith(
        "decided on figures withheld for disclosure control "
        "(publishing them would let a smaller group's figure be worked out)"
    )
    assert any("for grp=b breaches the tolerance" in r and "figures withheld" in r for r in checked.reasons)
    assert not any(str(round(float(x), 2)) in " ".join(checked.reasons) for x in result.withheld["ratio"])
    c = checked.checks[checked.checks["group"] == "c"]
    assert (c["status"] == "not checkable").all()  # 5 people: nothing can be decided
