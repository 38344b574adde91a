"""Charts of the equality report: :func:`ratio_chart` (ratios against a reference group on a log
scale, with interval whiskers and the shaded tolerance band) and :func:`scatter` (the mitigation
trade-off). Drawn with :mod:`scoring.reports.charts.base`; markers are edged in white because
they overlap. Each function returns one ``<svg>`` element.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scoring.reports.charts.base import (
    CHAR_WIDTH,
    GRID,
    colour,
    legend_line,
    marker,
    nice_ticks,
    num,
    svg,
    text,
    title_text,
)

RATIO_TICKS = (0.05, 0.1, 0.2, 0.33, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0)
RATIO_LIMITS = (0.05, 20.0)


@dataclass(frozen=True)
class RatioSeries:
    """One metric's ratios, one entry per row of the chart (NaN: nothing drawn there)."""

    name: str
    values: tuple[float, ...]
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    style: int = 0


@dataclass(frozen=True)
class Point:
    """One point of a scatter plot; ``label`` is a short tag drawn beside it (such as its row number)."""

    label: str
    x: float
    y: float
    style: int = 0


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if math.isfinite(v) and v > 0]


def ratio_chart(
    labels: Sequence[str],
    series: Sequence[RatioSeries],
    *,
    title: str,
    notes: Sequence[str] = (),
    band: tuple[float, float] | None = (0.8, 1.25),
    width: float = 760,
) -> str:
    """Ratios against a reference (one row per label) on a log axis, with whiskers and a shaded band.

    Parameters
    ----------
    labels
        Row labels (groups or months), drawn on the left.
    series
        One per metric; each has one value, lower and upper bound per row (ratios, unitless).
    notes
        Optional text per row drawn in the plot instead of points (such as "reference group"
        or "suppressed (<10)"); empty strings mean "draw the points".
    band
        The tolerance band, shaded; parity (1) is always drawn as a solid line.
    """
    label_width = max([len(lab) for lab in labels] + [6]) * CHAR_WIDTH + 16
    row_height = 14 + 10 * len(series)
    left, top, right = label_width, 48, width - 24
    height = top + row_height * len(labels) + 36
    present = [v for s in series for part in (s.values, s.lo, s.hi) for v in _finite(part)]
    lo = min([*present, *(band or (1.0,)), 0.8])
    hi = max([*present, *(band or (1.0,)), 1.25])
    lo, hi = max(lo / 1.15, RATIO_LIMITS[0]), min(hi * 1.15, RATIO_LIMITS[1])
    span = math.log(hi) - math.log(lo)

    def xpos(v: float) -> float:
        v = min(max(v, lo), hi)
        return left + (math.log(v) - math.log(lo)) / span * (right - left)

    bottom = top + row_height * len(labels)
    body = [title_text(8, title)]
    body += legend_line([s.name for s in series], 8, 38)
    if band is not None:
        x0, x1 = xpos(band[0]), xpos(band[1])
        body.append(
            f'<rect x="{num(x0)}" y="{num(top)}" width="{num(x1 - x0)}" height="{num(bottom - top)}" '
            'fill="#E8F1F8" stroke="none"/>'
        )
    for t in _spaced_ticks(lo, hi, band, xpos):
        x = xpos(t)
        body.append(f'<line x1="{num(x)}" y1="{num(top)}" x2="{num(x)}" y2="{num(bottom)}" {GRID}/>')
        body.append(text(x, bottom + 16, f"{t:g}"))
    body.append(
        f'<line x1="{num(xpos(1.0))}" y1="{num(top)}" x2="{num(xpos(1.0))}" y2="{num(bottom)}" '
        'stroke="#333333" stroke-width="1.2"/>'
    )
    body.append(text((left + right) / 2, bottom + 32, "ratio to the reference group (log scale; 1 = parity)"))
    for row, label in enumerate(labels):
        y0 = top + row * row_height
        if row % 2:
            body.insert(
                1,
                f'<rect x="0" y="{num(y0)}" width="{num(width)}" height="{num(row_height)}" fill="#FAFAFA"/>',
            )
        body.append(text(left - 8, y0 + row_height / 2 + 4, label, anchor="end"))
        note = notes[row] if row < len(notes) else ""
        if note:  # beside parity, on whichever side has room for the whole note
            fits = xpos(1.0) + 8 + len(note) * CHAR_WIDTH <= width
            x, anchor = (xpos(1.0) + 8, "start") if fits else (xpos(1.0) - 8, "end")
            body.append(text(x, y0 + row_height / 2 + 4, note, anchor=anchor, extra=' fill="#555555"'))
            continue
        for i, s in enumerate(series):
            y = y0 + 12 + 10 * i
            if math.isfinite(s.lo[row]) and math.isfinite(s.hi[row]) and s.lo[row] > 0:
                a, b = num(xpos(s.lo[row])), num(xpos(s.hi[row]))
                up, mid, down = num(y - 3), num(y), num(y + 3)
                body.append(
                    f'<path d="M{a},{mid}L{b},{mid}M{a},{up}L{a},{down}M{b},{up}L{b},{down}" '
                    f'stroke="{colour(s.style)}" stroke-width="1.6" fill="none"/>'
                )
            if math.isfinite(s.values[row]) and s.values[row] > 0:
                body.append(marker(s.style, xpos(s.values[row]), y, outline=True))
    return svg(width, height, title, body)


def _spaced_ticks(lo: float, hi: float, band: tuple[float, float] | None, xpos: Any) -> list[float]:
    """Ticks in [lo, hi] at least 30 units apart: parity and the band's edges first, then the rest."""
    first = [1.0, *(band or ()), 0.5, 2.0]
    chosen: list[float] = []
    for t in [*first, *RATIO_TICKS]:
        if lo <= t <= hi and all(abs(xpos(t) - xpos(c)) >= 30 for c in chosen):
            chosen.append(t)
    return sorted(chosen)


def scatter(
    points: Sequence[Point],
    *,
    names: Sequence[str],
    title: str,
    x_label: str,
    y_label: str,
    width: float = 760,
    height: float = 340,
    x_percent: bool = False,
) -> str:
    """Points with a short tag each, both axes from zero; y is a share (drawn as percentages).

    ``names`` labels the styles in the legend (style i is ``names[i]``); ``x_percent`` draws x as
    percentages too (otherwise as plain numbers).
    """
    left, top, right, bottom = 64, 52, width - 24, height - 44
    xs, ys = [p.x for p in points if math.isfinite(p.x)], [p.y for p in points if math.isfinite(p.y)]
    xt, yt = (
        nice_ticks(0.0, max(xs, default=0.1) * 1.1 or 0.1),
        nice_ticks(0.0, max(ys, default=0.1) * 1.05 or 0.1),
    )

    def pos(x: float, y: float) -> tuple[float, float]:
        return (
            left + (x - xt[0]) / (xt[-1] - xt[0]) * (right - left),
            bottom - (y - yt[0]) / (yt[-1] - yt[0]) * (bottom - top),
        )

    body = [title_text(8, title)]
    body += legend_line(names, 8, 38)
    for t in yt:
        y = pos(0, t)[1]
        body.append(f'<line x1="{num(left)}" y1="{num(y)}" x2="{num(right)}" y2="{num(y)}" {GRID}/>')
        body.append(text(left - 6, y + 4, f"{t * 100:g}%", anchor="end"))
    for t in xt:
        x = pos(t, 0)[0]
        body.append(f'<line x1="{num(x)}" y1="{num(top)}" x2="{num(x)}" y2="{num(bottom)}" {GRID}/>')
        body.append(text(x, bottom + 16, f"{t * 100:g}%" if x_percent else f"{t:g}"))
    body.append(text((left + right) / 2, bottom + 34, x_label))
    mid = (top + bottom) / 2
    body.append(text(14, mid, y_label, extra=f' transform="rotate(-90 14 {num(mid)})"'))
    for p in points:
        if math.isfinite(p.x) and math.isfinite(p.y):
            x, y = pos(p.x, p.y)
            body += [
                marker(p.style, x, y, outline=True),
                text(x + 8, y - 6, p.label, anchor="start", size=11),
            ]
    return svg(width, height, title, body)
