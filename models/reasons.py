"""An officer's reasons: the SHAP contributions summed by reason family and said in plain words.

Every catalogue feature belongs to one reason family (:data:`features.catalogue_types.REASON_FAMILIES`):
harm alleged, violence and weapons, domestic abuse, how often and how recently, escalation, other
kinds of offence, arrests, charges and convictions, and, under their policy switches, intelligence,
stop and search, victimisation and age. A family's contribution is the sum of its features' SHAP
values, so a person's families still add up exactly to their raw score. Columns of a supplied
matrix that the catalogue does not declare form the family ``other``.

Each family's sentence states the person's facts, as the feature engine counted them, in words an
officer can check against the records: counts, CCHI harm in whole days (rounded), windows named in
full, dates as dates. A family whose facts are all zero is an *absence* and is worded as one ("No
domestic abuse offence alleged"); with the catalogue's monotone constraints a count of zero is the
lowest value an increasing feature can take, so an absence can only lower a score or leave it alone.
Should an absence raise a score (a feature trained without constraints), it is never one of the top
reasons: it is listed with the analyst's details only. Feature names, values and formulas stay in
the analyst's table (:mod:`scoring.explain`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from features.catalogue import by_name
from features.catalogue_types import (
    CATEGORIES,
    FAMILY_KEYS,
    NEVER_DAYS,
    OTHER_FAMILY,
    WINDOW_PHRASES,
    reason_family,
)

FAMILY_COLUMNS = [
    "person_id",
    "order",
    "family",
    "title",
    "contribution",
    "direction",
    "sentence",
    "absent",
    "police_activity",
    "features",
]
RAISES, LOWERS, NO_EFFECT = "raises", "lowers", "no effect"
SUFFIX = {RAISES: ": raises the score", LOWERS: ": lowers the score", NO_EFFECT: ": no effect on the score"}

#: Singular and plural words for each offence category's offences.
CATEGORY_WORDS: dict[str, tuple[str, str]] = {
    "violence_sexual": ("violent or sexual offence", "violent or sexual offences"),
    "public_order": ("public order offence", "public order offences"),
    "damage_arson": ("criminal damage or arson offence", "criminal damage or arson offences"),
    "shoplifting": ("shoplifting offence", "shoplifting offences"),
    "other_theft": ("other theft", "other thefts"),
    "vehicle": ("vehicle offence", "vehicle offences"),
    "burglary": ("burglary", "burglaries"),
    "drugs": ("drug offence", "drug offences"),
    "theft_person": ("theft from the person", "thefts from the person"),
    "robbery": ("robbery", "robberies"),
    "weapons": ("weapon possession offence", "weapon possession offences"),
    "bicycle": ("bicycle theft", "bicycle thefts"),
    "other": ("miscellaneous offence against society", "miscellaneous offences against society"),
}
assert set(CATEGORY_WORDS) == {slug for slug, _, _ in CATEGORIES}
YEAR = WINDOW_PHRASES[365]
ALL = WINDOW_PHRASES[None]

Values = Mapping[str, float]


def whole(value: float) -> str:
    """A figure rounded to a whole number, thousands separated: ``27,211``."""
    return f"{round(value):,}"


def _count(n: float, singular: str, plural: str) -> str:
    """``3 offences``, ``1 offence``, ``no offences``."""
    n = round(n)
    return f"no {plural}" if n == 0 else f"{n:,} {singular if n == 1 else plural}"


def _recent(n: float) -> str:
    """A count in a shorter window: ``none`` for zero, else the whole number."""
    return "none" if round(n) == 0 else whole(n)


def _get(values: Values, name: str) -> float:
    value = values.get(name, 0.0)
    return 0.0 if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _date(as_of: pd.Timestamp, days_before: float) -> str:
    return (as_of - pd.Timedelta(days=round(days_before))).strftime("%Y-%m-%d")


def _harm(v: Values, as_of: pd.Timestamp) -> tuple[str, bool]:
    total, year, n = _get(v, "suspect_harm_all"), _get(v, "suspect_harm_365d"), _get(v, "suspect_count_all")
    if round(total) == 0:
        return "No alleged offence carries CCHI harm", True
    offences = _count(n, "offence", "offences")
    text = f"Named as suspect in {offences} {ALL}, with a combined harm of {whole(total)} CCHI days"
    if round(year) == 0:
        text += f"; none of it {YEAR} (V100 score 0)"
    else:
        n_year = _get(v, "suspect_count_365d")
        text += f"; {_count(n_year, 'offence', 'offences')} with {whole(year)} days {YEAR} (the V100 score)"
    biggest = _get(v, "suspect_harm_max_all")
    if round(biggest) > 0:
        text += f". The most harmful carries {whole(biggest)} days"
    return text, False


def _category_parts(v: Values, slugs: tuple[str, ...]) -> list[tuple[float, float, str]]:
    """(all-history count, last-12-months count, words) of each category with any offence, most first."""
    parts = []
    for slug in slugs:
        n_all, n_year = _get(v, f"suspect_{slug}_count_all"), _get(v, f"suspect_{slug}_count_365d")
        if round(n_all) > 0:
            singular, plural = CATEGORY_WORDS[slug]
            parts.append((n_all, n_year, _count(n_all, singular, plural)))
    return sorted(parts, key=lambda p: -p[0])


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _violence(v: Values, as_of: pd.Timestamp) -> tuple[str, bool]:
    parts = _category_parts(v, ("violence_sexual", "robbery", "weapons"))
    weapon_all, weapon_year = _get(v, "weapon_count_all"), _get(v, "weapon_count_365d")
    if not parts and round(weapon_all) == 0:
        return "No violent or sexual offence, robbery or weapon offence alleged " + ALL, True
    sentences = []
    if parts:
        year = sum(p[1] for p in parts)
        sentences.append(
            f"Named as suspect in {_listing([p[2] for p in parts])} {ALL} ({whole(year)} of them {YEAR})"
        )
    if round(weapon_all) > 0:
        sentences.append(
            f"{_count(weapon_all, 'offence was', 'offences were')} flagged as involving a weapon "
            f"({_recent(weapon_year)} {YEAR})"
        )
    else:
        sentences.append("no offence was flagged as involving a weapon")
    return "; ".join(sentences), False


def _domestic(v: Values, as_of: pd.Timestamp) -> tuple[str, bool]:
    dom_all, dom_year = _get(v, "domestic_count_all"), _get(v, "domestic_count_365d")
    vic_all, vic_year = _get(v, "distinct_victims_all"), _get(v, "distinct_victims_365d")
    if round(dom_all) == 0 and round(vic_all) == 0:
        return "No domestic abuse offence and no offence against a recorded victim alleged " + ALL, True
    first = (
        f"Named as suspect in {_count(dom_all, 'domestic abuse offence', 'domestic abuse offences')} {ALL} "
        f"({_recent(dom_year)} {YEAR})"
        if round(dom_all) > 0
        else "No domestic abuse offence alleged"
    )
    second = (
        f"the offences alleged were against "
        f"{_count(vic_all, 'recorded victim', 'different recorded victims')} ({_recent(vic_year)} {YEAR})"
        if round(vic_all) > 0
        else "no offence was against a recorded victim"
    )
    if round(dom_all) == 0:  # the fact that is there comes first
        victims = _count(vic_all, "recorded victim", "different recorded victims")
        return (
            f"Offences alleged {ALL} were against {victims} ({_recent(vic_year)} {YEAR}); "
            "none was flagged as domestic abuse",
            False,
        )
    return f"{first}; {second}", False


def _frequency(v: Values, as_of: pd.Timestamp) -> tuple[str, bool]:
    n_all, n_year, n_3m = (
        _get(v, "suspect_count_all"),
        _get(v, "suspect_count_365d"),
        _get(v, "suspect_count_90d"),
    )
    last = _get(v, "days_since_last_offence")
    if round(n_all) == 0 or last >= NEVER_DAYS:
        return "No alleged offence recorded", True
    text = (
        f"Named as suspect in {_count(n_all, 'offence', 'offences')} {ALL}: {_recent(n_year)} {YEAR} and "
        f"{_recent(n_3m)} {WINDOW_PHRASES[90]}. The last alleged offence occurred on {_date(as_of, last)} "
        f"({_count(last, 'day', 'days')} before the list date)"
    )
    return text, False


def _career(v: Values, as_of: pd.Timestamp) -> tuple[str, bool]:
    first, last = _get(v, "days_since_first_offence"), _get(v, "days_since_last_offence")
    years, n_all = _get(v, "career_years"), _get(v, "suspect_count_all")
    if round(n_all) == 0 or first >= NEVER_DAYS:
        return "No alleged offence recorded", True
    text = (
        f"The first alleged offence occurred on {_date(as_of, first)} and the last on {_date(as_of, last)}: "
        f"an offending history of {years:.1f} years"
    )
    return text, False


def _escalation(v: Values, as_of: pd.Timestamp) -> tuple[str, bool]:
    n_3m, n_year = _get(v, "suspect_count_90d"), _get(v, "suspect_count_365d")
    h_3m, h_year = _get(v, "suspect_harm_90d"), _get(v, "suspect_harm_365d")
    before, harm_before = n_year - n_3m, h_year - h_3m
    if round(n_year) == 0:
        return "No offence alleged " + YEAR + ", so no change to compare", True
    trend = _get(v, "suspect_trend_90d")
    change = "more than" if trend > 0 else ("fewer than" if trend < 0 else "the same as")
    recent = (
        f"No offence alleged {WINDOW_PHRASES[90]}"
        if round(n_3m) == 0
        else f"Named as suspect in {_count(n_3m, 'offence', 'offences')} ({whole(h_3m)} CCHI days) "
        f"{WINDOW_PHRASES[90]}"
    )
    earlier = "none" if round(before) == 0 else f"{whole(before)} ({whole(harm_before)} days)"
    return (
        f"{recent}, against {earlier} in the 9 months before: {change} the earlier rate of about "
        f"{before / 3:.1f} a quarter",
        False,
    )


def _other_offending(v: Values, as_of: pd.Timestamp) -> tuple[str, bool]:
    slugs = tuple(s for s in CATEGORY_WORDS if s not in ("violence_sexual", "robbery", "weapons"))
    parts = _category_parts(v, slugs)
    if not parts:
        return "No other kind of offence alleged " + ALL, True
    shown = [p[2] for p in parts[:4]]
    if len(parts) > 4:
        shown.append(f"{_count(sum(p[0] for p in parts[4:]), 'offence', 'offences')} of other kinds")
    # e.g. "3 burglaries, 2 drug offences and 4 offences of other kinds"
    kinds = _get(v, "distinct_subgroups_all")
    tail = f"; {_count(kinds, 'kind', 'different kinds')} of offence in all" if round(kinds) > 1 else ""
    return f"Also named as suspect in {_listing(shown)} {ALL}{tail}", False


def _justice(v: Values, as_of: pd.Timestamp) -> tuple[str, bool]:
    figures = [
        (_get(v, f"{name}_count_all"), _get(v, f"{name}_count_365d"), singular, plural)
        for name, singular, plural in (
            ("arrest", "arrest", "arrests"),
            ("charge", "charge", "charges"),
            ("conviction", "conviction", "convictions"),
        )
    ]
    if all(round(f[0]) == 0 for f in figures):
        return "No arrest, charge or conviction recorded " + ALL, True
    every = _listing([_count(a, s, p) for a, _, s, p in figures if round(a) > 0])
    recent = [_count(y, s, p) for _, y, s, p in figures if round(y) > 0]
    tail = f"{_listing(recent)} {YEAR}" if recent else f"none {YEAR}"
    return f"{_first_upper(every)} {ALL}; {tail}", False


def _counted(
    prefix: str, singular: str, plural: str, none: str
) -> Callable[[Values, pd.Timestamp], tuple[str, bool]]:
    def describe(v: Values, as_of: pd.Timestamp) -> tuple[str, bool]:
        n_all, n_year = _get(v, f"{prefix}_all"), _get(v, f"{prefix}_365d")
        if round(n_all) == 0:
            return f"{none} {ALL}", True
        return f"{_first_upper(_count(n_all, singular, plural))} {ALL}, {_recent(n_year)} {YEAR}", False

    return describe


def _age(v: Values, as_of: pd.Timestamp) -> tuple[str, bool]:
    age, first = v.get("age", math.nan), v.get("age_at_first_offence", math.nan)
    parts = []
    if age is not None and not math.isnan(age):
        parts.append(f"Aged {int(age)} at the list date")
    if first is not None and not math.isnan(first):
        parts.append(f"{int(first)} at the first alleged offence")
    return ("; ".join(parts) if parts else "Age not recorded"), not parts


DESCRIBE: dict[str, Callable[[Values, pd.Timestamp], tuple[str, bool]]] = {
    "harm": _harm,
    "violence": _violence,
    "domestic": _domestic,
    "frequency": _frequency,
    "escalation": _escalation,
    "career": _career,
    "other_offending": _other_offending,
    "justice": _justice,
    "intelligence": _counted(
        "intelligence_count", "intelligence report", "intelligence reports", "No intelligence report recorded"
    ),
    "stop_search": _counted(
        "stop_count", "stop and search", "stops and searches", "No stop and search recorded"
    ),
    "victimisation": _counted(
        "victim_count",
        "crime recorded with the person as victim",
        "crimes recorded with the person as victim",
        "Not recorded as the victim of a crime",
    ),
    "age": _age,
}


def _needs(family: str) -> set[str]:
    """The features a family's sentence reads (it is used only when the model has all of them)."""
    windows = ("all", "365d")
    counts = {
        "intelligence": "intelligence_count",
        "stop_search": "stop_count",
        "victimisation": "victim_count",
        "justice": None,
    }
    if family in counts:
        prefixes = (
            [counts[family]] if counts[family] else ["arrest_count", "charge_count", "conviction_count"]
        )
        return {f"{p}_{w}" for p in prefixes for w in windows}
    return {
        "harm": {
            "suspect_harm_all",
            "suspect_harm_365d",
            "suspect_count_all",
            "suspect_count_365d",
            "suspect_harm_max_all",
        },
        "violence": {
            f"suspect_{c}_count_{w}" for c in ("violence_sexual", "robbery", "weapons") for w in windows
        }
        | {"weapon_count_all", "weapon_count_365d"},
        "domestic": {
            "domestic_count_all",
            "domestic_count_365d",
            "distinct_victims_all",
            "distinct_victims_365d",
        },
        "frequency": {
            "suspect_count_all",
            "suspect_count_365d",
            "suspect_count_90d",
            "days_since_last_offence",
        },
        "career": {
            "days_since_first_offence",
            "days_since_last_offence",
            "career_years",
            "suspect_count_all",
        },
        "escalation": {
            "suspect_count_90d",
            "suspect_count_365d",
            "suspect_harm_90d",
            "suspect_harm_365d",
            "suspect_trend_90d",
        },
        "other_offending": {
            f"suspect_{c}_count_{w}"
            for c in CATEGORY_WORDS
            if c not in ("violence_sexual", "robbery", "weapons")
            for w in windows
        }
        | {"distinct_subgroups_all"},
    }.get(family, set())


def _from_features(members: Mapping[str, float]) -> tuple[str, bool]:
    """The catalogue's own sentence of each feature, for a model without every feature a family's
    plain sentence reads (a force's own matrix, a reduced catalogue)."""
    parts = []
    for name, value in members.items():
        try:
            parts.append(by_name(name).sentence(value))
        except KeyError:
            parts.append(f"{name.replace('_', ' ')} is {value:g}")
    absent = all(round(v) == 0 for v in members.values() if not math.isnan(v))
    parts = parts[:1] + [p[:1].lower() + p[1:] for p in parts[1:]]
    return "; ".join(parts), absent


def family_of(feature: str) -> str:
    """The reason family of a feature; ``other`` for a column the catalogue does not declare."""
    try:
        return by_name(feature).reason
    except KeyError:
        return OTHER_FAMILY


def _other(v: Values, as_of: pd.Timestamp) -> tuple[str, bool]:
    names = sorted(v)
    return "Other inputs: " + "; ".join(f"{n.replace('_', ' ')} is {v[n]:g}" for n in names), False


def describe(
    family: str, values: Values, as_of: pd.Timestamp, members: Values | None = None
) -> tuple[str, bool]:
    """The sentence of one family for one person, and whether it states an absence.

    Parameters
    ----------
    family
        A reason family key.
    values
        The person's feature values by name (every model feature; features of other families give
        context, such as the offence count beside the harm).
    as_of
        The run's as-of date, for dates of first and last offences.
    members
        The family's own features and values: when ``values`` lacks a feature the plain sentence
        reads, the sentence is the members' catalogue sentences instead, so it never states a
        count the model did not have.
    """
    if family in DESCRIBE and not _needs(family) <= set(values):
        return _from_features(members if members is not None else {})
    return DESCRIBE.get(family, _other)(values, pd.Timestamp(as_of))


def family_reasons(contribs: pd.DataFrame, X: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per (person, reason family) with a feature in the model, largest |contribution| first.

    Parameters
    ----------
    contribs : DataFrame, shape (n, f)
        SHAP contributions (raw-margin units), index person_id, columns the model's features.
    X : DataFrame, shape (n, f)
        The same people's feature values (same index and columns).
    as_of
        The run's as-of date.

    Returns
    -------
    DataFrame with the columns of :data:`FAMILY_COLUMNS`: person_id (str), order (int64, 1 =
    largest |contribution|; ties in family order), family, title, contribution (float64, the sum
    of the family's features' contributions), direction (``raises``, ``lowers`` or ``no effect``),
    sentence (str, without the direction), absent (bool: every fact of the family is zero),
    police_activity (bool) and features (the family's features, ``;``-joined, model order).
    People in the order given.
    """
    columns = [str(c) for c in contribs.columns]
    families = pd.Series([family_of(c) for c in columns], index=columns)
    present = [f for f in FAMILY_KEYS if f in set(families)]
    sums = contribs.T.groupby(families.to_numpy(), sort=False).sum().T[present]
    rows = []
    values = X[columns].astype("float64")
    for position, person in enumerate(contribs.index):
        person_values = dict(zip(columns, values.iloc[position].to_numpy(), strict=True))
        for family in present:
            members = [c for c in columns if families[c] == family]
            own = {c: person_values[c] for c in members}
            sentence, absent = describe(family, own if family == OTHER_FAMILY else person_values, as_of, own)
            total = float(sums.at[person, family])
            info = reason_family(family)
            rows.append(
                {
                    "person_id": str(person),
                    "family": family,
                    "title": info.title,
                    "contribution": total,
                    "direction": RAISES if total > 0 else (LOWERS if total < 0 else NO_EFFECT),
                    "sentence": sentence,
                    "absent": absent,
                    "police_activity": info.police_activity,
                    "features": ";".join(members),
                    "_person": position,
                    "_family": FAMILY_KEYS.index(family),
                }
            )
    frame = pd.DataFrame(rows)
    frame = frame.sort_values(
        ["_person", "contribution", "_family"],
        key=lambda s: -s.abs() if s.name == "contribution" else s,
        kind="mergesort",
    )
    frame["order"] = frame.groupby("_person").cumcount().astype("int64") + 1
    frame = frame.astype(
        {"person_id": "str", "family": "str", "title": "str", "sentence": "str", "features": "str"}
    )
    return frame[FAMILY_COLUMNS].reset_index(drop=True)


def officer_facing(families: pd.DataFrame) -> pd.Series:
    """Which family rows an officer's top reasons may use: an effect, and no absence that raises."""
    return (families["direction"] != NO_EFFECT) & ~(families["absent"] & (families["direction"] == RAISES))


def top_family_reasons(families: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """The ``n`` largest officer-facing family reasons of each person, as sentences with their effect.

    Returns a DataFrame with person_id and reason_1 .. reason_n (str; ``""`` when a person has fewer),
    people in the order of ``families``. Each reason comes from a different family.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    people = pd.unique(families["person_id"])
    kept = families[officer_facing(families)].copy()
    kept["rank"] = kept.groupby("person_id", sort=False).cumcount() + 1
    kept = kept[kept["rank"] <= n]
    kept["text"] = kept["sentence"] + kept["direction"].map(SUFFIX)
    wide = kept.pivot(index="person_id", columns="rank", values="text")
    wide = wide.reindex(index=people, columns=range(1, n + 1)).fillna("").astype("str")
    wide.columns = [f"reason_{k}" for k in range(1, n + 1)]
    return wide.rename_axis(index="person_id", columns=None).reset_index().astype({"person_id": "str"})


def police_activity_share(families: pd.DataFrame) -> pd.Series:
    """Per person, the share of the sum of |family contributions| that comes from police-activity families.

    0 for everyone when no police-activity feature is a model input.
    """
    magnitude = families["contribution"].abs()
    total = magnitude.groupby(families["person_id"], sort=False).sum()
    police = (
        magnitude.where(families["police_activity"], 0.0).groupby(families["person_id"], sort=False).sum()
    )
    return (police / total.replace(0.0, np.nan)).fillna(0.0).rename("police_activity_share")
