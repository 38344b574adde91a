"""The governance pack's pages: five documents in three formats, filled from hand-made facts."""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

import docx
import pytest

from scoring.reports.governance import FORMATS, documents, md, render_governance
from scoring.reports.governance_blocks import TO_COMPLETE, Fields, Todo
from tests.browser import browser  # noqa: F401
from tests.scoring.reports.governance_fixtures import HOSTILE, facts

SLUGS = ("model-card", "atrs-record", "dpia-inputs", "equality-impact-inputs", "algo-care")


@pytest.fixture(scope="module")
def pack() -> dict[str, str | bytes]:
    return render_governance(facts())


def word_text(content: bytes) -> str:
    """Every paragraph and table cell of a .docx, one per line."""
    document = docx.Document(io.BytesIO(content))
    lines = [p.text for p in document.paragraphs]
    lines += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(lines)


def test_five_documents_in_three_formats_and_an_index(pack) -> None:
    assert set(pack) == {"index.html"} | {f"{s}.{ext}" for s in SLUGS for ext in FORMATS}
    for slug in SLUGS:
        assert isinstance(pack[f"{slug}.docx"], bytes)
        assert isinstance(pack[f"{slug}.html"], str) and isinstance(pack[f"{slug}.md"], str)


def test_word_files_open_and_hold_the_run_s_facts(pack) -> None:
    for slug in SLUGS:
        document = docx.Document(io.BytesIO(pack[f"{slug}.docx"]))
        assert document.core_properties.created.date().isoformat() == "2026-11-01"
        assert document.core_properties.author == "harmrank"
        text = word_text(pack[f"{slug}.docx"])
        assert f"{TO_COMPLETE}:" in text, slug  # the force's answers are asked for, never left blank
        assert "OFFICIAL-SENSITIVE" in text
    card = word_text(pack["model-card.docx"])
    assert "8,321 people" in card  # the cohort size
    assert "Release gate: NOT FOR RELEASE" in card
    assert "62.0% (57.0–69.5%)" in card  # precision@100 with its interval
    assert "harmrank 0.1.0" in card and "4.7.0" in card  # package versions
    assert "1 breached" in word_text(pack["equality-impact-inputs.docx"])


def test_same_facts_give_the_same_bytes_at_another_time(pack, monkeypatch) -> None:
    later = time.time() + 86_400 * 400
    monkeypatch.setattr(time, "time", lambda: later)  # the zip entries' clock
    again = render_governance(facts())
    assert again == pack
    entries = zipfile.ZipFile(io.BytesIO(pack["model-card.docx"])).infolist()
    assert entries[0].filename == "[Content_Types].xml"
    assert {e.date_time for e in entries} == {(2026, 11, 1, 0, 0, 0)}


def test_markdown_escapes_hostile_text(pack) -> None:
    page = pack["equality-impact-inputs.md"]
    assert "<script>" not in page and "\\<script\\>" in page
    assert "[link](http://evil)" not in page and "\\[link\\](http://evil)" in page
    assert "\\*Reviewer\\*" in page and "\\_lead\\_" in page and "\\&" in page
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", "".join(pack[f"{s}.md"] for s in SLUGS))
    row = next(line for line in page.splitlines() if line.startswith("| ethnicity = Black | selection rate"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 6  # 5 cells: the reviewer's pipe is escaped


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("# not a heading", "\\# not a heading"),
        ("1. not a list", "1\\. not a list"),
        ("- not a list", "\\- not a list"),
        ("---", "\\---"),
        ("> not a quote", "\\> not a quote"),
        ("-1.5 stays a number", "-1.5 stays a number"),
        ("62.0% (57.0–69.5%)", "62.0% (57.0–69.5%)"),
        ("suspect_count_30d", "suspect_count_30d"),
        ("a `b` *c* ~d~ $e$ <f> & g", "a \\`b\\` \\*c\\* \\~d\\~ \\$e\\$ \\<f\\> \\& g"),
        ("two\nlines\x00", "two lines"),
    ],
)
def test_md_writes_literal_text(text: str, written: str) -> None:
    assert md(text) == written


def test_html_escapes_hostile_text_and_word_drops_control_characters(pack) -> None:
    for slug in SLUGS:
        page = pack[f"{slug}.html"]
        assert "<script" not in page, slug
    assert "A. &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in pack["equality-impact-inputs.html"]
    text = word_text(pack["equality-impact-inputs.docx"])
    assert 'A. <script>alert("x")</script> *Reviewer*' in text and "\x00" not in text and "\x1b" not in text
    assert HOSTILE not in text  # (it holds control characters)


def test_not_checkable_checks_are_never_shown_as_passed(pack) -> None:
    for name in ("equality-impact-inputs.md", "model-card.md"):
        page = pack[name]
        assert "1 passed" in page and "1 could not be checked" in page
        for line in page.splitlines():
            if "Mixed" in line and line.startswith("|"):
                assert "passed" not in line, line
    eia = pack["equality-impact-inputs.md"]
    assert "| ethnicity | 1 | Mixed |" in eia  # counted among the checks not made
    assert "NOT passes" in eia


def test_every_answer_is_given_or_marked_for_the_force() -> None:
    for doc in documents(facts()):
        assert doc.todos() > 0, doc.slug
        for section in doc.sections:
            for block in section.blocks:
                if isinstance(block, Fields):
                    for label, value in block.rows:
                        assert isinstance(value, Todo) or value.strip(), (doc.slug, label)


def test_review_rates_come_from_the_log_or_say_why_there_are_none() -> None:
    first = render_governance(facts())
    assert "Previous list: none in this runs directory" in first["dpia-inputs.md"]
    assert "no review is recorded yet" in first["dpia-inputs.md"]
    review = {
        "log_intact": True,
        "log_entries": 41,
        "this_list": {
            "listed": 100,
            "reviewed": 0,
            "share_reviewed": 0,
            "no_action": 0,
            "override_rate": None,
        },
        "previous_list": {
            "run": "2026-10-01",
            "listed": 100,
            "reviewed": 40,
            "share_reviewed": 0.4,
            "no_action": 6,
            "override_rate": 0.15,
        },
    }
    later = render_governance(facts(review=review))["dpia-inputs.md"]
    assert "Previous list (2026-10-01): 40 of 100 listed people reviewed (40.0%)" in later
    assert "6 decided no action (override rate 15.0%)" in later


def test_a_run_without_backtest_or_audit_says_so() -> None:
    pack = render_governance(facts(backtest=None, equality=None))
    card = pack["model-card.md"]
    assert "No backtest ran" in card and "did not run" in card
    assert "equality audit and its release gate did not run" in pack["equality-impact-inputs.md"]
    assert word_text(pack["algo-care.docx"]).count(TO_COMPLETE) >= 8


def test_policy_switches_are_stated(pack) -> None:
    card = pack["model-card.md"]
    assert "| Records of being a victim of crime as model inputs | use_victimisation | off |" in card
    on = facts(policy={"use_age": False, "use_victimisation": True, "use_police_activity": False})
    assert "use_victimisation is ON" in render_governance(on)["model-card.md"]


def test_pages_open_in_chromium_and_the_index_links_every_document(browser, pack, tmp_path: Path) -> None:  # noqa: F811
    for name, content in pack.items():
        path = tmp_path / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(
            content, encoding="utf-8"
        )
    index = browser.open(tmp_path / "index.html")
    assert index.errors == []
    from selenium.webdriver.common.by import By

    links = {a.get_attribute("href").rsplit("/", 1)[-1] for a in index.driver.find_elements(By.TAG_NAME, "a")}
    assert {f"{s}.{ext}" for s in SLUGS for ext in FORMATS} <= links
    assert "Release gate" in index.text and TO_COMPLETE in index.text
    for slug in SLUGS:
        page = browser.open(tmp_path / f"{slug}.html")
        assert page.errors == [], slug
        assert TO_COMPLETE in page.text and "OFFICIAL-SENSITIVE" in page.text
    shot = browser.open(tmp_path / "model-card.html").screenshot(tmp_path / "model-card.png")
    assert shot.stat().st_size > 10_000
