"""The equality report: content, suppression, determinism, aggregates only, and a look in Chromium."""

from __future__ import annotations

import html as html_lib
import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.errors import PipelineError
from scoring.reports.charts import equality as svg
from scoring.reports.equality import describe, render_equality_report
from scoring.reports.formats import PCT, fmt
from tests.browser import browser  # noqa: F401
from tests.scoring.reports.equality_fixtures import (
    make_audit,
    make_gate,
    make_label_bias,
    make_proxies,
    make_tradeoff,
    tiny_audit,
)

POLICY = {"use_age": False, "use_victimisation": False}


def render(audit, gate, *, full: bool = True, **kw) -> str:
    return render_equality_report(
        as_of="2026-11-01",
        audit=audit,
        gate=gate,
        proxies=make_proxies() if full else None,
        tradeoff=make_tradeoff() if full else None,
        label_bias=make_label_bias() if full else None,
        policy=kw.get("policy", POLICY),
        notes=kw.get("notes", ["Backtest of 12 monthly lists."]),
        analyses_elsewhere=kw.get("analyses_elsewhere", ""),
    )


def text(page: str) -> str:
    """The page's words: tags dropped, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture(scope="module")
def audit():
    return make_audit()


@pytest.fixture(scope="module")
def gate(audit):
    return make_gate(audit)


@pytest.fixture(scope="module")
def full(audit, gate) -> str:
    return render(audit, gate)


@pytest.fixture
def tiny():
    return tiny_audit()


def tiny_gate(passed: bool = True):
    from types import SimpleNamespace

    checks = pd.DataFrame(
        {
            "characteristic": ["sex"], "group": ["Female"], "metric": ["fpr"],
            "k": pd.array([100], dtype="Int64"), "ratio": [2.0], "ratio_lo": [1.5], "ratio_hi": [2.667],
            "lower": [0.8], "upper": [1.25], "breached": [not passed],
            "rule": ["FPR@100 ratio within 0.8-1.25 where the interval excludes parity"],
        }
    )  # fmt: skip
    reasons = [] if passed else ["Female FPR@100 is 2.00 times Male's (allowed 0.80 to 1.25)."]
    return SimpleNamespace(passed=passed, checks=checks, reasons=reasons)


def test_summary_states_hand_set_findings_in_plain_words(tiny) -> None:
    words = text(render(tiny, tiny_gate(), full=False))
    assert (
        "People recorded as Female were 2.00 times as likely as people recorded as Male to be listed "
        "without going on to a serious-harm outcome (false positive rate at 100: 2.0% against 1.0%; "
        "ratio 2.00, 90% interval 1.50 to 2.67)." in words
    )
    assert (
        "Of the people listed, people recorded as Female went on to a serious-harm outcome 0.50 times as "
        "often as people recorded as Male (precision at 100: 12.5% against 25.0%; ratio 0.50, 90% interval "
        "0.35 to 0.70)." in words
    )
    assert words.index("2.00 times as likely") < words.index("0.50 times as often")  # fpr first on a tie
    assert "Score audited v100" in words
    assert "1 months" not in words and "Months 2026-10" in words
    assert "p-values corrected for multiple comparisons (Benjamini-Hochberg)" in words
    assert "90% intervals from 100 bootstrap resamples" in words
    assert "Age was not a model input." in words
    assert "Records as a victim or witness did not raise anyone's score." in words
    assert "2 disparities were flagged." in words


def test_tables_show_figures_intervals_and_the_whole_population(tiny) -> None:
    words = text(render(tiny, tiny_gate(), full=False))
    assert "Female 190 10.0% (6.0–14.0%)" in words  # size, base rate with interval
    assert "12.5% (10.0–15.0%)" in words  # precision@100
    assert "everyone 998" in words
    assert "2.00 flagged (1.50–2.67) +1.00 pts p <0.001" in words  # the disparity matrix cell
    assert "0.50 flagged (0.35–0.70) -12.50 pts p = 0.002" in words
    assert "99.2% 990 of 998" in words  # coverage
    assert "ratio_bounds 0.8, 1.25" in words  # gate settings as given (a plain namespace)


def test_suppressed_cells_never_show_a_number(tiny) -> None:
    # Even if a suppressed row still carried figures, none of them may reach the page.
    groups, disparities = tiny.groups.copy(), tiny.disparities.copy()
    groups.loc[groups["suppressed"], ["value", "lo", "hi"]] = [7.77, 7.76, 7.78]
    disparities.loc[disparities["suppressed"], ["ratio", "ratio_lo", "ratio_hi", "difference"]] = 777.0
    tiny.groups, tiny.disparities = groups, disparities
    page = render(tiny, tiny_gate(), full=False)
    words = text(page)
    for sentinel in ("777", "776", "778", "7.77", "7.76", "7.78"):
        assert sentinel not in words
    assert words.count("suppressed") >= 5
    row = re.search(r"not recorded (.*?) everyone", words).group(1)  # the size table's row
    assert "suppressed" in row and not re.search(r"\d", row)


def test_label_bias_rows_below_the_limit_are_suppressed(audit, gate, full) -> None:
    words = text(full)
    assert "ethnicity not recorded – suppressed (<10) suppressed (<10) suppressed (<10)" in words
    assert "ethnicity Black 6,522 4.2% 4.1% 0.98" in words


def test_full_report_has_every_section(full, gate) -> None:
    words = text(full)
    for heading in (
        "Summary", "What was checked", "What was found", "What this means, and what it does not",
        "What needs a decision", "Policy switches", "Ethnicity", "Sex", "Intersections",
        "Month-to-month stability", "Recording coverage", "Proxy audit", "Mitigation trade-off",
        "What the labels measure", "Why not every kind of fairness can hold", "Release gate",
    ):  # fmt: skip
        assert heading in words, heading
    assert "too few for stable group figures" in words
    assert "stop_search_count_365d" in words and "0.262" in words
    # distinct features, not feature and group pairs: 2 of the fixture's 4 features, in 3 pairs
    assert "2 of the 4 features are flagged as possible proxies of at least one group (3 feature" in words
    assert "ExponentiatedGradient (TPR parity)" in words
    assert "would be direct discrimination, so the production score never takes one as input" in words
    assert "Labels record who was named or arrested, not who offended." in words
    assert "Kleinberg" in words and "Chouldechova" in words
    assert "Recorded outcomes against true offending, by group" in words
    assert full.count("<svg") == 2 + 1 + 1 + 1  # ethnicity, sex, intersection, month, trade-off
    assert "Lowest allowed ratio: the four-fifths rule of thumb" in words  # rationale from the settings
    black = gate.checks[(gate.checks["group"] == "Black") & (gate.checks["metric"] == "fpr")].iloc[0]
    assert f"People recorded as Black were {black.ratio:.2f} times as likely" in words
    assert f"{black.ratio_lo:.2f} to {black.ratio_hi:.2f}" in words


def test_optional_parts_missing_leave_their_caveats(audit, gate) -> None:
    words = text(render(audit, gate, full=False, notes=[]))
    assert "The proxy audit was not run for this report." in words
    assert "The mitigation analysis was not run for this report." in words
    assert "Labels record who was named or arrested, not who offended." in words
    assert "would be direct discrimination" in words
    assert "Recorded outcomes against true offending" not in words
    assert "Flagged features" not in words


def test_a_month_scored_by_the_champion_says_where_its_analyses_were_made(audit, gate) -> None:
    why = "They are made in the run that trains a model (version 3 here)."
    words = text(render(audit, gate, full=False, analyses_elsewhere=why))
    assert f"The proxy audit was not made in this run. {why}" in words
    assert f"The mitigation analysis was not made in this run. {why}" in words
    assert "was not run for this report" not in words


def test_gate_banner(tiny) -> None:
    failed = render(tiny, tiny_gate(passed=False), full=False)
    assert failed.count("NOT FOR RELEASE") >= 2 and "Release: allowed" not in failed
    assert "Female FPR@100 is 2.00 times Male&#39;s (allowed 0.80 to 1.25)." in failed
    passed = render(tiny, tiny_gate(passed=True), full=False)
    assert "Release: allowed" in passed and "NOT FOR RELEASE" not in passed


def test_an_accepted_breach_is_shown_with_the_decision_and_does_not_block(tiny) -> None:
    accepted = tiny_gate(passed=False)
    decision = (
        "accepted by A. Reviewer on 2026-11-20, to be reviewed by 2027-05-31: second review of every case"
    )
    accepted.passed, accepted.reasons = True, []
    accepted.accepted = [f"Female FPR@100 is 2.00 times Male's: {decision}"]
    accepted.unused = ["precision@100 for sex=Female (accepted by A. Reviewer on 2026-11-20)"]
    accepted.checks = accepted.checks.assign(accepted=True, decision=decision)
    words = text(render(tiny, accepted, full=False))
    assert "Release: allowed" in words and "NOT FOR RELEASE" not in words
    assert "0 breached; 1 breached and accepted by an equality reviewer; 0 could not be checked" in words
    assert words.count(f"Female FPR@100 is 2.00 times Male's: {decision}") == 2  # banner and gate section
    assert f"accepted FPR@100 ratio within 0.8-1.25 where the interval excludes parity {decision}" in words
    assert "1 acceptance matches no breach in this run: remove it from the configuration." in words
    assert "precision@100 for sex=Female (accepted by A. Reviewer on 2026-11-20)" in words


def test_deterministic_bytes_whatever_the_row_order(audit, gate, full) -> None:
    assert render(audit, gate) == full
    shuffled = type(audit)(**vars(audit))
    rng = np.random.default_rng(3)
    for name in ("groups", "disparities", "coverage"):
        frame = getattr(audit, name)
        setattr(shuffled, name, frame.iloc[rng.permutation(len(frame))].reset_index(drop=True))
    assert render(shuffled, gate) == full


def test_aggregates_only(audit, gate, full) -> None:
    assert re.search(r"P\d{7}", full) is None and "person_id" not in full
    people = make_tradeoff().assign(person_id="P0000001")
    with pytest.raises(PipelineError, match="aggregates only"):
        render_equality_report(
            as_of="2026-11-01", audit=audit, gate=gate, proxies=None, tradeoff=people,
            label_bias=None, policy=POLICY, notes=[],
        )  # fmt: skip


def test_self_contained_and_printable(full) -> None:
    assert "<script" not in full and "http://" not in full and "https://" not in full
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]*)"', full))
    assert not re.search(r"\ssrc=", full)  # nothing loaded (data-src only names a figure's source)
    assert "@media print" in full and "break-before: page" in full


def test_text_is_escaped(tiny) -> None:
    tiny.groups["group"] = tiny.groups["group"].replace("Female", "<b>F</b>")
    tiny.disparities["group"] = tiny.disparities["group"].replace("Female", "<b>F</b>")
    page = render(tiny, tiny_gate(), full=False)
    assert "<b>F</b>" not in page and "&lt;b&gt;F&lt;/b&gt;" in page


@pytest.mark.parametrize(
    ("characteristic", "group", "words"),
    [
        ("ethnicity", "Black", "people recorded as Black"),
        ("sex", "not recorded", "people with sex not recorded"),
        ("age_band", "18-24", "people aged 18-24"),
        ("disability", "Yes", "people recorded as having a disability"),
        ("sex x ethnicity", "Male | Black", "people recorded as Male and Black"),
        ("sex x age_band", "Female | 25-34", "people recorded as Female, aged 25-34"),
        ("sex x ethnicity", "Male | not recorded", "people recorded as Male, with ethnicity not recorded"),
    ],
)
def test_describe(characteristic: str, group: str, words: str) -> None:
    assert describe(characteristic, group) == words


def test_formats() -> None:
    assert [fmt(PCT, v) for v in (0.125, 0.0042, -0.00001, np.nan)] == ["12.5%", "0.42%", "0.00%", "–"]


def test_ratio_chart_spaces_ticks_and_escapes() -> None:
    series = svg.RatioSeries("FPR@100", (2.0, np.nan), (1.5, np.nan), (2.7, np.nan))
    chart = svg.ratio_chart(["<x>", "y"], [series], title="t", notes=["", "suppressed (<10)"])
    assert "&lt;x&gt;" in chart and "suppressed (&lt;10)" in chart
    xs = sorted(
        float(x) for x in re.findall(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="middle"', chart)[:-1]
    )
    assert all(b - a >= 30 for a, b in itertools.pairwise(xs))


def test_a_note_beside_parity_stays_inside_the_chart() -> None:
    # every ratio is far above 1, so parity sits near the left edge: the note goes to its right;
    # far below 1, parity sits at the right edge: the note goes to its left, never past the edge
    for values, anchor in (((3.0, np.nan), "start"), ((0.05, np.nan), "end")):
        series = svg.RatioSeries(
            "FPR@100", values, tuple(v * 0.8 for v in values), tuple(v * 1.2 for v in values)
        )
        chart = svg.ratio_chart(["a", "b"], [series], title="t", notes=["", "suppressed (<10)"], width=400)
        x, found = re.search(
            r'<text x="([\d.]+)" y="[\d.]+" text-anchor="(\w+)"[^>]*>suppressed', chart
        ).groups()
        assert found == anchor
        right_end = float(x) + (len("suppressed (<10)") * 6.6 if anchor == "start" else 0)
        assert right_end <= 400 and float(x) - (len("suppressed (<10)") * 6.6 if anchor == "end" else 0) >= 0


def test_page_in_chromium(browser, full: str, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "equality.html"
    path.write_text(full, encoding="utf-8")
    page = browser.open(path)
    assert page.errors == []
    assert "Summary" in page.text and "What was found" in page.text
    assert "NOT FOR RELEASE" in page.text
    shot = page.screenshot(tmp_path / "equality.png")
    assert shot.stat().st_size > 10_000


def test_tolerance_table_counts_acceptances_instead_of_repeating_them() -> None:
    from fairness.settings import GateSettings
    from scoring.reports.equality import _flatten

    acceptance = {
        "characteristic": "sex",
        "group": "Female",
        "metric": "fpr",
        "reason": "Every listed woman is reviewed by a second officer.",
        "decided_by": "A. Reviewer",
        "decided_on": "2026-11-20",
        "review_by": "2027-05-20",
    }
    rows = {name: value for name, value, _ in _flatten(GateSettings(accepted=[acceptance]))}
    assert rows["accepted"] == "1 (each shown in full with the gate's result)"
    assert not any(name.startswith("accepted[") for name in rows)
    assert {name: value for name, value, _ in _flatten(GateSettings())}["accepted"] == "none"
    assert rows["ratio_bounds"] == "0.8, 1.25" and rows["enabled"] == "yes"


def test_synthetic_check_page_states_the_bias_the_truth_and_the_flags(browser, tmp_path: Path) -> None:  # noqa: F811
    from scoring.reports.synthetic_check import render_synthetic_check

    bias = make_label_bias()
    recording = bias["recording"].assign(
        reference="White",
        relative=[1.0, 1.46, 1.03, 0.99, 1.0, 1.1],
        relative_lo=[0.9, 1.33, 0.9, 0.85, 1.0, 0.5],
    )
    recording["relative_hi"] = [1.1, 1.58, 1.2, 1.15, 1.0, 2.0]
    flagged = ["ethnicity = Black: selection rate@100 is 2.81 times White's (95% interval 1.99-4.11)"]
    page = render_synthetic_check(
        as_of="2026-11-01",
        label_bias={"recording": recording, "selection": bias["selection"]},
        flagged=flagged,
        world="data/world (50,000 persons)",
        bias="The world was generated with recording_bias 1.",
        other_flags=3,
    )
    words = text(page)
    assert "Synthetic-world check for the list of 2026-11-01" in words
    assert flagged[0] in words and "It flagged 3 more disparities for other characteristics" in words
    assert "ethnicity White 25,769 4.1% 3.0% 0.73 reference" in words
    assert "ethnicity Black 6,522 4.2% 4.1% 0.98 1.46 (1.33–1.58)" in words
    assert page.count('class="num flag"') == 1  # only Black's interval excludes parity
    assert "The model's list against a list chosen by true propensity" in words
    assert render_synthetic_check(
        as_of="2026-11-01", label_bias=bias, flagged=[], world="w"
    ) == render_synthetic_check(as_of="2026-11-01", label_bias=bias, flagged=[], world="w")
    assert "flagged no ethnic disparity" in text(
        render_synthetic_check(as_of="2026-11-01", label_bias=bias, flagged=[], world="w")
    )
    few = recording.assign(persons=[900, 700, 5, 400, 3000, 8])  # Mixed: 2,722 person-months of 5 people
    words = text(
        render_synthetic_check(as_of="2026-11-01", label_bias={"recording": few}, flagged=[], world="w")
    )
    assert "ethnicity Mixed – suppressed (<10)" in words and "ethnicity Black 6,522" in words
    with pytest.raises(PipelineError, match="aggregates only"):
        render_synthetic_check(
            as_of="2026-11-01",
            label_bias={"recording": recording.assign(person_id="P1")},
            flagged=[],
            world="w",
        )
    path = tmp_path / "check.html"
    path.write_text(page, encoding="utf-8")
    assert browser.open(path).errors == []
