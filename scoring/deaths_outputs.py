"""Writing the deaths report: runs/<DATE>/deaths/, replaced whole or not at all.

Files (every figure on the pages is a column of one of them):

=======================  ======================================================================
report.html              the report (pattern, clustering, alerts, series, equality, method)
series/<C01>.html        one page per candidate series
alerts.csv               this month's alerts, each part of the likelihood ratio (log10)
alerts_history.csv       the alerts of every month that formed the series
series.csv               each report of each candidate series, with what it shows
series_people.csv        people named in more than one report of a series
pattern.csv              every control chart: month, observed, expected, upper limit, p-value
beyond.csv               the groups beyond their limit this month
knox.csv                 the Knox test
clusters.csv             the space-time scan's clusters
equality_decisions.csv   category decisions by victim group (suppressed groups without figures)
review_items.csv         what needs a review: each alert (D000149+D000325) and series (C01)
quarantine/<table>.csv   rows of the death tables that broke the contract, with the reason
manifest.json            what was read, the settings, and a checksum of every file
=======================  ======================================================================
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.config import RunConfig
from scoring.deaths import DeathsResult, output_dir
from scoring.io import atomic_directory, sha256, write_csv, write_json, write_table, write_text
from scoring.records import write_quarantine
from scoring.reports.deaths import factor, render_deaths_report, render_series_page
from scoring.review_log import display

FILES: tuple[str, ...] = (
    "report.html",
    "alerts.csv",
    "alerts_history.csv",
    "series.csv",
    "series_people.csv",
    "pattern.csv",
    "beyond.csv",
    "knox.csv",
    "clusters.csv",
    "equality_decisions.csv",
)


def _rounded(frame: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """Floats to ``digits`` decimals, so the CSVs carry no false precision and stable bytes."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(digits)
    return out


def _series_table(result: DeathsResult) -> pd.DataFrame:
    columns = [
        "series",
        "death_id",
        "source_ref",
        "found_date",
        "reported_date",
        "recorded_date",
        "area_code",
        "place_type",
        "category",
        "age",
        "sex",
        "substances",
        "finder_id",
        "reporter_id",
        "last_seen_with_id",
        "household_ids",
        "address_id",
    ]
    return result.series_reports[columns]


def review_items(result: DeathsResult) -> pd.DataFrame:
    """Each alert of the month, then each candidate series: rank, item (the id a review names),
    kind, and what it is in a few words."""
    alerts = result.alerts
    rows = [
        {
            "item": f"{r.death_a}+{r.death_b}",
            "kind": "alert",
            "what": f"{r.reason}; likelihood ratio {factor(r.log10_lr)}",
        }
        for r in alerts.itertuples(index=False)
    ]
    for name, members in result.series_reports.groupby("series", sort=True):
        first, last = members["found_date"].min().date(), members["found_date"].max().date()
        rows.append(
            {"item": name, "kind": "series", "what": f"{len(members)} reports found {first} to {last}"}
        )
    frame = pd.DataFrame(rows, columns=["item", "kind", "what"])
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame


def write_deaths(result: DeathsResult, cfg: RunConfig, data: str) -> Path:
    """Write the month's deaths report and its tables; returns the directory (runs/<DATE>/deaths/)."""
    target = output_dir(cfg, result.as_of)
    alerts_history = pd.concat([m.alerts for m in result.months], ignore_index=True)
    studied = result.studied
    context_points = np.column_stack([studied["x"].to_numpy(), studied["y"].to_numpy()])
    settings = {"settings": cfg.deaths, "review_log": display(cfg.scoring.review_log)}
    with atomic_directory(target) as out:
        write_text(render_deaths_report(result, settings), out / "report.html")
        for name in sorted(result.series["series"].unique()):
            (out / "series").mkdir(exist_ok=True, mode=0o700)
            write_text(render_series_page(result, name, context_points), out / "series" / f"{name}.html")
        write_table(_rounded(result.alerts), out / "alerts.csv")
        write_table(_rounded(alerts_history), out / "alerts_history.csv")
        write_table(_rounded(_series_table(result)), out / "series.csv")
        write_table(result.people, out / "series_people.csv")
        write_table(_rounded(result.pattern.charts), out / "pattern.csv")
        write_table(_rounded(result.pattern.beyond), out / "beyond.csv")
        write_csv(
            _rounded(pd.DataFrame([dataclasses.asdict(result.knox) | {"ratio": result.knox.ratio}])),
            out / "knox.csv",
        )
        write_csv(_rounded(result.scan.clusters), out / "clusters.csv")
        equality = result.equality if result.equality is not None else pd.DataFrame()
        write_csv(_rounded(equality), out / "equality_decisions.csv")
        write_csv(review_items(result), out / "review_items.csv")
        quarantined = write_quarantine(result.validation, out)
        files = sorted(p for p in out.rglob("*") if p.is_file())
        write_json(
            {
                "run": f"{result.as_of.isoformat()}/deaths",
                "kind": "deaths",
                "as_of": result.as_of.isoformat(),
                "month": result.month.strftime("%Y-%m"),
                "review_log": str(cfg.scoring.review_log),
                "data": data,
                "reports_known": result.reports_known,
                "studied": len(result.studied),
                "alerts": len(result.alerts),
                "series": int(result.series["series"].nunique()),
                "tables": {
                    t.table: {"source": t.source, "read": t.rows_read, "quarantined": t.rows_quarantined}
                    for t in result.validation.tables
                },
                "quarantine": sorted(str(p.relative_to(out)) for p in quarantined.values()),
                "settings": cfg.deaths.model_dump(mode="json"),
                "seed": cfg.seed,
                "files": {str(p.relative_to(out)): sha256(p) for p in files},
            },
            out / "manifest.json",
        )
    return target
