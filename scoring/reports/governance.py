"""The governance pack's pages: five documents, each as HTML, Markdown and .docx, and an index.

:func:`render_governance` is pure: it takes the run's facts (the JSON-safe dict of
:func:`scoring.governance.governance_facts`) and returns every file of ``governance/`` by name.
Each document is built once as sections of blocks (:mod:`.governance_blocks`) by
:mod:`.governance_card` (model card), :mod:`.governance_atrs` (ATRS record),
:mod:`.governance_dpia` (DPIA inputs), :mod:`.governance_eia` (equality impact assessment inputs)
and :mod:`.governance_algocare` (ALGO-CARE), with the shared tables of :mod:`.governance_tables`,
and that one structure is rendered three ways: HTML through the Jinja2 environment (autoescaped,
in the frame of page.html), Markdown here (every character that Markdown reads as markup is
escaped) and .docx by :mod:`.governance_docx` (deterministic bytes). Every text from the facts is
first stripped of control characters, which XML rejects and no page should show. Nothing reads
the clock: the same facts give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from scoring.reports.env import environment
from scoring.reports.formats import Table
from scoring.reports.governance_algocare import algo_care
from scoring.reports.governance_atrs import atrs_record
from scoring.reports.governance_blocks import (
    TO_COMPLETE,
    Block,
    Bullets,
    Document,
    Facts,
    Fields,
    Para,
    Todo,
    clean,
    cohort_words,
    gate_words,
    review_words,
)
from scoring.reports.governance_card import model_card
from scoring.reports.governance_docx import render_docx
from scoring.reports.governance_dpia import dpia_inputs
from scoring.reports.governance_eia import equality_inputs

BUILDERS: tuple[Callable[[Facts], Document], ...] = (
    model_card,
    atrs_record,
    dpia_inputs,
    equality_inputs,
    algo_care,
)
FORMATS = ("html", "md", "docx")
#: Characters Markdown may read as markup anywhere in a line (CommonMark and GitHub's extensions).
_MD_INLINE = re.compile(r"([\\`*\[\]<>|~&$])")
#: What makes the start of a line a heading, quote, list item, rule or setext underline.
_MD_LEADING = re.compile(r"^(\s*)([#>=]|[-+](?!\d))")
#: A number then "." or ")" and a space starts an ordered list item.
_MD_NUMBERED = re.compile(r"^(\s*\d{1,9})([.)])(?=\s|$)")
#: An underscore that could open or close emphasis (one inside a word, as in a feature name, cannot).
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def sanitised(value: Any) -> Any:
    """``value`` (facts: dicts, lists, strings, numbers) with every string one clean line."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, Mapping):
        return {clean(k): sanitised(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [sanitised(v) for v in value]
    return value


def documents(facts: Facts) -> list[Document]:
    """The five documents, built from the sanitised facts."""
    clean_facts = sanitised(facts)
    return [build(clean_facts) for build in BUILDERS]


# -- Markdown --------------------------------------------------------------------------------------


def md(text: object) -> str:
    """``text`` as literal Markdown: control characters dropped, markup characters escaped."""
    out = _MD_INLINE.sub(r"\\\1", clean(text))
    out = _MD_UNDERSCORE.sub(r"\\_", out)
    out = _MD_LEADING.sub(lambda m: m.group(1) + "\\" + m.group(2), out)
    return _MD_NUMBERED.sub(lambda m: m.group(1) + "\\" + m.group(2), out)


def md_todo(todo: Todo) -> str:
    known = f"{md(todo.known)} " if todo.known else ""
    return f"{known}**{TO_COMPLETE}:** {md(todo.prompt)}"


def md_text(value: str | Todo) -> str:
    return md_todo(value) if isinstance(value, Todo) else md(value)


def md_table(t: Table) -> list[str]:
    def cell(c: Any) -> str:
        return " ".join(md(x) for x in (c.text, *c.sub))

    lines = [f"*{md(t.caption)}*", ""] if t.caption else []
    lines.append("| " + " | ".join(md(h) for h in t.headers) + " |")
    lines.append("|" + "|".join(" ---: " if _numeric(t, i) else " --- " for i in range(len(t.headers))) + "|")
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in t.rows]
    return lines


def _numeric(t: Table, column: int) -> bool:
    return bool(t.rows) and column < len(t.rows[0]) and t.rows[0][column].numeric


def md_block(block: Block) -> list[str]:
    if isinstance(block, Para):
        return [md(block.text)]
    if isinstance(block, Todo):
        return [md_todo(block)]
    if isinstance(block, Bullets):
        return [f"- {md_text(item)}" for item in block.items]
    if isinstance(block, Fields):
        return [f"* **{md(label)}:** {md_text(value)}" for label, value in block.rows]  # "*": its own list
    return md_table(block)


def render_markdown(doc: Document, facts: Facts) -> str:
    """One document as Markdown (CommonMark with GitHub's tables)."""
    lines = [
        f"# {md(doc.title)}",
        "",
        f"**{md(facts['marking'])}** · governance pack of the harmrank run of {md(facts['as_of'])}",
        "",
        f"*{md(doc.purpose)}*",
        "",
        md(
            f"Fields marked '{TO_COMPLETE}' can only be answered by a person; the rest is the run's own "
            "facts."
        ),
    ]
    for section in doc.sections:
        lines += ["", f"## {md(section.heading)}"]
        for block in section.blocks:
            lines += ["", *md_block(block)]
    if doc.sources:
        lines += ["", "## Sources", "", *(f"- {md(s)}" for s in doc.sources)]
    return "\n".join(lines) + "\n"


# -- HTML ------------------------------------------------------------------------------------------


def _summary(facts: Facts) -> list[tuple[str, str]]:
    return [
        ("Cohort", cohort_words(facts)),
        ("List", f"{facts['list']['k']} people, advisory only"),
        ("Release gate", gate_words(facts)),
        ("Human review", " ".join(review_words(facts))),
    ]


def _reports(facts: Facts) -> list[tuple[str, str]]:
    """Links to the run's aggregate reports beside governance/ (those this run wrote); never to the
    officer list, which holds personal data the boards need not see."""
    out = []
    if facts.get("backtest"):
        out.append(("../model.html", "the model report"))
    if facts.get("equality"):
        out.append(("../equality.html", "the equality report"))
    return out


def render_html(doc: Document, facts: Facts) -> str:
    template = environment().get_template("governance.html")
    return template.render(doc=doc, as_of=facts["as_of"], marking=facts["marking"], to_complete=TO_COMPLETE)


def render_index(docs: list[Document], facts: Facts) -> str:
    template = environment().get_template("governance_index.html")
    return template.render(
        docs=docs,
        as_of=facts["as_of"],
        marking=facts["marking"],
        summary=_summary(facts),
        reports=_reports(facts),
        to_complete=TO_COMPLETE,
    )


def render_governance(facts: Facts) -> dict[str, str | bytes]:
    """Every file of ``governance/`` by name: index.html and, for each document, .html, .md, .docx."""
    docs = documents(facts)
    clean_facts = sanitised(facts)
    out: dict[str, str | bytes] = {"index.html": render_index(docs, clean_facts)}
    for doc in docs:
        out[f"{doc.slug}.html"] = render_html(doc, clean_facts)
        out[f"{doc.slug}.md"] = render_markdown(doc, clean_facts)
        out[f"{doc.slug}.docx"] = render_docx(doc, clean_facts)
    return out
