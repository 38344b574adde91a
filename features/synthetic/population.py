"""People of the synthetic world: dates, protected characteristics, latent traits, offence mix.

Days are integers counted from 1970-01-01 (int32) throughout the generator; ages are in years.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pandas as pd

from features.synthetic.settings import ETHNICITIES, SyntheticConfig

EPOCH = date(1970, 1, 1)
DAYS_PER_YEAR = 365.25

SEXES = ("Male", "Female")
#: Shares of the ETHNICITIES (broad ONS groups) in London (Census 2021, rounded).
ETHNICITY_SHARES = (0.207, 0.135, 0.057, 0.538, 0.063)
RELIGIONS = ("Christian", "Muslim", "No religion", "Hindu", "Jewish", "Sikh", "Buddhist", "Other")
#: Religion given ethnicity (rows follow ETHNICITIES, columns RELIGIONS), roughly London 2021.
RELIGION_BY_ETHNICITY = np.array(
    [
        [0.14, 0.38, 0.12, 0.24, 0.00, 0.07, 0.03, 0.02],
        [0.68, 0.15, 0.14, 0.0025, 0.0025, 0.00, 0.005, 0.02],
        [0.38, 0.12, 0.40, 0.02, 0.02, 0.01, 0.02, 0.03],
        [0.52, 0.025, 0.38, 0.0075, 0.035, 0.0075, 0.01, 0.015],
        [0.25, 0.40, 0.20, 0.04, 0.01, 0.01, 0.05, 0.04],
    ]
)
DISABILITY_SHARE = 0.14
#: Age at end_date: band edges (years) and the share of persons in each band.
AGE_EDGES = (10, 18, 25, 35, 45, 55, 65, 75, 91)
AGE_SHARES = (0.11, 0.11, 0.21, 0.18, 0.14, 0.11, 0.07, 0.07)

#: Offence profiles, matched by keyword against subgroup, then description, then category
#: (first match wins): report = share of offences the police record as a crime; named = share
#: of recorded crimes with a named suspect; victim = share with a victim who is a person in the
#: world; domestic = can be domestic abuse; weapon = share with a weapon flag; delay = recording
#: delay class; arrest/charge = probability of arrest given named, charge given arrest;
#: order = probability of an order given conviction.
PROFILE_COLUMNS = ("report", "named", "victim", "domestic", "weapon", "delay", "arrest", "charge", "order")
PROFILES: tuple[tuple[str, float, float, float, bool, float, str, float, float, float], ...] = (
    ("homicide", 0.98, 0.90, 1.00, True, 0.50, "normal", 0.95, 0.85, 0.00),
    ("without injury", 0.45, 0.45, 0.85, True, 0.03, "normal", 0.55, 0.30, 0.10),
    ("injury", 0.60, 0.45, 0.85, True, 0.12, "normal", 0.70, 0.45, 0.15),
    ("stalking", 0.55, 0.55, 0.95, True, 0.00, "normal", 0.50, 0.30, 0.30),
    ("driving", 0.95, 0.85, 0.60, False, 0.00, "normal", 0.80, 0.70, 0.00),
    ("rape", 0.25, 0.40, 0.95, True, 0.03, "sexual", 0.65, 0.25, 0.60),
    ("sexual", 0.30, 0.40, 0.90, True, 0.01, "sexual", 0.55, 0.30, 0.50),
    ("public order", 0.50, 0.45, 0.30, True, 0.02, "normal", 0.50, 0.35, 0.02),
    ("arson", 0.70, 0.12, 0.40, True, 0.00, "normal", 0.70, 0.50, 0.00),
    ("damage", 0.40, 0.15, 0.50, True, 0.01, "normal", 0.50, 0.35, 0.02),
    ("shoplifting", 0.35, 0.45, 0.00, False, 0.01, "normal", 0.40, 0.50, 0.01),
    ("robbery of business", 0.95, 0.20, 0.10, False, 0.35, "normal", 0.80, 0.60, 0.00),
    ("robbery", 0.80, 0.12, 0.85, False, 0.30, "normal", 0.80, 0.50, 0.00),
    ("from the person", 0.50, 0.05, 0.90, False, 0.02, "normal", 0.60, 0.50, 0.00),
    ("non-residential", 0.70, 0.06, 0.10, False, 0.01, "normal", 0.70, 0.50, 0.00),
    ("burglary", 0.85, 0.08, 0.80, False, 0.02, "normal", 0.75, 0.55, 0.00),
    ("possession of drugs", 1.00, 0.95, 0.00, False, 0.00, "proactive", 0.40, 0.30, 0.00),
    ("drugs", 1.00, 0.90, 0.00, False, 0.05, "proactive", 0.90, 0.70, 0.05),
    ("weapons", 1.00, 0.90, 0.00, False, 1.00, "proactive", 0.85, 0.60, 0.05),
    ("vehicle", 0.60, 0.05, 0.60, False, 0.00, "normal", 0.60, 0.50, 0.00),
    ("bicycle", 0.50, 0.03, 0.60, False, 0.00, "normal", 0.50, 0.40, 0.00),
    ("theft", 0.45, 0.08, 0.50, False, 0.00, "normal", 0.50, 0.45, 0.00),
    ("", 0.70, 0.60, 0.10, False, 0.02, "normal", 0.50, 0.40, 0.02),
)
DELAY_CLASSES = ("normal", "sexual", "proactive")


@dataclasses.dataclass(frozen=True)
class Span:
    """The simulated days ``[start, end]`` (inclusive) and its calendar months."""

    start: int
    end: int
    month_start: np.ndarray  # first day of each calendar month (int32)
    lo: np.ndarray  # first simulated day of each month
    hi: np.ndarray  # first day after the simulated days of each month
    frac: np.ndarray  # simulated share of each month's days (float32)


@dataclasses.dataclass(frozen=True)
class Profile:
    """The offence catalogue with the generator's per-offence parameters (arrays of length K)."""

    codes: np.ndarray
    harm: np.ndarray  # CCHI days, float64
    target: np.ndarray  # share of recorded crimes, from national_count
    z: np.ndarray  # standardised log harm ("harm score")
    table: pd.DataFrame  # PROFILE_COLUMNS per offence
    serious: np.ndarray  # harm >= 365 days


@dataclasses.dataclass
class Population:
    """Persons of the world: recorded attributes and true latent traits (arrays of length N)."""

    n: int
    birth: np.ndarray  # int32 day
    birth_missing: np.ndarray
    male: np.ndarray
    ethnicity: np.ndarray  # int8 index into ETHNICITIES
    religion: np.ndarray  # int8 index into RELIGIONS
    disabled: np.ndarray
    recorded: dict[str, np.ndarray]  # protected characteristic -> bool "is recorded"
    offender: np.ndarray
    base_log: np.ndarray  # float32 log offences/month at peak age before drift; NaN if none
    seriousness: np.ndarray  # float32 latent (SD 1 among offenders); NaN if none
    abuser: np.ndarray
    partner: np.ndarray  # int32 person index, -1 if none
    multiplier: np.ndarray  # float32 recording multiplier (1 + recording_bias in bias group)
    victim_weight: np.ndarray  # float64, mean 1: relative chance of being a crime's victim


def to_day(d: date) -> int:
    """Days from 1970-01-01 to ``d``."""
    return (d - EPOCH).days


def make_span(start: date, end: date) -> Span:
    """Calendar months covering ``[start, end]`` with their simulated days."""
    months = pd.date_range(pd.Timestamp(start).to_period("M").start_time, end, freq="MS")
    ms = ((months - pd.Timestamp(EPOCH)).days).to_numpy(np.int32)
    nxt = ((months + pd.offsets.MonthBegin(1) - pd.Timestamp(EPOCH)).days).to_numpy(np.int32)
    s, e = to_day(start), to_day(end)
    lo, hi = np.maximum(ms, s), np.minimum(nxt, e + 1)
    frac = ((hi - lo) / (nxt - ms)).astype(np.float32)
    return Span(start=s, end=e, month_start=ms, lo=lo, hi=hi, frac=frac)


def offence_profile(offences: pd.DataFrame) -> Profile:
    """Per-offence generator parameters for a catalogue (keyword rules in ``PROFILES``)."""
    rows = []
    for sub, desc, cat in offences[["subgroup", "description", "category"]].astype(str).to_numpy():
        texts = (sub.lower(), desc.lower(), cat.lower())
        rows.append(next(p[1:] for t in texts for p in PROFILES if p[0] in t))
    table = pd.DataFrame(rows, columns=list(PROFILE_COLUMNS))
    harm = offences["harm_days"].to_numpy(np.float64)
    count = offences["national_count"].to_numpy(np.float64)
    target = count / count.sum()
    loh = np.log1p(harm)
    mean = float(np.sum(target * loh))
    sd = float(np.sqrt(np.sum(target * (loh - mean) ** 2))) or 1.0
    return Profile(
        codes=offences["offence_code"].astype(str).to_numpy(),
        harm=harm,
        target=target,
        z=((loh - mean) / sd).astype(np.float32),
        table=table,
        serious=harm >= 365,
    )


def age_effect(config: SyntheticConfig, age: np.ndarray) -> np.ndarray:
    """Log multiplier of the offending rate at ``age`` years (-inf before the curve starts)."""
    ages = np.array(list(config.age_curve), dtype=np.float32)
    vals = np.array(list(config.age_curve.values()), dtype=np.float32)
    out = np.interp(age, ages, vals).astype(np.float32)
    out[age < ages[0]] = -np.inf
    return out


def _pick(rng: np.random.Generator, shares: np.ndarray, n: int) -> np.ndarray:
    """Draw ``n`` category indices (int8) with probabilities ``shares``."""
    cdf = np.cumsum(shares) / np.sum(shares)
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1).astype(np.int8)


def make_population(config: SyntheticConfig, span: Span, rng: np.random.Generator) -> Population:
    """Persons, their protected characteristics and latent offending traits."""
    n = config.persons
    band = _pick(rng, np.array(AGE_SHARES), n)
    edges = np.array(AGE_EDGES, dtype=np.float64)
    age_end = edges[band] + rng.random(n) * (edges[band + 1] - edges[band])
    birth = (span.end - np.floor(age_end * DAYS_PER_YEAR)).astype(np.int32)
    male = rng.random(n) < 0.49 / 0.99
    ethnicity = _pick(rng, np.array(ETHNICITY_SHARES), n)
    u = rng.random(n)
    cdf = np.cumsum(RELIGION_BY_ETHNICITY, axis=1)
    cdf /= cdf[:, -1:]
    religion = np.minimum((u[:, None] > cdf[ethnicity]).sum(axis=1), len(RELIGIONS) - 1)
    nr = config.not_recorded_share
    recorded = {
        "sex": rng.random(n) >= nr * 0.2,
        "ethnicity": rng.random(n) >= nr * 0.8,
        "religion": rng.random(n) >= nr * 1.5,
        "disability": rng.random(n) >= nr * 1.5,
    }
    p_male = config.offender_share * 2 / (1 + config.female_offender_ratio)
    p_off = np.where(male, p_male, p_male * config.female_offender_ratio)
    offender = (rng.random(n) < np.minimum(p_off, 1.0)) & (age_end >= 10)
    z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
    base = np.log(config.offence_rate) + config.propensity_sd * z1
    base += np.where(male, 0.0, config.female_log_rate)
    rho = config.seriousness_corr
    ser = rho * z1 + np.sqrt(1 - rho**2) * z2
    adult = age_end >= 20
    abuser = offender & adult & (rng.random(n) < config.domestic_abuser_share * np.where(male, 1.6, 0.4))
    partner = _partners(rng, birth, male, abuser)
    in_group = ethnicity == ETHNICITIES.index(config.bias_group)
    mult = np.where(in_group, 1.0 + config.recording_bias, 1.0).astype(np.float32)
    vw = np.select([age_end < 18, age_end < 35, age_end < 55], [1.0, 1.5, 1.0], 0.6)
    vw = vw * (1.0 + 2.0 * offender)
    return Population(
        n=n,
        birth=birth,
        birth_missing=rng.random(n) < config.missing_birth_share,
        male=male,
        ethnicity=ethnicity,
        religion=religion.astype(np.int8),
        disabled=rng.random(n) < DISABILITY_SHARE,
        recorded=recorded,
        offender=offender,
        base_log=np.where(offender, base, np.nan).astype(np.float32),
        seriousness=np.where(offender, ser, np.nan).astype(np.float32),
        abuser=abuser,
        partner=partner,
        multiplier=mult,
        victim_weight=vw / vw.mean(),
    )


def _partners(
    rng: np.random.Generator, birth: np.ndarray, male: np.ndarray, abuser: np.ndarray
) -> np.ndarray:
    """A partner of the other sex and a similar age (birth within a few years) for each abuser."""
    partner = np.full(birth.size, -1, dtype=np.int32)
    for sex in (True, False):
        who = np.flatnonzero(abuser & (male == sex))
        pool = np.flatnonzero(male != sex)
        if who.size == 0 or pool.size == 0:
            continue
        order = np.argsort(birth[pool], kind="stable")
        wanted = birth[who] + rng.normal(0, 4 * DAYS_PER_YEAR, who.size)
        pos = np.clip(np.searchsorted(birth[pool][order], wanted), 0, pool.size - 1)
        partner[who] = pool[order][pos]
    return partner


def calibrate_mix(
    config: SyntheticConfig, pop: Population, profile: Profile, rng: np.random.Generator
) -> np.ndarray:
    """Log weights ``w`` of the offence-type model ``p_k(s) ∝ exp(w_k + beta * s * z_k)``.

    Chosen by fixed-point iteration so that, over the offending-weighted population, the mix of
    *recorded* crimes matches the catalogue's national counts (true offending = recorded / report
    probability).

    Returns
    -------
    float64 array of length K.
    """
    who = np.flatnonzero(pop.offender)
    if who.size > 20_000:
        who = np.sort(rng.choice(who, 20_000, replace=False))
    weight = np.exp(pop.base_log[who].astype(np.float64))
    ser = pop.seriousness[who].astype(np.float64)
    ser = ser + rng.normal(0, config.seriousness_drift_sd, who.size)
    report = profile.table["report"].to_numpy(np.float64)
    goal = profile.target / report
    goal /= goal.sum()
    logw = np.log(np.maximum(goal, 1e-12))
    shift = config.seriousness_effect * ser[:, None] * profile.z[None, :].astype(np.float64)
    for _ in range(60):
        logits = logw[None, :] + shift
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        got = weight @ p / weight.sum()
        logw += np.log(goal / got)
        logw -= logw.max()
    return logw
