"""Small inline-SVG charts for the HTML reports: no plotting library, no script, no external file.

Each function returns one ``<svg>`` element as text, ready to be placed in a page (mark it safe
in Jinja2: every piece of text in it is escaped here). Output is deterministic: coordinates are
written with a fixed number of decimals and series keep the order they are given in.

Series are told apart by colour (the Okabe-Ito palette, safe for colour-blind readers) and by
marker shape, so the charts still read when printed in black and white.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#8C8C8C")
MARKERS = ("circle", "square", "triangle", "diamond", "down", "cross")
FONT = 12
CHAR_WIDTH = 6.6  # average width of a 12px sans-serif character, for laying out labels
GRID = 'stroke="#DDDDDD" stroke-width="1"'
AXIS = 'stroke="#333333" stroke-width="1"'


@dataclass(frozen=True)
class Series:
    """One named series of values, optionally with an interval per value.

    ``values``, ``lo`` and ``hi`` have one entry per x position (NaN: no value there);
    ``dashed`` draws its line dashed (for baselines); ``style`` picks colour and marker.
    """

    name: str
    values: tuple[float, ...]
    lo: tuple[float, ...] | None = None
    hi: tuple[float, ...] | None = None
    style: int = 0
    dashed: bool = False


@dataclass(frozen=True)
class Box:
    """The plotting area inside a chart, in SVG units."""

    left: float
    top: float
    width: float
    height: float

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def right(self) -> float:
        return self.left + self.width


def num(x: float) -> str:
    """A coordinate with one decimal, never ``-0.0``."""
    text = f"{x:.1f}"
    return "0.0" if text == "-0.0" else text


def colour(style: int) -> str:
    return PALETTE[style % len(PALETTE)]


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
    text = f"{value * scale:.{decimals}f}"
    text = "0" if float(text) == 0 else text
    return f"{text}%" if percent else text


def _text(x: float, y: float, content: str, anchor: str = "middle", size: int = FONT, extra: str = "") -> str:
    return (
        f'<text x="{num(x)}" y="{num(y)}" text-anchor="{anchor}" font-size="{size}"{extra}>'
        f"{escape(content)}</text>"
    )


def marker(style: int, x: float, y: float, size: float = 4.5) -> str:
    """The series' marker shape at (x, y), filled with its colour."""
    c, kind = colour(style), MARKERS[style % len(MARKERS)]
    fill = f'fill="{c}" stroke="{c}"'
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


def _legend(series: Sequence[Series], width: float, top: float, lines: bool) -> tuple[list[str], float]:
    """Legend items laid out in rows across ``width``; returns the elements and the height used."""
    out, x, y, row_height = [], 12.0, top + 10, 20.0
    for s in series:
        item = 34 + len(s.name) * CHAR_WIDTH + 18
        if x + item > width and x > 12:
            x, y = 12.0, y + row_height
        if lines:
            dash = ' stroke-dasharray="5,3"' if s.dashed else ""
            out.append(
                f'<line x1="{num(x)}" y1="{num(y)}" x2="{num(x + 26)}" y2="{num(y)}" '
                f'stroke="{colour(s.style)}" stroke-width="2"{dash}/>'
            )
        out.append(marker(s.style, x + 13, y))
        out.append(_text(x + 34, y + 4, s.name, anchor="start"))
        x += item
    return out, (y - top) + row_height


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    head = (
        f'<svg class="chart" viewBox="0 0 {num(width)} {num(height)}" '
        f'width="{num(width)}" height="{num(height)}" role="img" '
        f'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">'
    )
    return "\n".join([head, f"<title>{escape(title)}</title>", *body, "</svg>"])


def _y_axis(box: Box, ticks: list[float], percent: bool, label: str) -> tuple[list[str], float, float]:
    """Horizontal grid lines and tick labels; returns them with the axis range (lo, hi)."""
    lo, hi = ticks[0], ticks[-1]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    out = []
    for t in ticks:
        y = box.bottom - (t - lo) / (hi - lo) * box.height
        out.append(f'<line x1="{num(box.left)}" y1="{num(y)}" x2="{num(box.right)}" y2="{num(y)}" {GRID}/>')
        out.append(_text(box.left - 6, y + 4, tick_label(t, step, percent), anchor="end"))
    mid = box.top + box.height / 2
    out.append(_text(14, mid, label, extra=f' transform="rotate(-90 14 {num(mid)})"'))
    return out, lo, hi


def _scale(value: float, lo: float, hi: float, start: float, length: float) -> float:
    return start + (value - lo) / (hi - lo) * length


def _range(series: Sequence[Series], zero: bool) -> tuple[float, float]:
    values = [
        v for s in series for part in (s.values, s.lo or (), s.hi or ()) for v in part if math.isfinite(v)
    ]
    if not values:
        return 0.0, 1.0
    lo, hi = min(values), max(values)
    return (min(lo, 0.0) if zero else lo), (hi if hi > lo else lo + 1.0)


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    y_label: str,
    percent: bool = True,
    width: float = 760,
    plot_height: float = 240,
) -> str:
    """Lines with markers, one per series, over categorical x positions (such as months).

    Missing values (NaN) break a line. The y axis starts at zero; x labels are thinned so that
    they do not overlap.
    """
    n = len(x_labels)
    box = Box(64, 30, width - 64 - 20, plot_height)
    legend, legend_height = _legend(series, width, box.bottom + 34, lines=True)
    height = box.bottom + 34 + legend_height
    ticks = nice_ticks(*_range(series, zero=True))
    body, lo, hi = _y_axis(box, ticks, percent, y_label)
    step = box.width / max(n, 1)
    xs = [box.left + step * (i + 0.5) for i in range(n)]
    every = max(1, math.ceil((max((len(t) for t in x_labels), default=1) * CHAR_WIDTH + 8) / step))
    for i, label in enumerate(x_labels):
        if i % every == 0:
            body.append(_text(xs[i], box.bottom + 18, label))
    body.append(
        f'<line x1="{num(box.left)}" y1="{num(box.bottom)}" x2="{num(box.right)}" '
        f'y2="{num(box.bottom)}" {AXIS}/>'
    )
    for s in series:
        points = [
            (x, _scale(v, lo, hi, box.bottom, -box.height)) if math.isfinite(v) else None
            for x, v in zip(xs, s.values, strict=True)
        ]
        dash = ' stroke-dasharray="5,3"' if s.dashed else ""
        segment: list[tuple[float, float]] = []
        for p in [*points, None]:
            if p is not None:
                segment.append(p)
                continue
            if len(segment) > 1:
                path = " ".join(f"{num(a)},{num(b)}" for a, b in segment)
                body.append(
                    f'<polyline points="{path}" fill="none" stroke="{colour(s.style)}" '
                    f'stroke-width="2"{dash}/>'
                )
            segment = []
        body += [marker(s.style, x, y) for x, y in (p for p in points if p is not None)]
    body.append(_text(box.left, 18, title, anchor="start", size=13, extra=' font-weight="600"'))
    return _svg(width, height, title, body + legend)


def _whisker(x: float, y_lo: float, y_hi: float, style: int, cap: float = 4.0) -> str:
    c = colour(style)
    return (
        f'<path d="M{num(x)},{num(y_lo)}L{num(x)},{num(y_hi)}M{num(x - cap)},{num(y_lo)}L{num(x + cap)},'
        f'{num(y_lo)}M{num(x - cap)},{num(y_hi)}L{num(x + cap)},{num(y_hi)}" stroke="{c}" '
        'stroke-width="1.6" fill="none"/>'
    )


def interval_chart(
    groups: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    y_label: str,
    percent: bool = True,
    width: float = 760,
    plot_height: float = 240,
) -> str:
    """Points with interval whiskers: one cluster per group (such as list size k), one point per series.

    A series' ``lo`` and ``hi`` (when given and finite) draw a vertical whisker with caps.
    """
    box = Box(64, 30, width - 64 - 20, plot_height)
    legend, legend_height = _legend(series, width, box.bottom + 34, lines=False)
    height = box.bottom + 34 + legend_height
    ticks = nice_ticks(*_range(series, zero=True))
    body, lo, hi = _y_axis(box, ticks, percent, y_label)
    step = box.width / max(len(groups), 1)
    inner = step * 0.7 / max(len(series), 1)
    for g, label in enumerate(groups):
        centre = box.left + step * (g + 0.5)
        body.append(_text(centre, box.bottom + 18, label))
        for i, s in enumerate(series):
            x = centre - step * 0.35 + inner * (i + 0.5)
            v = s.values[g]
            if s.lo is not None and s.hi is not None and math.isfinite(s.lo[g]) and math.isfinite(s.hi[g]):
                y_lo, y_hi = (_scale(b, lo, hi, box.bottom, -box.height) for b in (s.lo[g], s.hi[g]))
                body.append(_whisker(x, y_lo, y_hi, s.style))
            if math.isfinite(v):
                body.append(marker(s.style, x, _scale(v, lo, hi, box.bottom, -box.height)))
    body.append(
        f'<line x1="{num(box.left)}" y1="{num(box.bottom)}" x2="{num(box.right)}" '
        f'y2="{num(box.bottom)}" {AXIS}/>'
    )
    body.append(_text(box.left, 18, title, anchor="start", size=13, extra=' font-weight="600"'))
    return _svg(width, height, title, body + legend)


@dataclass(frozen=True)
class Curve:
    """A reliability curve: mean predicted probability and observed rate (with interval) per bin."""

    name: str
    predicted: tuple[float, ...]
    observed: tuple[float, ...]
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    style: int = 0


def reliability_diagram(curves: Sequence[Curve], *, title: str, size: float = 360) -> str:
    """Observed rate against mean predicted probability per bin, with the diagonal of perfect calibration.

    Both axes run from 0 to the same round upper limit (at most 1) that holds every point and
    interval, so that the diagonal stays at 45 degrees when the probabilities are small.
    """
    box = Box(64, 30, size, size)
    as_series = [Series(c.name, c.observed, style=c.style) for c in curves]
    width = box.right + 24
    legend, legend_height = _legend(as_series, width, box.bottom + 40, lines=True)
    height = box.bottom + 40 + legend_height
    top = max(
        [v for c in curves for v in (*c.predicted, *c.observed, *c.hi) if math.isfinite(v)], default=1.0
    )
    ticks = [t for t in nice_ticks(0.0, min(max(top, 1e-3), 1.0)) if t <= 1.0 + 1e-12]
    body, lo, hi = _y_axis(box, ticks, True, "observed rate")
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    for t in ticks:
        x = _scale(t, lo, hi, box.left, box.width)
        body.append(f'<line x1="{num(x)}" y1="{num(box.top)}" x2="{num(x)}" y2="{num(box.bottom)}" {GRID}/>')
        body.append(_text(x, box.bottom + 18, tick_label(t, step, True)))
    body.append(_text(box.left + box.width / 2, box.bottom + 34, "mean predicted probability"))
    body.append(
        f'<line x1="{num(box.left)}" y1="{num(box.bottom)}" x2="{num(box.right)}" y2="{num(box.top)}" '
        'stroke="#8C8C8C" stroke-width="1.2" stroke-dasharray="4,4"/>'
    )

    def xy(p: float, o: float) -> tuple[float, float]:
        return _scale(p, lo, hi, box.left, box.width), _scale(o, lo, hi, box.bottom, -box.height)

    for c in curves:
        points = [xy(p, o) for p, o in zip(c.predicted, c.observed, strict=True)]
        for (x, _), b_lo, b_hi in zip(points, c.lo, c.hi, strict=True):
            body.append(_whisker(x, xy(0, b_lo)[1], xy(0, min(b_hi, hi))[1], c.style, cap=3))
        if len(points) > 1:
            path = " ".join(f"{num(a)},{num(b)}" for a, b in points)
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{colour(c.style)}" stroke-width="1.5"/>'
            )
        body += [marker(c.style, x, y, size=4) for x, y in points]
    body.append(_text(box.left, 18, title, anchor="start", size=13, extra=' font-weight="600"'))
    return _svg(width, height, title, body + legend)
