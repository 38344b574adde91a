"""Check the death-report tables against the contract and quarantine the rows that break it.

The same machinery as the offender tables (:class:`features.records.validate.Validation`): each
bad row is quarantined with its reason, and a table with more bad rows than
``validation.max_bad_share`` stops the run. Coded columns are parsed through their distinct values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from features.errors import RecordsError
from features.records.death_tables import (
    CATEGORIES,
    DEATH_TABLES,
    MAX_AGE,
    PLACE_TYPES,
    SEXES,
    SUBSTANCES,
    DeathRecords,
    canonical_code,
)
from features.records.parsing import Defects, as_text, coded
from features.records.schema import NOT_RECORDED, FileRows, ValidationReport, ValidationSettings
from features.records.validate import Validation, flag_references, valid_frame

EARTH_RADIUS_M = 6_371_000.0
SEPARATORS = r"[;|]"


def _codes(rows: Defects, name: str, values: pd.Series, allowed: tuple[str, ...]) -> pd.Series:
    """Canonical codes of a coded column; a value outside ``allowed`` is flagged."""
    codes, uniques = coded(values)
    canon = pd.Index([canonical_code(u) if isinstance(u, str) else u for u in uniques], dtype="str")
    known = np.append(canon.isin(allowed), True)[codes]
    rows.flag(
        f"{name}: not a valid code", ~known, f"{name} {{v!r}} is not one of: " + ", ".join(allowed), v=values
    )
    out = np.append(canon.to_numpy(dtype=object), np.array([None], dtype=object))[codes]
    return pd.Series(out, dtype="str")


def _substances(rows: Defects, values: pd.Series) -> pd.Series:
    """Each row's substance codes, canonical, sorted and ``;``-joined; ``unknown`` when empty."""
    codes, uniques = coded(values)
    parsed, bad = [], []
    for u in uniques:
        parts = sorted({canonical_code(part) for part in re.split(SEPARATORS, u)} - {""})
        parsed.append(";".join(parts) or "unknown")
        bad.append(any(p not in SUBSTANCES for p in parts))
    wrong = np.append(np.array(bad, dtype=bool), False)[codes]
    rows.flag(
        "substances: not a valid code",
        wrong,
        "substances {v!r} holds a code that is not one of: " + ", ".join(SUBSTANCES),
        v=values,
    )
    return pd.Series(np.append(np.array(parsed, dtype=object), "unknown")[codes], dtype="str")


def _location(rows: Defects, p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """x and y in metres: easting and northing, else latitude and longitude on a local plane."""
    e, n, lat, lon = (p[c] for c in ("easting", "northing", "latitude", "longitude"))
    grid = ~np.isnan(e) & ~np.isnan(n)
    degrees = ~np.isnan(lat) & ~np.isnan(lon)
    rows.flag(
        "location: half a coordinate pair",
        (np.isnan(e) != np.isnan(n)) | (np.isnan(lat) != np.isnan(lon)),
        "location: give easting with northing and latitude with longitude "
        "(easting {e}, northing {n}, latitude {a}, longitude {o})",
        e=e,
        n=n,
        a=lat,
        o=lon,
    )
    rows.flag("latitude: outside -90 to 90", np.abs(lat) > 90, "latitude {v} is outside -90 to 90", v=lat)
    rows.flag(
        "longitude: outside -180 to 180", np.abs(lon) > 180, "longitude {v} is outside -180 to 180", v=lon
    )
    uses_grid = bool(grid.any())
    if uses_grid:
        rows.flag(
            "location: no easting and northing",
            ~grid,
            "location: no easting and northing, which other rows give (one coordinate system per table)",
        )
        return e, n
    rows.flag("location: missing", ~degrees, "location: no easting and northing, nor latitude and longitude")
    ok = degrees & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    phi0 = np.deg2rad(np.round(np.nanmean(np.where(ok, lat, np.nan)), 1)) if ok.any() else 0.0
    x = EARTH_RADIUS_M * np.cos(phi0) * np.deg2rad(lon)
    y = EARTH_RADIUS_M * np.deg2rad(lat)
    return x, y


def _deaths(run: Validation, raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    _, rows, p = run.start("deaths", raw)
    reported, recorded = p["reported_date"], p["recorded_date"]
    found, classified = p["found_date"], p["classified_date"]
    rows.flag(
        "recorded_date before reported_date",
        recorded < reported,
        "recorded_date {r} is before reported_date {d}",
        r=recorded,
        d=reported,
    )
    rows.flag(
        "found_date after reported_date",
        found > reported,
        "found_date {f} is after reported_date {d}",
        f=found,
        d=reported,
    )
    rows.flag(
        "classified_date before reported_date",
        classified < reported,
        "classified_date {c} is before reported_date {d}",
        c=classified,
        d=reported,
    )
    rows.flag("age: over the limit", p["age"] > MAX_AGE, f"age {{v}} is over {MAX_AGE}", v=p["age"])
    x, y = _location(rows, p)
    place = _codes(rows, "place_type", p["place_type"], PLACE_TYPES)
    category = _codes(rows, "category", p["category"], CATEGORIES)
    sex = _codes(rows, "sex", p["sex"], SEXES)
    substances = _substances(rows, p["substances"])
    keep = run.finish("deaths", raw, rows)
    out = valid_frame(DEATH_TABLES["deaths"], p, keep)
    out["place_type"] = place[keep].reset_index(drop=True)
    out["category"] = category[keep].reset_index(drop=True)
    out["sex"] = sex[keep].reset_index(drop=True).fillna(NOT_RECORDED).astype("str")
    out["substances"] = substances[keep].reset_index(drop=True)
    out["found_date"] = out["found_date"].fillna(out["reported_date"])
    out["x"], out["y"] = x[keep], y[keep]
    return out, p["death_id"]


def _protected(run: Validation, raw: pd.DataFrame, deaths: tuple[pd.DataFrame, pd.Series]) -> pd.DataFrame:
    frame, rows, p = run.start("death_protected", raw)
    flag_references(rows, "death_id", p["death_id"], ("deaths", "deaths"), deaths[0]["death_id"], deaths[1])
    keep = run.finish("death_protected", raw, rows)
    out = valid_frame(DEATH_TABLES["death_protected"], p, keep)
    for c in (c for c in frame.columns if c != "death_id"):
        out[c] = as_text(frame[c])[keep].reset_index(drop=True).fillna(NOT_RECORDED).astype("str")
    return out


def _expected(run: Validation, raw: pd.DataFrame) -> pd.DataFrame:
    _, rows, p = run.start("expected_deaths", raw)
    month = p["month"]
    rows.flag(
        "month: not the first day of a month",
        ~np.isnat(month) & (month != month.astype("datetime64[M]").astype("datetime64[D]")),
        "month {v} is not the first day of a month",
        v=month,
    )
    keep = run.finish("expected_deaths", raw, rows)
    return valid_frame(DEATH_TABLES["expected_deaths"], p, keep)


def _links(run: Validation, raw: pd.DataFrame, deaths: tuple[pd.DataFrame, pd.Series]) -> pd.DataFrame:
    _, rows, p = run.start("death_links", raw)
    for column in ("death_id_a", "death_id_b"):
        flag_references(rows, column, p[column], ("deaths", "deaths"), deaths[0]["death_id"], deaths[1])
    rows.flag(
        "a death linked to itself",
        (p["death_id_a"] == p["death_id_b"]).to_numpy(dtype=bool, na_value=False),
        "death_id_a and death_id_b are both {v!r}",
        v=p["death_id_a"],
    )
    keep = run.finish("death_links", raw, rows)
    return valid_frame(DEATH_TABLES["death_links"], p, keep)


def validate_deaths(
    raw: dict[str, pd.DataFrame],
    settings: ValidationSettings,
    sources: dict[str, str],
    files: Mapping[str, FileRows] | None = None,
) -> tuple[DeathRecords, ValidationReport]:
    """Check the death-report tables against the contract, quarantining the rows that break it.

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        ``deaths``, optionally ``death_protected``, ``expected_deaths`` and ``death_links``
        (CSV frames hold text; Parquet frames may hold native types).
    settings, sources, files
        As for :func:`features.records.validate.validate`.

    Returns
    -------
    DeathRecords
        The valid rows in contract types (:class:`~features.records.death_tables.DeathRecords`).
    ValidationReport
        Counts, reasons and quarantined rows per table, and warnings.

    Raises
    ------
    RecordsError
        The deaths table is missing, lacks a required column, or has no location columns.
    TooManyBadRows
        A table's quarantined share exceeds ``settings.max_bad_share``.
    """
    if raw.get("deaths") is None:
        raise RecordsError("No deaths table was given; the death investigations job needs one.")
    names = {str(c).strip().lower() for c in raw["deaths"].columns}
    if not ({"easting", "northing"} <= names or {"latitude", "longitude"} <= names):
        raise RecordsError(
            f"{sources.get('deaths', 'the deaths table')}: no location columns. Give easting and "
            "northing (metres) or latitude and longitude (degrees) for each death."
        )
    with ThreadPoolExecutor(max_workers=1) as pool:
        run = Validation(settings, sources, pool, files, DEATH_TABLES)
        deaths = _deaths(run, raw["deaths"])
        protected = (
            _protected(run, raw["death_protected"], deaths)
            if raw.get("death_protected") is not None
            else None
        )
        expected = _expected(run, raw["expected_deaths"]) if raw.get("expected_deaths") is not None else None
        links = _links(run, raw["death_links"], deaths) if raw.get("death_links") is not None else None
    if protected is None:
        run.warnings.append(
            "No death_protected table: the equality section of the deaths report cannot compare "
            "groups beyond age and sex."
        )
    return DeathRecords(deaths[0], protected, expected, links), run.report()
