"""audit.json, the audit's Parquet tables and equality.html agree, figure by figure."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from fairness.audit import audit
from fairness.drivers import family_gaps, score_distribution
from fairness.gate import gate
from fairness.makeup import list_makeup
from fairness.settings import FairnessSettings
from scoring.equality import AUDIT_TABLES, Equality, write_equality
from tests.scoring.reports.figure_check import cells, check_equality_page

MONTHS = [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-02-01"), pd.Timestamp("2026-03-01")]


def _world(n: int = 1_500, seed: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three months of ``n`` people; ethnicity and sex, one group listed more often at equal outcomes."""
    rng = np.random.default_rng(seed)
    persons = np.array([f"P{i:05d}" for i in range(n)])
    eth = rng.choice(["White", "Black", "Asian", "Mixed"], n, p=[0.6, 0.2, 0.17, 0.03])
    sex = rng.choice(["Male", "Female"], n, p=[0.75, 0.25])
    frames = []
    for m in MONTHS:
        risk = rng.normal(size=n)
        frames.append(
            pd.DataFrame(
                {
                    "person_id": persons,
                    "as_of": m,
                    "score": risk + 0.8 * (eth == "Black"),
                    "probability": 1 / (1 + np.exp(-(risk - 2))),
                    "label": (rng.random(n) < 1 / (1 + np.exp(-(risk - 2)))).astype(int),
                    "future_harm": rng.exponential(100, n),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    groups = pd.DataFrame(
        {
            "ethnicity": pd.Series(np.tile(eth, 3), dtype="str"),
            "sex": pd.Series(np.tile(sex, 3), dtype="str"),
        }
    )
    groups["sex x ethnicity"] = (groups["sex"] + " | " + groups["ethnicity"]).astype("str")
    return frame, groups


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    frame, groups = _world()
    settings = FairnessSettings(ks=[60, 200], n_boot=40, gate={"k": 60}, intersections=[["sex", "ethnicity"]])
    result = audit(frame, groups, "score", settings, seed=2, probability_col="probability")
    latest = frame["as_of"] == MONTHS[-1]
    order = frame[latest].sort_values("score", ascending=False).index[:60]
    listed = np.isin(np.flatnonzero(latest), order)
    single = groups[["ethnicity", "sex"]]
    cohort = single[latest.to_numpy()].reset_index(drop=True)
    rng = np.random.default_rng(1)
    contributions = pd.DataFrame(  # raw-score contributions of three features of two families
        {
            "suspect_violence_sexual_count_365d": rng.normal(size=len(cohort))
            + 0.4 * (cohort["ethnicity"] == "Black"),
            "weapon_count_all": rng.normal(size=len(cohort)) * 0.1,
            "suspect_count_365d": rng.normal(size=len(cohort)) * 0.5,
        }
    )
    equality = Equality(
        result,
        gate(result, settings.gate),
        None,
        None,
        {"use_age": False},
        list_makeup=list_makeup(groups[latest.to_numpy()].reset_index(drop=True), listed, settings.min_cell),
        model="lightgbm_binary, trained in this run",
        score_distribution=score_distribution(frame["score"], frame["as_of"], single, settings.min_cell),
        family_gaps=family_gaps(
            contributions, cohort, {"ethnicity": "White", "sex": "Male"}, settings.min_cell
        ),
        family_sample=len(cohort),
    )
    out = tmp_path_factory.mktemp("equality")
    write_equality(equality, "2026-04-01", out)
    return out, equality


def test_every_sourced_figure_on_the_page_equals_the_audit_data(written) -> None:
    out, _ = written
    counted = check_equality_page(out)
    # every kind of figure was checked, in numbers
    assert counted["groups"] > 200 and counted["disparities"] > 50
    assert counted["gate"] >= 2 * 9 and counted["makeup"] >= 6 * 5 and counted["coverage"] > 0
    assert counted["drivers"] > 0


def test_the_checker_catches_a_figure_that_differs_from_its_data(written, tmp_path) -> None:
    out, _ = written
    for name in ("audit.json", *AUDIT_TABLES.values()):
        if (out / name).exists():
            (tmp_path / name).write_bytes((out / name).read_bytes())
    html = (out / "equality.html").read_text()
    src, text, _ = next(
        c for c in cells(html) if c[0][0] == "makeup" and c[0][3] == "listed" and c[1][0].isdigit()
    )
    wrong = html.replace(f'data-src="{json.dumps(src).replace(chr(34), "&#34;")}">{text}<', "X", 1)
    assert wrong != html
    # a shown count one higher than its data
    marker = f"{json.dumps(src).replace(chr(34), '&#34;')}" + f'">{text}<'
    (tmp_path / "equality.html").write_text(
        html.replace(marker, marker.replace(f">{text}<", f">{int(text) + 1}<"))
    )
    with pytest.raises(AssertionError, match="figures differ from the audit data"):
        check_equality_page(tmp_path)


def test_audit_json_is_a_summary_and_the_long_tables_are_parquet(written) -> None:
    out, equality = written
    document = json.loads((out / "audit.json").read_text())
    assert set(document["tables"]) == {"groups", "disparities"}  # no proxy audit in this run
    groups = pd.read_parquet(out / document["tables"]["groups"])
    assert len(groups) == len(equality.audit.groups)
    assert "groups" not in document["audit"] and "disparities" not in document["audit"]
    assert document["scope"] == {
        "backtest_months": ["2026-01-01", "2026-02-01", "2026-03-01"],
        "list": "2026-04-01",
        "list_length": None,  # the list was not described through this_months_list here
        "gate_k": 60,
    }
    assert document["gate"]["counts"] == equality.gate.counts()
    flagged = equality.audit.disparities
    assert len(document["audit"]["flagged"]) == int(
        (flagged["flagged"] & (flagged["scope"] == "pooled")).sum()
    )
    assert (out / "audit.json").stat().st_size < 200_000


def test_the_page_shows_the_gate_statuses_scope_and_this_months_list(written) -> None:
    out, equality = written
    html = (out / "equality.html").read_text()
    counts = equality.gate.counts()
    assert f"{counts['not checkable']} could not be checked" in html
    assert "backtest, pooled over 3 months, 2026-01 to 2026-03" in html
    assert "Model: lightgbm_binary, trained in this run" in html
    assert "this month&#39;s list (2026-04-01) against this month&#39;s cohort" in html
    # a check that was not made is never shown as passed
    table = html[html.index("<h3>Checks</h3>") :]
    for status in equality.gate.checks["status"]:
        assert status in ("passed", "not established", "breached", "accepted", "not checkable")
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S)
    unchecked = [r for r in rows if ("suppressed" in r or "not defined" in r) and "checked at k =" not in r]
    assert len(unchecked) == counts["not checkable"]
    for row in unchecked:
        assert ">passed<" not in row and ">not checkable<" in row
    moved = [r for r in rows if "checked at k = 200, because at k = 60" in r]
    assert len(moved) == int((equality.gate.checks["k"] == 200).sum()) > 0


def test_the_drivers_section_explains_each_finding(written) -> None:
    out, equality = written
    html = (out / "equality.html").read_text()
    section = html[html.index('id="drivers"') : html.index('id="reading"')]
    assert "Worked example: recording an acceptance" in section
    status = equality.gate.checks.set_index(["characteristic", "group", "metric"])["status"]
    concerns = status[status.isin(["breached", "accepted", "not established"])]
    assert len(concerns) > 0  # the world lists Black people more often at the same outcomes
    for characteristic in {c for c, _, _ in concerns.index if " x " not in c}:  # intersections: see tables
        assert f"<h3>{characteristic.capitalize()}</h3>" in section
        assert "each finding&#39;s ratio to the reference group at every list length" in section
    assert "where each group&#39;s scores fall in their month&#39;s ranking" in section
    assert "Violent, sexual and weapon offences" in section  # the family that separates Black and White
