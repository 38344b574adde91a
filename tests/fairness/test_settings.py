"""Fairness settings: defaults, age-band labels and the errors a bad config gives."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fairness.settings import FairnessSettings, GateSettings


def test_defaults_describe_every_field() -> None:
    s = FairnessSettings()
    assert s.characteristics is None
    assert s.intersections == [["sex", "ethnicity"], ["ethnicity", "age_band"]]
    assert (s.ks, s.n_boot, s.min_cell, s.correction, s.alpha) == ([100, 500, 1000], 200, 10, "holm", 0.05)
    assert (s.gate.k, s.gate.ratio_bounds, s.gate.min_recall_ratio) == (100, (0.8, 1.25), 0.8)
    for model in (FairnessSettings, GateSettings):
        assert all(f.description for f in model.model_fields.values())


def test_band_labels_follow_the_edges() -> None:
    assert FairnessSettings().band_labels() == [
        "under 18",
        "18-24",
        "25-34",
        "35-49",
        "50-64",
        "65 and over",
    ]
    assert FairnessSettings(age_bands=[30]).band_labels() == ["under 30", "30 and over"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"age_bands": [18, 18, 25]}, "strictly increasing"),
        ({"ks": [100, 100]}, "distinct"),
        ({"intersections": [["sex"]]}, "two or more distinct"),
        ({"disparity_metrics": ["size"]}, "unsupported disparity metrics"),
        ({"disparity_metrics": ["precision", "recall"]}, "must be in disparity_metrics"),
        ({"gate": {"k": 50}}, "gate.k = 50 must be one of ks"),
        ({"gate": {"ratio_bounds": (1.1, 1.25)}}, "0 < lower < 1 < upper"),
        ({"gate": {"metrics": ["accuracy"]}}, "unknown gate metrics"),
        ({"correction": "bonferroni"}, "holm"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_values_are_rejected_with_the_reason(values: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FairnessSettings(**values)


def test_reference_is_largest_or_a_mapping() -> None:
    assert FairnessSettings(reference={"ethnicity": "White"}).reference == {"ethnicity": "White"}
    with pytest.raises(ValidationError):
        FairnessSettings(reference="smallest")
