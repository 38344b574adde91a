"""Evidence and history: the records behind each reason, exactly as the feature engine counts them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.build import FeatureSettings, features_at, model_feature_names, prepare_events
from features.catalogue import by_name
from features.catalogue_types import DAYS_PER_YEAR, RECENCY_DIVISOR, TREND_BASE_DAYS, recency_weights
from features.records.schema import ValidationSettings
from features.records.validate import validate
from features.synthetic.settings import SyntheticConfig
from features.synthetic.world import generate_world
from scoring.evidence import EVIDENCE_COLUMNS, HISTORY_COLUMNS, evidence, history
from tests.conftest import make_events

AS_OF = pd.Timestamp("2026-11-01")
VIOLENT = "suspect_violence_sexual_count_365d"
REPO = Path(__file__).resolve().parents[2]

# (person, type, offence, occurred, recorded), event ids E0000.. in this order
ROWS = [
    ("P1", "crime_suspect", "VSO02", "2026-10-01", "2026-10-02"),  # E0000 violent, domestic, victim V1
    ("P1", "crime_suspect", "VSO06", "2026-03-01", "2026-03-05"),  # E0001 violent (rape), victim V2
    ("P1", "crime_suspect", "SHP01", "2026-06-01", "2026-06-01"),  # E0002 shoplifting
    ("P1", "crime_suspect", "VSO02", "2025-10-31", "2025-11-02"),  # E0003 366 days before: outside 365d
    ("P1", "crime_suspect", "VSO02", "2025-11-01", "2025-11-01"),  # E0004 exactly 365 days: inside
    ("P1", "crime_suspect", "VSO02", "2026-10-20", "2026-11-01"),  # E0005 recorded on the as-of date
    ("P1", "crime_suspect", "VSO02", "2026-10-25", "2026-11-05"),  # E0006 recorded after it
    ("P1", "crime_victim", "VSO02", "2026-09-01", "2026-09-01"),  # E0007 P1 as a victim
    ("P1", "arrest", None, "2026-10-03", "2026-10-03"),  # E0008
    ("P2", "crime_suspect", "VSO02", "2026-08-01", "2026-08-02"),  # E0009 weapon
    ("P2", "crime_suspect", "SHP01", "2024-01-01", "2024-01-01"),  # E0010 old
    ("P3", "crime_suspect", "VSO06", "2026-09-01", "2026-09-01"),  # E0011 someone not listed
]


@pytest.fixture
def events() -> pd.DataFrame:
    frame = make_events(ROWS)
    frame["victim_id"] = pd.Series([None] * len(frame), dtype="str")
    frame.loc[[0, 1], "victim_id"] = ["V1", "V2"]
    frame["domestic"] = frame.index == 0
    frame["weapon"] = frame.index == 9
    frame["source_ref"] = [f"CRIME/{i:03d}" for i in range(len(frame))]
    return frame.astype({c: "str" for c in ("person_id", "event_type", "offence_code", "event_id")})


def reasons_for(pairs: list[tuple[str, str]], direction: str = "raises") -> pd.DataFrame:
    """Reasons rows (person, feature) numbered 1.. per person in the order given."""
    frame = pd.DataFrame(pairs, columns=["person_id", "feature"])
    frame["order"] = frame.groupby("person_id", sort=False).cumcount() + 1
    frame["direction"] = direction
    return frame


def ids(frame: pd.DataFrame, person: str, feature: str) -> list[str]:
    return frame.loc[(frame["person_id"] == person) & (frame["feature"] == feature), "event_id"].tolist()


def test_the_engine_agrees_with_the_hand_counts(events, offences) -> None:
    matrix = features_at(
        prepare_events(events, offences),
        pd.DataFrame({"person_id": ["P1", "P2", "P3"]}),
        AS_OF,
        FeatureSettings(),
    ).set_index("person_id")
    assert matrix.loc["P1", VIOLENT] == 3 and matrix.loc["P1", "suspect_harm_365d"] == 3286.0
    assert matrix.loc["P1", "suspect_harm_max_365d"] == 2555.0 and matrix.loc["P1", "suspect_count_all"] == 5
    assert (
        matrix.loc["P1", "days_since_last_offence"] == 31 and matrix.loc["P1", "distinct_victims_365d"] == 2
    )
    assert matrix.loc["P2", "weapon_count_365d"] == 1


def test_evidence_lists_exactly_the_events_behind_each_feature(events, offences) -> None:
    features = [
        VIOLENT,
        "suspect_harm_365d",
        "suspect_harm_max_365d",
        "days_since_last_offence",
        "domestic_count_365d",
        "distinct_victims_365d",
        "suspect_count_all",
        "arrest_count_30d",
    ]
    reasons = reasons_for(
        [("P1", f) for f in features] + [("P2", "weapon_count_365d"), ("P2", "career_years")]
    )
    out = evidence(reasons, events, offences, AS_OF, n_reasons=len(features))
    assert ids(out, "P1", VIOLENT) == ["E0000", "E0001", "E0004"]  # newest first; E0003, E0005-7 excluded
    assert ids(out, "P1", "suspect_harm_365d") == ["E0000", "E0002", "E0001", "E0004"]
    assert out.loc[out["feature"] == "suspect_harm_365d", "harm_days"].sum() == 3286.0
    assert ids(out, "P1", "suspect_harm_max_365d") == ["E0001"]
    assert ids(out, "P1", "days_since_last_offence") == ["E0000"]
    assert ids(out, "P1", "domestic_count_365d") == ["E0000"]
    assert ids(out, "P1", "distinct_victims_365d") == ["E0000", "E0001"]
    assert ids(out, "P1", "suspect_count_all") == ["E0000", "E0002", "E0001", "E0004", "E0003"]
    assert ids(out, "P1", "arrest_count_30d") == ["E0008"]
    assert ids(out, "P2", "weapon_count_365d") == ["E0009"]
    assert ids(out, "P2", "career_years") == ["E0009", "E0010"]  # the last and the first offence
    assert "P3" not in set(out["person_id"])
    assert pd.unique(out["person_id"]).tolist() == ["P1", "P2"]


def test_evidence_columns_values_and_totals(events, offences) -> None:
    out = evidence(reasons_for([("P1", VIOLENT)]), events, offences, AS_OF)
    assert list(out.columns) == EVIDENCE_COLUMNS
    first = out.iloc[0]
    assert (first["person_id"], first["feature"], first["order"], first["event_type"]) == (
        "P1",
        VIOLENT,
        1,
        "crime_suspect",
    )
    assert (first["offence_code"], first["description"], first["harm_days"]) == (
        "VSO02",
        "Violence with injury",
        365.0,
    )
    assert first["occurred_date"] == pd.Timestamp("2026-10-01")
    assert first["recorded_date"] == pd.Timestamp("2026-10-02") and first["source_ref"] == "CRIME/000"
    assert out["events_total"].tolist() == [3, 3, 3]
    assert out.dtypes["order"] == "int64" and out.dtypes["events_total"] == "int64"
    assert out.dtypes["harm_days"] == "float64" and out.dtypes["event_id"] == "str"


def test_evidence_is_capped_per_reason_but_counts_everything(events, offences) -> None:
    reasons = reasons_for([("P1", VIOLENT), ("P1", "suspect_count_all")])
    out = evidence(reasons, events, offences, AS_OF, max_per_reason=2)
    assert ids(out, "P1", VIOLENT) == ["E0000", "E0001"]
    assert ids(out, "P1", "suspect_count_all") == ["E0000", "E0002"]
    assert out.groupby("feature")["events_total"].first().to_dict() == {VIOLENT: 3, "suspect_count_all": 5}
    with pytest.raises(ValueError, match="at least 1"):
        evidence(reasons, events, offences, AS_OF, max_per_reason=0)


def test_only_top_reasons_with_an_effect_and_fed_by_events_get_evidence(events, offences) -> None:
    reasons = reasons_for(
        [("P1", "age"), ("P1", "prior_orders"), ("P1", VIOLENT), ("P1", "suspect_count_all")]
    )
    out = evidence(reasons, events, offences, AS_OF, n_reasons=3)
    assert set(out["feature"]) == {VIOLENT}  # age: not from events; prior_orders: not in the catalogue
    quiet = reasons_for([("P1", VIOLENT)], direction="no effect")
    assert evidence(quiet, events, offences, AS_OF).empty
    assert list(evidence(quiet, events, offences, AS_OF).columns) == EVIDENCE_COLUMNS


def test_history_is_the_persons_own_timeline_before_the_as_of_date(events, offences) -> None:
    out = history(events, offences, ["P2", "P1"], AS_OF)
    assert list(out.columns) == HISTORY_COLUMNS
    assert pd.unique(out["person_id"]).tolist() == ["P2", "P1"]
    assert out.loc[out["person_id"] == "P1", "event_id"].tolist() == [
        "E0008",
        "E0000",
        "E0007",
        "E0002",
        "E0001",
        "E0004",
        "E0003",
    ]  # E0005, E0006 not yet recorded
    marked = out.set_index("event_id")["in_model"]
    assert not marked["E0007"] and marked["E0008"] and marked["E0000"]  # a victim record never counts
    assert np.isnan(out.set_index("event_id").loc["E0008", "harm_days"])
    with_victims = history(events, offences, ["P1"], AS_OF, features=["victim_count_all"])
    assert with_victims.set_index("event_id")["in_model"].to_dict()["E0007"]


def test_evidence_and_history_are_deterministic(events, offences) -> None:
    reasons = reasons_for([("P1", VIOLENT), ("P1", "suspect_count_all"), ("P2", "career_years")])
    shuffled = events.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(
        evidence(reasons, events, offences, AS_OF), evidence(reasons, shuffled, offences, AS_OF)
    )
    pd.testing.assert_frame_equal(
        history(events, offences, ["P1", "P2"], AS_OF), history(shuffled, offences, ["P1", "P2"], AS_OF)
    )


@pytest.fixture(scope="module")
def world():
    """A small validated synthetic world and its feature matrix (both policy switches on)."""
    made = generate_world(
        SyntheticConfig(persons=1500, years=4, seed=5), pd.read_csv(REPO / "configs" / "offences.csv")
    )
    sources = {name: name for name in made.records}
    records, _ = validate(dict(made.records), ValidationSettings(today=date(2026, 11, 23)), sources)
    settings = FeatureSettings(use_age=True, use_victimisation=True, use_police_activity=True)
    as_of = pd.Timestamp("2026-06-01")
    matrix = features_at(prepare_events(records.events, records.offences), records.persons, as_of, settings)
    return records, matrix, model_feature_names(settings), as_of


def _expected(kind: str, rows: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """The feature value recomputed from its evidence rows alone, per person."""
    g = rows.groupby("person_id")
    age = (as_of - rows["occurred_date"]).dt.days
    if kind in ("count", "distinct_victims", "distinct_subgroups"):
        return g["events_total"].first()  # the distinct counts are checked on their own below
    if kind == "harm_sum":
        return g["harm_days"].sum()
    if kind == "harm_max":
        return g["harm_days"].max()
    if kind == "harm_recency":
        weights = recency_weights(365)[age.clip(upper=len(recency_weights(365)) - 1)]
        return (rows["harm_days"] * 4 * weights).groupby(rows["person_id"]).sum() / RECENCY_DIVISOR
    if kind in ("days_since_last", "days_since_first"):
        return age.groupby(rows["person_id"]).first()
    if kind == "offence_free_months":
        return (age * 16 // 487).clip(upper=60).groupby(rows["person_id"]).first()
    career = (g["occurred_date"].max() - g["occurred_date"].min()).dt.days / DAYS_PER_YEAR
    if kind in ("career_years", "copas_rate"):
        return career if kind == "career_years" else np.log(g.size() / (10 + career))
    recent = (age <= 90).groupby(rows["person_id"]).sum()
    if kind == "trend_count":
        return recent - (g.size() - recent) * 90 / (TREND_BASE_DAYS - 90)
    harm = rows["harm_days"].where(age <= 90, 0).groupby(rows["person_id"]).sum()
    return harm - (g["harm_days"].sum() - harm) * 90 / (TREND_BASE_DAYS - 90)


def test_evidence_reproduces_every_feature_value_of_the_engine(world) -> None:
    records, matrix, names, as_of = world
    people = matrix
    long = people.melt(id_vars="person_id", value_vars=names, var_name="feature", value_name="value")
    reasons = reasons_for(list(zip(long["person_id"], long["feature"], strict=True)))
    out = evidence(
        reasons, records.events, records.offences, as_of, n_reasons=len(names), max_per_reason=10**6
    )
    values = long.set_index(["feature", "person_id"])["value"]
    victims = records.events.set_index("event_id")["victim_id"]
    subgroups = records.offences.set_index("offence_code")["subgroup"]
    births = records.persons.set_index("person_id")["birth_date"]
    for feature in names:
        f = by_name(feature)
        rows = out[out["feature"] == feature]
        expected = _expected(f.aggregation, rows, as_of) if len(rows) else pd.Series(dtype="float64")
        if f.aggregation == "distinct_victims":
            expected = victims.reindex(rows["event_id"]).groupby(rows["person_id"].to_numpy()).nunique()
        if f.aggregation == "distinct_subgroups":
            expected = subgroups.reindex(rows["offence_code"]).groupby(rows["person_id"].to_numpy()).nunique()
        if f.aggregation == "age_at_first":
            first = rows.groupby("person_id")["occurred_date"].min()
            expected = (first - births.reindex(first.index)).dt.days / DAYS_PER_YEAR
        got = values[feature].reindex(expected.index).to_numpy()
        np.testing.assert_allclose(got, expected.to_numpy(dtype="float64"), atol=1e-9, err_msg=feature)
        empty = values[feature].drop(expected.index).to_numpy()  # no evidence: the declared empty value
        if f.aggregation != "age":
            np.testing.assert_array_equal(empty, np.full(len(empty), f.impute), err_msg=feature)
    assert out["feature"].nunique() >= 100 and "age" not in set(out["feature"])


def test_family_evidence_lists_each_record_once_per_family_and_marks_the_families_it_backs(
    events, offences
) -> None:
    from models.reasons import family_reasons
    from scoring.evidence import FAMILY_EVIDENCE_COLUMNS, family_evidence

    names = [VIOLENT, "suspect_harm_365d", "suspect_shoplifting_count_all", "domestic_count_365d"]
    X = pd.DataFrame(
        {
            VIOLENT: [3.0],
            "suspect_harm_365d": [3286.0],
            "suspect_shoplifting_count_all": [1.0],
            "domestic_count_365d": [1.0],
        },
        index=pd.Index(["P1"], name="person_id"),
    )
    C = pd.DataFrame([[0.5, 0.9, 0.2, 0.0]], index=X.index, columns=names)  # domestic: no effect
    families = family_reasons(C, X, AS_OF)
    assert families["family"].tolist()[:3] == ["harm", "violence", "other_offending"]
    reasons = pd.DataFrame(
        {
            "person_id": "P1",
            "feature": names,
            "order": [2, 1, 3, 4],
            "direction": ["raises", "raises", "raises", "no effect"],
        }
    )
    out = family_evidence(reasons, families, events, offences, AS_OF, n_families=3)
    assert list(out.columns) == FAMILY_EVIDENCE_COLUMNS
    by_family = {f: g["event_id"].tolist() for f, g in out.groupby("family", sort=False)}
    # harm in the last 365 days: the four offences with harm before the as-of date, newest first
    assert by_family["harm"] == ["E0000", "E0002", "E0001", "E0004"]
    assert by_family["violence"] == ["E0000", "E0001", "E0004"]
    assert by_family["other_offending"] == ["E0002"]
    assert "domestic" not in by_family  # no effect: no evidence
    marks = out.drop_duplicates("event_id").set_index("event_id")["families"]
    assert marks["E0000"] == "harm;violence" and marks["E0002"] == "harm;other_offending"
    totals = out.groupby("family")["events_total"].first().to_dict()
    assert totals == {"harm": 4, "violence": 3, "other_offending": 1}
    assert set(out["order"]) == {1, 2, 3}
