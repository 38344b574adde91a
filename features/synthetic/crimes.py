"""Crimes of the synthetic world and every event the police record about people.

A true offence is reported (recorded as a crime) with a per-type probability, and then names its
offender as suspect with a per-type probability times the person's recording multiplier (the
recording bias), capped. Arrests, charges, convictions and orders follow named suspects with
attrition and lags; victims, witnesses, intelligence, stops and incidents come from the crimes
and from base rates. Days are int32 counts from 1970-01-01; a missing person or offence is -1.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from features.synthetic.events import (
    FEMALE_STOP_FACTOR,
    Parts,
    Simulation,
    add_stops,
    days_in,
    lag,
)
from features.synthetic.population import (
    DAYS_PER_YEAR,
    DELAY_CLASSES,
    Population,
    Profile,
    Span,
    age_effect,
)

if TYPE_CHECKING:
    from features.synthetic.settings import SyntheticConfig


@dataclasses.dataclass
class Crimes:
    """Every crime: true offences of the world's offenders, then reported crimes by outsiders."""

    n_true: int
    offender: np.ndarray  # int32, -1 for outsiders
    k: np.ndarray
    occ: np.ndarray
    reported: np.ndarray
    report_day: np.ndarray
    named: np.ndarray
    name_day: np.ndarray
    victim: np.ndarray
    domestic: np.ndarray
    weapon: np.ndarray


def _report_delay(rng: np.random.Generator, cls: np.ndarray) -> np.ndarray:
    """Days from offence to police record, by delay class index (see ``DELAY_CLASSES``)."""
    n = cls.size
    u = rng.random(n)
    short = rng.geometric(0.25, n) - 1
    month = rng.exponential(30.0, n)
    year = rng.exponential(365.0, n)
    normal = np.select([u < 0.5, u < 0.8, u < 0.95], [0, short, month], year)
    sexual = np.select(
        [u < 0.35, u < 0.6], [short, rng.exponential(90.0, n)], rng.lognormal(np.log(700.0), 1.0, n)
    )
    delay = np.select([cls == 0, cls == 1], [normal, sexual], 0)
    return np.minimum(delay, 20 * DAYS_PER_YEAR).astype(np.int32)


def _victims(rng: np.random.Generator, pop: Population, n: int) -> np.ndarray:
    """Victims drawn with probability proportional to ``victim_weight`` (int32)."""
    cdf = np.cumsum(pop.victim_weight)
    return np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1]), pop.n - 1).astype(np.int32)


def make_crimes(
    config: SyntheticConfig,
    pop: Population,
    profile: Profile,
    sim: Simulation,
    span: Span,
    rng: np.random.Generator,
) -> Crimes:
    """Turn true offences into crimes (report, named suspect, victim, flags) and add crimes
    against the world's people by offenders outside it (reported only, never with a suspect)."""
    tab = profile.table
    person, k = sim.offences["person"], sim.offences["k"]
    nt = person.size
    # crimes by outsiders: victim-bearing offence types weighted by national count
    span_days = span.end + 1 - np.maximum(pop.birth, span.start)
    lam = config.victimisation_rate * pop.victim_weight * np.maximum(span_days, 0) / DAYS_PER_YEAR
    vic_out = np.repeat(np.arange(pop.n, dtype=np.int32), rng.poisson(lam))
    w = profile.target * tab["victim"].to_numpy()
    k_out = np.searchsorted(np.cumsum(w) / w.sum(), rng.random(vic_out.size)).astype(np.int16)
    occ_out = days_in(rng, np.maximum(pop.birth[vic_out], span.start), span.end + 1, vic_out.size)
    k_all = np.concatenate([k, k_out])
    occ = np.concatenate([sim.offences["occ"], occ_out])
    n = k_all.size
    report_p = tab["report"].to_numpy()[k]
    reported = np.concatenate([rng.random(nt) < report_p, np.ones(vic_out.size, bool)])
    cls = np.array([DELAY_CLASSES.index(c) for c in tab["delay"]], np.int8)[k_all]
    report_day = occ + _report_delay(rng, cls)
    p_named = np.minimum(config.named_cap, tab["named"].to_numpy()[k] * pop.multiplier[person])
    named = np.zeros(n, bool)
    named[:nt] = reported[:nt] & (rng.random(nt) < p_named)
    name_day = report_day + np.where(cls == 2, 0, lag(rng, n, 0.55, 21.0))
    dom_ok = tab["domestic"].to_numpy(bool)[k_all]
    abuser = np.concatenate([pop.abuser[person], np.zeros(vic_out.size, bool)])
    domestic = dom_ok & (rng.random(n) < np.where(abuser, 0.65, 0.04))
    domestic[nt:] = dom_ok[nt:] & (rng.random(vic_out.size) < 0.15)
    has_victim = domestic | (rng.random(n) < tab["victim"].to_numpy()[k_all])
    victim = np.where(has_victim, _victims(rng, pop, n), -1).astype(np.int32)
    victim[nt:] = vic_out
    partner = pop.partner[person]
    victim[:nt] = np.where(domestic[:nt] & (partner >= 0), partner, victim[:nt])
    victim[:nt] = np.where(victim[:nt] == person, (person + 1) % pop.n, victim[:nt])
    return Crimes(
        n_true=nt,
        offender=np.concatenate([person, np.full(vic_out.size, -1, np.int32)]),
        k=k_all,
        occ=occ,
        reported=reported,
        report_day=report_day,
        named=named,
        name_day=name_day,
        victim=victim,
        domestic=domestic,
        weapon=rng.random(n) < tab["weapon"].to_numpy()[k_all],
    )


def record_events(
    config: SyntheticConfig,
    pop: Population,
    profile: Profile,
    sim: Simulation,
    crimes: Crimes,
    span: Span,
    rng: np.random.Generator,
) -> Parts:
    """Every recorded event: suspects, victims, witnesses, the justice chain and base-rate events.

    Rows recorded after the extract's end are kept here and dropped at assembly.
    """
    parts, c = sim.parts, crimes
    idx = np.flatnonzero(c.named)
    common = {"k": c.k[idx], "domestic": c.domestic[idx], "weapon": c.weapon[idx], "crime": idx}
    parts.add(
        "crime_suspect", c.offender[idx], c.occ[idx], c.name_day[idx], "CRIME", victim=c.victim[idx], **common
    )
    _justice_chain(config, rng, parts, profile, c, idx)
    vidx = np.flatnonzero(c.reported & (c.victim >= 0))
    parts.add(
        "crime_victim",
        c.victim[vidx],
        c.occ[vidx],
        c.report_day[vidx],
        "CRIME",
        k=c.k[vidx],
        domestic=c.domestic[vidx],
        weapon=c.weapon[vidx],
        crime=vidx,
    )
    widx = np.flatnonzero(c.reported & (rng.random(c.k.size) < config.witness_prob))
    wit = rng.integers(0, pop.n, widx.size, dtype=np.int32)
    wday = c.report_day[widx] + lag(rng, widx.size, 0.5, 3.0)
    ok = (wday - pop.birth[wit] >= 10 * DAYS_PER_YEAR) & (wit != c.offender[widx])
    parts.add("witness", wit[ok], c.occ[widx][ok], wday[ok], "CRIME", k=c.k[widx][ok], crime=widx[ok])
    # base-rate events of everyone aged 10 or over, uniform over their eligible days
    first = np.maximum(span.start, pop.birth + int(10 * DAYS_PER_YEAR))
    years = np.maximum(span.end + 1 - first, 0) / DAYS_PER_YEAR
    mid_age = ((first + span.end) / 2 - pop.birth) / DAYS_PER_YEAR
    stop_f = (
        np.exp(np.minimum(age_effect(config, mid_age), 0) * 0.7)
        * np.where(pop.male, 1.0, FEMALE_STOP_FACTOR)
        * pop.multiplier
    )
    stop_f = np.where(pop.offender, 0.0, stop_f)  # offenders' stops are simulated monthly
    for kind, lam in (
        ("intelligence", config.intelligence_rate),
        ("incident", config.incident_rate),
        ("stop_search", config.stop_rate),
    ):
        lam_i = lam * years * (stop_f if kind == "stop_search" else 1.0)
        who = np.repeat(np.arange(pop.n, dtype=np.int32), rng.poisson(lam_i))
        occ = days_in(rng, first[who], span.end + 1, who.size)
        if kind == "stop_search":
            add_stops(rng, parts, who, occ, occ + 1, profile)
        else:
            ref = "INT" if kind == "intelligence" else "INC"
            parts.add(kind, who, occ, occ + lag(rng, who.size, 0.6, 3.0), ref)
    return parts


def _justice_chain(
    config: SyntheticConfig,
    rng: np.random.Generator,
    parts: Parts,
    profile: Profile,
    c: Crimes,
    idx: np.ndarray,
) -> None:
    """Arrest, charge, conviction and order rows that follow named suspects, with lags."""
    tab = profile.table
    k = c.k[idx]
    arrest = rng.random(idx.size) < np.minimum(1.0, tab["arrest"].to_numpy()[k] * config.arrest_scale)
    a = idx[arrest]
    aday = c.name_day[a] + lag(rng, a.size, 0.6, 10.0)
    ka = np.where(rng.random(a.size) < 0.92, c.k[a], -1)
    parts.add(
        "arrest",
        c.offender[a],
        c.occ[a],
        aday,
        "ARR",
        k=ka,
        domestic=c.domestic[a],
        weapon=c.weapon[a],
        crime=a,
    )
    charged = rng.random(a.size) < tab["charge"].to_numpy()[c.k[a]]
    ch, cday = a[charged], aday[charged] + lag(rng, int(charged.sum()), 0.3, 30.0)
    parts.add(
        "charge",
        c.offender[ch],
        c.occ[ch],
        cday,
        "CHG",
        k=c.k[ch],
        domestic=c.domestic[ch],
        weapon=c.weapon[ch],
        crime=ch,
    )
    conv = rng.random(ch.size) < config.conviction_prob
    cv, vday = ch[conv], cday[conv] + 60 + lag(rng, int(conv.sum()), 0.0, 200.0)
    parts.add(
        "conviction",
        c.offender[cv],
        c.occ[cv],
        vday,
        "CRT",
        k=c.k[cv],
        domestic=c.domestic[cv],
        weapon=c.weapon[cv],
        crime=cv,
    )
    p_order = tab["order"].to_numpy()[c.k[cv]] * np.where(c.domestic[cv], 2.5, 1.0)
    od = rng.random(cv.size) < np.minimum(p_order, 0.9)
    o = cv[od]
    parts.add(
        "order",
        c.offender[o],
        c.occ[o],
        vday[od],
        "ORD",
        k=c.k[o],
        victim=c.victim[o],
        domestic=c.domestic[o],
        crime=o,
    )
