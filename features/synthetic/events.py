"""Behaviour of the synthetic world month by month: offences, intelligence, stops, incidents.

Each offender's monthly log offending rate is ``base + age_effect(age) + drift`` where the drift
is a stationary AR(1) (escalation and desistance); their seriousness latent drifts the same way.
Offences in a month are Poisson with that rate and of type ``k`` with probability
``p_k(s) ∝ exp(w_k + beta * s * z_k)``. Days are int32 counts from 1970-01-01; a missing person
or offence is -1.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from features.records.schema import EVENT_TYPES  # the record's event-type code is its index here
from features.synthetic.population import (
    DAYS_PER_YEAR,
    Population,
    Profile,
    Span,
    age_effect,
)

if TYPE_CHECKING:
    from features.synthetic.settings import SyntheticConfig

REF_KINDS = ("CRIME", "ARR", "CHG", "CRT", "INT", "STOP", "ORD", "INC")
COLUMNS = ("type", "person", "occ", "rec", "k", "victim", "domestic", "weapon", "crime", "ref")
DTYPES = (np.uint8, np.int32, np.int32, np.int32, np.int16, np.int32, bool, bool, np.int32, np.uint8)
FEMALE_STOP_FACTOR = 0.25
INTEL_CODED_SHARE = 0.25
STOP_CODED_SHARE = 0.05
STOP_ARREST_PROB = 0.08
DVPO_PROB = 0.05


@dataclasses.dataclass
class Simulation:
    """Monthly truth of the offenders and the events drawn month by month."""

    off: np.ndarray  # int32 person index of each offender
    rate: np.ndarray  # (months, offenders) float32 expected true offences per month
    serious: np.ndarray  # (months, offenders) float32 expected offences with harm >= 365 days
    seriousness: np.ndarray  # (months, offenders) float32 seriousness latent
    offences: dict[str, np.ndarray]  # person, occ, k of every true offence
    parts: Parts


class Parts:
    """Accumulates event rows as column arrays (see ``COLUMNS``)."""

    def __init__(self) -> None:
        self.cols: dict[str, list[np.ndarray]] = {c: [] for c in COLUMNS}

    def add(
        self,
        etype: str,
        person: np.ndarray,
        occ: np.ndarray,
        rec: np.ndarray,
        ref: str,
        **extra: np.ndarray | int | bool,
    ) -> None:
        """Append rows of one event type; missing columns get -1 / False."""
        n = person.size
        values = {
            "type": EVENT_TYPES.index(etype),
            "person": person,
            "occ": occ,
            "rec": rec,
            "ref": REF_KINDS.index(ref),
            "k": -1,
            "victim": -1,
            "crime": -1,
            "domestic": False,
            "weapon": False,
        } | extra
        for col, dtype in zip(COLUMNS, DTYPES, strict=True):
            self.cols[col].append(np.broadcast_to(np.asarray(values[col], dtype=dtype), n).copy())

    def concat(self) -> dict[str, np.ndarray]:
        """All rows added so far, one array per column."""
        return {c: np.concatenate(v) for c, v in self.cols.items()}


def _sample_type(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One category per row of the (unnormalised) probability matrix ``p`` (int16)."""
    cum = np.cumsum(p, axis=1)
    u = rng.random(p.shape[0], dtype=np.float32) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), p.shape[1] - 1).astype(np.int16)


def days_in(rng: np.random.Generator, lo: np.ndarray | int, hi: np.ndarray | int, n: int) -> np.ndarray:
    """Uniform days in ``[lo, hi)`` (int32)."""
    return (lo + np.floor(rng.random(n) * (np.asarray(hi) - lo))).astype(np.int32)


def simulate(
    config: SyntheticConfig,
    pop: Population,
    profile: Profile,
    logw: np.ndarray,
    span: Span,
    rng: np.random.Generator,
) -> Simulation:
    """Run the offenders month by month: rates, offences, intelligence, stops, incidents."""
    off = np.flatnonzero(pop.offender).astype(np.int32)
    n_o, n_m = off.size, span.month_start.size
    phi = np.float32(config.drift_persistence)
    sd_d, sd_s = config.drift_sd, config.seriousness_drift_sd
    innov = np.sqrt(1 - phi**2, dtype=np.float32)
    drift = rng.normal(0, sd_d, n_o).astype(np.float32)
    sdrift = rng.normal(0, sd_s, n_o).astype(np.float32)
    base, s0, birth = pop.base_log[off], pop.seriousness[off], pop.birth[off]
    logw32 = logw.astype(np.float32)
    bz = (config.seriousness_effect * profile.z).astype(np.float32)
    visibility = rng.lognormal(0, 0.7, n_o).astype(np.float32)
    sexf = np.where(pop.male[off], 1.0, FEMALE_STOP_FACTOR).astype(np.float32)
    stop_f = sexf * pop.multiplier[off] * np.float32(config.stop_rate / 12)
    abusers = np.flatnonzero(pop.abuser[off])
    shape = (n_m, n_o)
    rate_m, ser_m, s_m = (np.empty(shape, np.float32) for _ in range(3))
    acc: dict[str, list[np.ndarray]] = {c: [] for c in ("person", "occ", "k")}
    parts = Parts()
    for t in range(n_m):
        drift = phi * drift + innov * sd_d * rng.standard_normal(n_o, dtype=np.float32)
        sdrift = phi * sdrift + innov * sd_s * rng.standard_normal(n_o, dtype=np.float32)
        lo, hi, frac = int(span.lo[t]), int(span.hi[t]), span.frac[t]
        age = ((lo + hi) / 2 - birth) / np.float32(DAYS_PER_YEAR)
        aeff = age_effect(config, age)
        rate = np.exp(base + aeff + drift)
        s = s0 + sdrift
        logits = logw32[None, :] + s[:, None] * bz[None, :]
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        rate_m[t], s_m[t] = rate, s
        ser_m[t] = rate * p[:, profile.serious].sum(axis=1) / p.sum(axis=1)
        n = rng.poisson(rate * frac)
        who = np.repeat(np.arange(n_o, dtype=np.int32), n)
        acc["person"].append(off[who])
        acc["occ"].append(days_in(rng, lo, hi, who.size))
        acc["k"].append(_sample_type(rng, p[who]))
        n = rng.poisson((config.intelligence_per_offence * rate * visibility) * frac)
        who = np.repeat(np.arange(n_o, dtype=np.int32), n)
        k = np.where(rng.random(who.size) < INTEL_CODED_SHARE, _sample_type(rng, p[who]), -1)
        occ = days_in(rng, lo, hi, who.size)
        parts.add("intelligence", off[who], occ, occ + lag(rng, who.size, 0.3, 7.0), "INT", k=k)
        agesex = np.exp(np.minimum(aeff, 0) * 0.7) * stop_f
        n = rng.poisson(agesex * (1 + config.stop_per_offence * 12 * rate) * frac)
        add_stops(rng, parts, off[np.repeat(np.arange(n_o), n)], lo, hi, profile)
        n = rng.poisson(config.incident_per_offence * rate * frac)
        who = off[np.repeat(np.arange(n_o), n)]
        occ = days_in(rng, lo, hi, who.size)
        parts.add("incident", who, occ, occ + lag(rng, who.size, 0.9, 1.0), "INC")
        grown = age[abusers] >= 16
        n = rng.poisson(config.domestic_incident_rate / 12 * np.exp(drift[abusers]) * grown * frac)
        who = off[abusers[np.repeat(np.arange(abusers.size), n)]]
        _domestic_incidents(rng, parts, who, pop.partner[who], lo, hi)
    offences = {c: np.concatenate(v) for c, v in acc.items()}
    return Simulation(off, rate_m, ser_m, s_m, offences, parts)


def lag(rng: np.random.Generator, n: int, p_zero: float, mean: float) -> np.ndarray:
    """Days of delay: 0 with probability ``p_zero``, else 1 + a geometric with the given mean."""
    days = rng.geometric(1 / (1 + mean), n).astype(np.int32)
    return np.where(rng.random(n) < p_zero, 0, days).astype(np.int32)


def add_stops(
    rng: np.random.Generator,
    parts: Parts,
    who: np.ndarray,
    lo: np.ndarray | int,
    hi: np.ndarray | int,
    profile: Profile,
) -> None:
    """Stop-and-search rows (a few coded with what was searched for) and the arrests they cause."""
    occ = days_in(rng, lo, hi, who.size)
    proactive = np.flatnonzero(profile.table["delay"].to_numpy() == "proactive")
    k = np.full(who.size, -1, np.int16)
    if proactive.size:
        coded = rng.random(who.size) < STOP_CODED_SHARE
        w = profile.target[proactive]
        k[coded] = proactive[np.searchsorted(np.cumsum(w) / w.sum(), rng.random(coded.sum()))]
    parts.add("stop_search", who, occ, occ + lag(rng, who.size, 0.85, 1.0), "STOP", k=k)
    arrest = rng.random(who.size) < STOP_ARREST_PROB
    ka = np.where(rng.random(arrest.sum()) < 0.5, k[arrest], -1)
    parts.add("arrest", who[arrest], occ[arrest], occ[arrest], "ARR", k=ka)


def _domestic_incidents(
    rng: np.random.Generator,
    parts: Parts,
    who: np.ndarray,
    victim: np.ndarray,
    lo: np.ndarray | int,
    hi: np.ndarray | int,
) -> None:
    """Domestic (non-crime) incidents of abusers against their partner, a few with an order."""
    occ = days_in(rng, lo, hi, who.size)
    parts.add("incident", who, occ, occ + lag(rng, who.size, 0.9, 1.0), "INC", victim=victim, domestic=True)
    order = rng.random(who.size) < DVPO_PROB
    day = occ[order] + lag(rng, int(order.sum()), 0.0, 2.0)
    parts.add("order", who[order], day, day, "ORD", victim=victim[order], domestic=True)
