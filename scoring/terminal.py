"""Text that comes from data or from a user, made safe to print in a terminal.

Rich reads square brackets as markup and a terminal obeys escape sequences, so a person id, a
reviewer's name, a column header, a path or a reason holding ``[red]``, ``[/]`` or
``\\x1b]8;;...`` (an OSC-8 link) could crash a command or change what the reader sees. Everything
that comes from data or from a user is printed through :func:`safe` (inside a string printed with
markup) or :func:`plain` (a table cell, never read as markup). Control and invisible formatting
characters are shown as escapes (``\\x1b``, ``\\u200b``), so that they are seen, not obeyed.
"""

from __future__ import annotations

import unicodedata

from rich.markup import escape
from rich.text import Text

_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # control, format (zero-width, BOM), unassigned


def invisible(ch: str) -> bool:
    """Whether ``ch`` is a control or invisible formatting character (line breaks and tabs are not)."""
    return ch not in "\n\t" and unicodedata.category(ch) in _INVISIBLE


def neutral(value: object) -> str:
    """``value`` as text, each control or invisible formatting character written as its escape
    (line breaks and tabs kept)."""
    out = []
    for ch in str(value):
        if invisible(ch):
            code = ord(ch)
            out.append(
                f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
            )
        else:
            out.append(ch)
    return "".join(out)


def one_line(value: object) -> str:
    """``value`` as text on one line: as :func:`neutral`, with line breaks, tabs and carriage
    returns written as escapes too (a log line cannot be made to look like two)."""
    return neutral(value).replace("\n", "\\n").replace("\t", "\\t")


def safe(value: object) -> str:
    """``value`` for a string printed with rich markup: escapes neutralised, brackets escaped."""
    return escape(neutral(value))


def plain(value: object) -> Text:
    """``value`` as a rich ``Text`` (never read as markup), escapes neutralised."""
    return Text(neutral(value))
