"""The vocabulary the feature catalogue is written in: sources, features, windows, categories, constants.

:mod:`features.catalogue` declares the features with these; the engine, the reference
implementation and the docs read both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

Aggregation = Literal[
    "count",
    "harm_sum",
    "harm_max",
    "harm_recency",
    "distinct_victims",
    "distinct_subgroups",
    "days_since_last",
    "days_since_first",
    "offence_free_months",
    "career_years",
    "copas_rate",
    "trend_count",
    "trend_harm",
    "age",
    "age_at_first",
]
Policy = Literal["use_age", "use_victimisation", "use_police_activity"]
Monotone = Literal[-1, 0, 1]
"""A feature's declared direction: 1 (more of it can never lower the score), -1 (never raise it), 0 (free)."""


@dataclass(frozen=True)
class ReasonFamily:
    """A group of features that mean one thing to an officer: the unit of an officer's reasons.

    Parameters
    ----------
    key
        Name used in frames and config.
    title
        Heading an officer reads.
    police_activity
        Whether its records describe what the police did (stop and search, intelligence
        gathering) rather than what the person is alleged to have done.
    """

    key: str
    title: str
    police_activity: bool = False


#: Every reason family, in the order an officer's page lists families of equal weight.
REASON_FAMILIES: tuple[ReasonFamily, ...] = (
    ReasonFamily("harm", "Harm of the offences alleged"),
    ReasonFamily("violence", "Violent, sexual and weapon offences"),
    ReasonFamily("domestic", "Domestic abuse and victims"),
    ReasonFamily("frequency", "How often and how recently"),
    ReasonFamily("escalation", "Change in the last 3 months"),
    ReasonFamily("career", "Length of the offending history"),
    ReasonFamily("other_offending", "Other kinds of offence"),
    ReasonFamily("justice", "Arrests, charges and convictions"),
    ReasonFamily("intelligence", "Intelligence reports", police_activity=True),
    ReasonFamily("stop_search", "Stop and search", police_activity=True),
    ReasonFamily("victimisation", "Recorded as a victim"),
    ReasonFamily("age", "Age"),
    ReasonFamily("other", "Other inputs"),
)
FAMILY_KEYS: tuple[str, ...] = tuple(f.key for f in REASON_FAMILIES)
OTHER_FAMILY = "other"
"""The family of a column that is not in the catalogue (a force's own matrix)."""


def reason_family(key: str) -> ReasonFamily:
    """The reason family ``key``."""
    for family in REASON_FAMILIES:
        if family.key == key:
            return family
    raise KeyError(key)


#: Finite look-back windows in days, nested; ``None`` (all recorded history) comes last.
WINDOWS: tuple[int | None, ...] = (30, 90, 365, 1095, None)
WINDOW_PHRASES: dict[int | None, str] = {
    30: "in the last 30 days",
    90: "in the last 3 months",
    365: "in the last 12 months",
    1095: "in the last 3 years",
    None: "in all recorded history",
}

#: Home Office headline offence categories: (slug used in names, category in the offence table, plural
#: noun). An offence whose category is not listed counts as ``other``.
CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("violence_sexual", "Violence and sexual offences", "violent or sexual offences"),
    ("public_order", "Public order", "public order offences"),
    ("damage_arson", "Criminal damage and arson", "criminal damage or arson offences"),
    ("shoplifting", "Shoplifting", "shoplifting offences"),
    ("other_theft", "Other theft", "other theft offences"),
    ("vehicle", "Vehicle crime", "vehicle offences"),
    ("burglary", "Burglary", "burglaries"),
    ("drugs", "Drugs", "drug offences"),
    ("theft_person", "Theft from the person", "thefts from the person"),
    ("robbery", "Robbery", "robberies"),
    ("weapons", "Possession of weapons", "weapon possession offences"),
    ("bicycle", "Bicycle theft", "bicycle thefts"),
    ("other", "Other crime", "other offences"),
)
CATEGORY_SLUGS: tuple[str, ...] = tuple(slug for slug, _, _ in CATEGORIES)
OTHER_CATEGORY = "other"

NEVER_DAYS = 36_500
"""Days since an offence for someone with none recorded: a century, beyond any real value."""
OFFENCE_FREE_CAP_MONTHS = 60
"""Offence-free months are capped here (five years)."""
COPAS_NONE = -10.0
"""Copas rate for someone with no offence (the formula gives minus infinity; real values are > -5)."""
RECENCY_SCALE_BITS = 20
"""Recency weights are whole multiples of ``2**-20``, so weighted harm sums are exact integers."""
DAYS_PER_YEAR = 365.25
TREND_BASE_DAYS = 365
"""A trend compares the window (90 days) with the rest of the last ``TREND_BASE_DAYS`` days."""
DAYS_PER_MONTH_16THS = 487
"""A month is 30.4375 = 487 / 16 days: whole months = days * 16 // 487, in exact integer arithmetic."""


@dataclass(frozen=True)
class Source:
    """Which events feed a feature.

    Parameters
    ----------
    event_types
        Values of ``events.event_type`` that count.
    category
        Offence category slug (:data:`CATEGORY_SLUGS`) the event's offence must have, or ``None``.
    flag
        Event flag that must be set (``domestic`` or ``weapon``), or ``None``.
    words
        How the docs describe these events.
    """

    event_types: tuple[str, ...]
    category: str | None = None
    flag: Literal["domestic", "weapon"] | None = None
    words: str = ""


SUSPECT = Source(("crime_suspect",), words="named as suspect")
SUSPECT_EVENTS: tuple[str, ...] = SUSPECT.event_types


@dataclass(frozen=True)
class Feature:
    """One model input.

    Parameters
    ----------
    name
        Column name in the feature matrix.
    source
        Events that feed it; ``None`` for features of the person (age).
    aggregation
        How the events become a value (see :mod:`features.catalogue_doc`).
    window_days
        Look-back window in days before the as-of date (one of :data:`WINDOWS`); ``None`` is all history.
    unit
        Unit of the value, for docs and explanations.
    dtype
        ``int32`` or ``float64``.
    impute
        Value when the feature is undefined for a person (no qualifying event, unknown birth date);
        ``nan`` only where declared here.
    template
        Sentence for an officer; ``{value}`` is replaced by the person's value.
    family
        Heading the docs list it under.
    policy
        Setting of :class:`features.build.FeatureSettings` that must be on for it to exist.
    reason
        Key of its :data:`REASON_FAMILIES` entry: officers read reasons by family.
    monotone
        Declared direction (:data:`Monotone`), a LightGBM monotone constraint when
        ``model.monotone_constraints`` is on: 1 where more alleged offending, harm, charges or
        convictions cannot honestly mean lower risk, -1 where more time since the last offence
        cannot mean higher risk.
    """

    name: str
    source: Source | None
    aggregation: Aggregation
    window_days: int | None
    unit: str
    dtype: Literal["int32", "float64"]
    impute: float
    template: str
    family: str
    policy: Policy | None = None
    reason: str = OTHER_FAMILY
    monotone: Monotone = 0

    def sentence(self, value: float) -> str:
        """The template filled with ``value`` (whole numbers without decimals, others to 2 places,
        thousands separated by commas)."""
        if isinstance(value, float) and math.isnan(value):
            return self.template.format(value="an unknown number of")
        text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")
        return self.template.format(value=text)


def window_suffix(window: int | None) -> str:
    """Name suffix of a window: ``30d`` ... ``1095d``, ``all``."""
    return "all" if window is None else f"{window}d"


def category_slug(category: object) -> str:
    """Slug of an offence table's category (case and surrounding spaces ignored); ``other`` if unlisted."""
    text = str(category).strip().casefold()
    for slug, name, _ in CATEGORIES:
        if name.casefold() == text:
            return slug
    return OTHER_CATEGORY


def recency_weights(half_life_days: int) -> np.ndarray:
    """Integer recency weights by age in days: ``round(2**20 * 0.5 ** (age / half_life_days))``.

    Element ``a`` is the weight of an offence ``a`` days before the as-of date; the last element is
    0 and stands for every older age. A recency-weighted harm is ``sum(harm_q * weight) / 2**22``
    CCHI days (``harm_q`` is quarter days), an exact integer sum divided by a power of two.
    """
    ages = np.arange(half_life_days * (RECENCY_SCALE_BITS + 2) + 1, dtype=np.float64)
    weights = np.rint(np.exp2(RECENCY_SCALE_BITS - ages / half_life_days)).astype(np.int64)
    last_nonzero = int(np.flatnonzero(weights)[-1])
    return weights[: last_nonzero + 2]


RECENCY_DIVISOR = float(4 << RECENCY_SCALE_BITS)
"""Divide an integer sum of ``harm_q * recency weight`` by this to get CCHI days."""
