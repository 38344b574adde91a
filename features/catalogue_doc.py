"""The feature catalogue document, generated from the declarations in :mod:`features.catalogue`.

Regenerate ``docs/features.md`` after changing the catalogue::

    python -m features.catalogue_doc > docs/features.md

A test checks that the committed document is current.
"""

from __future__ import annotations

import math

from features.catalogue import CATALOGUE, V100_FEATURE, active_features
from features.catalogue_types import (
    CATEGORIES,
    COPAS_NONE,
    DAYS_PER_MONTH_16THS,
    NEVER_DAYS,
    OFFENCE_FREE_CAP_MONTHS,
    OTHER_FAMILY,
    REASON_FAMILIES,
    RECENCY_SCALE_BITS,
    TREND_BASE_DAYS,
    WINDOWS,
    Feature,
    window_suffix,
)

AGGREGATIONS: dict[str, str] = {
    "count": "number of the events in the window",
    "harm_sum": "sum of the CCHI days of the offences in the window",
    "harm_max": "CCHI days of the most harmful offence in the window",
    "harm_recency": (
        "sum over all offences of CCHI days x 0.5^(age in days / `features.harm_half_life_days`), "
        f"the weights rounded to multiples of 2^-{RECENCY_SCALE_BITS} so the sum is exact"
    ),
    "distinct_victims": "number of different victim_id values of the offences in the window",
    "distinct_subgroups": "number of different offence subgroups of the offences in the window",
    "days_since_last": "days from the latest offence's occurred_date to the as-of date",
    "days_since_first": "days from the earliest offence's occurred_date to the as-of date",
    "offence_free_months": (
        f"whole months (of 30.4375 days: days x 16 // {DAYS_PER_MONTH_16THS}) since the latest "
        f"offence, at most {OFFENCE_FREE_CAP_MONTHS}"
    ),
    "career_years": "years (of 365.25 days) from the earliest to the latest offence",
    "copas_rate": "ln(offences in all history / (10 + career_years)), after the Copas rate of OGRS",
    "trend_count": (
        f"offences in the window minus those in the rest of the last {TREND_BASE_DAYS} days scaled to "
        f"the window's length: n(90d) - n(days 91-{TREND_BASE_DAYS}) x 90 / {TREND_BASE_DAYS - 90}"
    ),
    "trend_harm": "as trend_count, with CCHI days instead of offences",
    "age": "years (of 365.25 days) from persons.birth_date to the as-of date",
    "age_at_first": "years (of 365.25 days) from persons.birth_date to the earliest offence",
}
"""What each aggregation computes, for the document."""


_COLUMNS = (
    "feature",
    "events",
    "aggregation",
    "window",
    "unit",
    "type",
    "when undefined",
    "reason family",
    "constraint",
    "sentence for analysts",
)
_DIRECTION = {1: "increasing", -1: "decreasing", 0: "none"}


def _window(feature: Feature) -> str:
    if feature.aggregation in ("count", "harm_sum", "harm_max", "distinct_victims", "distinct_subgroups"):
        return window_suffix(feature.window_days)
    if feature.aggregation.startswith("trend"):
        window = feature.window_days
        if window is None:
            raise ValueError(f"{feature.name}: a trend needs a finite window")
        return f"{window}d vs days {window + 1}-{TREND_BASE_DAYS}"
    return "all"


def _missing(feature: Feature) -> str:
    if isinstance(feature.impute, float) and math.isnan(feature.impute):
        return "left missing (NaN)"
    value = feature.impute
    return f"{value:g}" if isinstance(value, float) else str(value)


def _row(feature: Feature) -> str:
    events = feature.source.words if feature.source is not None else "persons.birth_date"
    cells = (
        f"`{feature.name}`",
        events,
        feature.aggregation,
        _window(feature),
        feature.unit,
        feature.dtype,
        _missing(feature),
        f"`{feature.reason}`",
        _DIRECTION[feature.monotone],
        feature.template,
    )
    return "| " + " | ".join(cells) + " |"


def catalogue_markdown() -> str:
    """The feature catalogue document (``docs/features.md``), generated from :data:`CATALOGUE`.

    Returns
    -------
    str
        Markdown text ending in a newline.
    """
    default = len(active_features())
    windows = ", ".join(window_suffix(w) for w in WINDOWS)
    out = [
        "# Feature catalogue",
        "",
        "<!-- Generated from features/catalogue.py by "
        "`python -m features.catalogue_doc > docs/features.md`; do not edit by hand. -->",
        "",
        f"The model's inputs: {default} features by default, {len(CATALOGUE)} with every policy switch "
        "on. Each is declared once in `features/catalogue.py`; the engine, the reference "
        "implementation, the explanations and this page read that declaration.",
        "",
        "## Rules every feature follows",
        "",
        "- **Point in time.** At as-of date T only events with `recorded_date` before T exist. "
        "A window of w days holds the events that *occurred* in the w days before T "
        "(T - w <= occurred_date < T); `all` is all recorded history.",
        f"- **Windows** are {windows}, nested: the engine puts each event in the smallest window "
        "that holds it and adds the windows up, so one pass over the events serves one as-of date "
        "or a monthly panel (see `features/sql.py`).",
        "- **Offence** means an event as named suspect (`crime_suspect`) with its Cambridge Crime "
        "Harm Index (CCHI) days; harm is summed in quarter days, so every sum is exact and the "
        "matrix is identical for any number of threads.",
        "- **Cohort** at T: persons with an event of `features.cohort_event_types` (default "
        "crime_suspect) that occurred within `features.cohort_lookback_days` (default 1095) before T.",
        "- **Missing values** are explicit: the column *when undefined* gives the value a person "
        f"without a qualifying event gets ({NEVER_DAYS} days means never; a Copas rate of "
        f"{COPAS_NONE:g} means no offence). Only the age features may be missing (unknown birth date).",
        "- **Never inputs**: protected characteristics (the engine is never given the protected "
        "table), witness, incident and order records, postcodes and area classifications.",
        f"- **V100**: `{V100_FEATURE}` is the Met's V100 score, shown beside every model score.",
        "",
        "## Policy switches (configs/default.yaml, section features; all off by default)",
        "",
        "- `use_age`: adds `age` and `age_at_first_offence`. Age is a protected characteristic "
        "(Equality Act 2010); the equality report states the setting.",
        "- `use_victimisation`: adds the `victim_count_*` features (times recorded as the victim of "
        "a crime). Off by default: a victim's own reports raising their score could deter reporting, "
        "and DPA 2018 Part 3 keeps victims and suspects as distinct categories.",
        "- `use_police_activity`: adds the `stop_count_*` and `intelligence_count_*` features. Off by "
        "default: they record where the police looked, not what the person is alleged to have done "
        "(the README gives the measurement behind the default).",
        "",
        "## Reason families and constraints",
        "",
        "An officer reads reasons by family, not by feature: a family's contribution is the sum of "
        "its features' SHAP values, so the families still add up exactly to the score, and the "
        "family's sentence states the person's facts in plain words (`models/reasons.py`). Every "
        "feature belongs to exactly one family.",
        "",
        "With `model.monotone_constraints` on (the default) LightGBM is trained with each feature's "
        "constraint: *increasing* where more alleged offending, harm, arrests, charges or convictions "
        "cannot honestly mean lower risk, *decreasing* where more time since the last offence cannot "
        "mean higher risk. A count of zero is then the lowest value such a feature can take, so it "
        "can never raise a score.",
        "",
        "| family | heading an officer reads | police activity | features |",
        "|---|---|---|---|",
        *(
            f"| `{fam.key}` | {fam.title} | {'yes' if fam.police_activity else 'no'} | "
            f"{sum(1 for f in CATALOGUE if f.reason == fam.key)} |"
            for fam in REASON_FAMILIES
            if fam.key != OTHER_FAMILY
        ),
        "",
        "## Aggregations",
        "",
        "| aggregation | value |",
        "|---|---|",
        *(f"| {name} | {text} |" for name, text in AGGREGATIONS.items()),
        "",
        "## Offence categories",
        "",
        "The `suspect_<category>_count_*` features use the offence table's `category` column "
        "(case-insensitive); a category not listed here counts as `other`.",
        "",
        "| slug | Home Office headline category |",
        "|---|---|",
        *(f"| {slug} | {name} |" for slug, name, _ in CATEGORIES),
        "",
    ]
    families = list(dict.fromkeys(f.family for f in CATALOGUE))
    for family in families:
        out += [f"## {family}", ""]
        out += [f"| {' | '.join(_COLUMNS)} |", "|" + "---|" * len(_COLUMNS)]
        out += [_row(f) for f in CATALOGUE if f.family == family]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(catalogue_markdown(), end="")
