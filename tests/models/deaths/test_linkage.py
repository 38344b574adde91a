"""Pair likelihood ratios on constructed pairs: agreement on rare and common values, bands,
labelled links, which pairs are scored, and shared people."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.deaths.alerts import month_alerts
from models.deaths.linkage import (
    LinkModel,
    fit,
    pairs_with,
    prepare,
    reference_pairs,
    score,
    shared_people,
    shared_records,
)
from models.deaths.settings import Bands, DeathSettings, LinkageSettings
from tests.models.deaths.conftest import reports

THETA = {"place": 0.5, "substance": 0.7, "sex": 0.8, "flag": 0.3, "address": 0.2}


def _model(r, distance_lr=(0.0,), **shares) -> LinkModel:
    zero = (Bands(edges=(1e9,), linked=(0.5, 0.5)), np.zeros(2))
    bands = {"distance": zero, "days": zero, "age": zero}
    if len(distance_lr) > 1:
        bands["distance"] = (Bands(edges=(100, 1000), linked=(0.4, 0.4, 0.2)), np.array(distance_lr))
    base = fit(r, LinkageSettings(), seed=1)
    return LinkModel(bands, base.shares | shares, THETA, 0)


def test_a_shared_rare_substance_weighs_more_than_a_common_one() -> None:
    # GHB/GBL in 2 of 10 reports, opioids in 8: p = 0.2 and 0.8, theta = 0.7
    rows = [{"x": 0, "y": 0, "substances": "ghb_gbl"}] * 2 + [{"x": 0, "y": 0, "substances": "opioids"}] * 8
    r = prepare(reports(rows))
    s = score(_model(r), r, np.array([0, 0, 2]), np.array([1, 2, 3]))
    assert s["lr_substance"].tolist() == pytest.approx(
        [math.log10((0.7 + 0.3 * 0.2) / 0.2), math.log10(0.3), math.log10((0.7 + 0.3 * 0.8) / 0.8)]
    )
    assert s["substance"].tolist() == ["ghb_gbl", "", "opioids"]


def test_the_rarest_shared_substance_counts_and_unknown_says_nothing() -> None:
    rows = [
        {"x": 0, "y": 0, "substances": "alcohol;ghb_gbl"},
        {"x": 0, "y": 0, "substances": "alcohol;ghb_gbl"},
        *[{"x": 0, "y": 0, "substances": "alcohol"}] * 6,
        {"x": 0, "y": 0, "substances": "unknown"},
    ]
    r = prepare(reports(rows))
    s = score(_model(r), r, np.array([0, 0]), np.array([1, 8]))
    p_ghb = 2 / 8  # reports with a known substance: 8
    assert s["lr_substance"].iloc[0] == pytest.approx(math.log10((0.7 + 0.3 * p_ghb) / p_ghb))
    assert s["lr_substance"].iloc[1] == 0.0


def test_place_sex_flags_and_address() -> None:
    rows = [
        {
            "x": 0,
            "y": 0,
            "place_type": "churchyard_cemetery",
            "sex": "male",
            "note_found": True,
            "address_id": "AD1",
        },
        {
            "x": 0,
            "y": 0,
            "place_type": "churchyard_cemetery",
            "sex": "male",
            "note_found": True,
            "address_id": "AD1",
        },
        {"x": 0, "y": 0, "place_type": "home", "sex": "female", "address_id": "AD2"},
        {"x": 0, "y": 0, "place_type": "home", "sex": "not recorded", "address_id": "AD3"},
    ]
    r = prepare(reports(rows))
    s = score(_model(r), r, np.array([0, 0, 2]), np.array([1, 2, 3]))
    p_church, p_male, p_note, p_address = 2 / 4, 2 / 3, 2 / 4, 2 / 4
    # pair 0-1 is at one address: the address carries the place type (and the distance), not both
    assert s["lr_place"].tolist() == pytest.approx(
        [0.0, math.log10(0.5), math.log10((0.5 + 0.5 * 0.5) / 0.5)]
    )
    bands = (2.0, 1.0, -1.0)  # both reports at (0, 0): the first distance band, x100, unless one address
    apart = score(_model(r, distance_lr=bands), r, np.array([0]), np.array([1]))
    r_apart = prepare(reports([{**row, "address_id": None} for row in rows]))
    alone = score(_model(r_apart, distance_lr=bands), r_apart, np.array([0]), np.array([1]))
    assert (apart["lr_distance"].iloc[0], alone["lr_distance"].iloc[0]) == (0.0, 2.0)
    assert alone["lr_place"].iloc[0] == pytest.approx(math.log10((0.5 + 0.5 * p_church) / p_church))
    assert s["lr_sex"].tolist() == pytest.approx(
        [math.log10((0.8 + 0.2 * p_male) / p_male), math.log10(0.2), 0.0]
    )
    assert s["lr_flags"].iloc[0] == pytest.approx(math.log10((0.3 + 0.7 * p_note) / p_note))
    assert s["lr_flags"].iloc[1:].tolist() == [0.0, 0.0]
    assert s["lr_address"].tolist() == pytest.approx(
        [math.log10((0.2 + 0.8 * p_address) / p_address), 0.0, 0.0]
    )
    assert s["log10_lr"].iloc[0] == pytest.approx(
        s.iloc[0][[c for c in s.columns if c.startswith("lr_")]].sum()
    )


def test_distance_bands_include_their_upper_edge() -> None:
    r = prepare(
        reports(
            [{"x": 0, "y": 0}, {"x": 50, "y": 0}, {"x": 100, "y": 0}, {"x": 101, "y": 0}, {"x": 5000, "y": 0}]
        )
    )
    s = score(_model(r, distance_lr=(2.0, 1.0, -1.0)), r, np.zeros(4, dtype=np.int64), np.array([1, 2, 3, 4]))
    assert s["lr_distance"].tolist() == [2.0, 2.0, 1.0, -1.0]
    assert s["distance_m"].tolist() == [50.0, 100.0, 101.0, 5000.0]


def test_band_ratios_are_the_priors_over_the_measured_spread() -> None:
    rng = np.random.default_rng(2)
    rows = [
        {"x": float(a), "y": float(b), "day": int(d)}
        for a, b, d in zip(
            rng.uniform(0, 8_000, 300), rng.uniform(0, 8_000, 300), rng.integers(0, 400, 300), strict=True
        )
    ]
    r = prepare(reports(rows))
    settings_ = LinkageSettings()
    model = fit(r, settings_, seed=9)
    a, b = reference_pairs(r, settings_.window_days, seed=9)
    spec = settings_.priors.distance_m
    d = np.hypot(r.x[a] - r.x[b], r.y[a] - r.y[b])
    counts = np.bincount(np.searchsorted(spec.edges, d, side="left"), minlength=len(spec.linked))
    unlinked = (counts + 1) / (d.size + len(spec.linked))
    assert model.bands["distance"][1] == pytest.approx(np.log10(np.array(spec.linked) / unlinked))
    assert (np.abs(r.day[a] - r.day[b]) <= settings_.window_days).all()


def test_labelled_links_move_the_linked_shares_by_their_weight() -> None:
    # 20 labelled linked pairs, each 50 m apart: the first distance band's linked share goes from
    # the prior 0.20 to (20 * 0.20 + 20) / (20 + 20) = 0.6.
    rows = []
    for k in range(20):
        rows += [{"x": 10_000.0 * k, "y": 0.0, "day": k}, {"x": 10_000.0 * k + 50, "y": 0.0, "day": k}]
    r = prepare(reports(rows))
    links = (np.arange(0, 40, 2), np.arange(1, 40, 2))
    learnt = fit(r, LinkageSettings(labelled_weight=20, min_labelled=10), seed=1, links=links)
    prior = fit(r, LinkageSettings(), seed=1)
    assert learnt.labelled == 20 and prior.labelled == 0
    ratio = 10 ** (learnt.bands["distance"][1][0] - prior.bands["distance"][1][0])
    assert ratio == pytest.approx(0.6 / 0.2)
    assert learnt.theta["place"] == pytest.approx((20 * 0.5 + 20) / 40)  # every labelled pair: same place
    few = fit(r, LinkageSettings(min_labelled=21), seed=1, links=links)
    assert few.labelled == 0 and few.bands["distance"][1][0] == prior.bands["distance"][1][0]


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 60), st.integers(1, 120), st.integers(0, 10_000))
def test_pairs_with_are_every_close_pair_with_a_new_report_once(n: int, window: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    r = prepare(reports([{"x": 0.0, "y": 0.0, "day": int(d)} for d in rng.integers(0, 300, n)]))
    new = rng.random(n) < 0.3
    a, b = pairs_with(r, new, window)
    got = set(zip(a.tolist(), b.tolist(), strict=True))
    want = {
        (i, j)
        for i in range(n)
        for j in range(i + 1, n)
        if abs(r.day[i] - r.day[j]) <= window and (new[i] or new[j])
    }
    assert got == want and len(got) == a.size and (a < b).all()


def test_shared_people_in_any_role_within_the_window() -> None:
    rows = [
        {"x": 0, "y": 0, "day": 0, "finder_id": "P1"},
        {"x": 0, "y": 0, "day": 30, "last_seen_with_id": "P1"},
        {"x": 0, "y": 0, "day": 40, "household_ids": "H7;P1"},
        {"x": 0, "y": 0, "day": 900, "finder_id": "P1"},
        {"x": 0, "y": 0, "day": 41, "reporter_id": "P2"},
    ]
    r = prepare(reports(rows))
    new = np.array([False, True, True, False, False])
    shared, frequent = shared_people(r, new, window_days=365)
    assert shared[["a", "b", "person_id"]].values.tolist() == [[0, 1, "P1"], [0, 2, "P1"], [1, 2, "P1"]]
    assert shared["roles"].tolist() == [
        "finder / last seen with",
        "finder / household",
        "last seen with / household",
    ]
    assert frequent.empty


def test_a_person_in_many_reports_is_set_aside_and_named() -> None:
    rows = [{"x": 0, "y": 0, "day": k, "finder_id": "UNKNOWN"} for k in range(12)]
    rows[0] |= {"reporter_id": "P1", "household_ids": "P1"}
    rows[1] |= {"reporter_id": "P1"}
    r = prepare(reports(rows))
    shared, frequent = shared_people(r, np.ones(12, dtype=bool), window_days=365, max_named=10)
    assert frequent.values.tolist() == [["UNKNOWN", 12]]
    assert shared.values.tolist() == [[0, 1, "P1", "reporter and household / reporter"]]


def test_people_named_in_one_offender_side_record_link_their_reports() -> None:
    rows = [
        {"x": 0, "y": 0, "day": 0, "last_seen_with_id": "P1"},
        {"x": 9_000, "y": 0, "day": 30, "finder_id": "P2"},
        {"x": 0, "y": 9_000, "day": 40, "finder_id": "P3"},
        {"x": 9_000, "y": 9_000, "day": 600, "reporter_id": "P4"},
    ]
    r = prepare(reports(rows))
    records = pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P1", "P3", "P4", "P9"],
            "record": [
                "CR/1",
                "CR/1",
                "CR/7",
                "CR/8",
                "CR/1",
                "CR/8",
            ],  # P3 shares CR/8 with no report's person
        }
    )
    found = shared_records(r, np.ones(4, dtype=bool), window_days=365, person_records=records)
    assert found.values.tolist() == [[0, 1, "CR/1", "P1 (last seen with) and P2 (finder)"]]  # P4: 600 days on
    crowded = shared_records(r, np.ones(4, dtype=bool), 1_000, records, max_named=2)
    assert crowded.empty  # CR/1 touches three reports: left out like a frequent person


def test_a_shared_record_always_alerts() -> None:
    rows = [
        {"x": 0.0, "y": 0.0, "day": 500, "death_id": "A", "age": 90.0, "sex": "female", "finder_id": "P1"}
    ]
    rows += [
        {"x": 19_000.0, "y": 19_000.0, "day": 510, "death_id": "B", "age": 20.0, "last_seen_with_id": "P2"}
    ]
    rows += [
        {"x": float(k * 37 % 20_000), "y": float(k * 91 % 20_000), "day": k % 500, "death_id": f"N{k}"}
        for k in range(300)
    ]
    deaths = reports(rows, start="2025-06-01")
    records = pd.DataFrame(
        {"person_id": ["P1", "P2"], "record": ["CR/5", "CR/5"], "recorded_date": pd.Timestamp("2024-01-01")}
    )
    month = month_alerts(deaths, pd.Timestamp("2026-11-01"), DeathSettings(), seed=1, person_records=records)
    hit = month.alerts[month.alerts["reason"] == "shared record"].iloc[0]
    assert (hit["death_a"], hit["death_b"], hit["record"]) == ("A", "B", "CR/5") and hit["log10_lr"] < 0
    later = records.assign(recorded_date=pd.Timestamp("2026-11-05"))  # recorded after the as-of date
    unseen = month_alerts(deaths, pd.Timestamp("2026-11-01"), DeathSettings(), seed=1, person_records=later)
    assert "shared record" not in set(unseen.alerts["reason"])
