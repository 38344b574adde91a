"""What every harmrank chart is drawn with: palette, markers, text, ticks, legends and the frame.

No plotting library, no script, no external file: each chart is one ``<svg>`` element as text,
ready to be placed in a page (mark it safe in Jinja2: every piece of text is escaped here).
Output is deterministic: coordinates are written with one decimal and series keep the order they
are given in. Series are told apart by colour (the Okabe-Ito palette, safe for colour-blind
readers) and by marker shape, so the charts still read when printed in black and white.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#8C8C8C")
MARKERS = ("circle", "square", "triangle", "diamond", "down", "cross")
FONT = 12
CHAR_WIDTH = 6.6  # average width of a 12px sans-serif character, for laying out labels
FAMILY = "system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"
GRID = 'stroke="#DDDDDD" stroke-width="1"'
AXIS = 'stroke="#333333" stroke-width="1"'
OUTLINE = 'stroke="#FFFFFF" stroke-width="0.8"'
"""A thin white edge around a marker, so that markers drawn over each other stay apart."""


def num(x: float) -> str:
    """A coordinate with one decimal, never ``-0.0``."""
    text = f"{x:.1f}"
    return "0.0" if text == "-0.0" else text


def colour(style: int) -> str:
    return PALETTE[style % len(PALETTE)]


def text(x: float, y: float, content: str, anchor: str = "middle", size: int = FONT, extra: str = "") -> str:
    """A ``<text>`` element at (x, y); ``content`` is escaped."""
    return (
        f'<text x="{num(x)}" y="{num(y)}" text-anchor="{anchor}" font-size="{size}"{extra}>'
        f"{escape(content)}</text>"
    )


def title_text(x: float, title: str) -> str:
    """A chart's title in its top-left corner."""
    return text(x, 18, title, anchor="start", size=13, extra=' font-weight="600"')


def marker(style: int, x: float, y: float, size: float = 4.5, *, outline: bool = False) -> str:
    """The series' marker shape at (x, y), filled with its colour; ``outline`` edges it in white."""
    c, kind = colour(style), MARKERS[style % len(MARKERS)]
    stroke = OUTLINE if outline else f'stroke="{c}"'
    fill = f'fill="{c}" {stroke}'
    if kind == "circle":
        return f'<circle cx="{num(x)}" cy="{num(y)}" r="{num(size)}" {fill}/>'
    if kind == "square":
        s = size * 0.9
        return f'<rect x="{num(x - s)}" y="{num(y - s)}" width="{num(2 * s)}" height="{num(2 * s)}" {fill}/>'
    if kind == "cross":
        left, right, up, down = num(x - size), num(x + size), num(y - size), num(y + size)
        path = f"M{left},{up}L{right},{down}M{left},{down}L{right},{up}"
        return f'<path d="{path}" stroke="{c}" stroke-width="2.2" fill="none"/>'
    s = size * 1.2
    points = {
        "triangle": [(x, y - s), (x + s, y + s * 0.8), (x - s, y + s * 0.8)],
        "down": [(x, y + s), (x + s, y - s * 0.8), (x - s, y - s * 0.8)],
        "diamond": [(x, y - s), (x + s, y), (x, y + s), (x - s, y)],
    }[kind]
    return f'<polygon points="{" ".join(f"{num(a)},{num(b)}" for a, b in points)}" {fill}/>'


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi], about ``count`` of them (1, 2, 2.5 or 5 times a power of 10)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        hi = lo + 1.0 if math.isfinite(lo) else 1.0
        lo = hi - 1.0
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step + 1e-9)
    last = max(math.ceil(hi / step - 1e-9), first + 1)
    return [round(i * step, 12) for i in range(first, last + 1)]


def tick_label(value: float, step: float, percent: bool) -> str:
    """A tick's text with just enough decimals for its step."""
    scale = 100.0 if percent else 1.0
    decimals = max(0, -math.floor(math.log10(step * scale) + 1e-9)) if step > 0 else 0
    decimals += 1 if round(step * scale / 10**-decimals, 6) % 1 else 0  # 2.5 steps need one more
    value_text = f"{value * scale:.{decimals}f}"
    value_text = "0" if float(value_text) == 0 else value_text
    return f"{value_text}%" if percent else value_text


def legend_rows(
    entries: Sequence[tuple[str, int, bool]], width: float, top: float, lines: bool
) -> tuple[list[str], float]:
    """A legend below a plot: (name, style, dashed) entries laid out in rows across ``width``.

    ``lines`` draws each entry's line (dashed where asked) behind its marker. Returns the
    elements and the height used.
    """
    out, x, y, row_height = [], 12.0, top + 10, 20.0
    for name, style, dashed in entries:
        item = 34 + len(name) * CHAR_WIDTH + 18
        if x + item > width and x > 12:
            x, y = 12.0, y + row_height
        if lines:
            dash = ' stroke-dasharray="5,3"' if dashed else ""
            out.append(
                f'<line x1="{num(x)}" y1="{num(y)}" x2="{num(x + 26)}" y2="{num(y)}" '
                f'stroke="{colour(style)}" stroke-width="2"{dash}/>'
            )
        out.append(marker(style, x + 13, y))
        out.append(text(x + 34, y + 4, name, anchor="start"))
        x += item
    return out, (y - top) + row_height


def legend_line(names: Sequence[str], x: float, y: float) -> list[str]:
    """A one-line legend above a plot: style i is ``names[i]``, markers edged as in the plot."""
    out = []
    for style, name in enumerate(names):
        out += [marker(style, x + 6, y - 4, outline=True), text(x + 16, y, name, anchor="start")]
        x += 16 + len(name) * CHAR_WIDTH + 24
    return out


def svg(width: float, height: float, title: str, body: list[str]) -> str:
    """The ``<svg>`` element around ``body``, with ``title`` for screen readers."""
    head = (
        f'<svg class="chart" viewBox="0 0 {num(width)} {num(height)}" '
        f'width="{num(width)}" height="{num(height)}" role="img" font-family="{FAMILY}">'
    )
    return "\n".join([head, f"<title>{escape(title)}</title>", *body, "</svg>"])
