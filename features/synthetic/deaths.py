"""Death reports of the synthetic force area, with linked series planted among them.

Background reports follow a cause of death (natural causes, suicide, accident, unascertained,
homicide, drug poisoning) that sets the victim's age and sex, the place, the substances, the
circumstance flags and the category the force gives it. Drug poisonings concentrate in a few
areas; reports rise in winter; some values are not recorded and a few rows are broken on
purpose. Three kinds of series are planted:

- ``obvious``: one place (a churchyard near a flat), one substance (GHB/GBL), one finder;
- ``subtle``: a year and a few kilometres apart, alike only in victim profile and substance;
- ``person``: an offender-side person is the last person seen with each victim.

Which deaths belong to which series is truth, written beside the records and never read by the
job. Days are integers counted from 1970-01-01, as in the rest of the generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.synthetic.death_draws import Areas, Draw, choice, draw, joined, reordered, season
from features.synthetic.death_rates import (
    AGE_SEX,
    CATEGORY_BY_CAUSE,
    CAUSE_SHARES,
    CAUSES,
    DAYS_TO_CLASSIFY,
    ETHNICITIES,
    INSTITUTIONS,
    ORIENTATIONS,
    PLACE_BY_CAUSE,
    PUBLIC,
    SUBSTANCE_BY_CAUSE,
)
from features.synthetic.death_series import planted_series
from features.synthetic.settings import DeathWorld

NS_PER_DAY = 86_400_000_000_000


@dataclass(frozen=True)
class DeathFrames:
    """The death-report tables (records) and which deaths were planted in series (truth)."""

    deaths: pd.DataFrame
    protected: pd.DataFrame
    expected: pd.DataFrame
    series: pd.DataFrame
    bad_rows: pd.DataFrame
    closed_early: pd.DataFrame


def _background(cfg: DeathWorld, areas: Areas, start: int, end: int, rng: np.random.Generator) -> Draw:
    days = np.arange(start, end + 1)
    rate = cfg.residents * cfg.report_rate / 365.25 * season(days, cfg.winter_excess)
    day = np.repeat(days, rng.poisson(rate))
    n = day.size
    drug = rng.random(n) < cfg.drug_share
    cause = np.where(drug, 5, rng.choice(5, size=n, p=CAUSE_SHARES / CAUSE_SHARES.sum()))
    area = np.where(
        drug,
        rng.choice(areas.weight.size, n, p=areas.drug_weight),
        rng.choice(areas.weight.size, n, p=areas.weight),
    )
    x, y = areas.place(rng, area)
    params = np.array(AGE_SEX, dtype=np.float64)[cause]
    age = np.clip(np.round(rng.normal(params[:, 0], params[:, 1])), params[:, 2], params[:, 3])
    male = rng.random(n) < params[:, 4]
    place, substances, category = (np.full(n, "", dtype=object) for _ in range(3))
    for c in range(len(CAUSES)):
        at = np.flatnonzero(cause == c)
        place[at] = draw(rng, PLACE_BY_CAUSE[c], at.size)
        category[at] = draw(rng, CATEGORY_BY_CAUSE[c], at.size)
        first = draw(rng, SUBSTANCE_BY_CAUSE[c], at.size)
        second = draw(rng, {"alcohol": 0.6, "benzodiazepines": 0.2, "cocaine": 0.2}, at.size)
        two = (rng.random(at.size) < (0.4 if c == 5 else 0.0)) & (first != second)
        pair = np.where(first < second, first + ";" + second, second + ";" + first)
        substances[at] = np.where(two, pair, first)
    public = np.isin(place, PUBLIC)
    flags = {
        "found_by_stranger": rng.random(n) < np.where(public, 0.6, 0.05),
        "note_found": rng.random(n) < np.where(cause == 1, 0.3, 0.005),
        "signs_of_struggle": rng.random(n) < np.where(cause == 4, 0.6, 0.005),
        "moved_after_death": rng.random(n) < np.where(cause == 4, 0.15, 0.002),
    }
    none: list[str | None] = [None] * n
    return Draw(
        day,
        cause,
        x,
        y,
        area,
        age,
        male,
        place.tolist(),
        substances.tolist(),
        category.tolist(),
        flags,
        none,
        list(none),
        list(none),
        list(none),
    )


def _dates(days: np.ndarray) -> np.ndarray:
    return (days.astype(np.int64) * NS_PER_DAY).view("M8[ns]")


def _tags(n: int, prefix: str, suffix: str = "", width: int = 6) -> np.ndarray:
    """``prefix`` + each report's number, zero-padded to ``width``, + ``suffix`` (object array)."""
    if n == 0:  # numpy's zfill cannot size an empty array
        return np.zeros(0, dtype=object)
    number = np.char.zfill(np.arange(n).astype(str), width)
    return np.char.add(np.char.add(prefix, number), suffix).astype(object)


def _given(values: np.ndarray) -> np.ndarray:
    """Which entries of an object array hold an id (are not None)."""
    return np.asarray(pd.notna(values), dtype=bool)


def _people(d: Draw, person_ids: pd.Series, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """finder, reporter, last seen with and household ids; a few are persons of the records."""
    n = d.day.size
    known = rng.random((3, n)) < 0.03  # finder, last seen with or household member who has records
    pick = person_ids.to_numpy(dtype=object)[rng.integers(0, len(person_ids), (3, n))]
    home = np.isin(np.array(d.place, dtype=object), ("home", "other_residential"))
    given = rng.random((3, n))
    none = np.full(n, None, dtype=object)
    household = np.where(home, np.where(known[2], pick[2], _tags(n, "H", "A")), none)
    planted = np.array(d.finder, dtype=object)
    own = np.where(_given(household), household, _tags(n, "R"))
    new = np.where(known[0], pick[0], np.where(d.flags["found_by_stranger"], _tags(n, "N"), own))
    finder = np.where(_given(planted), planted, np.where(given[0] < 0.85, new, none))
    reporter = np.where(_given(finder) & (given[1] < 0.7), finder, _tags(n, "R"))
    last = np.array(d.last_seen, dtype=object)
    seen = np.where(
        _given(last), last, np.where(given[2] < 0.25, np.where(known[1], pick[1], _tags(n, "W")), none)
    )
    both = np.where(_given(household), household, "").astype(object) + ";" + _tags(n, "H", "B")
    household = np.where(~_given(household), none, np.where(given[2] < 0.5, household, both))
    return {
        "finder_id": finder,
        "reporter_id": reporter,
        "last_seen_with_id": seen,
        "household_ids": household,
    }


def _addresses(d: Draw, rng: np.random.Generator) -> np.ndarray:
    """Institutions share a few addresses each (many deaths at one care home); homes have their own."""
    n = d.day.size
    place = np.array(d.place, dtype=object)
    out = np.full(n, None, dtype=object)
    for kind, count in INSTITUTIONS.items():
        shared = rng.integers(0, count, n)
        at = place == kind
        if at.any():
            out[at] = np.char.add(kind.upper()[:2], np.char.zfill(shared[at].astype(str), 3))
    homes = np.isin(place, ("home", "other_residential"))
    out[homes] = _tags(n, "A", width=7)[homes]
    return out


def _classified(d: Draw, end: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """The category as of the extract, and when it was decided (-1 while not yet classified)."""
    mean = np.array([DAYS_TO_CLASSIFY[c] for c in d.category])
    when = d.day + np.round(rng.exponential(mean)).astype(np.int64)
    open_ = when > end
    category = ["not_yet_classified" if o else c for c, o in zip(d.category, open_, strict=True)]
    return category, np.where(open_, -1, when)


def _missing(values: list[str], share: float, rng: np.random.Generator) -> list[str | None]:
    gone = rng.random(len(values)) < share
    return [None if g else v for v, g in zip(values, gone, strict=True)]


def make_deaths(
    cfg: DeathWorld,
    start: int,
    end: int,
    person_ids: pd.Series,
    events: pd.DataFrame,
    bad_row_share: float,
    rng: np.random.Generator,
) -> DeathFrames:
    """Death reports of the force area from day ``start`` to ``end`` (inclusive), series planted.

    Parameters
    ----------
    cfg
        The death world's settings.
    start, end
        First and last day of the extract (days since 1970-01-01).
    person_ids, events
        The records' persons and events: some finders and household members are persons, and a
        ``person`` series' offender is a person named as suspect in many crimes.
    bad_row_share
        Share of rows broken on purpose (at least two rows when positive).
    rng
        The generator's random source for the deaths.
    """
    areas = Areas(cfg, rng)
    d = joined(_background(cfg, areas, start, end, rng), planted_series(cfg, areas, start, end, events, rng))
    order = np.lexsort((rng.random(d.day.size), d.day))
    d = reordered(d, None, order)
    n = d.day.size
    ids = [f"D{i + 1:06d}" for i in range(n)]
    delay = np.where(
        rng.random(n) < 0.8, 0, np.where(rng.random(n) < 0.75, rng.integers(1, 8, n), rng.integers(8, 61, n))
    )
    found = d.day - (rng.random(n) < 0.1)
    category, classified = _classified(d, end, rng)
    recorded = np.minimum(d.day + delay, end)
    people = _people(d, person_ids, rng)
    miss = cfg.missing_share
    deaths = pd.DataFrame(
        {
            "death_id": pd.Series(ids, dtype="str"),
            "reported_date": _dates(d.day),
            "found_date": _dates(found),
            "recorded_date": _dates(recorded),
            "easting": np.round(d.x),
            "northing": np.round(d.y),
            "area_code": pd.Series(areas.codes[d.area], dtype="str"),
            "place_type": pd.Series(d.place, dtype="str"),
            "category": pd.Series(category, dtype="str"),
            "classified_date": pd.Series(_dates(np.maximum(classified, 0))).where(classified >= 0),
            "age": np.where(rng.random(n) < miss, np.nan, d.age),
            "sex": pd.Series(_missing(["male" if m else "female" for m in d.male], miss, rng), dtype="str"),
            "substances": pd.Series(_missing(d.substances, miss, rng), dtype="str"),
            "cause_group": pd.Series([CAUSES[c] for c in d.cause], dtype="str"),
            **{k: v for k, v in d.flags.items()},
            **{k: pd.Series(v, dtype="str") for k, v in people.items()},
            "address_id": pd.Series(_addresses(d, rng), dtype="str"),
            "source_ref": pd.Series([f"DR/{i + 1:06d}" for i in range(n)], dtype="str"),
        }
    )
    deaths, bad = _break(deaths, bad_row_share, rng)
    protected = pd.DataFrame(
        {
            "death_id": deaths["death_id"],
            "ethnicity": pd.Series(
                choice(rng, ETHNICITIES | {"not recorded": 0.05}, len(deaths)), dtype="str"
            ),
            "sexual_orientation": pd.Series(choice(rng, ORIENTATIONS, len(deaths)), dtype="str"),
        }
    )
    truth = pd.DataFrame(
        {
            "death_id": pd.Series(ids, dtype="str"),
            "series_id": pd.Series(d.series, dtype="str"),
            "kind": pd.Series(d.kind, dtype="str"),
        }
    ).dropna(subset=["series_id"])
    expected = _expected(cfg, areas, start, end, rng)
    deaths, closed = _closure_bias(deaths, protected, cfg, end, rng)
    return DeathFrames(deaths, protected, expected, truth.reset_index(drop=True), bad, closed)


def _closure_bias(
    deaths: pd.DataFrame, protected: pd.DataFrame, cfg: DeathWorld, end: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Close a share of one group's deaths under investigation as not suspicious, within days.

    The assumption about the victims that the Port inquiry heard of, planted so the equality section
    can be checked against a known bias; returns the reports so closed (truth).
    """
    group = (protected["sexual_orientation"] == cfg.closure_bias_group).to_numpy()
    investigated = (deaths["category"] == "unexpected_under_investigation").to_numpy()
    flip = group & investigated & (rng.random(len(deaths)) < cfg.closure_bias)
    days = np.round(rng.exponential(7.0, int(flip.sum()))).astype(np.int64)
    out = deaths.copy()
    out.loc[flip, "category"] = "unexpected_not_suspicious"
    decided = out.loc[flip, "reported_date"] + pd.to_timedelta(days, unit="D")
    out.loc[flip, "classified_date"] = decided.clip(upper=pd.Timestamp(np.datetime64(int(end), "D")))
    closed = pd.DataFrame(
        {
            "death_id": out.loc[flip, "death_id"].reset_index(drop=True),
            "was": "unexpected_under_investigation",
        }
    )
    return out, closed


def _break(deaths: pd.DataFrame, share: float, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Break a few rows on purpose: an unknown category, and recorded before reported."""
    if share <= 0 or len(deaths) < 10:
        return deaths, pd.DataFrame(
            {"death_id": pd.Series([], dtype="str"), "defect": pd.Series([], dtype="str")}
        )
    count = max(2, round(share * len(deaths)))
    rows = np.sort(rng.choice(len(deaths), size=count, replace=False))
    out = deaths.copy()
    unknown = rows[::2]
    early = rows[1::2]
    out["category"] = out["category"].astype(object)
    out.loc[unknown, "category"] = "suspicious?"
    out["category"] = out["category"].astype("str")
    out.loc[early, "recorded_date"] = out.loc[early, "reported_date"] - pd.Timedelta(days=3)
    defect = np.where(np.isin(rows, unknown), "unknown_category", "recorded_before_reported")
    return out, pd.DataFrame(
        {
            "death_id": out["death_id"].iloc[rows].reset_index(drop=True),
            "defect": pd.Series(defect, dtype="str"),
        }
    )


def _expected(cfg: DeathWorld, areas: Areas, start: int, end: int, rng: np.random.Generator) -> pd.DataFrame:
    """Context from other organisations: death reports expected per area and month (with noise)."""
    first = np.datetime64(int(start), "D").astype("datetime64[M]")
    last = np.datetime64(int(end), "D").astype("datetime64[M]")
    months = np.arange(first, last + 1)
    mid = (months.astype("datetime64[D]") + 14).astype(np.int64)
    per_month = cfg.residents * cfg.report_rate / 12 * season(mid, cfg.winter_excess)
    mix = (1 - cfg.drug_share) * areas.weight + cfg.drug_share * areas.drug_weight
    expected = np.outer(per_month, mix) * rng.lognormal(0.0, 0.1, (months.size, mix.size))
    return pd.DataFrame(
        {
            "area_code": pd.Series(np.tile(areas.codes, months.size), dtype="str"),
            "month": np.repeat(months.astype("datetime64[D]").astype("datetime64[ns]"), mix.size),
            "expected": np.round(expected.ravel(), 3),
            "source": pd.Series(["synthetic ONS-style estimate"] * expected.size, dtype="str"),
        }
    )
