"""Likelihood ratios for pairs of death reports: how much more likely is what two reports share if
they are linked than if they are not?

Each component is a ratio of two probabilities of what the pair shows:

- **bands** (distance apart, days apart, difference in age): the share of linked pairs expected in
  the pair's band (declared priors, updated by labelled links) over the share of all pairs of
  reports in that band (measured on a seeded sample of this force's own pairs, which are almost
  all unlinked);
- **agreement** (place type, substance, sex, each circumstance flag, address): under the link
  model a linked pair agrees with chance ``theta`` and is otherwise independent, so two reports
  that both show a value of share ``p`` give ``(theta + (1 - theta) p) / p`` (a rare value weighs
  more), and two that differ give ``1 - theta``. A missing or unknown value gives 1.

The total is the product (a sum of log10 ratios): the components are treated as independent given
link status, which they are not quite; docs/deaths.md says what that does. One dependence is
removed: two reports at the same address score the address alone, not its distance and place type
again. A shared person
(finder, reporter, last seen with, household) is not scored: it always raises an alert.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.records.death_tables import FLAGS, LINKED_PERSONS, SUBSTANCES
from models.deaths.settings import Bands, LinkageSettings, Priors

COMPONENTS: tuple[str, ...] = ("distance", "days", "place", "substance", "sex", "age", "flags", "address")
"""Components of a pair's score, in the order reports show them."""

UNSCORED_SUBSTANCES = ("unknown",)
REFERENCE_PAIRS = 400_000
"""Random pairs drawn to measure how all pairs of reports spread over the bands."""


@dataclass(frozen=True, eq=False)
class Reports:
    """Death reports as arrays for pair scoring (one entry per report, in the frame's order).

    Attributes
    ----------
    frame : pandas.DataFrame
        The reports (death_id, dates, codes, ...), with a fresh RangeIndex.
    day : numpy.ndarray
        Found date as days since 1970-01-01 (int64).
    x, y : numpy.ndarray
        Location in metres.
    age : numpy.ndarray
        Age in years (NaN where not recorded).
    place, sex, address : numpy.ndarray
        Codes (int64; -1 where not recorded or unknown).
    substances : numpy.ndarray
        Bit mask of the substances found (bit k is ``SUBSTANCES[k]``; 0 where unknown).
    flags : numpy.ndarray
        (reports, len(FLAGS)) booleans.
    """

    frame: pd.DataFrame
    day: np.ndarray
    x: np.ndarray
    y: np.ndarray
    age: np.ndarray
    place: np.ndarray
    sex: np.ndarray
    address: np.ndarray
    substances: np.ndarray
    flags: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)


def _codes(values: pd.Series, unknown: tuple[str, ...] = ()) -> np.ndarray:
    codes, uniques = pd.factorize(values.astype("str"), sort=True)
    bad = np.append(np.asarray(uniques.isin([*unknown, "not recorded", "unknown"]), dtype=bool), True)
    return np.where(bad[codes], -1, codes).astype(np.int64)


def substance_mask(cells: pd.Series) -> np.ndarray:
    """Bit masks of ``;``-joined substance codes (0 where unknown)."""
    codes, uniques = pd.factorize(cells.fillna("unknown").astype("str"))
    masks = np.zeros(len(uniques) + 1, dtype=np.int64)
    for k, cell in enumerate(uniques):
        for code in str(cell).split(";"):
            if code in SUBSTANCES and code not in UNSCORED_SUBSTANCES:
                masks[k] |= 1 << SUBSTANCES.index(code)
    return masks[codes]


def prepare(deaths: pd.DataFrame) -> Reports:
    """Arrays of validated death reports (:class:`~features.records.death_tables.DeathRecords`)."""
    frame = deaths.reset_index(drop=True)
    day = frame["found_date"].to_numpy("datetime64[D]").astype(np.int64)
    return Reports(
        frame=frame,
        day=day,
        x=frame["x"].to_numpy(np.float64),
        y=frame["y"].to_numpy(np.float64),
        age=frame["age"].to_numpy(np.float64),
        place=_codes(frame["place_type"], ("unknown", "other")),
        sex=_codes(frame["sex"]),
        address=_codes(frame["address_id"].fillna("not recorded")),
        substances=substance_mask(frame["substances"]),
        flags=np.column_stack([frame[f].to_numpy(bool) for f in FLAGS]),
    )


def pairs_with(reports: Reports, new: np.ndarray, window_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair found at most ``window_days`` apart with at least one report in ``new``.

    Returns index arrays ``(a, b)`` with ``a < b``, each pair once, sorted.
    """
    order = np.argsort(reports.day, kind="stable")
    day = reports.day[order]
    rows = np.flatnonzero(new[order])
    lo = np.searchsorted(day, day[rows] - window_days, "left")
    hi = np.searchsorted(day, day[rows] + window_days, "right")
    counts = hi - lo
    first = np.repeat(rows, counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    second = np.repeat(lo, counts) + offsets
    a, b = order[first], order[second]
    keep = (a != b) & ~(new[b] & (b < a))  # both new: keep the pair once
    a, b = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    at = np.lexsort((b, a))
    return a[at], b[at]


def _band(values: np.ndarray, bands: Bands) -> np.ndarray:
    return np.searchsorted(np.asarray(bands.edges, dtype=np.float64), values, side="left")


def _distance(r: Reports, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.hypot(r.x[a] - r.x[b], r.y[a] - r.y[b])


def _measures(r: Reports, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "distance": _distance(r, a, b),
        "days": np.abs(r.day[a] - r.day[b]).astype(np.float64),
        "age": np.abs(r.age[a] - r.age[b]),
    }


def reference_pairs(
    r: Reports, window_days: int, seed: int, draws: int = REFERENCE_PAIRS
) -> tuple[np.ndarray, np.ndarray]:
    """A seeded sample of pairs of reports found at most ``window_days`` apart (the unlinked reference)."""
    rng = np.random.default_rng(seed)
    n = len(r)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.argsort(r.day, kind="stable")
    day = r.day[order]
    a = rng.integers(0, n, draws)
    lo = np.searchsorted(day, day[a] - window_days, "left")
    hi = np.searchsorted(day, day[a] + window_days, "right")
    b = lo + np.floor(rng.random(draws) * (hi - lo)).astype(np.int64)
    keep = a != b
    return order[a[keep]], order[b[keep]]


@dataclass(frozen=True)
class LinkModel:
    """Log10 likelihood ratios per band and the shares and agreement chances of each attribute.

    Attributes
    ----------
    bands : dict of str to (Bands, numpy.ndarray)
        For distance, days and age: the bands and each band's log10 ratio.
    shares : dict of str to numpy.ndarray
        Share of reports with each code (place, sex, address), each substance bit, each flag.
    theta : dict of str to float
        Chance a linked pair agrees: place, substance, sex, flag, address.
    labelled : int
        Linked pairs the model learnt from (0: the declared priors as they stand).
    """

    bands: dict[str, tuple[Bands, np.ndarray]]
    shares: dict[str, np.ndarray]
    theta: dict[str, float]
    labelled: int


def _shares(codes: np.ndarray) -> np.ndarray:
    known = codes[codes >= 0]
    return np.bincount(known, minlength=max(int(codes.max(initial=-1)) + 1, 1)) / max(known.size, 1)


def _learnt(prior: float, agree: np.ndarray, weight: float) -> float:
    return float((weight * prior + agree.sum()) / (weight + agree.size))


def fit(
    r: Reports,
    settings: LinkageSettings,
    seed: int,
    links: tuple[np.ndarray, np.ndarray] | None = None,
) -> LinkModel:
    """The link model of these reports: unlinked shares measured, linked shares from the priors.

    Parameters
    ----------
    r : Reports
        The reports known at the as-of date in the studied categories (the reference).
    settings : LinkageSettings
        Window, declared priors, and how much the priors weigh against labelled links.
    seed : int
        Seed of the reference sample.
    links : (numpy.ndarray, numpy.ndarray), optional
        Positions in ``r`` of pairs known to be linked. With at least ``settings.min_labelled`` of
        them, every linked share and agreement chance is a weighted mean of the prior (weight
        ``settings.labelled_weight`` pairs) and what the linked pairs show.
    """
    priors: Priors = settings.priors
    a, b = reference_pairs(r, settings.window_days, seed)
    ref = _measures(r, a, b)
    la, lb = links if links is not None else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    learn = la.size >= settings.min_labelled
    w = settings.labelled_weight
    seen = _measures(r, la, lb) if learn else {}
    bands = {}
    for name, spec in (
        ("distance", priors.distance_m),
        ("days", priors.days_apart),
        ("age", priors.age_difference),
    ):
        k = len(spec.linked)
        values = ref[name][~np.isnan(ref[name])]
        unlinked = (np.bincount(_band(values, spec), minlength=k) + 1) / (values.size + k)
        linked = np.asarray(spec.linked)
        if learn:
            got = seen[name][~np.isnan(seen[name])]
            linked = (w * linked + np.bincount(_band(got, spec), minlength=k)) / (w + got.size)
        bands[name] = (spec, np.log10(linked / unlinked))
    shares = {
        "place": _shares(r.place),
        "sex": _shares(r.sex),
        "address": _shares(r.address),
        "substance": np.array([((r.substances >> k) & 1).sum() for k in range(len(SUBSTANCES))])
        / max(int((r.substances > 0).sum()), 1),
        "flags": r.flags.mean(axis=0) if len(r) else np.zeros(len(FLAGS)),
    }
    theta = {
        "place": priors.same_place_type,
        "substance": priors.same_substance,
        "sex": priors.same_sex,
        "flag": priors.same_flag,
        "address": priors.same_address,
    }
    if learn:
        both = (r.place[la] >= 0) & (r.place[lb] >= 0)
        theta["place"] = _learnt(theta["place"], r.place[la][both] == r.place[lb][both], w)
        both = (r.sex[la] >= 0) & (r.sex[lb] >= 0)
        theta["sex"] = _learnt(theta["sex"], r.sex[la][both] == r.sex[lb][both], w)
        both = (r.substances[la] > 0) & (r.substances[lb] > 0)
        theta["substance"] = _learnt(theta["substance"], (r.substances[la] & r.substances[lb])[both] > 0, w)
    return LinkModel(bands, shares, theta, int(la.size) if learn else 0)


def _agree(same: np.ndarray, differ: np.ndarray, p: np.ndarray, theta: float) -> np.ndarray:
    """log10 ratio: agreement on a value of share ``p``, disagreement, or nothing to compare (0)."""
    out = np.zeros(same.size)
    safe = np.clip(p, 1e-6, 1.0)
    out[same] = np.log10((theta + (1 - theta) * safe[same]) / safe[same])
    out[differ] = np.log10(1 - theta)
    return out


def _coded(codes_a: np.ndarray, codes_b: np.ndarray, shares: np.ndarray, theta: float) -> np.ndarray:
    known = (codes_a >= 0) & (codes_b >= 0)
    same = known & (codes_a == codes_b)
    p = np.where(same, shares[np.clip(codes_a, 0, None)] if shares.size else 1.0, 1.0)
    return _agree(same, known & ~same, p, theta)


def score(model: LinkModel, r: Reports, a: np.ndarray, b: np.ndarray) -> pd.DataFrame:
    """Each pair's log10 likelihood ratio by component and in total.

    Returns
    -------
    pandas.DataFrame
        One row per pair: ``a``, ``b`` (positions), ``distance_m``, ``days_apart``, one
        ``lr_<component>`` column per :data:`COMPONENTS` (log10), ``log10_lr`` (their sum),
        ``substance`` (the rarest substance both reports name), ``place`` (the place type both
        share) and ``flags`` (the circumstance flags both show, ``;``-joined), each empty when none.
    """
    m = _measures(r, a, b)
    out = pd.DataFrame(
        {"a": a, "b": b, "distance_m": m["distance"], "days_apart": m["days"].astype(np.int64)}
    )
    for name in ("distance", "days", "age"):
        spec, lr = model.bands[name]
        known = ~np.isnan(m[name])
        out[f"lr_{name}"] = np.where(
            known, lr[np.clip(_band(np.nan_to_num(m[name]), spec), 0, lr.size - 1)], 0.0
        )
    out["lr_place"] = _coded(r.place[a], r.place[b], model.shares["place"], model.theta["place"])
    same_place = (r.place[a] >= 0) & (r.place[a] == r.place[b])
    out["place"] = pd.Series(
        np.where(same_place, r.frame["place_type"].to_numpy(dtype=object)[a], ""), dtype="str"
    )
    out["lr_sex"] = _coded(r.sex[a], r.sex[b], model.shares["sex"], model.theta["sex"])
    address = _coded(r.address[a], r.address[b], model.shares["address"], model.theta["address"])
    out["lr_address"] = np.clip(address, 0.0, None)  # a different address is no evidence against
    # The same address already says where: distance and place type add nothing to it (counting
    # them again would treat one fact as three).
    one_place = (r.address[a] >= 0) & (r.address[a] == r.address[b])
    out.loc[one_place, ["lr_distance", "lr_place"]] = 0.0
    shared = r.substances[a] & r.substances[b]
    known = (r.substances[a] > 0) & (r.substances[b] > 0)
    p = np.ones(a.size)
    rarest = np.full(a.size, -1)
    for k in np.argsort(-model.shares["substance"], kind="stable"):  # rarest last, so it wins
        has = ((shared >> k) & 1).astype(bool)
        p = np.where(has, model.shares["substance"][k], p)
        rarest = np.where(has, k, rarest)
    out["lr_substance"] = _agree(known & (shared > 0), known & (shared == 0), p, model.theta["substance"])
    out["substance"] = pd.Series(np.append(np.array(SUBSTANCES, dtype=object), "")[rarest], dtype="str")
    flags = np.zeros(a.size)
    shared_flags = np.full(a.size, "", dtype=object)
    for k in range(len(FLAGS)):
        both = r.flags[a, k] & r.flags[b, k]
        shared_flags = np.where(
            both, shared_flags + np.where(shared_flags == "", "", ";") + FLAGS[k], shared_flags
        )
        flags += _agree(
            both, np.zeros(a.size, bool), np.full(a.size, model.shares["flags"][k]), model.theta["flag"]
        )
    out["lr_flags"] = flags
    out["flags"] = pd.Series(shared_flags, dtype="str")
    out["log10_lr"] = out[[f"lr_{c}" for c in COMPONENTS]].sum(axis=1)
    return out


def _roles(values: pd.Series) -> str:
    """A person's roles in one report, in the contract's order: ``"finder and reporter"``."""
    return " and ".join(ROLE_WORDS[r] for r in LINKED_PERSONS if ROLE_WORDS[r] in set(values))


def named_people(frame: pd.DataFrame) -> pd.DataFrame:
    """Every person the death reports of ``frame`` (a fresh RangeIndex) name: pos (the report's
    position), person_id, role (a column of :data:`LINKED_PERSONS`), once each."""
    parts = []
    for role in LINKED_PERSONS:
        given = frame[role].dropna().astype("str")  # a column may hold no id at all
        ids = given.str.split(r"[;|]", regex=True).explode().astype("str").str.strip()
        ids = ids[ids != ""]
        parts.append(
            pd.DataFrame({"pos": ids.index.to_numpy(np.int64), "person_id": ids.to_numpy(), "role": role})
        )
    return pd.concat(parts, ignore_index=True).drop_duplicates(["pos", "person_id", "role"])


ROLE_WORDS = {
    role: role.removesuffix("_id").removesuffix("_ids").replace("_", " ") for role in LINKED_PERSONS
}


def shared_records(
    r: Reports, a_new: np.ndarray, window_days: int, person_records: pd.DataFrame, max_named: int = 10
) -> pd.DataFrame:
    """Pairs of reports whose people are named together in one offender-side record.

    Two different people, one named in each report (in any role), who are both in the same record of
    the force's events (a crime's suspect and its victim or witness, co-suspects: the same
    ``source_ref``) link the reports. A record that touches more than ``max_named`` reports is left
    out, as a frequent person is.

    Parameters
    ----------
    person_records : pandas.DataFrame
        person_id, record: the records each person is named in, known at the as-of date.

    Returns
    -------
    pandas.DataFrame
        a, b (positions, ``a < b``), record, record_people (``"P1 (finder) and P2 (last seen
        with)"``); one row per pair (its first record), at least one of the pair in ``a_new``.
    """
    columns = {"a": np.int64, "b": np.int64, "record": "str", "record_people": "str"}
    named = named_people(r.frame).merge(
        person_records[["person_id", "record"]].drop_duplicates(), on="person_id"
    )
    touched = named.groupby("record")["pos"].nunique()
    named = named[named["record"].isin(touched[(touched >= 2) & (touched <= max_named)].index)]
    pairs = named.merge(named, on="record", suffixes=("_a", "_b"))
    pairs = pairs[(pairs["pos_a"] < pairs["pos_b"]) & (pairs["person_id_a"] != pairs["person_id_b"])]
    a, b = pairs["pos_a"].to_numpy(), pairs["pos_b"].to_numpy()
    pairs = pairs[(np.abs(r.day[a] - r.day[b]) <= window_days) & (a_new[a] | a_new[b])]
    if pairs.empty:
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in columns.items()})
    pairs = pairs.sort_values(["pos_a", "pos_b", "record", "person_id_a", "person_id_b"], kind="stable")
    first = pairs.drop_duplicates(["pos_a", "pos_b"])
    who = (
        first["person_id_a"]
        + " ("
        + first["role_a"].map(ROLE_WORDS)
        + ") and "
        + first["person_id_b"]
        + " ("
        + first["role_b"].map(ROLE_WORDS)
        + ")"
    )
    out = pd.DataFrame(
        {"a": first["pos_a"], "b": first["pos_b"], "record": first["record"], "record_people": who}
    )
    return out.astype(columns).reset_index(drop=True)


def shared_people(
    r: Reports, a_new: np.ndarray, window_days: int, max_named: int = 10
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pairs of reports that name the same person (any role), found at most ``window_days`` apart.

    A person id named in more than ``max_named`` reports (a professional who finds many people, or
    a placeholder such as ``UNKNOWN``) would pair every one of them: it is set aside and returned
    instead, for the report to name.

    Returns
    -------
    pairs : pandas.DataFrame
        a, b (positions, ``a < b``), person_id, roles (the person's roles in each report, e.g.
        ``"finder and reporter / last seen with"``), one row per pair and person, at least one of
        the pair in ``a_new``.
    frequent : pandas.DataFrame
        person_id, reports: the ids set aside, most named first.
    """
    people = named_people(r.frame)
    named = people.groupby("person_id")["pos"].nunique()
    frequent = named[named > max_named].sort_values(ascending=False, kind="stable")
    people = people[~people["person_id"].isin(frequent.index)]
    joined = people.merge(people, on="person_id", suffixes=("_a", "_b"))
    joined = joined[joined["pos_a"] < joined["pos_b"]]
    days = np.abs(r.day[joined["pos_a"].to_numpy()] - r.day[joined["pos_b"].to_numpy()])
    fresh = a_new[joined["pos_a"].to_numpy()] | a_new[joined["pos_b"].to_numpy()]
    joined = joined[(days <= window_days) & fresh]
    joined = joined.assign(role_a=joined["role_a"].map(ROLE_WORDS), role_b=joined["role_b"].map(ROLE_WORDS))
    out = (
        joined.groupby(["pos_a", "pos_b", "person_id"], sort=True)
        .agg(role_a=("role_a", _roles), role_b=("role_b", _roles))
        .reset_index()
        .rename(columns={"pos_a": "a", "pos_b": "b"})
    )
    out["roles"] = out["role_a"] + " / " + out["role_b"]
    out = out.drop(columns=["role_a", "role_b"])
    pairs = out.astype({"a": np.int64, "b": np.int64, "person_id": "str", "roles": "str"})
    return pairs, frequent.rename("reports").rename_axis("person_id").reset_index()
