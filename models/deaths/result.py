"""What the death investigations job found for one month, for the report pages and files to read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import pandas as pd

from features.records.death_tables import DeathRecords
from features.records.schema import ValidationReport
from models.deaths.alerts import MonthAlerts
from models.deaths.knox import Knox
from models.deaths.scan import Scan


@dataclass(frozen=True, eq=False)
class Pattern:
    """Control charts of the month: ``charts`` (grouping, group, then the chart's columns) and the
    groups beyond their limit this month (``beyond``); ``tested`` charts and ``false_alarms``, the
    number expected beyond their limits by chance alone."""

    charts: pd.DataFrame
    beyond: pd.DataFrame
    tested: int
    false_alarms: float


@dataclass(frozen=True, eq=False)
class DeathsResult:
    """Everything the deaths report shows (run by :func:`scoring.deaths.run_deaths`, written by
    :mod:`scoring.deaths_outputs`)."""

    as_of: date
    month: pd.Timestamp
    records: DeathRecords
    validation: ValidationReport
    reports_known: int
    studied: pd.DataFrame
    pattern: Pattern
    knox: Knox
    scan: Scan
    months: list[MonthAlerts]
    series: pd.DataFrame
    people: pd.DataFrame
    people_history: pd.DataFrame
    equality: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)

    @property
    def alerts(self) -> pd.DataFrame:
        """This month's alerts."""
        return self.months[-1].alerts

    @cached_property
    def series_reports(self) -> pd.DataFrame:
        """Each report of each candidate series with everything it shows: by series, then in the
        order the deaths were found (the order a series page numbers them in). Built once."""
        reports = self.series.merge(self.records.deaths, on="death_id", how="left")
        return reports.sort_values(["series", "found_date", "death_id"], kind="stable").reset_index(drop=True)
