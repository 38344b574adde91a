"""Charts of the model report: lines over months, points with interval whiskers, reliability.

Drawn with :mod:`scoring.reports.charts.base`; each function returns one ``<svg>`` element.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scoring.reports.charts.base import (
    AXIS,
    CHAR_WIDTH,
    GRID,
    colour,
    legend_rows,
    marker,
    nice_ticks,
    num,
    svg,
    text,
    tick_label,
    title_text,
)


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


def _entries(series: Sequence[Series]) -> list[tuple[str, int, bool]]:
    return [(s.name, s.style, s.dashed) for s in series]


def _y_axis(box: Box, ticks: list[float], percent: bool, label: str) -> tuple[list[str], float, float]:
    """Horizontal grid lines and tick labels; returns them with the axis range (lo, hi)."""
    lo, hi = ticks[0], ticks[-1]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    out = []
    for t in ticks:
        y = box.bottom - (t - lo) / (hi - lo) * box.height
        out.append(f'<line x1="{num(box.left)}" y1="{num(y)}" x2="{num(box.right)}" y2="{num(y)}" {GRID}/>')
        out.append(text(box.left - 6, y + 4, tick_label(t, step, percent), anchor="end"))
    mid = box.top + box.height / 2
    out.append(text(14, mid, label, extra=f' transform="rotate(-90 14 {num(mid)})"'))
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
    legend, legend_height = legend_rows(_entries(series), width, box.bottom + 34, lines=True)
    height = box.bottom + 34 + legend_height
    ticks = nice_ticks(*_range(series, zero=True))
    body, lo, hi = _y_axis(box, ticks, percent, y_label)
    step = box.width / max(n, 1)
    xs = [box.left + step * (i + 0.5) for i in range(n)]
    every = max(1, math.ceil((max((len(t) for t in x_labels), default=1) * CHAR_WIDTH + 8) / step))
    for i, label in enumerate(x_labels):
        if i % every == 0:
            body.append(text(xs[i], box.bottom + 18, label))
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
    body.append(title_text(box.left, title))
    return svg(width, height, title, body + legend)


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
    legend, legend_height = legend_rows(_entries(series), width, box.bottom + 34, lines=False)
    height = box.bottom + 34 + legend_height
    ticks = nice_ticks(*_range(series, zero=True))
    body, lo, hi = _y_axis(box, ticks, percent, y_label)
    step = box.width / max(len(groups), 1)
    inner = step * 0.7 / max(len(series), 1)
    for g, label in enumerate(groups):
        centre = box.left + step * (g + 0.5)
        body.append(text(centre, box.bottom + 18, label))
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
    body.append(title_text(box.left, title))
    return svg(width, height, title, body + legend)


@dataclass(frozen=True)
class Curve:
    """A reliability curve: mean predicted probability and observed rate (with interval) per bin.

    ``dashed`` draws its line dashed (such as the finer bins within the top of the scores).
    """

    name: str
    predicted: tuple[float, ...]
    observed: tuple[float, ...]
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    style: int = 0
    dashed: bool = False


def reliability_diagram(
    curves: Sequence[Curve],
    *,
    title: str,
    size: float = 360,
    shade: tuple[float, float] | None = None,
    shade_label: str = "",
) -> str:
    """Observed rate against mean predicted probability per bin, with the diagonal of perfect calibration.

    Both axes run from 0 to the same round upper limit (at most 1) that holds every point and
    interval and the shaded range, so that the diagonal stays at 45 degrees when the
    probabilities are small. ``shade`` is a range of predicted probability drawn as a grey band
    (such as where the listed people sit), labelled ``shade_label``.
    """
    box = Box(64, 30, size, size)
    as_series = [Series(c.name, c.observed, style=c.style, dashed=c.dashed) for c in curves]
    width = box.right + 24
    legend, legend_height = legend_rows(_entries(as_series), width, box.bottom + 40, lines=True)
    height = box.bottom + 40 + legend_height
    shown = [v for c in curves for v in (*c.predicted, *c.observed, *c.hi) if math.isfinite(v)]
    shown += [v for v in shade or () if math.isfinite(v)]
    top = max(shown, default=1.0)
    ticks = [t for t in nice_ticks(0.0, min(max(top, 1e-3), 1.0)) if t <= 1.0 + 1e-12]
    body, lo, hi = _y_axis(box, ticks, True, "observed rate")
    if shade is not None and all(math.isfinite(v) for v in shade):
        x0, x1 = (_scale(v, lo, hi, box.left, box.width) for v in shade)
        body.insert(
            0,
            f'<rect x="{num(x0)}" y="{num(box.top)}" width="{num(max(x1 - x0, 2.0))}" '
            f'height="{num(box.height)}" fill="#EEEEEE"/>',
        )
        if shade_label:
            body.append(text((x0 + x1) / 2, box.top + 14, shade_label, size=11))
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    for t in ticks:
        x = _scale(t, lo, hi, box.left, box.width)
        body.append(f'<line x1="{num(x)}" y1="{num(box.top)}" x2="{num(x)}" y2="{num(box.bottom)}" {GRID}/>')
        body.append(text(x, box.bottom + 18, tick_label(t, step, True)))
    body.append(text(box.left + box.width / 2, box.bottom + 34, "mean predicted probability"))
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
            dash = ' stroke-dasharray="5,3"' if c.dashed else ""
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{colour(c.style)}" stroke-width="1.5"{dash}/>'
            )
        body += [marker(c.style, x, y, size=4) for x, y in points]
    body.append(title_text(box.left, title))
    return svg(width, height, title, body + legend)
