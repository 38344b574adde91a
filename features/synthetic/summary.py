"""Realism figures of a synthetic world (read by the tests and bench/synth.py).

Years are the complete 365-day windows counted back from the extract's last day; a suspect's harm
in a year is the sum of the CCHI days of the crime_suspect events recorded in it.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from features.synthetic.world import World, oracle_risk

DAYS_PER_YEAR = 365.25
AGE_BANDS = ((10, 14), (14, 18), (18, 26), (26, 40), (40, 120))


def _band_name(lo: int, hi: int) -> str:
    return f"age_rate_{lo}_plus" if hi >= 120 else f"age_rate_{lo}_{hi - 1}"


def concentration(harm: np.ndarray) -> dict[str, float]:
    """Share of harm from the top 5% and 10% of people, and the smallest share of people causing
    50% and 80% of the harm (people with zero harm excluded)."""
    h = np.sort(harm[harm > 0])[::-1]
    if h.size == 0:
        return {k: math.nan for k in ("top5_share", "top10_share", "share_for_50", "share_for_80")}
    cum = np.cumsum(h) / h.sum()
    return {
        "top5_share": float(cum[max(math.ceil(0.05 * h.size), 1) - 1]),
        "top10_share": float(cum[max(math.ceil(0.1 * h.size), 1) - 1]),
        "share_for_50": float((np.searchsorted(cum, 0.5) + 1) / h.size),
        "share_for_80": float((np.searchsorted(cum, 0.8) + 1) / h.size),
    }


def yearly_suspect_harm(world: World) -> list[pd.DataFrame]:
    """Per complete year (oldest first): person_id, harm (CCHI days) and n (offences) of every
    person recorded as a suspect in that year."""
    ev, off = world.records["events"], world.records["offences"]
    end = pd.Timestamp(_params(world)["end_date"])
    sus = ev.loc[ev["event_type"] == "crime_suspect", ["person_id", "offence_code", "recorded_date"]]
    sus = sus.assign(harm=sus["offence_code"].map(off.set_index("offence_code")["harm_days"]))
    out = []
    for j in range(int(_params(world)["years"]) - 1, -1, -1):
        hi = end - pd.Timedelta(days=365 * j)
        win = sus[(sus["recorded_date"] > hi - pd.Timedelta(days=365)) & (sus["recorded_date"] <= hi)]
        g = win.groupby("person_id", observed=True)["harm"].agg(["sum", "size"]).reset_index()
        out.append(g.rename(columns={"sum": "harm", "size": "n"}))
    return out


def _top(year: pd.DataFrame) -> pd.DataFrame:
    """A year's suspects ranked by harm, then number of offences, then person_id."""
    return year.sort_values(["harm", "n", "person_id"], ascending=[False, False, True])


def top_turnover(years: list[pd.DataFrame], share: float = 0.01) -> float:
    """Mean share of each year's top ``share`` of suspects by harm (ties: more offences, then
    person_id) who were not in the previous year's top."""
    tops = [set(_top(g)["person_id"].iloc[: max(1, math.ceil(share * len(g)))]) for g in years]
    new = [len(b - a) / len(b) for a, b in itertools.pairwise(tops) if b]
    return float(np.mean(new)) if new else math.nan


def _params(world: World) -> pd.Series:
    return world.truth["params"].set_index("name")["value"]


def age_rates(world: World) -> dict[str, float]:
    """True offences per person-year by age band at the offence (persons with a birth date)."""
    par = _params(world)
    start = pd.Timestamp(par["start_date"])
    end = pd.Timestamp(par["end_date"]) + pd.Timedelta(days=1)
    persons = world.records["persons"].dropna(subset=["birth_date"])
    birth = persons["birth_date"]
    off = world.truth["offences"][["person_id", "occurred_date"]]
    off = off.merge(persons, on="person_id")
    age = (off["occurred_date"] - off["birth_date"]).dt.days / DAYS_PER_YEAR
    out = {}
    for lo, hi in AGE_BANDS:
        a = (birth + pd.to_timedelta(lo * DAYS_PER_YEAR, unit="D")).clip(lower=start)
        b = (birth + pd.to_timedelta(hi * DAYS_PER_YEAR, unit="D")).clip(upper=end)
        exposure = ((b - a).dt.days.clip(lower=0)).sum() / DAYS_PER_YEAR
        count = int(((age >= lo) & (age < hi)).sum())
        out[_band_name(lo, hi)] = count / exposure if exposure > 0 else math.nan
    return out


def bias_figures(world: World) -> dict[str, float]:
    """Recording ratios of the bias group to everyone else (named suspects per true offence;
    stops per person of the non-offender class), and the spread of true propensity over ethnic
    groups (max / min of group means)."""
    tp = world.truth["persons"].set_index("person_id")
    group = _params(world)["bias_group"]
    tof = world.truth["offences"]
    in_group = tof["person_id"].map(tp["ethnicity"]).to_numpy() == group
    named = tof["recorded"].to_numpy()
    ratio = named[in_group].mean() / named[~in_group].mean() if in_group.any() else math.nan
    ev = world.records["events"]
    stops = ev.loc[ev["event_type"] == "stop_search", "person_id"].value_counts()
    offender = tp["latent_class"] == "offender"
    calm = tp.index[~offender]  # no offending: any difference in stops is recording
    per = stops.reindex(calm).fillna(0).groupby(tp.loc[calm, "ethnicity"] == group).mean()
    share = offender.groupby(tp["ethnicity"]).mean()
    rate = np.exp(tp.loc[offender, "base_log_rate"].astype(np.float64))
    mean_rate = rate.groupby(tp.loc[offender, "ethnicity"]).mean()
    return {
        "bias_named_ratio": float(ratio),
        "bias_stop_ratio": float(per.get(True, np.nan) / per.get(False, np.nan)),
        "ethnicity_offender_share_ratio": float(share.max() / share.min()),
        "ethnicity_base_rate_ratio": float(mean_rate.max() / mean_rate.min()),
    }


def oracle_auc(world: World) -> dict[str, float]:
    """AUC of the oracle over the last whole 12 calendar months against the true label (a 365+
    day offence occurring in the window and recorded with the person as suspect)."""
    par = _params(world)
    end = pd.Timestamp(par["end_date"]) + pd.Timedelta(days=1)
    as_of = (end - pd.DateOffset(months=12)).to_period("M").start_time
    if end - pd.DateOffset(months=12) != as_of or as_of < pd.Timestamp(par["start_date"]):
        return {"oracle_auc": math.nan, "serious_label_rate": math.nan}
    risk = oracle_risk(world.truth, as_of.date())
    tof, op = world.truth["offences"], world.truth["offence_params"]
    serious = tof["offence_code"].map(op.set_index("offence_code")["harm_days"]) >= 365
    win = tof[serious & tof["recorded"] & (tof["occurred_date"] >= as_of) & (tof["occurred_date"] < end)]
    y = risk["person_id"].isin(win["person_id"]).to_numpy()
    ranks = pd.Series(risk["oracle_risk"].to_numpy()).rank().to_numpy()
    n1, n0 = int(y.sum()), int((~y).sum())
    auc = (ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0) if n1 and n0 else math.nan
    return {"oracle_auc": float(auc), "serious_label_rate": float(y.mean())}


def summarise_world(world: World) -> dict[str, float]:
    """The realism figures of a world (see the module docstring for the year windows).

    Returns
    -------
    dict of floats: table sizes, ``events_<type>`` counts, harm concentration over each year's
    suspects (``top5_share``, ``top10_share``, ``share_for_50``, ``share_for_80``, means over years),
    ``median_suspect_harm`` (CCHI days), ``share_suspects_le_11_days``, ``top1_turnover``,
    ``top1_mean_offences`` (recorded offences a year of the top 1% by harm),
    ``age_rate_*`` (true offences per person-year), bias and ethnicity figures, offence mix error,
    domestic repeat-victim share, recording delays (days), bad-row and missing shares, oracle AUC.
    """
    ev, par = world.records["events"], _params(world)
    persons = world.records["persons"]
    years = yearly_suspect_harm(world)
    conc = [concentration(g["harm"].to_numpy(np.float64)) for g in years]
    out: dict[str, float] = {
        "persons": float(len(persons)),
        "events": float(len(ev)),
        "events_per_person_year": len(ev) / len(persons) / float(par["years"]),
    }
    counts = ev["event_type"].value_counts()
    out |= {f"events_{t}": float(counts.get(t, 0)) for t in sorted(counts.index)}
    out |= {k: float(np.nanmean([c[k] for c in conc])) for k in conc[0]}
    out["suspects_per_year"] = float(np.mean([len(g) for g in years]))
    out["median_suspect_harm"] = float(np.mean([g["harm"].median() for g in years]))
    out["share_suspects_le_11_days"] = float(np.mean([(g["harm"] <= 11).mean() for g in years]))
    out["top1_turnover"] = top_turnover(years)
    out["top1_mean_offences"] = float(
        np.mean([_top(g).iloc[: max(1, math.ceil(0.01 * len(g)))]["n"].mean() for g in years])
    )
    tp, tof = world.truth["persons"], world.truth["offences"]
    out["offender_class_share"] = float((tp["latent_class"] == "offender").mean())
    out["ever_suspect_share"] = float(
        ev.loc[ev["event_type"] == "crime_suspect", "person_id"].nunique() / len(persons)
    )
    out["true_offences"] = float(len(tof))
    out["named_share"] = float(tof["recorded"].mean())
    out |= age_rates(world)
    out |= bias_figures(world)
    op = world.truth["offence_params"].set_index("offence_code")
    rep = tof.loc[tof["reported"], "offence_code"].value_counts(normalize=True)
    out["mix_max_abs_error"] = float((rep.reindex(op.index).fillna(0) - op["national_share"]).abs().max())
    serious = tof["offence_code"].map(op["harm_days"]) >= 365
    out["true_serious_share"] = float(serious.mean())
    dv = ev[(ev["event_type"] == "crime_victim") & ev["domestic"]]
    per_victim = dv["person_id"].value_counts()
    out["domestic_victim_events"] = float(len(dv))
    out["domestic_repeat_victim_share"] = float(
        dv["person_id"].map(per_victim).ge(2).mean() if len(dv) else math.nan
    )
    sus = ev[ev["event_type"] == "crime_suspect"]
    delay = (sus["recorded_date"] - sus["occurred_date"]).dt.days
    out["suspect_delay_median_days"] = float(delay.median())
    out["suspect_delay_share_over_30"] = float((delay > 30).mean())
    sexual = sus["offence_code"].map(op["delay_class"]) == "sexual"
    out["sexual_delay_median_days"] = float(delay[sexual.to_numpy()].median())
    bad = world.truth["bad_rows"]
    out["bad_rows"] = float(len(bad))
    out["bad_row_share"] = float(len(bad) / max(len(ev), 1))
    out["missing_birth_share"] = float(persons["birth_date"].isna().mean())
    out |= oracle_auc(world)
    return out
