"""The officer list page (index.html) as officers use it, and the protective marking of every page.

Pure parts first (CSS escaping, runs of indistinguishable ranks, search terms, review progress),
then the pages in headless Chromium: search, "no match", sorting, the view kept across a visit
to a person's page, a 390 px screen, and printing (page count, marking).
"""

from __future__ import annotations

import base64
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from scoring.listing import review_progress
from scoring.reports.officer import (
    MARK_SUBJECT,
    brief,
    css_string,
    offence_terms,
    order_statement,
    print_marks,
    rank_runs,
    rank_statement,
    render_officer_report,
    review_figures,
    split_reason,
)
from scoring.reports.person import safe_name
from tests.browser import browser  # noqa: F401
from tests.scoring.reports import officer_fixtures as fx
from tests.scoring.test_review import make_run, record

HOSTILE_IDS = [
    'P"1',
    "P'2",
    "P\\3",
    "P\n4",
    "</style><script>alert(1)</script>",
    '"; } body { display: none } @page { content: "',
    '\\"\\',
    "x\u2028y\u0000z",
]
COLUMNS = ["rank", "person", "probability", "v100", "status", "reasons", "review"]


def render(out: Path, **changes: object) -> list[Path]:
    return render_officer_report(out, **{**fx.inputs(), **changes})


def css_unescape(literal: str) -> str:
    """The value of a double-quoted CSS string (CSS Syntax 3, the escapes css_string writes)."""
    assert literal[0] == literal[-1] == '"'
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        if body[i] != "\\":
            out.append(body[i])
            i += 1
            continue
        match = re.match(r"([0-9a-fA-F]{1,6}) ?", body[i + 1 :])
        assert match, f"bad escape at {i} in {literal!r}"
        out.append(chr(int(match.group(1), 16)))
        i += 1 + match.end()
    return "".join(out)


# --- pure parts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [*HOSTILE_IDS, "OFFICIAL-SENSITIVE", "list · run 2026-11-01", "", " a  b "])
def test_css_string_cannot_end_the_string_the_rule_or_the_style(value: str) -> None:
    literal = css_string(value)
    inner = literal[1:-1]
    assert literal.startswith('"') and literal.endswith('"')
    assert '"' not in inner and "'" not in inner and "<" not in inner and ">" not in inner
    assert not re.search(r"[\x00-\x1f\x7f\u2028\u2029;{}]", inner)  # no line break, no rule syntax
    assert re.fullmatch(r"(?:[A-Za-z0-9 ._,:()-]|\\[0-9a-f]{1,6} )*", inner)  # only plain or escapes
    assert css_unescape(literal) == value.replace("\x00", "\ufffd")


def test_print_marks_escape_and_cut_the_subject() -> None:
    marks = print_marks('SECRET "x"', "P\n1", "2026-11-01")
    assert marks["marking"] == css_string('SECRET "x"')
    assert css_unescape(marks["subject"]) == "P\n1 · run 2026-11-01"
    long = print_marks("OFFICIAL", "x" * 500, "2026-11-01")["subject"]
    assert css_unescape(long) == "x" * (MARK_SUBJECT - 1) + "… · run 2026-11-01"


def test_rank_runs_on_a_hand_made_case() -> None:
    # rank: 95% interval
    # 1: 1-3 (head) | 2: 1-4 overlaps 1-3 | 3: 2-5 overlaps 1-3 | 4: 4-8 does not: new head
    # 5: 3-9 overlaps 4-8 | 6: no interval, a run of one | 7: 6-9 (the previous has none): new head
    # 8: 10-12 does not overlap 6-9: new head | 9: 11-14 overlaps 10-12
    ranks = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    lo = [1, 1, 2, 4, 3, math.nan, 6, 10, 11]
    hi = [3, 4, 5, 8, 9, math.nan, 9, 12, 14]
    assert rank_runs(ranks, lo, hi) == [(1, 3), (4, 5), (6, 6), (7, 7), (8, 9)]
    # the rule compares with the run's head, not with the neighbour: 3's 2-5 overlaps 2's 1-4 and
    # 4's 3-6 overlaps 3's but not the head's 1-2, so 4 starts a run
    assert rank_runs([1, 2, 3, 4], [1, 1, 2, 3], [2, 4, 5, 6]) == [(1, 3), (4, 4)]
    # any input order; None as missing
    assert rank_runs([3, 1, 2], [2, 1, None], [4, 2, None]) == [(1, 1), (2, 2), (3, 3)]
    assert rank_runs([], [], []) == []


def test_rank_statement_only_with_intervals() -> None:
    listed = fx.many(12)["listed"]
    statement = rank_statement(listed)  # type: ignore[arg-type]
    assert statement is not None
    assert statement["spans"] == ["1–6", "7–12"]  # 7: 4-10 misses 1-3; 12: 8-16 meets 4-10
    assert statement["lines"][0] == (
        "Ranks 1–6 cannot be told apart at 95%: each one's rank interval overlaps the first's."
    )
    assert rank_statement(fx.many(12, intervals=False)["listed"]) is None  # type: ignore[arg-type]
    blank = listed.assign(rank_lo=math.nan, rank_hi=math.nan)  # type: ignore[union-attr]
    assert rank_statement(blank) is None


def test_offence_terms_are_lower_cased_deduplicated_bounded_and_leave_out_victims() -> None:
    history = pd.DataFrame(
        {
            "event_id": ["a", "b", "c", "d", "e"],
            "event_type": ["crime_suspect", "crime_suspect", "arrest", "crime_victim", "witness"],
            "offence_code": ["ROB01", "ROB01", None, "KID01", "ARS01"],
            "description": [
                "Robbery  of personal property",
                "Robbery of personal property",
                None,
                "Kidnap",
                "Arson",
            ],
        }
    )
    evidence = history.iloc[[0]].assign(feature="suspect_robbery_count_90d")  # the same record again
    terms = offence_terms(evidence, history)
    assert terms == ["rob01", "robbery of personal property"]  # victim and witness records left out
    many = pd.DataFrame(
        {
            "event_id": [str(i) for i in range(60)],
            "event_type": "crime_suspect",
            "offence_code": [f"C{i:02d}" for i in range(60)],
            "description": None,
        }
    )
    assert len(offence_terms(many)) == 40
    assert offence_terms(many, limit=100, chars=30) == [f"c{i:02d}" for i in range(7)]  # 7 x 4 chars
    assert offence_terms(None, many.iloc[0:0]) == []


def test_printed_reasons_are_cut_at_a_boundary_never_inside_a_figure() -> None:
    sentence = (
        "Named as suspect in 12 offences in all recorded history, with a combined harm of 35,703 CCHI "
        "days; 3 offences with 1,234 days in the last 12 months (the V100 score)"
    )
    for limit in range(40, len(sentence) + 5):
        cut = brief(sentence, limit)
        assert len(cut) <= limit
        if cut == sentence:
            continue
        kept = cut.removesuffix("…")
        assert cut.endswith("…") and sentence.startswith(kept)
        assert sentence[len(kept)] in " ,;."  # the cut falls between words
    assert brief("short", 10) == "short"
    raises = split_reason(sentence + ": raises the score")
    assert raises["text"] == sentence and raises["suffix"] == ": raises the score"
    assert "raises" not in raises["print"] and len(raises["print"]) <= 96
    lowers = split_reason("Arrested 2 times in all recorded history: lowers the score")
    assert lowers["print"] == "Arrested 2 times in all recorded history (lowers the score)"
    assert split_reason("No suffix here")["print"] == "No suffix here"


def test_order_statement_names_the_raw_score_when_it_falls_down_the_list() -> None:
    listed = fx.many(5)["listed"]
    assert order_statement(listed).startswith("The list is ordered by the model's raw score")  # type: ignore[arg-type]
    shuffled = listed.assign(model_score=[1.0, 3.0, 2.0, 0.0, -1.0])  # type: ignore[union-attr]
    assert order_statement(shuffled).startswith("The list is ordered by calibrated probability")
    assert order_statement(listed, "expected_harm").startswith("The list is ordered by expected harm")  # type: ignore[arg-type]


def test_review_progress_counts_this_list_and_the_previous_one(tmp_path: Path) -> None:
    """The cause of "0 of 0 listed people": the figures were about the previous list (none on a
    first run) while the page is about this one. Now each list is counted over its own people."""
    log = tmp_path / "data" / "reviews.sqlite"
    earlier = make_run(tmp_path, "2026-10-01", ["P0001", "P0099", "P0050"])
    current = make_run(tmp_path, fx.AS_OF, fx.PEOPLE)
    record(log, earlier, "P0001", "no-action")
    record(log, current, "P0007", "action")
    record(log, current, "P0003", "needs-info", minutes=1)
    people = list(fx.PEOPLE)
    summary, previous = review_progress(people, fx.AS_OF, None, None, log)  # a first run
    assert (summary["listed"], summary["reviewed"], previous) == (5, 2, None)
    assert summary["share_reviewed"] == pytest.approx(0.4)
    last = pd.DataFrame({"person_id": ["P0001", "P0099", "P0050"]})
    summary, previous = review_progress(people, fx.AS_OF, last, "2026-10-01", log)
    assert previous is not None
    assert (previous["run"], previous["listed"], previous["reviewed"], previous["no_action"]) == (
        "2026-10-01",
        3,
        1,
        1,
    )
    figures = review_figures(summary, previous)
    assert (figures["reviewed"], figures["listed"], figures["share"]) == ("2", "5", "40%")
    assert figures["previous"] == {
        "run": "2026-10-01",
        "listed": "3",
        "reviewed": "1",
        "share": "33%",
        "no_action": "1",
        "override": "100%",
    }
    index = render(tmp_path / "report", review_summary=summary, previous_review=previous)[0]
    page = index.read_text(encoding="utf-8")
    assert '<span class="value">40%</span><span class="sub">2 of 5 listed people</span>' in page
    assert "last list (2026-10-01) reviewed" in page and "1 of 3; override rate 100%" in page


def test_search_text_holds_offences_and_the_marking_is_in_every_page(tmp_path: Path) -> None:
    paths = render(tmp_path, marking='OFFICIAL-SENSITIVE "PERSONAL"')
    index = paths[0].read_text(encoding="utf-8")
    rows = re.findall(r'<tr data-status="[^"]*" data-reviewed="[^"]*" data-search="([^"]*)">', index)
    assert len(rows) == 5 and all("robbery of personal property" in r and "rob01" in r for r in rows)
    marking = css_string('OFFICIAL-SENSITIVE "PERSONAL"')
    assert "OFFICIAL-SENSITIVE \\22 PERSONAL\\22 " in marking
    for path, subject in zip(paths, ["list", *fx.PEOPLE], strict=True):
        page = path.read_text(encoding="utf-8")
        assert (
            f"@top-center {{ content: {marking};" in page and f"@bottom-center {{ content: {marking};" in page
        )
        assert f"@top-left {{ content: {css_string(f'{subject} · run {fx.AS_OF}')};" in page
        assert '"page " counter(page) " of " counter(pages)' in page
        assert f"body::before {{\n    content: {marking};" in page  # the screen banner


def test_no_rank_interval_statement_without_the_columns(tmp_path: Path) -> None:
    index = render(tmp_path)[0].read_text(encoding="utf-8")
    shown = re.sub(r"<style>.*?</style>", "", index, flags=re.S)  # the page, not its stylesheet
    assert "cannot be told apart" not in shown and "rank interval" not in shown and "95%" not in shown
    with_intervals = render(tmp_path / "b", **fx.many(12))[0].read_text(encoding="utf-8")
    assert "Ranks 1–6 cannot be told apart at 95%" in with_intervals
    assert '<span class="noprint">95%: </span>1–4</span>' in with_intervals  # rank 2's interval


# --- in the browser -------------------------------------------------------------------------------


def visible(driver) -> list[str]:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    cells = driver.find_elements(By.CSS_SELECTOR, "#list tbody tr:not([hidden]) td:nth-child(2) a")
    return [c.text for c in cells]


def visible_ranks(driver) -> list[int]:  # type: ignore[no-untyped-def]
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#list tbody tr:not([hidden])'))"
        ".map(function (r) { return Number(r.cells[0].getAttribute('data-sort')); });"
    )


def click(driver, key: str) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f"#list th[data-key='{key}'] button").click()


def type_search(driver, text: str) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.ID, "filter-text")
    box.clear()
    box.send_keys(text)


def fresh(browser, path: Path):  # type: ignore[no-untyped-def]  # noqa: F811
    """Open ``path`` with no view kept from an earlier test (the session copy is per tab)."""
    browser.driver.get("about:blank")
    browser.driver.execute_script("try { sessionStorage.clear(); } catch (e) {}")
    page = browser.open(path)
    page.driver.execute_script("sessionStorage.clear();")
    return browser.open(path)


@pytest.fixture(scope="module")
def marked(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The five people, with an offence only P0012 is suspected of and one only P0003 was a victim of."""
    inputs = fx.inputs()
    history = inputs["history"]
    extra = history[history["person_id"].isin(["P0012", "P0003"])].groupby("person_id").head(1).copy()  # type: ignore[union-attr]
    extra["event_id"] = ["X1", "X2"]
    extra["event_type"] = ["crime_victim", "crime_suspect"]  # P0003 victim, P0012 suspect
    extra["offence_code"] = ["KID01", "ARS01"]
    extra["description"] = ["Kidnapping", "Arson endangering life"]
    history = pd.concat([history, extra], ignore_index=True)
    return render(tmp_path_factory.mktemp("marked"), history=history)


def test_review_progress_in_the_browser(browser, tmp_path: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    summary = {"listed": 5, "reviewed": 2, "share_reviewed": 0.4, "no_action": 1, "override_rate": 0.5}
    page = fresh(browser, render(tmp_path, review_summary=summary)[0])
    assert page.errors == []
    facts = page.driver.find_element(By.CSS_SELECTOR, "#review .facts").text
    assert "40%" in facts and "2 of 5 listed people" in facts and "50%" in facts


def test_search_by_offence_finds_the_suspect_not_the_victim(browser, marked: list[Path]) -> None:  # noqa: F811
    page = fresh(browser, marked[0])
    type_search(page.driver, "arson")
    assert visible(page.driver) == ["P0012"]
    type_search(page.driver, "ARS01")
    assert visible(page.driver) == ["P0012"]
    type_search(page.driver, "kidnapping")  # P0003 only as a victim: not found
    assert visible(page.driver) == []
    type_search(page.driver, "robbery")  # everyone has a robbery record as suspect
    assert len(visible(page.driver)) == 5
    type_search(page.driver, "p0001 robbery")  # words combine
    assert visible(page.driver) == ["P0001"]


def test_no_match_says_so_and_clears(browser, marked: list[Path]) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    page = fresh(browser, marked[0])
    message = page.driver.find_element(By.ID, "no-match")
    assert not message.is_displayed()
    type_search(page.driver, "xyz")
    assert visible(page.driver) == []
    assert message.is_displayed()
    assert message.text.startswith("No listed person matches “xyz”. Clear the search to see all 5.")
    assert page.driver.find_element(By.ID, "shown").text == "Showing 0 of 5 people."
    type_search(page.driver, "")
    Select(page.driver.find_element(By.ID, "filter-status")).select_by_value("returned")
    Select(page.driver.find_element(By.ID, "filter-review")).select_by_value("yes")
    assert visible(page.driver) == [] and message.is_displayed()
    assert "matches status returned with review reviewed this month" in message.text
    assert "Clear the search and filters to see all 5." in message.text
    page.driver.find_element(By.ID, "clear-filters").click()
    assert len(visible(page.driver)) == 5 and not message.is_displayed()


def expected_order(rows: pd.DataFrame, key: str, ascending: bool) -> list[int]:
    """Ranks in the order a column sorts: by its key, missing last, ties in list order."""
    frame = rows.assign(k=rows[key]).sort_values("rank")
    present, absent = frame[frame["k"].notna()], frame[frame["k"].isna()]
    ordered = present.sort_values("k", ascending=ascending, kind="mergesort")
    return [*ordered["rank"], *absent["rank"]]


def test_every_column_sorts(browser, tmp_path: Path) -> None:  # noqa: F811
    inputs = fx.many(10)
    listed = inputs["listed"].copy()  # type: ignore[union-attr]
    listed.loc[3, "v100_score"] = math.nan  # a missing value sorts last either way
    paths = render(tmp_path, **{**inputs, "listed": listed})
    page = fresh(browser, paths[0])
    status_order = {"new": 0, "returned": 1, "stayed": 2}
    reviewed = {"Q0001"}  # reviewed on this list (Q0004's review is on an earlier one)
    rows = pd.DataFrame(
        {
            "rank": listed["rank"],
            "person": listed["person_id"].str.lower(),
            "probability": listed["probability"],
            "v100": listed["v100_score"],
            "status": listed["status"].map(status_order),
            "reasons": listed["reason_1"].str.lower(),
            "review": listed["person_id"].isin(reviewed).astype(int),
        }
    )
    assert visible_ranks(page.driver) == list(range(1, 11))
    for key in COLUMNS:
        click(page.driver, key)
        first = "descending" if key == "rank" else "ascending"
        header = page.driver.execute_script(
            f"return document.querySelector(\"#list th[data-key='{key}']\").getAttribute('aria-sort');"
        )
        assert header == first, key
        assert visible_ranks(page.driver) == expected_order(rows, key, first == "ascending"), (key, first)
        click(page.driver, key)
        assert visible_ranks(page.driver) == expected_order(rows, key, first != "ascending"), key
    # the review column puts people not reviewed first, then by decision
    click(page.driver, "review")
    assert visible_ranks(page.driver)[-1] == 1


def test_search_and_sort_survive_a_visit_to_a_person_page(browser, marked: list[Path]) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    page = fresh(browser, marked[0])
    driver = page.driver
    click(driver, "probability")  # ascending
    click(driver, "probability")  # descending
    click(driver, "v100")  # ascending: P0012 (0 days) first
    Select(driver.find_element(By.ID, "filter-review")).select_by_value("no")
    type_search(driver, "violent")
    before = visible(driver)
    assert before[0] == "P0012" and "P0007" not in before  # P0007 is reviewed this month
    assert "#view?" in driver.current_url and "sort=v100" in driver.current_url

    def check_restored() -> None:
        assert driver.find_element(By.ID, "filter-text").get_attribute("value") == "violent"
        assert (
            Select(driver.find_element(By.ID, "filter-review")).first_selected_option.get_attribute("value")
            == "no"
        )
        header = driver.find_element(By.CSS_SELECTOR, "#list th[data-key='v100']")
        assert header.get_attribute("aria-sort") == "ascending"
        assert visible(driver) == before

    driver.find_element(By.LINK_TEXT, before[0]).click()
    assert driver.current_url.endswith(f"people/{safe_name(before[0])}.html")
    driver.back()  # the browser's back button
    check_restored()
    driver.find_element(By.LINK_TEXT, before[1]).click()
    driver.find_element(By.CSS_SELECTOR, "a[href='../index.html']").click()  # the page's own link: no hash
    assert driver.current_url.endswith("/index.html")
    check_restored()
    driver.get(marked[0].resolve().as_uri() + "#view?q=arson&sort=person&dir=desc")  # a shared address
    assert visible(driver) == ["P0012"]
    assert driver.find_element(By.CSS_SELECTOR, "#list th[data-key='person']").get_attribute("aria-sort") == (
        "descending"
    )


def test_readable_at_390_px_without_page_overflow(browser, tmp_path: Path) -> None:  # noqa: F811
    paths = render(tmp_path, **fx.many(20))
    driver = browser.driver
    try:
        driver.set_window_size(390, 844)
        page = fresh(browser, paths[0])
        assert page.errors == []
        assert driver.execute_script("return window.innerWidth;") <= 390
        assert driver.execute_script("return document.documentElement.scrollWidth;") <= 390
        stacked = driver.execute_script(
            "var f = document.querySelectorAll('.filters label');"
            "return [f[0].getBoundingClientRect().top < f[1].getBoundingClientRect().top,"
            " f[0].getBoundingClientRect().right <= window.innerWidth];"
        )
        assert stacked == [True, True]  # the filters stack and fit
        driver.execute_script("document.getElementById('list-section').scrollIntoView();")
        assert page.screenshot(tmp_path / "index-390.png").stat().st_size > 10_000
    finally:
        driver.set_window_size(1280, 1600)


def print_pdf(driver) -> bytes:  # type: ignore[no-untyped-def]
    """The open page printed by Chromium (its own @page size: A4), as PDF bytes."""
    result = driver.execute_cdp_cmd(
        "Page.printToPDF", {"preferCSSPageSize": True, "displayHeaderFooter": False}
    )
    return base64.b64decode(result["data"])


def pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


@pytest.mark.parametrize("intervals", [True, False])
def test_the_index_of_100_people_prints_on_at_most_five_a4_pages(
    browser,  # noqa: F811
    tmp_path: Path,
    intervals: bool,
) -> None:
    paths = render(tmp_path, **fx.many(100, intervals=intervals))
    page = fresh(browser, paths[0])
    pdf = print_pdf(page.driver)
    assert pdf.startswith(b"%PDF")
    assert 3 <= pages(pdf) <= 5
    assert re.search(rb"/MediaBox \[0 0 59[45]\.\d+ 84[12]\.\d+\]", pdf)  # A4: 595 x 842 points


def test_the_marking_and_the_escaped_hostile_id_in_the_page_css(browser, tmp_path: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    hostile = '</style><script>alert("id")</script>\\"\n{}'
    inputs = fx.inputs()
    frames = {}
    for name, frame in inputs.items():
        if isinstance(frame, pd.DataFrame) and "person_id" in frame.columns and name not in ("left",):
            frames[name] = frame.assign(person_id=frame["person_id"].replace({"P0003": hostile}))
    paths = render(tmp_path, **frames)
    person = tmp_path / "people" / f"{safe_name(hostile)}.html"
    html = person.read_text(encoding="utf-8")
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]  # the first </style> ends the style
    subject = css_string(f"{hostile} · run {fx.AS_OF}")
    assert f"@top-left {{ content: {subject};" in style and f"@bottom-left {{ content: {subject};" in style
    assert "<script>alert" not in html and hostile not in html
    page = browser.open(person)
    assert page.errors == []
    banner = page.driver.execute_script("return getComputedStyle(document.body, '::before').content;")
    assert banner == '"OFFICIAL-SENSITIVE"'
    assert page.driver.find_element(By.TAG_NAME, "h1").is_displayed()  # the style was not broken
    pdf = print_pdf(page.driver)
    assert pages(pdf) >= 1
    index = browser.open(paths[0])
    assert index.errors == []
    banner = index.driver.execute_script("return getComputedStyle(document.body, '::before').content;")
    assert banner == '"OFFICIAL-SENSITIVE"'
