"""Reasons by family: sums that still add up, sentences of checkable facts, absences worded as absences."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from features.catalogue import CATALOGUE, active_features
from models.reasons import (
    describe,
    family_of,
    family_reasons,
    officer_facing,
    police_activity_share,
    top_family_reasons,
)

AS_OF = pd.Timestamp("2026-11-01")
NAMES = [f.name for f in active_features()]


def person(**values: float) -> dict[str, float]:
    """Every default feature 0 (never offended: days since at the 'never' value), then ``values``."""
    base = {n: 0.0 for n in NAMES}
    base |= {"days_since_last_offence": 36_500.0, "days_since_first_offence": 36_500.0}
    return base | values


def frames(rows: dict[str, dict[str, float]], contributions: dict[str, dict[str, float]]):
    X = pd.DataFrame.from_dict(rows, orient="index")[NAMES]
    C = pd.DataFrame(0.0, index=X.index, columns=NAMES)
    for pid, values in contributions.items():
        for name, c in values.items():
            C.loc[pid, name] = c
    return C.rename_axis("person_id"), X.rename_axis("person_id")


def test_harm_sentence_states_whole_days_counts_and_the_v100() -> None:
    v = person(
        suspect_count_all=9,
        suspect_count_365d=3,
        suspect_harm_all=27_211.25,
        suspect_harm_365d=5_110.5,
        suspect_harm_max_all=3_650,
    )
    text, absent = describe("harm", v, AS_OF)
    assert text == (
        "Named as suspect in 9 offences in all recorded history, with a combined harm of 27,211 CCHI days; "
        "3 offences with 5,110 days in the last 12 months (the V100 score). The most harmful carries "
        "3,650 days"
    )
    assert not absent


def test_frequency_sentence_gives_dates_an_officer_can_check() -> None:
    v = person(
        suspect_count_all=12,
        suspect_count_365d=4,
        suspect_count_90d=0,
        days_since_last_offence=35,
        days_since_first_offence=2922,
    )
    text, _ = describe("frequency", v, AS_OF)
    assert text == (
        "Named as suspect in 12 offences in all recorded history: 4 in the last 12 months and none in the "
        "last 3 months. The last alleged offence occurred on 2026-09-27 (35 days before the list date)"
    )
    v |= {"career_years": 7.9}
    text, _ = describe("career", v, AS_OF)
    assert text == (
        "The first alleged offence occurred on 2018-11-01 and the last on 2026-09-27: an offending history "
        "of 7.9 years"
    )


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        (
            "violence",
            "No violent or sexual offence, robbery or weapon offence alleged in all recorded history",
        ),
        ("domestic", "No domestic abuse offence and no offence against a recorded victim alleged in all"),
        ("justice", "No arrest, charge or conviction recorded in all recorded history"),
        ("other_offending", "No other kind of offence alleged in all recorded history"),
    ],
)
def test_an_absence_is_worded_as_an_absence(family: str, expected: str) -> None:
    text, absent = describe(family, person(), AS_OF)
    assert text.startswith(expected) and absent


def test_families_add_up_to_the_score_and_top_reasons_come_from_three_families() -> None:
    rows = {
        "A": person(
            suspect_count_all=5, suspect_harm_all=800, suspect_robbery_count_all=2, arrest_count_all=3
        ),
        "B": person(suspect_count_all=1, suspect_harm_all=10, days_since_last_offence=20),
    }
    contributions = {
        "A": {
            "suspect_harm_all": 0.9,
            "suspect_harm_365d": 0.3,
            "suspect_robbery_count_all": 0.5,
            "suspect_count_all": 0.2,
            "arrest_count_all": 0.25,
            "suspect_shoplifting_count_all": -0.05,
        },
        "B": {"suspect_harm_all": -0.4, "days_since_last_offence": 0.6, "suspect_robbery_count_all": -0.1},
    }
    C, X = frames(rows, contributions)
    families = family_reasons(C, X, AS_OF)
    sums = families.groupby("person_id")["contribution"].sum()
    np.testing.assert_allclose(sums.loc[["A", "B"]], C.sum(axis=1).loc[["A", "B"]], rtol=0, atol=1e-12)
    a = families[families["person_id"] == "A"].set_index("family")
    assert a.loc["harm", "contribution"] == pytest.approx(1.2)
    assert a.loc["harm", "order"] == 1 and a.loc["violence", "order"] == 2
    assert a.loc["other_offending", "direction"] == "lowers" and a.loc["other_offending", "absent"]
    assert a.loc["frequency", "order"] == 4  # 0.2 after justice's 0.25
    top = top_family_reasons(families, 3).set_index("person_id")
    assert top.loc["A", "reason_1"].startswith("Named as suspect in 5 offences in all recorded history")
    assert top.loc["A", "reason_1"].endswith(": raises the score")
    assert top.loc["A", "reason_2"].startswith("Named as suspect in 2 robberies")
    assert top.loc["A", "reason_3"] == (
        "3 arrests in all recorded history; none in the last 12 months: raises the score"
    )
    b = top.loc["B"]
    assert b["reason_1"].startswith("Named as suspect in 1 offence in all recorded history: none in the")
    assert b["reason_2"].startswith("Named as suspect in 1 offence in all recorded history, with a")
    assert (
        b["reason_3"] == "No violent or sexual offence, robbery or weapon offence alleged in all recorded "
        "history: lowers the score"
    )


def test_an_absence_that_raises_a_score_is_never_an_officers_reason() -> None:
    rows = {"A": person(suspect_count_all=2, suspect_harm_all=20)}
    C, X = frames(rows, {"A": {"suspect_harm_all": 0.3, "domestic_count_all": 0.5}})
    families = family_reasons(C, X, AS_OF)
    domestic = families[families["family"] == "domestic"].iloc[0]
    assert domestic["absent"] and domestic["direction"] == "raises"
    assert not officer_facing(families)[families["family"] == "domestic"].any()
    top = top_family_reasons(families, 3).iloc[0]
    assert "domestic" not in " ".join(top[["reason_1", "reason_2", "reason_3"]]).lower()


def test_no_officer_reason_says_zero_of_something_raised_the_score() -> None:
    """Random people and contributions: a raising reason never starts with an absence or a zero count."""
    rng = np.random.default_rng(4)
    rows, contributions = {}, {}
    for i in range(60):
        counts = {n: float(rng.poisson(0.7)) for n in NAMES if "count" in n}
        harm = {n: float(rng.integers(0, 4) * 365.25) for n in NAMES if n.startswith("suspect_harm")}
        rows[f"P{i}"] = person(**counts, **harm, days_since_last_offence=float(rng.integers(1, 900)))
        contributions[f"P{i}"] = {n: float(rng.normal(0, 0.3)) for n in NAMES}
    C, X = frames(rows, contributions)
    top = top_family_reasons(family_reasons(C, X, AS_OF), 3)
    for text in top[["reason_1", "reason_2", "reason_3"]].to_numpy().ravel():
        if text.endswith("raises the score"):
            assert not re.match(r"(No |Named as suspect in 0 |0 )", text), text


def test_police_activity_share_counts_only_police_activity_families() -> None:
    names = [*NAMES, "stop_count_all", "stop_count_365d"]
    X = pd.DataFrame(
        [person(stop_count_all=4, stop_count_365d=1) | {"stop_count_all": 4, "stop_count_365d": 1}]
    )
    X = X[names].set_axis(["A"]).rename_axis("person_id")
    C = pd.DataFrame(0.0, index=X.index, columns=names)
    C.loc["A", ["suspect_harm_all", "stop_count_all"]] = [0.75, -0.25]
    families = family_reasons(C, X, AS_OF)
    assert police_activity_share(families).loc["A"] == pytest.approx(0.25)
    stop = families[families["family"] == "stop_search"].iloc[0]
    assert stop["sentence"] == "4 stops and searches in all recorded history, 1 in the last 12 months"


def test_every_catalogue_feature_has_a_family_and_unknown_columns_are_other() -> None:
    assert {family_of(f.name) for f in CATALOGUE} >= {"harm", "violence", "frequency", "justice"}
    assert family_of("force_own_score") == "other"


def test_a_family_with_some_facts_leads_with_what_is_there() -> None:
    text, absent = describe("domestic", person(distinct_victims_all=40, distinct_victims_365d=3), AS_OF)
    assert text == (
        "Offences alleged in all recorded history were against 40 different recorded victims (3 in the "
        "last 12 months); none was flagged as domestic abuse"
    )
    assert not absent
