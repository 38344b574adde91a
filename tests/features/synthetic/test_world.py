"""The synthetic world: contract, determinism and realism figures on a small world (20k x 4y)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from features.errors import RecordsError
from features.records.schema import EVENT_TYPES, TABLES
from features.synthetic.settings import SyntheticConfig
from features.synthetic.summary import summarise_world
from features.synthetic.world import World, generate_world, oracle_risk

ROOT = Path(__file__).resolve().parents[3]
#: The synthetic events must follow the records contract exactly.
EVENT_COLUMNS = [column.name for column in TABLES["events"].columns]
SMALL = {"persons": 20_000, "years": 4}


@pytest.fixture(scope="module")
def offences() -> pd.DataFrame:
    return pd.read_csv(ROOT / "configs" / "offences.csv")


@pytest.fixture(scope="module")
def world(offences: pd.DataFrame) -> World:
    return generate_world(SyntheticConfig(**SMALL), offences)


@pytest.fixture(scope="module")
def summary(world: World) -> dict[str, float]:
    return summarise_world(world)


@pytest.fixture(scope="module")
def unbiased(offences: pd.DataFrame) -> World:
    return generate_world(SyntheticConfig(**SMALL, recording_bias=0.0), offences)


def _frames(world: World) -> dict[str, pd.DataFrame]:
    return {f"records/{k}": v for k, v in world.records.items()} | {
        f"truth/{k}": v for k, v in world.truth.items()
    }


def test_same_seed_gives_identical_frames_and_another_seed_differs(offences: pd.DataFrame) -> None:
    config = SyntheticConfig(persons=3_000, years=2, seed=5)
    a, b = generate_world(config, offences), generate_world(config, offences)
    assert a.records.keys() == {
        "persons",
        "events",
        "offences",
        "protected",
        "deaths",
        "death_protected",
        "expected_deaths",
    }
    for (name, fa), fb in zip(_frames(a).items(), _frames(b).values(), strict=True):
        pd.testing.assert_frame_equal(fa, fb, obj=name)
    c = generate_world(config.model_copy(update={"seed": 6}), offences)
    assert not a.records["events"].equals(c.records["events"])
    assert not a.records["protected"].equals(c.records["protected"])


def test_default_yaml_is_the_default_config() -> None:
    raw = yaml.safe_load((ROOT / "configs" / "synthetic.yaml").read_text())
    assert set(raw) == set(SyntheticConfig.model_fields)
    assert SyntheticConfig.model_validate(raw) == SyntheticConfig()
    with pytest.raises(ValueError, match="bias_group"):
        SyntheticConfig(bias_group="Purple")
    with pytest.raises(ValueError):
        SyntheticConfig(colour="blue")


def test_a_catalogue_without_national_counts_is_a_records_error(offences: pd.DataFrame) -> None:
    with pytest.raises(RecordsError, match="national_count"):
        generate_world(SyntheticConfig(persons=200, years=1), offences.drop(columns="national_count"))


def test_records_follow_the_data_contract(world: World, offences: pd.DataFrame) -> None:
    persons, ev, prot = (world.records[k] for k in ("persons", "events", "protected"))
    assert list(persons.columns) == ["person_id", "birth_date"]
    assert persons["person_id"].is_unique and persons["person_id"].str.match(r"^P\d{7}$").all()
    assert persons["birth_date"].dtype == "datetime64[ns]"
    assert 0.005 < persons["birth_date"].isna().mean() < 0.02
    assert list(ev.columns) == EVENT_COLUMNS
    for col in ("event_id", "person_id", "event_type", "offence_code", "victim_id", "source_ref"):
        assert pd.api.types.is_string_dtype(ev[col]), col
    for col in ("occurred_date", "recorded_date"):
        assert ev[col].dtype == "datetime64[ns]", col
        assert (ev[col].dropna() == ev[col].dropna().dt.normalize()).all()
    assert ev["domestic"].dtype == bool and ev["weapon"].dtype == bool
    assert ev["event_id"].is_unique and set(ev["event_type"]) == set(EVENT_TYPES)
    assert ev["source_ref"].str.match(r"^(CRIME|ARR|CHG|CRT|INT|STOP|ORD|INC)/20\d\d/\d{7}$").all()
    bad = ev["event_id"].isin(world.truth["bad_rows"]["event_id"])
    good = ev[~bad]
    needs_code = good["event_type"].isin(["crime_suspect", "crime_victim", "charge", "conviction"])
    assert good.loc[needs_code, "offence_code"].notna().all()
    assert good["offence_code"].dropna().isin(offences["offence_code"]).all()
    assert good["person_id"].isin(persons["person_id"]).all()
    assert ev["victim_id"].dropna().isin(persons["person_id"]).all()
    assert good.loc[good["event_type"] == "stop_search", "offence_code"].isna().mean() > 0.8
    pd.testing.assert_frame_equal(world.records["offences"], offences)
    assert list(prot.columns) == ["person_id", "sex", "ethnicity", "religion", "disability"]
    assert prot["person_id"].equals(persons["person_id"])
    assert set(prot["sex"]) == {"Male", "Female", "not recorded"}
    assert set(prot["ethnicity"]) == {"Asian", "Black", "Mixed", "White", "Other", "not recorded"}
    assert set(prot["disability"]) == {"Yes", "No", "not recorded"}
    assert len(set(prot["religion"])) == 9
    shares = prot["ethnicity"].value_counts(normalize=True)
    assert 0.45 < shares["White"] < 0.6 and 0.1 < shares["Black"] < 0.17


def test_dates_lie_in_the_extract_and_bad_rows_are_broken(world: World) -> None:
    ev, bad = world.records["events"], world.truth["bad_rows"]
    start, end = pd.Timestamp("2022-11-01"), pd.Timestamp("2026-10-31")
    assert ev["recorded_date"].between(start, end).all()
    assert ev["occurred_date"].dropna().between(start, end).all()
    assert set(bad["defect"]) == {
        "recorded_before_occurred",
        "unknown_offence_code",
        "unknown_person_id",
        "missing_occurred_date",
    }
    assert 0.0003 < len(bad) / len(ev) < 0.0008
    rows = ev.set_index("event_id").loc[bad["event_id"]]
    broken = {
        "recorded_before_occurred": rows["recorded_date"] < rows["occurred_date"],
        "unknown_offence_code": ~rows["offence_code"].isin(world.records["offences"]["offence_code"]),
        "unknown_person_id": ~rows["person_id"].isin(world.records["persons"]["person_id"]),
        "missing_occurred_date": rows["occurred_date"].isna(),
    }
    for defect, is_broken in broken.items():
        assert is_broken[(bad["defect"] == defect).to_numpy()].all(), defect
    good = ev[~ev["event_id"].isin(bad["event_id"])]
    assert (good["recorded_date"] >= good["occurred_date"]).all()


def test_no_bad_rows_when_share_is_zero(offences: pd.DataFrame) -> None:
    w = generate_world(SyntheticConfig(persons=2_000, years=1, bad_row_share=0.0), offences)
    assert len(w.truth["bad_rows"]) == 0
    assert (w.records["events"]["recorded_date"] >= w.records["events"]["occurred_date"]).all()


def test_age_crime_curve_peaks_in_late_teens_and_twenties(summary: dict[str, float]) -> None:
    peak = summary["age_rate_18_25"]
    assert peak > summary["age_rate_14_17"] > summary["age_rate_10_13"]
    assert peak > summary["age_rate_26_39"] > summary["age_rate_40_plus"]
    assert summary["age_rate_40_plus"] < 0.35 * peak and summary["age_rate_10_13"] < 0.35 * peak


def test_most_people_never_offend(summary: dict[str, float]) -> None:
    assert 0.2 < summary["offender_class_share"] < 0.4
    assert summary["ever_suspect_share"] < summary["offender_class_share"]


def test_a_few_offenders_cause_most_harm(summary: dict[str, float]) -> None:
    assert 0.6 < summary["top10_share"] < 0.92
    assert summary["share_for_50"] < 0.06
    assert 0.04 < summary["share_for_80"] < 0.2


def test_half_of_a_years_suspects_have_little_harm(summary: dict[str, float]) -> None:
    assert 0.4 < summary["share_suspects_le_11_days"] < 0.7
    assert 3 <= summary["median_suspect_harm"] <= 30


def test_most_of_the_top_one_percent_are_new_each_year(summary: dict[str, float]) -> None:
    assert summary["top1_turnover"] > 0.5


def test_offence_mix_follows_national_counts(summary: dict[str, float]) -> None:
    assert summary["mix_max_abs_error"] < 0.015
    assert 0.05 < summary["true_serious_share"] < 0.2


def test_serious_offending_is_concentrated_in_prolific_offenders(world: World) -> None:
    tp = world.truth["persons"].dropna(subset=["base_log_rate"])
    r = np.corrcoef(tp["base_log_rate"], tp["seriousness"])[0, 1]
    assert abs(r - SyntheticConfig().seriousness_corr) < 0.05
    tof = world.truth["offences"]
    harm = tof["offence_code"].map(world.records["offences"].set_index("offence_code")["harm_days"])
    prolific = tp.loc[tp["base_log_rate"] >= tp["base_log_rate"].quantile(0.9), "person_id"]
    by_prolific = tof["person_id"].isin(prolific)
    # the most prolific tenth commit a larger share of serious offences than of all offences
    assert by_prolific[harm >= 365].mean() > 1.3 * by_prolific.mean()


def test_domestic_abuse_has_repeat_victims(world: World, summary: dict[str, float]) -> None:
    assert summary["domestic_repeat_victim_share"] > 0.3
    ev = world.records["events"]
    sus = ev[(ev["event_type"] == "crime_suspect") & ev["domestic"] & ev["victim_id"].notna()]
    vic = ev[ev["event_type"] == "crime_victim"]
    linked = sus.merge(vic, on="source_ref", suffixes=("", "_v"))
    assert len(linked) > 0.9 * len(sus)
    assert (linked["victim_id"] == linked["person_id_v"]).all()


def test_recording_delays_have_a_long_tail(summary: dict[str, float]) -> None:
    assert summary["suspect_delay_median_days"] <= 7
    assert 0.05 < summary["suspect_delay_share_over_30"] < 0.4
    assert summary["sexual_delay_median_days"] > 3 * summary["suspect_delay_median_days"]


def test_justice_chain_follows_offending_with_attrition(summary: dict[str, float]) -> None:
    s = summary
    assert s["events_crime_suspect"] > s["events_charge"] > s["events_conviction"] > 0
    assert s["events_arrest"] > s["events_charge"] and s["events_order"] > 0
    assert s["named_share"] < 0.4  # most true offending is never recorded with a suspect


def test_true_propensity_is_independent_of_ethnicity_and_religion(world: World) -> None:
    tp = world.truth["persons"]
    offender = tp["latent_class"] == "offender"
    for col in ("ethnicity", "religion"):
        table = pd.crosstab(tp[col], offender)
        assert stats.chi2_contingency(table).pvalue > 0.001, col
        groups = [g.to_numpy() for _, g in tp.loc[offender, "base_log_rate"].groupby(tp[col])]
        assert stats.kruskal(*groups).pvalue > 0.001, col
        rate = tp.loc[offender, "base_log_rate"].astype(np.float64)
        g = rate.groupby(tp[col]).agg(["mean", "size"])
        z = (g["mean"] - rate.mean()) / (rate.std() / np.sqrt(g["size"]))
        assert z.abs().max() < 4, col  # no group's mean log rate is off by more than noise


def test_recording_bias_records_the_bias_group_more_often(summary: dict[str, float], unbiased: World) -> None:
    assert summary["bias_named_ratio"] > 1.1
    assert summary["bias_stop_ratio"] > 1.1
    plain = summarise_world(unbiased)
    assert 0.93 < plain["bias_named_ratio"] < 1.07
    assert 0.8 < plain["bias_stop_ratio"] < 1.2  # stops are few: a noisy figure


def test_oracle_risk_is_a_probability_that_ranks_future_offenders(world: World) -> None:
    as_of = date(2025, 11, 1)
    risk = oracle_risk(world.truth, as_of)
    assert risk["person_id"].equals(world.records["persons"]["person_id"])
    assert risk["oracle_risk"].between(0, 1).all() and risk["oracle_risk"].max() > 0.1
    tof = world.truth["offences"]
    harm = tof["offence_code"].map(world.records["offences"].set_index("offence_code")["harm_days"])
    hit = tof[(harm >= 365) & tof["recorded"] & (tof["occurred_date"] >= pd.Timestamp(as_of))]
    y = risk["person_id"].isin(hit["person_id"])
    assert risk.loc[y, "oracle_risk"].mean() > 5 * risk.loc[~y, "oracle_risk"].mean()
    # calibrated: expected positives close to observed
    assert abs(risk["oracle_risk"].sum() - y.sum()) < 4 * np.sqrt(y.sum()) + 5
    with pytest.raises(ValueError, match="outside the simulated span"):
        oracle_risk(world.truth, date(2026, 6, 1))


def test_truth_is_compact_and_covers_offenders_only(world: World) -> None:
    monthly, tp = world.truth["monthly"], world.truth["persons"]
    assert monthly["person_id"].dtype == "category"
    assert all(monthly[c].dtype == np.float32 for c in ("rate", "serious_rate", "seriousness"))
    assert monthly["person_id"].nunique() == (tp["latent_class"] == "offender").sum()
    assert len(monthly) == monthly["person_id"].nunique() * 48
    assert (monthly["serious_rate"] <= monthly["rate"] + 1e-6).all()
    named = world.truth["offences"]
    assert (
        named.loc[named["recorded"] & named["event_id"].notna(), "event_id"]
        .isin(world.records["events"]["event_id"])
        .all()
    )


def test_death_reports_follow_the_settings(offences: pd.DataFrame) -> None:
    off = generate_world(SyntheticConfig(persons=100, years=1, deaths={"enabled": False}), offences)
    assert "deaths" not in off.records and "death_series" not in off.truth
    tiny = generate_world(
        SyntheticConfig(
            persons=100,
            years=1,
            deaths={"residents": 1_000, "obvious_series": 0, "subtle_series": 0, "person_series": 0},
        ),
        offences,
    )
    assert len(tiny.records["deaths"]) < 10 and tiny.truth["death_series"].empty
    world = generate_world(SyntheticConfig(persons=300, years=3), offences)
    deaths, truth = world.records["deaths"], world.truth["death_series"]
    assert 3 * 1_000 < len(deaths) < 3 * 1_400  # about 1,200 reports a year for a million residents
    assert truth.groupby("kind")["series_id"].nunique().to_dict() == {"obvious": 2, "person": 2, "subtle": 3}
    assert set(truth["death_id"]) <= set(deaths["death_id"])
    planted = deaths.set_index("death_id").loc[truth.loc[truth["kind"] == "obvious", "death_id"]]
    assert (planted["substances"].fillna("ghb_gbl") == "ghb_gbl").all()  # a few substances not recorded
    shared = planted.groupby(truth.set_index("death_id")["series_id"])["finder_id"].nunique()
    assert (shared == 1).all()  # one finder per obvious series
    person = deaths.set_index("death_id").loc[
        truth.loc[truth["kind"] == "person", "death_id"], "last_seen_with_id"
    ]
    assert person.isin(world.records["persons"]["person_id"]).all()
