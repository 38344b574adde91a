"""A governance document as a Word file (python-docx), with the same bytes for the same facts.

python-docx stamps the time into the core properties and into every zip entry. Here the core
properties carry the run's as-of date, and the saved package is rewritten with that date on
every entry, in a fixed order ([Content_Types].xml first, then by name), so that two renders of
one run are byte-identical.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import docx
from docx.document import Document as WordDocument
from docx.enum.text import WD_COLOR_INDEX
from docx.shared import Pt
from docx.text.paragraph import Paragraph

from scoring.reports.formats import Table
from scoring.reports.governance_blocks import TO_COMPLETE, Block, Bullets, Document, Facts, Fields, Para, Todo

CONTENT_TYPES = "[Content_Types].xml"


def _todo(paragraph: Paragraph, todo: Todo) -> None:
    if todo.known:
        paragraph.add_run(todo.known + " ")
    run = paragraph.add_run(f"{TO_COMPLETE}: ")
    run.bold = True
    run.font.highlight_color = WD_COLOR_INDEX.YELLOW
    paragraph.add_run(todo.prompt).font.highlight_color = WD_COLOR_INDEX.YELLOW


def _text(paragraph: Paragraph, value: str | Todo) -> None:
    if isinstance(value, Todo):
        _todo(paragraph, value)
    else:
        paragraph.add_run(value)


def _table(document: WordDocument, t: Table) -> None:
    if t.caption:
        document.add_paragraph().add_run(t.caption).italic = True
    grid = document.add_table(rows=1, cols=len(t.headers))
    grid.style = "Table Grid"
    for cell, heading in zip(grid.rows[0].cells, t.headers, strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(heading).bold = True
    for row in t.rows:
        cells = grid.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = " ".join((value.text, *value.sub))


def _block(document: WordDocument, block: Block) -> None:
    if isinstance(block, Para):
        document.add_paragraph(block.text)
    elif isinstance(block, Todo):
        _todo(document.add_paragraph(), block)
    elif isinstance(block, Bullets):
        for item in block.items:
            _text(document.add_paragraph(style="List Bullet"), item)
    elif isinstance(block, Fields):
        grid = document.add_table(rows=0, cols=2)
        grid.style = "Table Grid"
        for label, value in block.rows:
            left, right = grid.add_row().cells
            left.paragraphs[0].add_run(label).bold = True
            _text(right.paragraphs[0], value)
    else:
        _table(document, block)


def _deterministic(package: bytes, when: datetime) -> bytes:
    """``package`` (a zip) rewritten with every entry dated ``when``, in a fixed order."""
    stamp = (max(when.year, 1980), when.month, when.day, 0, 0, 0)
    source = zipfile.ZipFile(io.BytesIO(package))
    names = sorted(source.namelist(), key=lambda n: (n != CONTENT_TYPES, n))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(name))
    return out.getvalue()


def render_docx(doc: Document, facts: Facts) -> bytes:
    """One document as .docx bytes: title, purpose, marking, sections, sources."""
    when = datetime.fromisoformat(str(facts["as_of"]))
    document = docx.Document()
    document.styles["Normal"].font.size = Pt(10)
    props = document.core_properties
    props.title = doc.title
    props.subject = f"harmrank governance pack, run of {facts['as_of']}"
    props.author = props.last_modified_by = "harmrank"
    props.keywords = str(facts["marking"])
    props.created = props.modified = when
    props.revision = 1
    marking = document.add_paragraph()
    marking.add_run(str(facts["marking"])).bold = True
    document.add_heading(doc.title, level=0)
    document.add_paragraph().add_run(doc.purpose).italic = True
    document.add_paragraph(
        f"Fields marked '{TO_COMPLETE}' can only be answered by a person; the rest is the run's own facts."
    )
    for section in doc.sections:
        document.add_heading(section.heading, level=1)
        for block in section.blocks:
            _block(document, block)
    if doc.sources:
        document.add_heading("Sources", level=1)
        for source in doc.sources:
            document.add_paragraph(source, style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    return _deterministic(buffer.getvalue(), when)
