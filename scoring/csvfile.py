"""Reading one CSV table so that every line of the file is accounted for.

A line of a records file ends up in exactly one of three places: in a row (which validation then
keeps or quarantines), in the quarantine as a row that could not be read (too many or too few
fields, text that is not UTF-8), or in an error that stops the run and names the file, the line
and the cause. Nothing is absorbed silently.

Two readers give the same rows. The fast one is Arrow's multi-threaded CSV reader; its result is
accepted only when the rows it returned account for every non-blank line of the file (the file
is counted separately, in chunks). That holds for any file in which each row is one line. A file
with a value that spans lines, a row of the wrong width or a byte that is not UTF-8 is read again
by the exact reader (Python's ``csv`` module, line by line), which knows where each row starts
and ends. A value that spans lines is kept as one row when it is a quoted multi-line value; when
the lines it swallowed look like rows of the file (at least as many commas as a row has), it
is a stray quote, and the run stops naming the line where the quote opens and the lines
it would absorb.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv

from features.errors import RecordsError
from features.records.schema import UNREADABLE

log = logging.getLogger(__name__)

CHUNK = 1 << 25
"""Bytes read at a time when counting lines (32 MiB)."""
_READ_ERRORS = (pa.ArrowException, OSError, ValueError, EOFError)
WRONG_WIDTH, NOT_UTF8 = UNREADABLE  # the reasons of rows that cannot be read as they stand
_LINE_END = re.compile(r"\r\n|\r|\n")  # the line endings of the csv module and of Arrow


@dataclass(frozen=True)
class Census:
    """The physical lines of a file: how many, and which are blank (1-based)."""

    lines: int
    blank: np.ndarray

    @property
    def data_lines(self) -> int:
        """Non-blank lines after the header."""
        return max(self.lines - 1 - int((self.blank > 1).sum()), 0)


@dataclass(frozen=True)
class CsvTable:
    """One CSV table as read.

    Attributes
    ----------
    frame
        Every column as text (empty cells ``""``), under the header's names.
    lines
        The physical line (1-based; the header is line 1) on which each row starts.
    unreadable
        Rows that could not be read as they stand, by reason (see
        :data:`features.records.schema.UNREADABLE`), with the values of the reason's text,
        indexed by row position. Such a row is still in ``frame`` (padded or cut to the
        header's width, undecodable bytes replaced) so that the quarantine shows what the file
        holds.
    """

    frame: pd.DataFrame
    lines: np.ndarray
    unreadable: dict[str, pd.DataFrame] = field(default_factory=dict)


def _open(path: Path) -> io.BufferedIOBase:
    if path.name.lower().endswith(".gz"):
        return gzip.GzipFile(path, "rb")
    return open(path, "rb")


def _chunks(path: Path) -> Iterator[bytes]:
    with _open(path) as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def read_header(path: Path) -> list[str]:
    """The names in the first line of ``path`` (UTF-8, a byte-order mark dropped).

    Raises ``UnicodeDecodeError`` when the line is not UTF-8 text.
    """
    first = b""
    for chunk in _chunks(path):
        first += chunk
        end = re.search(rb"[\r\n]", first)
        if end:
            first = first[: end.start()]
            break
    return next(csv.reader([first.decode("utf-8-sig")]), [])


def line_census(path: Path) -> Census:
    """Count the physical lines of a file and find the blank ones, reading it in chunks.

    A line ends at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (as the CSV readers see it); a last
    line without an ending still counts. A blank line holds nothing at all.
    """
    ends = 0  # line endings so far
    line_start = 0  # global offset where the current line starts
    offset = 0  # global offset of the bytes being looked at
    blank: list[np.ndarray] = []
    pending = b""  # a "\\r" that ends a chunk: the next byte says whether it is part of "\\r\\n"

    def look(data: bytes) -> None:
        nonlocal ends, line_start
        if b"\r" not in data and b"\n\n" not in data and not (line_start == offset and data[:1] == b"\n"):
            found = data.count(b"\n")  # the usual file: "\n" endings, no blank line; 10x faster
            if found:
                ends += found
                line_start = offset + data.rindex(b"\n") + 1
            return
        buf = np.frombuffer(data, dtype=np.uint8)
        lf, cr = buf == 10, buf == 13
        cr_alone = cr.copy()
        cr_alone[:-1] &= ~lf[1:]
        at = np.flatnonzero(lf | cr_alone)
        if not at.size:
            return
        crlf = np.zeros(at.size, dtype=bool)
        inside = at > 0
        crlf[inside] = lf[at[inside]] & cr[at[inside] - 1]
        glob = at + offset
        starts = np.r_[line_start, glob[:-1] + 1]
        empty = np.flatnonzero(glob - starts - crlf <= 0)
        if empty.size:
            blank.append(ends + empty + 1)
        ends += at.size
        line_start = int(glob[-1]) + 1

    for chunk in _chunks(path):
        data = pending + chunk
        data, pending = (data[:-1], b"\r") if data.endswith(b"\r") else (data, b"")
        look(data)
        offset += len(data)
    look(pending)
    offset += len(pending)
    lines = ends + (1 if line_start < offset else 0)
    found = np.concatenate(blank) if blank else np.zeros(0, dtype=np.int64)
    return Census(lines, found.astype(np.int64))


def _data_lines(census: Census) -> np.ndarray:
    """The non-blank lines after the header: where each row starts when every row is one line."""
    every = np.arange(2, census.lines + 1, dtype=np.int64)
    return np.setdiff1d(every, census.blank, assume_unique=True) if census.blank.size else every


def read_arrow(path: Path, header: list[str]) -> pd.DataFrame:
    """Arrow's CSV reader: every column as text, empty cells as ``""``, blank lines skipped."""
    table = pcsv.read_csv(
        path,
        read_options=pcsv.ReadOptions(column_names=header, skip_rows=1),
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    return table.to_pandas()


def read_csv_accounted(path: Path, header: list[str]) -> CsvTable:
    """Read ``path`` (a header row, then data rows) so that every line is accounted for.

    Raises
    ------
    RecordsError
        A quote opens a value that swallows lines that look like rows, or never closes; the
        message names the file, the line and how many lines would be absorbed.
    """
    census = line_census(path)
    try:
        frame = read_arrow(path, header)
    except _READ_ERRORS as error:
        log.info("%s: the fast reader stopped (%s); reading line by line", path, error)
    else:
        if len(frame) == census.data_lines:
            return CsvTable(frame, _data_lines(census))
        log.info(
            "%s: %d rows from %d data lines (values spanning lines); reading line by line",
            path,
            len(frame),
            census.data_lines,
        )
    return read_exact(path, header, census)


def _decoded(path: Path) -> str:
    raw = b"".join(_chunks(path))
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    return raw.decode("utf-8", errors="surrogateescape")


def _bad_byte(value: str) -> str | None:
    """The first byte of ``value`` that is not UTF-8 (decoded with surrogateescape), as 0xNN."""
    for ch in value:
        if "\udc80" <= ch <= "\udcff":
            return f"0x{ord(ch) - 0xDC00:02X}"
    return None


def _shown(value: str) -> str:
    return value.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")


def _looks_like_a_row(line: str, width: int) -> bool:
    """Whether a line holds at least as many commas as a row of ``width`` fields (quotes aside)."""
    return line.count(",") >= width - 1


def read_exact(path: Path, header: list[str], census: Census | None = None) -> CsvTable:
    """Read ``path`` line by line with Python's ``csv`` module, knowing each row's lines.

    Rows of the wrong width and rows with bytes that are not UTF-8 are kept for the quarantine
    (see :class:`CsvTable`); a value that absorbs lines looking like rows stops the read.
    """
    census = census or line_census(path)
    text = _decoded(path)
    width = len(header)
    source = io.StringIO(text, newline="")
    reader = csv.reader(source)
    rows: list[list[str]] = []
    starts: list[int] = []
    wrong_width: dict[int, dict[str, object]] = {}
    not_utf8: dict[int, dict[str, object]] = {}
    physical: list[str] | None = None
    previous = 0
    for number, record in enumerate(reader):
        first, last = previous + 1, reader.line_num
        previous = last
        if number == 0 or not record:  # the header; a blank line
            continue
        if last > first and width > 1:
            if physical is None:
                physical = _LINE_END.split(text)
            swallowed = [i for i in range(first + 1, last + 1) if _looks_like_a_row(physical[i - 1], width)]
            opened = last == census.lines and "".join(physical[first - 1 : last]).count('"') % 2 == 1
            if swallowed or opened:
                raise RecordsError(_absorbed(path, first, last, swallowed, census.lines, opened))
        position = len(rows)
        if len(record) != width:
            wrong_width[position] = {"line": f"{first:,}", "fields": len(record), "width": width}
            record = (record + [""] * width)[:width]
        bad = next((b for b in map(_bad_byte, record) if b), None)
        if bad:
            column = next(header[i] for i, v in enumerate(record) if _bad_byte(v))
            not_utf8[position] = {"line": f"{first:,}", "column": column, "byte": bad}
            record = [_shown(v) for v in record]
        rows.append(record)
        starts.append(first)
    frame = pd.DataFrame(rows, columns=header, dtype="str") if rows else _empty(header)
    unreadable = {
        reason: pd.DataFrame.from_dict(found, orient="index")
        for reason, found in ((WRONG_WIDTH, wrong_width), (NOT_UTF8, not_utf8))
        if found
    }
    return CsvTable(frame, np.asarray(starts, dtype=np.int64), unreadable)


def _empty(header: list[str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series([], dtype="str") for name in header})


def _absorbed(path: Path, first: int, last: int, swallowed: list[int], lines: int, opened: bool) -> str:
    n = last - first
    lines_word = f"{n:,} line{'s' if n != 1 else ''}"
    if opened:
        cause = (
            f"a field opens a quote that is never closed; {lines_word} (to the end of the file) "
            "would be absorbed"
        )
    else:
        cause = (
            f"a field opens a quote that closes only on line {last:,}, so {lines_word} would be "
            f"absorbed into one value, {len(swallowed):,} of them shaped like rows of their own "
            f"(first: line {swallowed[0]:,})"
        )
    return (
        f'{path}: line {first:,}: {cause}. A quote (") may only start a value that is quoted as a whole; '
        'remove the stray quote, or double it ("") inside a quoted value. The file has '
        f"{lines:,} lines; nothing was read from it."
    )
