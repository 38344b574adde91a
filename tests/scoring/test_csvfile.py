"""Reading a CSV so that no line is lost: properties over generated files."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scoring.csvfile as csvfile
from features.errors import RecordsError
from scoring.csvfile import line_census, read_csv_accounted

HEADER = ["id", "a", "b", "c"]
SAFE = st.text(alphabet="abcxyz019 -/.", min_size=1, max_size=8)  # needs no quoting
TEXT = st.text(alphabet='abcxyz019 -/.,"é☕', min_size=0, max_size=12)  # may need quoting
NOTE = st.text(alphabet='abcxyz019 -/.,"é☕\n', min_size=0, max_size=16).filter(
    lambda v: all(line.count(",") <= 1 for line in v.split("\n"))
)  # the last column may span lines; a line of it does not look like a row (see scoring.csvfile)
CORRUPTIONS = ("stray_quote", "raw_newline", "raw_delimiter", "latin1")
FILE = "table.csv"


def reference_census(data: bytes) -> tuple[int, list[int]]:
    """Lines and blank lines by a plain split on the line endings the readers use."""
    if not data:
        return 0, []
    parts = re.split(rb"\r\n|\r|\n", data)
    if parts[-1] == b"":  # the last line had an ending
        parts = parts[:-1]
    return len(parts), [i + 1 for i, p in enumerate(parts) if p == b""]


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(min_size=0, max_size=60).map(
        lambda b: bytes(b"a\r\n,x"[c % 5] for c in b)  # only line endings and a little text
    ),
    chunk=st.integers(1, 7),
)
def test_line_census_counts_lines_and_blank_lines_at_any_chunk_size(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, chunk: int
) -> None:
    path = tmp_path_factory.mktemp("census") / FILE
    path.write_bytes(data)
    original = csvfile.CHUNK
    csvfile.CHUNK = chunk
    try:
        found = line_census(path)
    finally:
        csvfile.CHUNK = original
    lines, blank = reference_census(data)
    assert found.lines == lines
    assert found.blank.tolist() == blank


def _line(row: list[str], corruption: str | None, field: int) -> bytes:
    """One row as written by a CSV writer, or with one corruption in field ``field`` (1..3)."""
    if corruption is None:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(row)  # quotes values holding a line break
        return out.getvalue()[:-1].encode()
    cells = [c.encode() for c in row]  # the corrupted rows hold SAFE values only: no quoting needed
    if corruption == "stray_quote":
        cells[field] = b'"' + cells[field]
    elif corruption == "raw_newline":
        cells[field] = cells[field][:1] + b"\n" + cells[field][1:]
    elif corruption == "raw_delimiter":
        cells[field] = cells[field][:1] + b"," + cells[field][1:]
    else:
        cells[field] = ("é" + row[field]).encode("latin-1")
    return b",".join(cells)


@st.composite
def files(draw: st.DrawFn, corrupt: bool) -> tuple[bytes, list[str], list[int]]:
    """A file of rows with unique ids; returns its bytes, the ids and the lines of stray quotes."""
    n = draw(st.integers(1, 25))
    ids = [f"R{i:03d}" for i in range(n)]
    broken = draw(st.sets(st.integers(0, n - 1), max_size=3)) if corrupt else set()
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    lines, strays, line_no = [",".join(HEADER).encode()], [], 1
    for i, row_id in enumerate(ids):
        kind = draw(st.sampled_from(CORRUPTIONS)) if i in broken else None
        values = [draw(SAFE) for _ in range(3)] if kind else [draw(TEXT), draw(TEXT), draw(NOTE)]
        field = draw(st.integers(1, 3))
        text = _line([row_id, *values], kind, field)
        line_no += 1
        if kind == "stray_quote":
            strays.append(line_no)
        lines.append(text)
        line_no += text.count(b"\n")
        if draw(st.booleans()) and draw(st.booleans()):  # now and then a blank line
            lines.append(b"")
            line_no += 1
    body = ending.join(lines) + (ending if draw(st.booleans()) else b"")
    return body, ids, strays


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(made=files(corrupt=True))
def test_no_row_disappears(tmp_path: Path, made: tuple[bytes, list[str], list[int]]) -> None:
    """Stray quotes, raw line breaks, extra delimiters, other encodings: every written row is in
    a row read (valid or to be quarantined), or the read stops naming a line with a stray quote."""
    data, ids, strays = made
    path = tmp_path / FILE
    path.write_bytes(data)
    try:
        table = read_csv_accounted(path, HEADER)
    except RecordsError as error:
        message = str(error)
        assert message.startswith(f"{path}: line ")
        line = int(re.search(r": line ([\d,]+):", message)[1].replace(",", ""))
        assert line in strays, (message, strays)
        return
    found = set(table.frame["id"])
    assert set(ids) <= found, sorted(set(ids) - found)
    assert len(table.lines) == len(table.frame) >= len(ids)
    assert np.all(np.diff(table.lines) > 0)  # rows in file order, each on its own line


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(made=files(corrupt=False))
def test_a_well_formed_file_is_read_whole(tmp_path: Path, made: tuple[bytes, list[str], list[int]]) -> None:
    """Whatever its values hold (commas, quotes, line breaks, any text), a file that a CSV writer
    wrote is read row for row, with nothing quarantined."""
    data, ids, _ = made
    path = tmp_path / FILE
    path.write_bytes(data)
    table = read_csv_accounted(path, HEADER)
    assert table.frame["id"].tolist() == ids
    assert not table.unreadable
    expected = list(csv.reader(io.StringIO(data.decode(), newline="")))[1:]
    expected = [r for r in expected if r]
    assert table.frame.values.tolist() == expected


def test_the_fast_reader_is_used_when_every_row_is_one_line(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / FILE
    path.write_bytes(b"id,a,b,c\nR1,x,y,z\n\nR2,1,2,3\n")
    monkeypatch.setattr(csvfile, "read_exact", lambda *a, **k: pytest.fail("the exact reader ran"))
    table = read_csv_accounted(path, HEADER)
    assert table.frame["id"].tolist() == ["R1", "R2"]
    assert table.lines.tolist() == [2, 4]


def test_a_header_that_spans_chunks_and_lone_carriage_returns(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(csvfile, "CHUNK", 3)
    path = tmp_path / FILE
    path.write_bytes(b"id,a,b,c\rR1,x,y,z\rR2,1,2,3")
    assert csvfile.read_header(path) == HEADER
    table = read_csv_accounted(path, HEADER)
    assert table.frame["id"].tolist() == ["R1", "R2"] and table.lines.tolist() == [2, 3]
