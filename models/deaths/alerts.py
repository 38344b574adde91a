"""Monthly alerts on pairs of death reports, and the candidate series they form.

Each month scores every pair with a report recorded that month (and the other found within the
window), point in time: only reports recorded before the month's end, in the category they had
then. A pair that names the same person, or two people named together in one offender-side record,
always raises an alert; of the rest, the highest
likelihood ratios raise alerts up to the month's budget, never below the floor. A pair is new
only in the month its later report is recorded, so no pair is alerted twice.

Alerts of the last months form a graph; its connected components of two or more reports are the
candidate series.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from models.deaths.linkage import (
    COMPONENTS,
    LinkModel,
    fit,
    pairs_with,
    prepare,
    score,
    shared_people,
    shared_records,
)
from models.deaths.settings import DeathSettings

ALERT_COLUMNS: tuple[str, ...] = (
    "month",
    "rank",
    "death_a",
    "death_b",
    "reason",
    "log10_lr",
    "person_id",
    "roles",
    "record",
    "record_people",
    "distance_m",
    "days_apart",
    "substance",
    "place",
    "flags",
    *(f"lr_{c}" for c in COMPONENTS),
)
"""Columns of an alert table, in order (``month`` is the first day of the alert's month)."""


def category_at(deaths: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Each report's category as it stood at ``as_of``: not yet classified before its decision."""
    decided = deaths["classified_date"]
    later = decided.notna() & (decided >= as_of)
    return deaths["category"].where(~later, "not_yet_classified")


def known_at(deaths: pd.DataFrame, as_of: pd.Timestamp, categories: tuple[str, ...]) -> pd.DataFrame:
    """Reports recorded before ``as_of`` whose category at ``as_of`` is one of ``categories``."""
    known = deaths[deaths["recorded_date"] < as_of]
    now = category_at(known, as_of)
    return known.assign(category=now)[now.isin(categories).to_numpy()].reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class MonthAlerts:
    """One month's alerts.

    Attributes
    ----------
    month, as_of : pandas.Timestamp
        First day of the month, and the day after its last (the point in time).
    reports, new, pairs : int
        Reports known, reports recorded in the month, pairs scored.
    alerts : pandas.DataFrame
        :data:`ALERT_COLUMNS`; shared-person alerts first, then by score.
    line : float
        Lowest log10 likelihood ratio alerted by score (NaN if none was).
    model : LinkModel
        The link model the month was scored with.
    frequent : pandas.DataFrame
        person_id, reports: ids named in more than ``linkage.max_named`` reports, not alerted on.
    """

    month: pd.Timestamp
    as_of: pd.Timestamp
    reports: int
    new: int
    pairs: int
    alerts: pd.DataFrame
    line: float
    model: LinkModel
    frequent: pd.DataFrame


def _links(frame: pd.DataFrame, links: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray] | None:
    if links is None or links.empty:
        return None
    at = pd.Series(np.arange(len(frame)), index=frame["death_id"].to_numpy())
    yes = links[links["linked"].to_numpy(bool)]
    a, b = at.reindex(yes["death_id_a"].to_numpy()), at.reindex(yes["death_id_b"].to_numpy())
    both = a.notna().to_numpy() & b.notna().to_numpy()
    return a.to_numpy()[both].astype(np.int64), b.to_numpy()[both].astype(np.int64)


def month_alerts(
    deaths: pd.DataFrame,
    as_of: date | pd.Timestamp,
    settings: DeathSettings,
    seed: int,
    links: pd.DataFrame | None = None,
    person_records: pd.DataFrame | None = None,
) -> MonthAlerts:
    """The alerts of the month before ``as_of`` (:class:`MonthAlerts`).

    Parameters
    ----------
    deaths : pandas.DataFrame
        Validated death reports (``DeathRecords.deaths``), any dates.
    as_of : date
        The day after the month's last; its month starts one calendar month earlier.
    settings : DeathSettings
        Categories studied and the linkage settings.
    seed : int
        Seed of the link model's reference sample.
    links : pandas.DataFrame, optional
        Labelled pairs (``DeathRecords.links``).
    person_records : pandas.DataFrame, optional
        person_id, record, recorded_date: the offender-side records of the people the reports
        name; those recorded before ``as_of`` link reports (:func:`shared_records`).
    """
    end = pd.Timestamp(as_of)
    start = end - pd.DateOffset(months=1)
    link = settings.linkage
    frame = known_at(deaths, end, settings.categories)
    r = prepare(frame)
    new = (frame["recorded_date"] >= start).to_numpy()
    model = fit(r, link, seed, _links(frame, links))
    a, b = pairs_with(r, new, link.window_days)
    scored = score(model, r, a, b)
    people, frequent = shared_people(r, new, link.window_days, link.max_named)
    by_person = people.groupby(["a", "b"], sort=True).agg(
        person_id=("person_id", lambda s: "; ".join(s)), roles=("roles", lambda s: "; ".join(s))
    )
    scored = scored.join(by_person, on=["a", "b"])
    known_records = (
        person_records[person_records["recorded_date"] < end]
        if person_records is not None
        else pd.DataFrame({"person_id": pd.Series(dtype="str"), "record": pd.Series(dtype="str")})
    )
    by_record = shared_records(r, new, link.window_days, known_records, link.max_named).set_index(["a", "b"])
    scored = scored.join(by_record, on=["a", "b"])
    shared = (scored["person_id"].notna() | scored["record"].notna()).to_numpy()
    ranked = scored[~shared & (scored["log10_lr"] >= link.min_log10_lr).to_numpy()]
    ranked = ranked.assign(
        _ida=frame["death_id"].to_numpy()[ranked["a"]], _idb=frame["death_id"].to_numpy()[ranked["b"]]
    )
    ranked = ranked.sort_values(["log10_lr", "_ida", "_idb"], ascending=[False, True, True], kind="stable")
    chosen = ranked.head(link.budget).drop(columns=["_ida", "_idb"]).assign(reason="score")
    people_first = scored[shared].sort_values(["a", "b"], kind="stable")
    people_first = people_first.assign(
        reason=np.where(people_first["person_id"].notna(), "shared person", "shared record")
    )
    alerts = pd.concat([people_first, chosen], ignore_index=True)
    ids = frame["death_id"].to_numpy()
    alerts = alerts.assign(
        month=start,
        rank=np.arange(1, len(alerts) + 1),
        death_a=pd.Series(ids[alerts["a"]], dtype="str"),
        death_b=pd.Series(ids[alerts["b"]], dtype="str"),
        person_id=alerts["person_id"].astype("str"),
        roles=alerts["roles"].astype("str"),
        record=alerts["record"].astype("str"),
        record_people=alerts["record_people"].astype("str"),
    )
    line = float(chosen["log10_lr"].min()) if len(chosen) else float("nan")
    columns = list(ALERT_COLUMNS)
    return MonthAlerts(
        start, end, len(frame), int(new.sum()), len(scored), alerts[columns], line, model, frequent
    )


def alert_history(
    deaths: pd.DataFrame,
    as_of: date | pd.Timestamp,
    settings: DeathSettings,
    seed: int,
    links: pd.DataFrame | None = None,
    months: int | None = None,
) -> list[MonthAlerts]:
    """Each month's alerts, oldest first, for ``months`` months (default ``linkage.series_months``)
    ending with the month before ``as_of``; each month as it was known at its own end."""
    end = pd.Timestamp(as_of)
    count = months if months is not None else settings.linkage.series_months
    return [
        month_alerts(deaths, end - pd.DateOffset(months=k), settings, seed, links)
        for k in range(count - 1, -1, -1)
    ]


def find_series(alerts: pd.DataFrame) -> pd.DataFrame:
    """Candidate series: connected components of the alert graph with two or more reports.

    Returns
    -------
    pandas.DataFrame
        death_id, series (``"C01"``, ``"C02"``, ... numbered by each series' first report id), in
        series then death_id order.
    """
    if alerts.empty:
        return pd.DataFrame({"death_id": pd.Series([], dtype="str"), "series": pd.Series([], dtype="str")})
    ids, codes = np.unique(
        np.concatenate([alerts["death_a"].to_numpy(str), alerts["death_b"].to_numpy(str)]),
        return_inverse=True,
    )
    m = len(alerts)
    graph = coo_matrix((np.ones(m), (codes[:m], codes[m:])), shape=(ids.size, ids.size))
    _, label = connected_components(graph, directed=False)
    out = pd.DataFrame({"death_id": ids, "component": label})
    first = out.groupby("component")["death_id"].transform("min")
    size = out.groupby("component")["death_id"].transform("size")
    out = out[size >= 2].assign(first=first)
    number = {c: f"C{k + 1:02d}" for k, c in enumerate(sorted(out["first"].unique()))}
    out = out.assign(series=out["first"].map(number)).sort_values(["series", "death_id"], kind="stable")
    return out[["death_id", "series"]].astype("str").reset_index(drop=True)
