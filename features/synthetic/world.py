"""The synthetic world: a generated force's records with known ground truth.

No real police data is available, so the default input of harmrank is a generated world. It has
an age-crime curve, a latent non-offender class, heavy-tailed and drifting individual propensity
(escalation and desistance), a per-person seriousness latent correlated with propensity, an offence
mix that follows the national recorded-crime counts, domestic abuse with repeat victims, victims,
witnesses, intelligence, stop and search, arrests, charges, convictions and orders that follow
offending imperfectly and with lags, recording delays, missing values, a configurable recording
bias and a few deliberately broken rows.

True propensity depends on age and sex only, never on ethnicity or religion. The recording bias
makes the bias group's offences (named suspect) and stops recorded more often at the same true
propensity. Everything here is pure computation: the command line writes the frames.

Its settings are :class:`features.synthetic.settings.SyntheticConfig`. The world is built by
:mod:`features.synthetic.population` (people and latent traits), :mod:`features.synthetic.events`
(month-by-month behaviour), :mod:`features.synthetic.crimes` (crimes and everything the police
record) and :mod:`features.synthetic.frames` (the record and truth tables), and summarised by
:mod:`features.synthetic.summary`.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pandas as pd

from features.errors import RecordsError
from features.synthetic import crimes as _crimes
from features.synthetic import deaths as _deaths
from features.synthetic import events as _events
from features.synthetic import frames as _frames
from features.synthetic import population as _population
from features.synthetic.settings import SyntheticConfig

CATALOGUE_COLUMNS = ("offence_code", "description", "subgroup", "category", "harm_days", "national_count")

__all__ = ["World", "generate_world", "oracle_risk"]


@dataclasses.dataclass(frozen=True)
class World:
    """A generated world.

    Attributes
    ----------
    records
        The force's records, keys ``persons``, ``events``, ``offences``, ``protected`` (the data
        contract; events are sorted by recorded_date), and ``deaths``, ``death_protected`` and
        ``expected_deaths`` when ``config.deaths.enabled``.
    truth
        Ground truth, never read by the pipeline:

        - ``persons``: person_id, latent_class, true sex/ethnicity/religion, base_log_rate (log
          true offences a month at the peak age), seriousness, domestic_abuser, partner_id,
          recording_multiplier, victim_weight;
        - ``monthly``: offender-class persons only, per calendar month: rate and serious_rate
          (expected true offences, all and with 365+ CCHI days), seriousness (float32);
        - ``offences``: every true offence: person_id, offence_code, occurred_date, reported,
          recorded (named as suspect), recorded_date, domestic, victim_id, event_id;
        - ``bad_rows``: event_id, defect, column of the deliberately broken event rows;
        - ``offence_params``: the offence-type model and recording probabilities per code;
        - ``params``: the config as name/value text, plus start_date;
        - ``death_series``: death_id, series_id, kind (obvious, subtle, person) of every death
          planted in a linked series (when ``config.deaths.enabled``);
        - ``death_bad_rows``: death_id and defect of the death reports broken on purpose;
        - ``death_closed_early``: death_id of the reports the closure bias closed as not
          suspicious (they were under investigation).
    """

    records: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame]


def generate_world(config: SyntheticConfig, offences: pd.DataFrame) -> World:
    """Generate the records and ground truth of a synthetic force.

    Parameters
    ----------
    config
        The world's settings.
    offences
        The offence catalogue (offence_code, description, subgroup, category, harm_days,
        national_count), e.g. configs/offences.csv read with pandas.

    Returns
    -------
    World
        Deterministic for a given config: the same config gives identical frames.

    Raises
    ------
    RecordsError
        If the catalogue lacks a column the generator needs.
    """
    missing = sorted(set(CATALOGUE_COLUMNS) - set(offences.columns))
    if missing:
        raise RecordsError(
            f"offence catalogue lacks column(s) {', '.join(missing)}; the synthetic world needs "
            f"{', '.join(CATALOGUE_COLUMNS)} (see configs/offences.csv)"
        )
    seeds = np.random.SeedSequence(config.seed).spawn(6)  # the first five as before deaths were added
    rngs = [np.random.default_rng(s) for s in seeds]
    span = _population.make_span(config.start_date, config.end_date)
    profile = _population.offence_profile(offences)
    pop = _population.make_population(config, span, rngs[0])
    mix = _population.calibrate_mix(config, pop, profile, rngs[1])
    sim = _events.simulate(config, pop, profile, mix, span, rngs[2])
    crimes = _crimes.make_crimes(config, pop, profile, sim, span, rngs[3])
    parts = _crimes.record_events(config, pop, profile, sim, crimes, span, rngs[4])
    events, bad_rows, suspect_row = _frames.assemble_events(
        config, pop, profile, parts, crimes, span, rngs[4]
    )
    records = {
        "persons": _frames.persons_frame(pop),
        "events": events,
        "offences": offences.copy(),
        "protected": _frames.protected_frame(pop),
    }
    truth = {
        "persons": _frames.truth_persons_frame(pop),
        "monthly": _frames.truth_monthly_frame(pop, sim, span),
        "offences": _frames.truth_offences_frame(pop, profile, crimes, span, events, suspect_row),
        "bad_rows": bad_rows,
        "offence_params": _frames.offence_params_frame(profile, mix),
        "params": _frames.params_frame(config),
    }
    if config.deaths.enabled:
        deaths = _deaths.make_deaths(
            config.deaths,
            span.start,
            span.end,
            records["persons"]["person_id"],
            events,
            config.bad_row_share,
            rngs[5],
        )
        records |= {
            "deaths": deaths.deaths,
            "death_protected": deaths.protected,
            "expected_deaths": deaths.expected,
        }
        truth |= {
            "death_series": deaths.series,
            "death_bad_rows": deaths.bad_rows,
            "death_closed_early": deaths.closed_early,
        }
    return World(records=records, truth=truth)


def oracle_risk(
    truth: dict[str, pd.DataFrame],
    as_of: date,
    horizon_months: int = 12,
    min_harm_days: float = 365,
) -> pd.DataFrame:
    """True probability of being recorded as suspect of a serious-harm offence in a horizon.

    The oracle knows each offender's realised monthly offending rate and seriousness, the
    offence-type model and the recording probabilities, so it is the best possible ranking
    (an upper bound: a real model sees only the past). Offences in a month are Poisson, each of
    type ``k`` with probability ``p_k(seriousness)`` and named with probability
    ``report_prob_k * min(named_cap, named_prob_k * recording_multiplier)``, so the count of
    recorded serious offences is Poisson and ``P = 1 - exp(-expected count)``.

    Parameters
    ----------
    truth
        ``World.truth`` (reads ``persons``, ``monthly``, ``offence_params`` and ``params``).
    as_of
        First day of the horizon.
    horizon_months
        Length of the horizon in calendar months.
    min_harm_days
        CCHI days at or above which an offence counts as serious harm.

    Returns
    -------
    DataFrame with one row per person: person_id, ``oracle_risk`` (probability of at least one
    offence occurring in ``[as_of, as_of + horizon)`` that is eventually recorded with the person
    as named suspect) and ``expected_harm`` (expected CCHI days of such recorded offences of any
    harm in the horizon).

    Raises
    ------
    ValueError
        If the horizon is not inside the simulated span.

    Notes
    -----
    The label of :mod:`features.labels` also needs the record to exist before the run's date;
    the oracle ignores that recording delay (it matters only for late-reported offences).
    """
    params = truth["params"].set_index("name")["value"]
    first, last = (pd.Timestamp(params[k]) for k in ("start_date", "end_date"))
    lo = pd.Timestamp(as_of)
    hi = lo + pd.DateOffset(months=horizon_months)
    if lo < first or hi > last + pd.Timedelta(days=1):
        raise ValueError(
            f"horizon [{lo.date()}, {hi.date()}) is outside the simulated span "
            f"[{first.date()}, {last.date()}]; choose an as_of with the whole horizon inside"
        )
    monthly, persons, op = truth["monthly"], truth["persons"], truth["offence_params"]
    months = pd.DatetimeIndex(monthly["month"].unique())
    m1 = months + pd.offsets.MonthBegin(1)
    overlap = m1.where(m1 < hi, hi) - months.where(months > lo, lo)
    weight = pd.Series(overlap.days.to_numpy().clip(min=0) / (m1 - months).days.to_numpy(), index=months)
    weight = weight[weight > 0]
    rows = np.flatnonzero(monthly["month"].isin(weight.index).to_numpy())
    cats = monthly["person_id"].cat.categories
    mult = persons.set_index("person_id")["recording_multiplier"].reindex(cats).to_numpy()
    harm = op["harm_days"].to_numpy(np.float64)
    named = op["report_prob"].to_numpy()[None, :] * np.minimum(
        float(params["named_cap"]), op["named_prob"].to_numpy()[None, :] * mult[:, None]
    )  # (offenders, K)
    lam = np.zeros(len(cats))
    exp_harm = np.zeros(len(cats))
    beta = float(params["seriousness_effect"])
    for chunk in np.array_split(rows, max(1, rows.size // 500_000)):
        sub = monthly.iloc[chunk]
        codes = sub["person_id"].cat.codes.to_numpy()
        expected = sub["rate"].to_numpy(np.float64) * sub["month"].map(weight).to_numpy()
        logits = op["mix_log_weight"].to_numpy()[None, :] + beta * np.outer(
            sub["seriousness"].to_numpy(np.float64), op["harm_score"].to_numpy()
        )
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        pn = p / p.sum(axis=1, keepdims=True) * named[codes]
        lam += np.bincount(codes, expected * pn[:, harm >= min_harm_days].sum(axis=1), len(cats))
        exp_harm += np.bincount(codes, expected * (pn @ harm), len(cats))
    risk = pd.Series(-np.expm1(-lam), index=cats)
    eharm = pd.Series(exp_harm, index=cats)
    out = pd.DataFrame({"person_id": persons["person_id"]})
    out["oracle_risk"] = out["person_id"].map(risk).fillna(0.0).astype(np.float64)
    out["expected_harm"] = out["person_id"].map(eharm).fillna(0.0).astype(np.float64)
    return out
