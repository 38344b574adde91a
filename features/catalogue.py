"""The feature catalogue: every model input is declared here, once.

Each :class:`Feature` says where its value comes from (which events), how the
events are aggregated, over which window, in what unit, how a missing value is
imputed, and a plain-language sentence an officer can read. The feature engine
(:mod:`features.build`), the docs and the explanations all read this list; no
other list of feature names exists.

Windows are measured back from the as-of date on ``occurred_date``; only
events with ``recorded_date`` strictly before the as-of date are seen at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Aggregation = Literal["count", "harm_sum", "days_since_last"]

#: Event types that describe a person's own alleged offending.
SUSPECT_EVENTS: tuple[str, ...] = ("crime_suspect",)


@dataclass(frozen=True)
class Feature:
    """One model input.

    Parameters
    ----------
    name
        Column name in the feature matrix.
    event_types
        Which events feed it (``events.event_type``).
    aggregation
        ``count`` of events, ``harm_sum`` of CCHI days, or ``days_since_last`` event.
    window_days
        Look-back window in days before the as-of date; ``None`` means all recorded history.
    unit
        Unit of the value, for docs and explanations.
    impute
        Value used when the person has no qualifying event (declared, never implicit).
    template
        Sentence for an officer; ``{value}`` is replaced by the person's value.
    """

    name: str
    event_types: tuple[str, ...]
    aggregation: Aggregation
    window_days: int | None
    unit: str
    impute: float
    template: str


CATALOGUE: tuple[Feature, ...] = (
    Feature(
        "suspect_count_365d",
        SUSPECT_EVENTS,
        "count",
        365,
        "offences",
        0,
        "Named as suspect in {value} offences in the last 12 months",
    ),
    Feature(
        "suspect_count_all",
        SUSPECT_EVENTS,
        "count",
        None,
        "offences",
        0,
        "Named as suspect in {value} offences in all recorded history",
    ),
    Feature(
        "suspect_harm_365d",
        SUSPECT_EVENTS,
        "harm_sum",
        365,
        "CCHI days",
        0,
        "Offences alleged in the last 12 months carry {value} days of CCHI harm (the V100 score)",
    ),
    Feature(
        "suspect_harm_all",
        SUSPECT_EVENTS,
        "harm_sum",
        None,
        "CCHI days",
        0,
        "Offences alleged in all recorded history carry {value} days of CCHI harm",
    ),
    Feature(
        "days_since_last_suspect",
        SUSPECT_EVENTS,
        "days_since_last",
        None,
        "days",
        36500,
        "Last named as suspect {value} days ago",
    ),
)

#: The V100 score (harm alleged as suspect in the last 365 days), shown beside the model score.
V100_FEATURE = "suspect_harm_365d"


def feature_names() -> list[str]:
    """Names of all catalogue features, in catalogue order."""
    return [f.name for f in CATALOGUE]


def by_name(name: str) -> Feature:
    """Look up one feature by its column name."""
    for feature in CATALOGUE:
        if feature.name == name:
            return feature
    raise KeyError(name)
