"""The records behind each reason, and each listed person's timeline, for an officer to check.

:func:`evidence` selects, for each person's top reasons, the events that made the feature's value,
exactly as the feature engine counts them (:mod:`features.catalogue`): at as-of ``T`` only events
with ``recorded_date < T`` exist, and a window of ``w`` days holds events that occurred in
``[T - w days, T)``. Which events back a feature follows its declaration:

=========================================  ===================================================
aggregation                                events shown
=========================================  ===================================================
count                                      the source's event types (category, flag) in the window
harm_sum, harm_recency                     suspect events in the window that carry CCHI harm
harm_max                                   the most harmful suspect event(s) in the window
distinct_victims                           suspect events in the window with a recorded victim
distinct_subgroups                         suspect events in the window with an offence
days_since_last, offence_free_months       the latest suspect event(s)
days_since_first, age_at_first             the earliest suspect event(s)
career_years                               the earliest and the latest suspect event(s)
copas_rate                                 every suspect event
trend_count, trend_harm                    suspect events of the last 365 days (the trend's base)
age                                        none (from the date of birth, not from events)
=========================================  ===================================================

Events are shown newest first, **at most** ``max_per_reason`` per reason; ``events_total`` says how
many there are, so a page can say "showing 20 of 35". A reason the model gave no weight
("no effect") gets no evidence. Features of a supplied matrix that are not in the catalogue have
no evidence either.

:func:`history` is the person's own timeline: every event recorded before the as-of date, of any
type. Records as a victim or witness are included as context (an officer deciding what to do needs
to know that a person is also a repeat victim), and the column ``in_model`` marks which events the
model's features can read: with the default policy switches victim and witness records have
``in_model == False`` and never raise a score.

Only the listed people's events are touched: the events table is filtered to them first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, TypedDict

import numpy as np
import pandas as pd

from features.catalogue import active_features, by_name
from features.catalogue_types import SUSPECT, TREND_BASE_DAYS, Feature, category_slug
from models.reasons import family_of, officer_facing

#: The record columns an officer sees for each event, in both tables.
RECORD_COLUMNS = [
    "event_id",
    "event_type",
    "occurred_date",
    "recorded_date",
    "offence_code",
    "description",
    "harm_days",
    "source_ref",
]
EVIDENCE_COLUMNS = ["person_id", "feature", "order", *RECORD_COLUMNS, "events_total"]
HISTORY_COLUMNS = ["person_id", *RECORD_COLUMNS, "in_model"]
_PICK = {
    "harm_max": "max_harm",
    "days_since_last": "last",
    "offence_free_months": "last",
    "days_since_first": "first",
    "age_at_first": "first",
    "career_years": "first_last",
}
_NEEDS = {
    "harm_sum": "harm",
    "harm_recency": "harm",
    "trend_harm": "harm",
    "harm_max": "harm",
    "distinct_victims": "victim",
    "distinct_subgroups": "offence",
}
_WHOLE_HISTORY: tuple[str, ...] = (
    "harm_recency",
    "days_since_last",
    "days_since_first",
    "offence_free_months",
    "career_years",
    "copas_rate",
    "age_at_first",
)


class _Rule(TypedDict):
    """Where the events behind one feature are: see :func:`_rule`."""

    feature: str
    types: tuple[str, ...]
    category: str | None
    flag: Literal["domestic", "weapon"] | None
    window: float
    pick: str
    needs: str


def _rule(feature: Feature) -> _Rule | None:
    """How to find the events behind ``feature``; ``None`` if no event feeds it."""
    kind = feature.aggregation
    if kind == "age":
        return None
    source = feature.source or SUSPECT
    window = feature.window_days
    if kind in ("trend_count", "trend_harm"):
        window = TREND_BASE_DAYS
    elif kind in _WHOLE_HISTORY:
        window = None
    return {
        "feature": feature.name,
        "types": source.event_types,
        "category": source.category,
        "flag": source.flag,
        "window": np.nan if window is None else float(window),
        "pick": _PICK.get(kind, "all"),
        "needs": _NEEDS.get(kind, ""),
    }


def _rules(features: Iterable[str]) -> pd.DataFrame:
    """One row per (feature, event type) for the features that events feed."""
    rows = []
    for name in sorted(set(features)):
        try:
            rule = _rule(by_name(name))
        except KeyError:  # a column of a supplied matrix: no declared source
            continue
        if rule is not None:
            rows += [{**rule, "event_type": t} for t in rule["types"]]
    columns = ["feature", "event_type", "category", "flag", "window", "pick", "needs"]
    return pd.DataFrame(rows, columns=columns).astype({"feature": "str", "event_type": "str"})


def _known_events(
    events: pd.DataFrame, offences: pd.DataFrame, person_ids: Iterable[str], as_of: pd.Timestamp
) -> pd.DataFrame:
    """The given people's events recorded before ``as_of``, with offence description, category slug
    and harm (CCHI days; NaN for an event without an offence)."""
    keep = events["person_id"].isin(pd.Index(list(person_ids), dtype="str"))
    keep &= events["recorded_date"] < as_of
    known = events.loc[keep].copy()
    for column, empty in (("victim_id", None), ("source_ref", None), ("domestic", False), ("weapon", False)):
        if column not in known:
            known[column] = pd.Series(empty, index=known.index, dtype="str" if empty is None else "bool")
    catalogue = offences[["offence_code", "description", "category", "harm_days"]].copy()
    catalogue["slug"] = [category_slug(c) for c in catalogue["category"]]
    catalogue = catalogue.astype({"offence_code": "str", "harm_days": "float64"})
    known = known.astype({"person_id": "str", "event_type": "str", "offence_code": "str"})
    return known.merge(catalogue.drop(columns="category"), on="offence_code", how="left", validate="m:1")


def _typed(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    types = {"person_id": "str", "feature": "str", "event_id": "str", "event_type": "str"}
    types |= {"offence_code": "str", "description": "str", "source_ref": "str", "harm_days": "float64"}
    return frame[columns].astype({k: v for k, v in types.items() if k in columns}).reset_index(drop=True)


def _qualifying(pairs: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Whether each (reason, event) pair meets the feature's category, flag, window and needs."""
    age_days = (as_of - pairs["occurred_date"]).dt.days
    ok = pairs["window"].isna() | (age_days <= pairs["window"])
    ok &= pairs["category"].isna() | (pairs["slug"] == pairs["category"])
    flag = pairs["flag"]
    domestic = (flag == "domestic") & pairs["domestic"].astype(bool)
    ok &= flag.isna() | domestic | ((flag == "weapon") & pairs["weapon"].astype(bool))
    needs = pairs["needs"]
    ok &= (needs != "harm") | (pairs["harm_days"] > 0)
    ok &= (needs != "victim") | pairs["victim_id"].notna()
    ok &= (needs != "offence") | pairs["description"].notna()
    return ok


def _picked(rows: pd.DataFrame) -> pd.Series:
    """For single-event features (max harm, first, last), whether the row is that event (ties kept)."""
    group = rows.groupby(["person_id", "feature"], sort=False)
    harm_max = group["harm_days"].transform("max")
    last = group["occurred_date"].transform("max")
    first = group["occurred_date"].transform("min")
    pick = rows["pick"]
    return (
        (pick == "all")
        | ((pick == "max_harm") & (rows["harm_days"] == harm_max))
        | (pick.isin(["last", "first_last"]) & (rows["occurred_date"] == last))
        | (pick.isin(["first", "first_last"]) & (rows["occurred_date"] == first))
    )


def evidence(
    reasons: pd.DataFrame,
    events: pd.DataFrame,
    offences: pd.DataFrame,
    as_of: pd.Timestamp,
    n_reasons: int = 3,
    max_per_reason: int = 20,
) -> pd.DataFrame:
    """The records behind each person's top reasons.

    Parameters
    ----------
    reasons
        :attr:`scoring.explain.Explanation.reasons` (person_id, order, feature, direction).
    events
        Validated events (``Records.events``); only the reasons' people are read.
    offences
        The offence catalogue (offence_code, description, category, harm_days).
    as_of
        The run's as-of date: events recorded on or after it do not exist yet.
    n_reasons
        Reasons per person to back with evidence (those with order <= n_reasons and an effect).
    max_per_reason
        At most this many events per reason, newest first (``events_total`` has the full count).

    Returns
    -------
    DataFrame, one row per (person_id, feature, event): person_id, feature, order (int64),
    event_id, event_type, occurred_date, recorded_date, offence_code, description, harm_days
    (float64 CCHI days, NaN without an offence), source_ref, events_total (int64, the reason's
    events before the cap). People in the order of ``reasons``, then by order, then newest
    occurred_date first (ties: newest recorded_date, then event_id).
    """
    if n_reasons < 1 or max_per_reason < 1:
        raise ValueError(
            f"n_reasons and max_per_reason must be at least 1, not {n_reasons}, {max_per_reason}"
        )
    as_of = pd.Timestamp(as_of)
    people = pd.Index(pd.unique(reasons["person_id"].astype("str")), dtype="str")
    top = reasons.loc[(reasons["order"] <= n_reasons) & (reasons["direction"] != "no effect")]
    top = top[["person_id", "feature", "order"]].astype({"person_id": "str", "feature": "str"})
    top = top.merge(_rules(top["feature"]), on="feature", how="inner")
    known = _known_events(events, offences, top["person_id"].unique(), as_of)
    pairs = top.merge(known, on=["person_id", "event_type"], how="inner")
    rows = pairs.loc[_qualifying(pairs, as_of)]
    rows = rows.loc[_picked(rows)].copy()
    rows["events_total"] = rows.groupby(["person_id", "feature"], sort=False)["event_id"].transform("size")
    rows["person_pos"] = people.get_indexer(rows["person_id"])
    rows = rows.sort_values(
        ["person_pos", "order", "occurred_date", "recorded_date", "event_id"],
        ascending=[True, True, False, False, True],
        kind="mergesort",
    )
    rows = rows.loc[rows.groupby(["person_id", "feature"], sort=False).cumcount() < max_per_reason]
    return _typed(rows.astype({"order": "int64", "events_total": "int64"}), EVIDENCE_COLUMNS)


def history(
    events: pd.DataFrame,
    offences: pd.DataFrame,
    person_ids: Sequence[str],
    as_of: pd.Timestamp,
    features: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Each listed person's own timeline: every event recorded before ``as_of``, any type.

    Parameters
    ----------
    events, offences
        Validated events and the offence catalogue, as for :func:`evidence`.
    person_ids
        The listed people, in list order.
    as_of
        The run's as-of date.
    features
        The model's features, to mark ``in_model``; ``None`` for the catalogue's default features
        (policy switches off).

    Returns
    -------
    DataFrame with person_id, event_id, event_type, occurred_date, recorded_date, offence_code,
    description, harm_days (float64, NaN without an offence), source_ref and in_model (bool: the
    event's type feeds at least one of ``features``). People in ``person_ids`` order, newest
    occurred_date first (ties: newest recorded_date, then event_id).
    """
    as_of = pd.Timestamp(as_of)
    people = pd.Index([str(p) for p in person_ids], dtype="str")
    names = [f.name for f in active_features()] if features is None else list(features)
    used = set(_rules(names)["event_type"])
    known = _known_events(events, offences, people, as_of)
    known["in_model"] = known["event_type"].isin(used).astype(bool)
    known["person_pos"] = people.get_indexer(known["person_id"])
    known = known.sort_values(
        ["person_pos", "occurred_date", "recorded_date", "event_id"],
        ascending=[True, False, False, True],
        kind="mergesort",
    )
    return _typed(known, HISTORY_COLUMNS)


FAMILY_EVIDENCE_COLUMNS = [
    "person_id",
    "family",
    "order",
    *RECORD_COLUMNS,
    "features",
    "families",
    "events_total",
]


def family_evidence(
    reasons: pd.DataFrame,
    families: pd.DataFrame,
    events: pd.DataFrame,
    offences: pd.DataFrame,
    as_of: pd.Timestamp,
    n_families: int = 3,
    max_per_family: int = 25,
) -> pd.DataFrame:
    """The records behind each person's top reason families, each record once per family.

    Parameters
    ----------
    reasons
        The feature-level reasons (:attr:`scoring.explain.Explanation.reasons`).
    families
        The family reasons (:func:`models.reasons.family_reasons`); the top ``n_families``
        officer-facing families of each person (:func:`models.reasons.officer_facing`) are backed.
    events, offences, as_of
        As for :func:`evidence`: a record backs a family when it backs one of the family's features
        with an effect, by the same rules.
    max_per_family
        At most this many records per family, newest first (``events_total`` has the full count).

    Returns
    -------
    DataFrame, one row per (person_id, family, event): person_id, family, order (int64, the
    family's place among the person's top reasons, 1 first), the record columns, features (the
    family's features the record backs, ``;``-joined), families (every top family of the person the
    record backs, in their order, ``;``-joined) and events_total (int64). People in the order of
    ``families``, then by order, then newest first.
    """
    people = pd.Index(pd.unique(families["person_id"].astype("str")), dtype="str")
    top = families.loc[officer_facing(families)].copy()
    top["rank"] = top.groupby("person_id", sort=False).cumcount() + 1
    top = top.loc[top["rank"] <= n_families, ["person_id", "family", "rank"]]
    member = top.assign(feature=top["family"].map(_family_members(reasons)))
    member = member.explode("feature").dropna(subset=["feature"])
    feature_rows = reasons.merge(member, on=["person_id", "feature"], how="inner")
    feature_rows = feature_rows.loc[feature_rows["direction"] != "no effect"]
    if feature_rows.empty:
        return pd.DataFrame(columns=FAMILY_EVIDENCE_COLUMNS)
    # order 1 for every backed feature: evidence() then backs them all, uncapped
    backed = evidence(feature_rows.assign(order=1), events, offences, as_of, 1, max_per_reason=10**9)
    backed = backed.merge(
        feature_rows[["person_id", "feature", "family", "rank"]], on=["person_id", "feature"]
    )
    keys = ["person_id", "family", "event_id"]
    features = backed.groupby(keys, sort=False)["feature"].agg(";".join).rename("features")
    rows = backed.drop_duplicates(keys).merge(features.reset_index(), on=keys)
    by_event = rows.sort_values("rank", kind="mergesort").groupby(["person_id", "event_id"], sort=False)
    rows = rows.merge(
        by_event["family"].agg(";".join).rename("families").reset_index(), on=["person_id", "event_id"]
    )
    rows["events_total"] = rows.groupby(["person_id", "family"], sort=False)["event_id"].transform("size")
    rows["person_pos"] = people.get_indexer(rows["person_id"])
    rows = rows.sort_values(
        ["person_pos", "rank", "occurred_date", "recorded_date", "event_id"],
        ascending=[True, True, False, False, True],
        kind="mergesort",
    )
    rows = rows.loc[rows.groupby(["person_id", "family"], sort=False).cumcount() < max_per_family]
    rows = rows.drop(columns="order").rename(columns={"rank": "order"})
    rows = rows.astype({"order": "int64", "events_total": "int64"})
    types = {"family": "str", "features": "str", "families": "str"}
    return _typed(rows.astype(types), FAMILY_EVIDENCE_COLUMNS)


def _family_members(reasons: pd.DataFrame) -> dict[str, list[str]]:
    """Each reason family's features among the reasons' features."""
    out: dict[str, list[str]] = {}
    for name in pd.unique(reasons["feature"].astype("str")):
        out.setdefault(family_of(name), []).append(name)
    return out
