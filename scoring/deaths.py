"""The death investigations job (`harmrank deaths`): one month's analytical report of death reports.

For the month before the as-of date, from the reports recorded before it (each in the category it
had then):

1. **pattern**: reports by month and group against what the force's history (and the context
   table, where given) expects, with control limits (:mod:`models.deaths.pattern`);
2. **space-time clustering**: a Knox test over the period and a prospective space-time scan
   (:mod:`models.deaths.knox`, :mod:`models.deaths.scan`);
3. **linked pairs**: the month's alerts (:mod:`models.deaths.alerts`);
4. **series**: the connected alerts of the last months, with the people linked to more than one
   death and their offender-side records;
5. **equality**: category decisions by victim group against the circumstances
   (:mod:`fairness.deaths`).

Everything is advisory: each alert and series is for a person to review.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from fairness.deaths import DECIDED, age_band, decisions_by_group
from features.errors import PipelineError
from features.records.schema import Records
from models.deaths.alerts import category_at, find_series, known_at, month_alerts
from models.deaths.knox import Knox, knox
from models.deaths.linkage import ROLE_WORDS, named_people
from models.deaths.pattern import control_charts, monthly_counts
from models.deaths.result import DeathsResult, Pattern
from models.deaths.scan import Scan, scan
from models.deaths.settings import DeathSettings
from scoring.config import RunConfig
from scoring.evidence import history
from scoring.io import DEATHS_DIR
from scoring.progress import QuietReporter, Reporter
from scoring.records import Location, load_death_records, load_records

DAY = np.timedelta64(1, "D")
GROUPINGS: tuple[tuple[str, str], ...] = (
    ("category", "Category"),
    ("place_type", "Place type"),
    ("substance", "Substance found"),
    ("age_band", "Age band"),
    ("sex", "Sex"),
    ("area_code", "Area"),
)
"""Groupings of the pattern section: column, and the heading a reader sees."""


def _pattern(
    deaths: pd.DataFrame, expected: pd.DataFrame | None, as_of: pd.Timestamp, s: DeathSettings
) -> Pattern:
    month = as_of - pd.DateOffset(months=1)
    first = deaths["reported_date"].min().to_period("M").to_timestamp()
    history_months = pd.date_range(first, month, freq="MS")
    shown = history_months[-s.pattern.months_shown :]
    frame = deaths.assign(
        age_band=age_band(deaths["age"]),
        substance=deaths["substances"].str.split(";"),
        all="All reports",
    ).explode("substance")
    context = None
    if expected is not None and len(expected):
        context_by_area = expected.pivot_table(
            index="month", columns="area_code", values="expected", aggfunc="sum"
        )
        context = context_by_area.reindex(history_months)
    charts = []
    for column, heading in (("all", "All reports"), *GROUPINGS):
        rows = frame if column == "substance" else frame.drop_duplicates("death_id")
        counts = monthly_counts(rows["reported_date"], rows[column], history_months)
        ctx = None
        if context is not None and column == "all":
            ctx = context.sum(axis=1, min_count=1).to_frame("All reports")
        elif context is not None and column == "area_code":
            ctx = context
        chart = control_charts(counts, shown, s.pattern.reference_years, s.pattern.alpha, ctx)
        charts.append(chart.assign(grouping=heading))
    table = pd.concat(charts, ignore_index=True)
    table = table[["grouping", "group", *[c for c in table.columns if c not in ("grouping", "group")]]]
    now = table[table["month"] == month]
    tested = now[now["expected"] >= s.pattern.min_expected]
    beyond = tested[tested["beyond"]].sort_values(["p_value", "grouping", "group"], kind="stable")
    return Pattern(table, beyond.reset_index(drop=True), len(tested), float(tested["false_alarm"].sum()))


def _clustering(studied: pd.DataFrame, as_of: pd.Timestamp, s: DeathSettings, seed: int) -> tuple[Knox, Scan]:
    day = studied["found_date"].to_numpy("datetime64[D]")
    end = np.datetime64(as_of.date(), "D")
    k = studied[day >= end - s.knox.period_days * DAY]
    result_knox = knox(
        k["x"].to_numpy(),
        k["y"].to_numpy(),
        k["found_date"].to_numpy("datetime64[D]").astype(np.int64),
        s.knox.distance_m,
        s.knox.days,
        s.knox.permutations,
        seed,
    )
    period = studied[day >= end - s.scan.period_days * DAY]
    centres = period.groupby("area_code", sort=True)[["x", "y"]].mean()
    area = centres.index.get_indexer(period["area_code"])
    week = ((end - period["found_date"].to_numpy("datetime64[D]")) // DAY - 1) // 7
    result_scan = scan(
        area.astype(np.int64),
        week.astype(np.int64),
        centres.to_numpy(),
        centres.index.to_numpy(),
        s.scan.max_weeks,
        s.scan.max_radius_m,
        s.scan.max_areas,
        s.scan.replications,
        seed,
        s.scan.shown,
    )
    return result_knox, result_scan


def _people(
    series: pd.DataFrame, deaths: pd.DataFrame, records: Records, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """People named in more than one death of a series, and the offender-side records of each."""
    rows = deaths[deaths["death_id"].isin(series["death_id"])].merge(series, on="death_id")
    named = named_people(rows)
    named = named.assign(
        series=rows["series"].to_numpy()[named["pos"]],
        death_id=rows["death_id"].to_numpy()[named["pos"]],
        role=named["role"].map(ROLE_WORDS),
    )
    people = (
        named.groupby(["series", "person_id"], sort=True)
        .agg(
            deaths=("death_id", "nunique"),
            death_ids=("death_id", lambda s: "; ".join(sorted(set(s)))),
            roles=("role", lambda s: "; ".join(sorted(set(s)))),
        )
        .reset_index()
    )
    people = people[people["deaths"] >= 2].reset_index(drop=True)
    known = people["person_id"].isin(records.persons["person_id"])
    timeline = history(records.events, records.offences, sorted(set(people.loc[known, "person_id"])), as_of)
    counts = timeline.groupby("person_id").size()
    people = people.assign(
        in_records=known.to_numpy(),
        records_before=people["person_id"].map(counts).fillna(0).astype(np.int64),
    )
    return people, timeline.drop(columns=["in_model"])


def _person_records(deaths: pd.DataFrame, records: Records) -> pd.DataFrame:
    """The offender-side records (crime numbers, else event ids) of every person the death reports
    name, as suspect, victim or anyone else an event names: person_id, record, recorded_date."""
    people = pd.Index(named_people(deaths.reset_index(drop=True))["person_id"].unique())
    events = records.events
    record = events["source_ref"].fillna(events["event_id"]).astype("str")
    parts = []
    for column in ("person_id", "victim_id"):
        at = events[column].isin(people).to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "person_id": events.loc[at, column].astype("str").to_numpy(),
                    "record": record[at].to_numpy(),
                    "recorded_date": events.loc[at, "recorded_date"].to_numpy(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True).drop_duplicates()


def _equality(
    deaths: pd.DataFrame, protected: pd.DataFrame | None, as_of: pd.Timestamp, s: DeathSettings, seed: int
) -> pd.DataFrame | None:
    known = deaths[deaths["recorded_date"] < as_of]
    known = known.assign(category=category_at(known, as_of))
    recent = known["found_date"] >= as_of - pd.Timedelta(days=s.equality.period_days)
    decided = known[recent & known["category"].isin(DECIDED)].reset_index(drop=True)
    if decided.empty:
        return None
    groups = pd.DataFrame({"sex": decided["sex"].astype("str"), "age band": age_band(decided["age"])})
    if protected is not None:
        extra = protected.set_index("death_id").reindex(decided["death_id"]).fillna("not recorded")
        for column in extra.columns:
            groups[column.replace("_", " ")] = extra[column].astype("str").to_numpy()
    return decisions_by_group(decided, groups, s.equality, seed)


def run_deaths(
    cfg: RunConfig, as_of: date, data: Location | None = None, reporter: Reporter | None = None
) -> DeathsResult:
    """The death investigations report for the month before ``as_of`` (:class:`DeathsResult`).

    Raises
    ------
    RecordsError
        The records break the contract (see :func:`scoring.records.load_death_records`).
    PipelineError
        No death report was recorded before the as-of date.
    """
    reporter = reporter or QuietReporter()
    s, seed, end = cfg.deaths, cfg.seed, pd.Timestamp(as_of)
    where = data if data is not None else cfg.data_dir
    with reporter.stage("Reading and validating death reports"):
        death_records, report = load_death_records(where, cfg.validation, cfg.source)
    with reporter.stage("Reading the offender-side records"):
        records, _ = load_records(where, cfg.validation, cfg.offences, cfg.source)
    deaths = death_records.deaths
    known = deaths[deaths["recorded_date"] < end]
    if known.empty:
        raise PipelineError(f"No death report was recorded before {as_of}: nothing to report on.")
    studied = known_at(deaths, end, s.categories)
    person_records = _person_records(deaths, records)
    with reporter.stage("Charting death reports against what was expected"):
        pattern = _pattern(known.assign(category=category_at(known, end)), death_records.expected, end, s)
    with reporter.stage("Testing for space-time clustering (Knox test and scan)"):
        result_knox, result_scan = _clustering(studied, end, s, seed)
    with reporter.stage(
        f"Scoring pairs of reports month by month ({s.linkage.series_months} months)", s.linkage.series_months
    ) as advance:
        months = []
        for k in range(s.linkage.series_months - 1, -1, -1):
            month = end - pd.DateOffset(months=k)
            months.append(month_alerts(deaths, month, s, seed, death_records.links, person_records))
            advance()
    series = find_series(pd.concat([m.alerts for m in months], ignore_index=True))
    with reporter.stage("Finding the people linked to more than one death"):
        people, timeline = _people(series, deaths, records, end)
    with reporter.stage("Comparing category decisions across victim groups"):
        equality = _equality(deaths, death_records.protected, end, s, seed)
    notes = []
    if death_records.expected is None:
        notes.append("No expected_deaths table: the expectations come from the force's own history only.")
    if deaths["classified_date"].isna().all():
        notes.append("No classified_date given: each report is taken in its category as it stands today.")
    return DeathsResult(
        as_of=as_of,
        month=end - pd.DateOffset(months=1),
        records=death_records,
        validation=report,
        reports_known=len(known),
        studied=studied,
        pattern=pattern,
        knox=result_knox,
        scan=result_scan,
        months=months,
        series=series,
        people=people,
        people_history=timeline,
        equality=equality,
        notes=notes,
    )


def output_dir(cfg: RunConfig, as_of: date) -> Path:
    """Where the month's deaths report goes: runs/<DATE>/deaths/."""
    return cfg.runs_dir / as_of.isoformat() / DEATHS_DIR
