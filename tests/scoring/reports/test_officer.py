"""The officer report: files, content, escaping, determinism, and the pages in headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from markupsafe import escape

from scoring.reports.charts.officer import Step, signed, waterfall_chart
from scoring.reports.officer import ADVISORY, render_officer_report
from scoring.reports.person import safe_name
from tests.browser import browser  # noqa: F401
from tests.scoring.reports import officer_fixtures as fx

COMMAND = (
    "harmrank review &lt;RUN_DIR&gt; &lt;PERSON_ID&gt; --decision {action,no-action,needs-info} "
    "--reason TEXT --reviewer NAME"
)
HOSTILE_ID = "<script>alert('id')</script>&\"/../x"
HOSTILE_REASON = '<img src=x onerror="alert(1)"> & raises the score'


def render(out: Path, **changes: object) -> list[Path]:
    return render_officer_report(out, **{**fx.inputs(), **changes})


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return render(tmp_path_factory.mktemp("report"))


def page_of(paths: list[Path], person_id: str) -> str:
    return next(p for p in paths if p.name == f"{safe_name(person_id)}.html").read_text(encoding="utf-8")


def test_writes_the_index_and_one_page_per_person_in_rank_order(report: list[Path]) -> None:
    root = report[0].parent
    assert report[0] == root / "index.html"
    assert [p.relative_to(root).as_posix() for p in report[1:]] == [f"people/{p}.html" for p in fx.PEOPLE]
    assert all(p.stat().st_mode & 0o077 == 0 for p in report)  # personal data: owner only
    index = report[0].read_text(encoding="utf-8")
    assert index.startswith("<!DOCTYPE html>") and index.rstrip().endswith("</html>")
    for person in fx.PEOPLE:
        assert f'<a href="people/{person}.html">{person}</a>' in index


def test_same_inputs_give_the_same_bytes(tmp_path: Path) -> None:
    first, second = render(tmp_path / "a"), render(tmp_path / "b")
    assert [p.relative_to(tmp_path / "a") for p in first] == [p.relative_to(tmp_path / "b") for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_index_holds_the_statements_changes_review_progress_and_notes(report: list[Path]) -> None:
    index = report[0].read_text(encoding="utf-8")
    assert ADVISORY.replace("'", "&#39;") in index
    assert "serious-harm offence (one of at least 365 days on the Cambridge Crime Harm Index)" in index
    assert "they are not proof of anything" in index
    # 2 new, 2 stayed (1 up, 1 down), 1 returned, 2 left with their previous ranks, in that order
    for label, value in (("new", 2), ("stayed", 2), ("returned", 1), ("left", 2)):
        assert f'<span class="label">{label}</span><span class="value">{value}</span>' in index
    assert "1 up, 1 down" in index
    assert re.search(r"<td class=\"num\">2</td><td class=\"mono\">P0050</td>.*P0099", index, re.S)
    assert '<span class="value">20%</span><span class="sub">1 of 5 listed people</span>' in index
    assert '<span class="value">0%</span>' in index  # override rate
    assert "Equality Act 2010" in index and "postcode" in index and "victim or witness" in index
    assert "Synthetic world: no real person is described." in index
    # status and rank change, the top three reasons, review state
    assert "up 2 (was 3)" in index and "down 3 (was 1)" in index
    assert fx.inputs()["listed"]["reason_3"].iloc[0] in index  # type: ignore[index]
    assert '<span class="badge reviewed">action</span><span class="sub">by DS B Example</span>' in index
    assert "last: no-action (2026-10-01)" in index


def test_csp_allows_exactly_the_inline_script(report: list[Path]) -> None:
    for path in report[:2]:
        page = path.read_text(encoding="utf-8")
        script = re.search(r"<script>(.*)</script>", page, re.S).group(1)  # type: ignore[union-attr]
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"script-src 'sha256-{digest}'" in page
        assert "http://" not in page and "https://" not in page


def test_person_page_holds_reasons_evidence_history_ranks_reviews_and_instructions(
    report: list[Path], tmp_path: Path
) -> None:
    page = page_of(report, "P0007")
    inputs = fx.inputs()
    families = inputs["families"]
    mine_families = families[families["person_id"] == "P0007"]  # type: ignore[index]
    for sentence in mine_families["sentence"]:  # every family's sentence, top three and the others
        assert str(escape(sentence)) in page
    reasons = inputs["reasons"]
    for feature in reasons[reasons["person_id"] == "P0007"]["feature"]:  # type: ignore[index]
        assert f'<td class="mono">{feature}</td>' in page  # the analyst's table, collapsed
    assert '<details class="analyst">' in page
    evidence = inputs["evidence"]
    mine = evidence[evidence["person_id"] == "P0007"].sort_values("occurred_date")  # type: ignore[index]
    first, second = mine[mine["order"] == 1], mine[mine["order"] == 2]
    assert all(ref in page for ref in first.tail(25)["source_ref"])
    assert first.iloc[4]["source_ref"] not in page  # the oldest 5 of 30 are capped away (2 return below)
    assert "25 of 30 records shown, most recent first." in page
    # family 2's first two records back family 1 too, but family 1 showed only its newest 25:
    # they are listed under family 2, once
    assert page.count(str(second.iloc[0]["source_ref"])) == 1
    assert "4 records, most recent first." in page
    # for P0003 family 1 shows all 3 records: family 2's two shared ones are not listed again
    other = page_of(report, "P0003")
    theirs = evidence[(evidence["person_id"] == "P0003") & (evidence["order"] == 2)]  # type: ignore[index]
    assert all(other.count(str(ref)) == 1 for ref in theirs["source_ref"])
    assert "2 of 4 records shown, most recent first; 2 more are listed above." in other
    assert re.search(r"CRIME/2023/E10003000</td><td>2</td>", other)  # marked: also behind reason 2
    assert "History: 18 records before 2026-11-01" in page and "CRIME/2025/V0007000" in page
    assert "2026-09-01: 5; 2026-10-01: 3; 2026-11-01 (this list): 1." in page
    assert "Confirmed on the crime system." in page and "DS B Example" in page
    assert COMMAND in page
    assert "harmrank review runs/2026-11-01 P0007 --decision needs-info" in page
    assert "against the force's systems, using each record's source reference" in page
    assert "Equality Act 2010" in page and '<a href="../index.html">' in page
    assert "The axis is the model&#39;s raw score (log-odds of the outcome), before" in page  # caption
    assert "model&#x27;s raw score (log-odds of the outcome)</text>" in page
    ranked = page_of(render(tmp_path, objective="lambdarank"), "P0007")
    assert "model&#x27;s raw score (a ranking score, not log-odds)</text>" in ranked
    assert "log-odds of the outcome" not in ranked


def test_waterfall_ends_at_base_plus_contributions(report: list[Path]) -> None:
    inputs = fx.inputs()
    listed = inputs["listed"].set_index("person_id")  # type: ignore[union-attr]
    for person in fx.PEOPLE:
        page = page_of(report, person)
        raw = float(listed.loc[person, "model_score"])
        assert f"this person's raw score ({raw:.3f})" in page
        assert f'font-weight="600">{raw:.3f}</text>' in page


def test_evidence_counts_records_before_an_upstream_cap_and_history_marks_model_inputs(
    tmp_path: Path,
) -> None:
    inputs = fx.inputs()
    evidence = inputs["evidence"]
    mine = (evidence["person_id"] == "P0007") & (evidence["order"] == 1)  # type: ignore[index]
    capped = evidence[~mine | (evidence.groupby(["person_id", "order"]).cumcount() < 20)].copy()  # type: ignore[union-attr]
    capped.loc[mine, "events_total"] = 57
    page = page_of(render(tmp_path, evidence=capped), "P0007")
    assert "20 of 57 records shown, most recent first" in page
    assert '<th scope="col">Model input</th>' in page
    row = re.search(r'<tr><td class="date">2025-09-09</td>.*?</tr>', page).group(0)  # type: ignore[union-attr]
    assert "recorded as victim" in row and row.endswith("<td>no</td></tr>")


def test_new_person_has_no_rank_history_and_no_reviews(report: list[Path]) -> None:
    page = page_of(report, "P0003")
    assert "First time on the list" in page
    assert "No review decision has been recorded for this person yet." in page
    assert "No records are listed behind this reason" in page  # reason 3 has no evidence rows


def test_hostile_text_is_escaped_and_the_file_name_is_safe(tmp_path: Path) -> None:
    inputs = fx.inputs()
    swap = {"P0003": HOSTILE_ID}
    frames = {}
    for name in ("listed", "reasons", "evidence", "history"):
        frame = inputs[name].copy()  # type: ignore[union-attr]
        frame["person_id"] = frame["person_id"].replace(swap)
        frames[name] = frame
    frames["reasons"].loc[frames["reasons"]["order"] == 1, "sentence"] = HOSTILE_REASON
    frames["listed"]["reason_1"] = HOSTILE_REASON
    paths = render(tmp_path, notes=["<b>note</b>"], **frames)
    name = safe_name(HOSTILE_ID)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", name) and (tmp_path / "people" / f"{name}.html") in paths
    assert all(p.parent in (tmp_path, tmp_path / "people") for p in paths)
    for path in (paths[0], tmp_path / "people" / f"{name}.html"):
        page = path.read_text(encoding="utf-8")
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>note</b>" not in page
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; raises the score" in page
    person = (tmp_path / "people" / f"{name}.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#39;id&#39;)&lt;/script&gt;&amp;&#34;/../x" in person
    index = paths[0].read_text(encoding="utf-8")
    assert "&lt;b&gt;note&lt;/b&gt;" in index
    assert f'href="people/{name}.html"' in index


def test_safe_names_keep_plain_ids_and_never_collide() -> None:
    assert safe_name("P0007") == "P0007" and safe_name("a_b-1") == "a_b-1"
    assert safe_name("a/b") == f"a_b-{hashlib.sha1(b'a/b').hexdigest()[:10]}"
    assert len({safe_name(x) for x in ("a/b", "a_b", "a.b", "a b", "")}) == 5
    assert len(safe_name("x" * 500)) == 91


def test_policy_switches_change_the_statement(tmp_path: Path) -> None:
    inputs = fx.inputs()
    reasons = inputs["reasons"].copy()  # type: ignore[union-attr]
    reasons.loc[reasons["feature"] == "stop_count_365d", "feature"] = "age"
    index = render(tmp_path, reasons=reasons)[0].read_text(encoding="utf-8")
    assert "Age was used, because the policy switch use_age is on" in index
    assert "use_victimisation is off" in index


def test_empty_list_and_stale_pages(tmp_path: Path) -> None:
    render(tmp_path)
    (tmp_path / "people" / "keep.txt").write_text("not a page")
    inputs = fx.inputs()
    paths = render(
        tmp_path,
        listed=inputs["listed"].iloc[0:0],  # type: ignore[union-attr]
        left=None,
        reasons=inputs["reasons"].iloc[0:0],  # type: ignore[union-attr]
        evidence=None,
        history=None,
        rank_history=None,
        reviews=None,
        review_summary={},
    )
    assert paths == [tmp_path / "index.html"]
    assert sorted(p.name for p in (tmp_path / "people").iterdir()) == ["keep.txt"]
    index = paths[0].read_text(encoding="utf-8")
    assert "No one is on the list this month." in index and "Nobody left the list" in index


def test_waterfall_chart_figures() -> None:
    chart = waterfall_chart(
        [Step("up", 1.0), Step("down", -0.5), Step("rest", 0.25, other=True)],
        -1.0,
        title="t",
        axis_label="raw",
    )
    assert ">+1.000<" in chart and ">−0.500<" in chart and ">+0.250<" in chart
    assert ">-1.000</text>" in chart and ">-0.250</text>" in chart  # start and end
    assert 'fill="#8C8C8C"' in chart and chart.count("<rect") == 3
    assert signed(-0.0001) == "0.000" and signed(0.0004) == "0.000" and signed(-2.5) == "−2.500"


def _first_row(page) -> str:
    from selenium.webdriver.common.by import By

    return page.driver.find_element(By.CSS_SELECTOR, "#list tbody tr:not([hidden]) td:nth-child(2)").text


def test_pages_in_headless_chromium(browser, tmp_path: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    paths = render(tmp_path / "report")
    page = browser.open(paths[0])
    assert page.errors == []
    assert "People listed for review, 2026-11-01" in page.text and "P0007" in page.text
    first_reason = fx.inputs()["listed"]["reason_1"].iloc[0]  # type: ignore[index]
    assert first_reason in page.text
    assert "Showing 5 of 5 people." in page.text
    page.screenshot(tmp_path / "index.png")

    def click(header: str) -> None:
        page.driver.find_element(By.XPATH, f"//table[@id='list']//th/button[text()='{header}']").click()

    assert _first_row(page) == "P0007"
    click("Probability")  # ascending: lowest probability first
    assert _first_row(page) == "P0020"
    click("Probability")  # descending
    assert _first_row(page) == "P0007"
    click("V100 score")
    assert _first_row(page) == "P0012"  # 0 CCHI days
    click("Person")
    assert _first_row(page) == "P0001"
    header = page.driver.find_element(By.XPATH, "//th[button[text()='Person']]")
    assert header.get_attribute("aria-sort") == "ascending"

    Select(page.driver.find_element(By.ID, "filter-status")).select_by_value("new")
    visible = page.driver.find_elements(By.CSS_SELECTOR, "#list tbody tr:not([hidden])")
    assert sorted(r.find_element(By.CSS_SELECTOR, "td:nth-child(2)").text for r in visible) == [
        "P0003",
        "P0020",
    ]
    page.driver.find_element(By.ID, "filter-text").send_keys("P0020")
    assert len(page.driver.find_elements(By.CSS_SELECTOR, "#list tbody tr:not([hidden])")) == 1
    assert page.driver.find_element(By.ID, "shown").text == "Showing 1 of 5 people."
    page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert not page.driver.find_element(By.CSS_SELECTOR, ".filters").is_displayed()
    page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

    person = browser.open(paths[1])
    assert person.errors == []
    assert "Person P0007: rank 1" in person.text
    first_family = fx.inputs()["families"].iloc[0]  # type: ignore[union-attr]
    assert f"{first_family['title']}. {first_family['sentence']}. This raises the score" in person.text
    assert "25 of 30 records shown" in person.text
    person.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert not person.driver.find_element(By.CSS_SELECTOR, "#history").is_displayed()  # the brief
    person.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    person.driver.find_element(By.ID, "print-full").click()
    person.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert person.driver.find_element(By.CSS_SELECTOR, "#history").is_displayed()  # the full record
    person.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert "harmrank review <RUN_DIR> <PERSON_ID> --decision {action,no-action,needs-info}" in person.text
    shot = person.screenshot(tmp_path / "person.png")
    assert shot.stat().st_size > 10_000 and (tmp_path / "index.png").stat().st_size > 10_000
    back = person.driver.find_element(By.LINK_TEXT, "← Back to the list of 2026-11-01")
    assert back.get_attribute("href").endswith("/report/index.html")
