"""The catalogue: one declaration per feature, complete, consistent, and documented."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from features.assemble import plan_keys
from features.build import FeatureSettings, build_matrix, model_feature_names
from features.catalogue import CATALOGUE, V100_FEATURE, active_features, by_name
from features.catalogue_doc import AGGREGATIONS, catalogue_markdown
from features.catalogue_types import (
    CATEGORIES,
    OTHER_FAMILY,
    REASON_FAMILIES,
    SUSPECT,
    WINDOWS,
    Source,
    category_slug,
    recency_weights,
    window_suffix,
)
from features.records.schema import Records
from tests.features.conftest import WORLD_DATES

REPO = Path(__file__).resolve().parents[2]

ALL_SWITCHES = FeatureSettings(use_age=True, use_victimisation=True, use_police_activity=True)


def test_names_are_unique_and_plain() -> None:
    names = [f.name for f in CATALOGUE]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9_]+", n) for n in names)
    assert model_feature_names(ALL_SWITCHES) == names


def test_every_declaration_is_complete() -> None:
    for f in CATALOGUE:
        assert f.template.count("{value}") == 1, f.name
        assert f.unit and f.family and f.aggregation in AGGREGATIONS, f.name
        assert f.window_days in WINDOWS and f.dtype in ("int32", "float64"), f.name
        assert f.impute is not None, f.name
        if isinstance(f.impute, float) and math.isnan(f.impute):  # missing only where age is unknown
            assert f.policy == "use_age" and f.dtype == "float64", f.name


def test_counts_cover_every_type_and_category_over_every_window() -> None:
    for prefix in ("suspect", "arrest", "charge", "conviction", "intelligence", "stop", "victim"):
        for w in WINDOWS:
            assert by_name(f"{prefix}_count_{window_suffix(w)}").aggregation == "count"
    for slug, _, _ in CATEGORIES:
        for w in WINDOWS:
            feature = by_name(f"suspect_{slug}_count_{window_suffix(w)}")
            assert feature.source.category == slug and feature.window_days == w
    assert len(active_features()) >= 100


def test_policy_switches_add_exactly_their_features() -> None:
    default = {f.name for f in active_features()}
    age = {f.name for f in active_features(use_age=True)} - default
    victim = {f.name for f in active_features(use_victimisation=True)} - default
    police = {f.name for f in active_features(use_police_activity=True)} - default
    assert age == {"age", "age_at_first_offence"}
    assert victim == {f"victim_count_{window_suffix(w)}" for w in WINDOWS}
    assert police == {
        f"{kind}_count_{window_suffix(w)}" for kind in ("stop", "intelligence") for w in WINDOWS
    }
    assert not any(
        f.source and {"stop_search", "intelligence"} & set(f.source.event_types) for f in active_features()
    )
    assert all("crime_victim" not in (f.source.event_types if f.source else ()) for f in active_features())


def test_v100_is_suspect_harm_in_the_last_365_days() -> None:
    v100 = by_name(V100_FEATURE)
    assert (v100.source, v100.aggregation, v100.window_days, v100.unit) == (
        SUSPECT,
        "harm_sum",
        365,
        "CCHI days",
    )
    assert "V100" in v100.template


def test_sentences_read_naturally() -> None:
    assert by_name("suspect_count_365d").sentence(3) == "Named as suspect in 3 offences in the last 12 months"
    assert (
        by_name(V100_FEATURE)
        .sentence(730.25)
        .startswith("Offences alleged in the last 12 months carry 730.25")
    )
    assert (
        by_name("career_years").sentence(2.0 / 3)
        == "0.67 years between the first and the last alleged offence"
    )
    assert "unknown" in by_name("age").sentence(math.nan)


def test_offence_categories_map_to_slugs() -> None:
    table = pd.read_csv(REPO / "configs" / "offences.csv")
    for category in table["category"]:
        assert (category_slug(category) == "other") == (category == "Other crime"), category
    assert category_slug("  ROBBERY ") == "robbery" and category_slug("Unclassified") == "other"


def test_recency_weights_halve_every_half_life() -> None:
    w = recency_weights(100)
    assert (w[0], w[100], w[200]) == (2**20, 2**19, 2**18)
    assert (w[:-1] >= w[1:]).all() and w[-1] == 0 and w[-2] > 0


def test_the_engine_refuses_a_source_it_cannot_compute() -> None:
    odd = replace(by_name("suspect_harm_max_365d"), source=Source(("arrest",)))
    with pytest.raises(ValueError, match="suspect events only"):
        plan_keys([odd])


def test_matrix_follows_the_declarations(world_events: pd.DataFrame, world_records: Records) -> None:
    settings = ALL_SWITCHES
    matrix = build_matrix(world_events, world_records.persons, WORLD_DATES[-2:], settings)
    assert not matrix.empty
    for f in active_features(use_age=True, use_victimisation=True, use_police_activity=True):
        assert matrix[f.name].dtype == f.dtype, f.name
        declared_missing = isinstance(f.impute, float) and math.isnan(f.impute)
        assert declared_missing or matrix[f.name].notna().all(), f.name
    assert matrix.sort_values(["as_of", "person_id"]).index.equals(matrix.index)


def test_features_document_is_current() -> None:
    path = REPO / "docs" / "features.md"
    assert path.read_text(encoding="utf-8") == catalogue_markdown(), (
        "docs/features.md is stale: run `python -m features.catalogue_doc > docs/features.md`"
    )
    for f in CATALOGUE:
        assert f"`{f.name}`" in catalogue_markdown()


def test_every_feature_belongs_to_one_declared_reason_family() -> None:
    keys = {f.key for f in REASON_FAMILIES}
    assert len(keys) == len(REASON_FAMILIES)
    assert all(f.reason in keys and f.reason != OTHER_FAMILY for f in CATALOGUE)
    police = {f.reason for f in CATALOGUE if f.policy == "use_police_activity"}
    assert police == {k.key for k in REASON_FAMILIES if k.police_activity} == {"intelligence", "stop_search"}
    assert {f.reason for f in CATALOGUE if f.aggregation.startswith("harm")} == {"harm"}


def test_monotone_constraints_follow_the_meaning_of_each_feature() -> None:
    """More alleged offending, harm, arrests, charges or convictions: increasing; more time since the
    last offence: decreasing; age and victimisation: free."""
    for f in CATALOGUE:
        if f.aggregation in ("count", "harm_sum", "harm_max", "harm_recency", "distinct_victims"):
            expected = 0 if f.policy == "use_victimisation" else 1
        elif f.aggregation in ("days_since_last", "offence_free_months"):
            expected = -1
        elif f.aggregation in ("days_since_first", "career_years", "age", "age_at_first"):
            expected = 0
        else:  # distinct_subgroups, copas_rate, trends
            expected = 1
        assert f.monotone == expected, f.name
