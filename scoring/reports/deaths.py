"""The deaths report (runs/<DATE>/deaths/report.html) and one page per candidate series.

Pure rendering: :func:`render_deaths_report` and :func:`render_series_page` read a
:class:`~scoring.deaths.DeathsResult` and return self-contained HTML (inline CSS and SVG, nothing
loaded), the same bytes for the same result. Every figure on a page is a column of a CSV written
beside it (:mod:`scoring.deaths_outputs`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from models.deaths.linkage import COMPONENTS
from models.deaths.result import DeathsResult
from scoring.reports.charts.deaths import Point, series_map, series_timeline
from scoring.reports.charts.model import Series, line_chart
from scoring.reports.env import environment
from scoring.reports.formats import Cell, Table

PLACE_WORDS = {"churchyard_cemetery": "churchyard or cemetery", "public_open_space": "public open space"}
COMPONENT_WORDS = {
    "distance": "distance apart",
    "days": "days apart",
    "place": "place type",
    "substance": "substance",
    "sex": "sex",
    "age": "age",
    "flags": "circumstances",
    "address": "address",
}


def words(code: object) -> str:
    """A code as a reader sees it: ``churchyard_cemetery`` -> ``churchyard or cemetery``."""
    text = str(code)
    return PLACE_WORDS.get(text, text.replace("ghb_gbl", "GHB/GBL").replace("_", " "))


def distance(metres: float) -> str:
    """Metres to the nearest 10 m below 1 km, else km to one decimal."""
    if not math.isfinite(metres):
        return "not known"
    return f"{round(metres, -1):,.0f} m" if metres < 1000 else f"{metres / 1000:.1f} km"


def factor(log10_lr: float) -> str:
    """A likelihood ratio to two significant figures: ``x3,500`` or ``x0.50``."""
    value = 10.0**log10_lr
    if value >= 1e6:
        return "over ×1,000,000"
    if value >= 10:
        digits = math.floor(math.log10(value)) - 1
        return f"×{round(value, -digits):,.0f}"
    return f"×{value:.2g}"


def link_text(row: pd.Series) -> str:
    """What links a pair, strongest evidence first: each component that at least doubles the odds."""
    parts = []
    if str(row.get("person_id", "nan")) != "nan":
        parts.append(f"shared person {row['person_id']} ({row['roles']})")
    if str(row.get("record", "nan")) != "nan":
        parts.append(f"{row['record_people']} are named in one record ({row['record']})")
    shown = sorted(((row[f"lr_{c}"], c) for c in COMPONENTS), reverse=True)
    for value, name in shown:
        if value < math.log10(2):
            continue
        if name == "distance":
            what = f"{distance(row['distance_m'])} apart"
        elif name == "days":
            what = f"found {int(row['days_apart'])} days apart"
        elif name == "substance":
            what = f"both {words(row['substance'])}"
        elif name == "place" and str(row.get("place", "")) not in ("", "nan"):
            what = f"both {words(row['place'])}"
        elif name == "flags" and str(row.get("flags", "")) not in ("", "nan"):
            what = "both " + " and ".join(words(f) for f in str(row["flags"]).split(";"))
        else:
            what = f"same {COMPONENT_WORDS[name]}"
        parts.append(f"{what} {factor(value)}")
    return "; ".join(parts) or "no single component doubles the odds"


def _chart(charts: pd.DataFrame, grouping: str, group: str, title: str) -> str:
    rows = charts[(charts["grouping"] == grouping) & (charts["group"] == group)]
    labels = [m.strftime("%b %y") for m in rows["month"]]
    return line_chart(
        labels,
        [
            Series("Reports", tuple(rows["observed"].astype(float))),
            Series("Expected", tuple(rows["expected"]), style=7, dashed=True),
            Series("Upper limit", tuple(rows["upper"]), style=1, dashed=True),
        ],
        title=title,
        y_label="reports a month",
        percent=False,
        plot_height=200,
    )


def _num(value: float, digits: int = 1) -> Cell:
    """A count's expectation: one decimal, two below 1 (0.13 reports, not 0.1)."""
    if not math.isfinite(value):
        return Cell("–")
    return Cell(f"{value:,.{digits + 1 if abs(value) < 1 else digits}f}")


def _beyond_table(beyond: pd.DataFrame) -> Table:
    rows = [
        [
            Cell(r.grouping, numeric=False),
            Cell(words(r.group), numeric=False),
            Cell(f"{r.observed:,}"),
            _num(r.expected),
            Cell(f"{r.upper:,.0f}"),
            Cell(f"{r.p_value:.2g}"),
        ]
        for r in beyond.itertuples()
    ]
    return Table(["Grouping", "Group", "Reports", "Expected", "Upper limit", "Chance of as many"], rows)


def _alerts_table(alerts: pd.DataFrame, series_of: dict[str, str]) -> Table:
    rows = []
    for _, r in alerts.iterrows():
        link = " / ".join(sorted({series_of.get(r.death_a, ""), series_of.get(r.death_b, "")} - {""}))
        rows.append(
            [
                Cell(str(r["rank"])),
                Cell(f"{r.death_a} & {r.death_b}", numeric=False),
                Cell(words(r.reason), numeric=False),
                Cell(factor(r.log10_lr)),
                Cell(link_text(r), numeric=False),
                Cell(link or "–", numeric=False),
            ]
        )
    return Table(["Rank", "Reports", "Why", "Likelihood ratio", "What links them", "Series"], rows)


def _signed(share: float) -> str:
    """A difference of shares in whole percentage points, signed: ``+4``, ``-2``, ``0`` (never ``-0``)."""
    value = round(share * 100)
    return f"{value:+d}" if value else "0"


def _equality_table(equality: pd.DataFrame | None, limit: int) -> Table | None:
    if equality is None:
        return None
    rows = []
    for r in equality.itertuples():
        if r.suppressed:
            rows.append(
                [Cell(r.characteristic, numeric=False), Cell(r.group, numeric=False), Cell(f"{r.reports:,}")]
                + [Cell(f"fewer than {limit}: not shown", numeric=False)]
                + [Cell("") for _ in range(3)]
            )
            continue
        rows.append(
            [
                Cell(r.characteristic, numeric=False),
                Cell(r.group, numeric=False),
                Cell(f"{r.reports:,}"),
                Cell(f"{r.closed_share:.0%}"),
                Cell(f"{r.predicted_share:.0%}"),
                Cell(
                    f"{_signed(r.difference)} points",
                    (f"{_signed(r.difference_low)} to {_signed(r.difference_high)}",),
                ),
                Cell(
                    "–"
                    if not math.isfinite(r.median_days_to_close)
                    else f"{r.median_days_to_close:.0f} days",
                    () if not math.isfinite(r.days_low) else (f"{r.days_low:.0f} to {r.days_high:.0f}",),
                ),
            ]
        )
    return Table(
        [
            "Characteristic",
            "Group",
            "Decided reports",
            "Closed as not suspicious",
            "Circumstances predict",
            "Difference",
            "Median days to close",
        ],
        rows,
    )


def _series_rows(result: DeathsResult) -> list[dict[str, Any]]:
    out = []
    for name, members in result.series_reports.groupby("series", sort=True):
        found = members["found_date"]
        people = result.people[result.people["series"] == name]
        out.append(
            {
                "name": name,
                "reports": len(members),
                "first": found.min().date().isoformat(),
                "last": found.max().date().isoformat(),
                "days": int((found.max() - found.min()).days),
                "people": ", ".join(people["person_id"]) or "none",
                "href": f"series/{name}.html",
            }
        )
    out.sort(key=lambda row: str(row["last"]), reverse=True)  # most recent first ...
    out.sort(key=lambda row: -int(row["reports"]))  # ... within the largest first
    return out


def _model_rows(result: DeathsResult) -> list[dict[str, str]]:
    model = result.months[-1].model
    rows = []
    for name, label, unit in (
        ("distance", "Distance apart", "m"),
        ("days", "Days apart", "days"),
        ("age", "Difference in age", "years"),
    ):
        spec, lr = model.bands[name]
        edges = [0.0, *spec.edges]
        for k, value in enumerate(lr):
            band = (
                f"{edges[k]:,.0f} to {edges[k + 1]:,.0f} {unit}"
                if k < len(spec.edges)
                else f"over {edges[k]:,.0f} {unit}"
            )
            rows.append(
                {
                    "what": label,
                    "band": band,
                    "linked": f"{spec.linked[k]:.0%}",
                    "factor": factor(float(value)),
                }
            )
    return rows


def render_deaths_report(result: DeathsResult, config_text: dict[str, Any]) -> str:
    """The month's deaths report as one self-contained HTML page."""
    s = config_text["settings"]
    charts = result.pattern.charts
    series_of = dict(zip(result.series["death_id"], result.series["series"], strict=True))
    month = result.month.strftime("%B %Y")
    this = result.months[-1]
    by_reason = this.alerts["reason"].value_counts()
    context = {
        "as_of": result.as_of.isoformat(),
        "month": month,
        "result": result,
        "s": s,
        "this": this,
        "shared_alerts": int(by_reason.get("shared person", 0) + by_reason.get("shared record", 0)),
        "score_alerts": int(by_reason.get("score", 0)),
        "overall_chart": _chart(
            charts, "All reports", "All reports", f"All death reports a month, to {month}"
        ),
        "beyond": _beyond_table(result.pattern.beyond),
        "beyond_charts": [
            _chart(charts, r.grouping, r.group, f"{r.grouping}: {words(r.group)}")
            for r in result.pattern.beyond.head(6).itertuples()
        ],
        "alerts": _alerts_table(this.alerts, series_of),
        "series": _series_rows(result),
        "equality": _equality_table(result.equality, s.equality.min_group),
        "equality_groups": 0 if result.equality is None else int((~result.equality["suppressed"]).sum()),
        "model_rows": _model_rows(result),
        "labelled": this.model.labelled,
        "theta": this.model.theta,
        "clusters": result.scan.clusters.to_dict("records"),
        "validation": result.validation.tables,
        "categories": [words(c) for c in s.categories],
        "review_log": config_text.get("review_log", "the review log"),
        "example_alert": f"{this.alerts['death_a'].iloc[0]}+{this.alerts['death_b'].iloc[0]}"
        if len(this.alerts)
        else "D000001+D000002",
        "example_series": result.series["series"].iloc[0] if len(result.series) else "C01",
        "items": len(this.alerts) + result.series["series"].nunique(),
    }
    return environment().get_template("deaths.html").render(**context)


def render_series_page(result: DeathsResult, name: str, context_points: np.ndarray) -> str:
    """One candidate series: timeline, map, its reports, the alerts that link them, and the people."""
    reports = result.series_reports
    deaths = reports[reports["series"] == name].reset_index(drop=True)
    number = {d: k + 1 for k, d in enumerate(deaths["death_id"])}
    points = [Point(number[r.death_id], r.x, r.y, r.found_date.date()) for r in deaths.itertuples()]
    alerts = pd.concat([m.alerts for m in result.months], ignore_index=True)
    inside = alerts[alerts["death_a"].isin(number) & alerts["death_b"].isin(number)]
    links = [(number[a], number[b]) for a, b in zip(inside["death_a"], inside["death_b"], strict=True)]
    people = result.people[result.people["series"] == name]
    timeline = result.people_history[result.people_history["person_id"].isin(people["person_id"])]
    context = {
        "as_of": result.as_of.isoformat(),
        "name": name,
        "deaths": deaths.assign(number=deaths["death_id"].map(number)).to_dict("records"),
        "timeline_svg": series_timeline(points, title=f"Series {name}: when each death was found"),
        "map_svg": series_map(
            points,
            links,
            [tuple(p) for p in context_points],
            title=f"Series {name}: where each death was found",
        ),
        "links": [
            {
                "a": number[r.death_a],
                "b": number[r.death_b],
                "month": r.month.strftime("%B %Y"),
                "why": words(r.reason),
                "factor": factor(r.log10_lr),
                "text": link_text(r),
            }
            for _, r in inside.iterrows()
        ],
        "people": people.to_dict("records"),
        "history": {p: timeline[timeline["person_id"] == p].to_dict("records") for p in people["person_id"]},
        "words": words,
    }
    return environment().get_template("deaths_series.html").render(**context)
