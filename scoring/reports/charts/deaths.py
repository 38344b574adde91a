"""Charts of the deaths report: a series' map (offline SVG, no map tiles) and its timeline.

The map draws every studied report of the period as a small grey dot, which outlines the force
area and where deaths are reported, then the series' deaths as numbered markers (numbered in the
order they were found) joined by the alerts that link them, with a scale bar. Coordinates are
metres (British National Grid, or the local plane of the records' latitudes and longitudes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from scoring.reports.charts.base import AXIS, GRID, colour, num, svg, text, title_text

DOT = "#B0B0B0"


@dataclass(frozen=True)
class Point:
    """A death on a map or timeline: its number on the page, where and when it was found."""

    number: int
    x: float
    y: float
    found: date


def _numbered(x: float, y: float, number: int) -> list[str]:
    """A filled circle with the death's number in it."""
    circle = f'cx="{num(x)}" cy="{num(y)}" r="9" fill="{colour(0)}"'
    return [
        f'<circle {circle} stroke="#FFFFFF" stroke-width="1.2"/>',
        text(x, y + 4, str(number), size=11, extra=' fill="#FFFFFF" font-weight="600"'),
    ]


def _free_spot(
    x: float, y: float, placed: list[tuple[float, float]], gap: float = 20.0
) -> tuple[float, float]:
    """(x, y), or the first spot on rings around it that keeps ``gap`` from every placed marker."""
    for ring in range(0, 6):
        for step in range(max(1, 6 * ring)):
            angle = 2 * math.pi * step / max(1, 6 * ring) - math.pi / 2
            spot = (x + ring * 24 * math.cos(angle), y + ring * 24 * math.sin(angle))
            if all(math.hypot(spot[0] - a, spot[1] - b) >= gap for a, b in placed):
                return spot
    return x, y


def _nice_length(span_m: float) -> float:
    target = span_m / 4
    power = 10 ** math.floor(math.log10(max(target, 1.0)))
    return max(m * power for m in (1, 2, 5) if m * power <= target) if target >= 1 else 1.0


def _distance_text(metres: float) -> str:
    return f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"


def series_map(
    points: Sequence[Point],
    links: Sequence[tuple[int, int]],
    context: Sequence[tuple[float, float]],
    *,
    title: str,
    min_span_m: float = 1_000.0,
    width: float = 520,
    height: float = 420,
) -> str:
    """A map of ``points`` (numbered markers), ``links`` between their numbers, and ``context`` dots.

    The view is the points' extent, padded, at least ``min_span_m`` across; context dots outside it
    are left out. The scale bar and the north arrow make distances readable on paper.
    """
    xs, ys = [p.x for p in points], [p.y for p in points]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    box_w, box_h = width - 40, height - 70
    span = max(max(xs) - min(xs), (max(ys) - min(ys)) * box_w / box_h, min_span_m) * 1.25
    scale = box_w / span
    left, top = 20.0, 36.0

    def at(x: float, y: float) -> tuple[float, float]:
        return left + box_w / 2 + (x - cx) * scale, top + box_h / 2 - (y - cy) * scale

    frame = f'x="{num(left)}" y="{num(top)}" width="{num(box_w)}" height="{num(box_h)}"'
    body = [f'<rect {frame} fill="#FAFAFA" {GRID}/>']
    for x, y in context:
        px, py = at(x, y)
        if left <= px <= left + box_w and top <= py <= top + box_h:
            body.append(f'<circle cx="{num(px)}" cy="{num(py)}" r="1.6" fill="{DOT}"/>')
    where = {p.number: at(p.x, p.y) for p in points}
    for a, b in links:
        (x1, y1), (x2, y2) = where[a], where[b]
        body.append(
            f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}" stroke="{colour(1)}" '
            'stroke-width="1.5" stroke-dasharray="4,3"/>'
        )
    placed: list[tuple[float, float]] = []
    for p in points:
        px, py = where[p.number]
        mx, my = _free_spot(px, py, placed)
        if (mx, my) != (px, py):  # moved off a marker it would hide: a leader to where it was found
            body.append(f'<circle cx="{num(px)}" cy="{num(py)}" r="2.5" fill="#333333"/>')
            body.append(
                f'<line x1="{num(px)}" y1="{num(py)}" x2="{num(mx)}" y2="{num(my)}" stroke="#333333"/>'
            )
        placed.append((mx, my))
        body += _numbered(mx, my, p.number)
    bar = _nice_length(span)
    y_bar = top + box_h + 20
    body += [
        f'<line x1="{num(left)}" y1="{num(y_bar)}" x2="{num(left + bar * scale)}" y2="{num(y_bar)}" '
        'stroke="#333333" stroke-width="3"/>',
        text(left + bar * scale + 8, y_bar + 4, _distance_text(bar), anchor="start"),
        text(left + box_w - 12, top + 18, "N", extra=' font-weight="600"'),
        f'<path d="M{num(left + box_w - 12)},{num(top + 22)}l-5,10h10z" fill="#333333"/>',
        text(
            left + box_w,
            y_bar + 4,
            "grey dots: other studied reports",
            anchor="end",
            size=11,
            extra=' fill="#555555"',
        ),
        title_text(left, title),
    ]
    return svg(width, height, title, body)


def series_timeline(points: Sequence[Point], *, title: str, width: float = 760) -> str:
    """The series' deaths on a time axis, numbered as on the map, with each date."""
    first, last = min(p.found for p in points), max(p.found for p in points)
    days = max((last - first).days, 1)
    left, right, axis_y = 40.0, width - 40.0, 90.0
    scale = (right - left) / days
    body = [f'<line x1="{num(left)}" y1="{num(axis_y)}" x2="{num(right)}" y2="{num(axis_y)}" {AXIS}/>']
    placed: list[float] = []
    for p in sorted(points, key=lambda q: (q.found, q.number)):
        x = left + (p.found - first).days * scale
        row = sum(1 for other in placed if abs(other - x) < 70)  # labels that would touch: a line lower
        stack = sum(1 for other in placed if abs(other - x) < 20)  # markers that would hide: one higher
        placed.append(x)
        if stack:
            top = axis_y - 22 * stack
            body.append(f'<line x1="{num(x)}" y1="{num(axis_y)}" x2="{num(x)}" y2="{num(top)}" {AXIS}/>')
        body += _numbered(x, axis_y - 22 * stack, p.number)
        body.append(text(x, axis_y + 26 + 14 * row, p.found.isoformat(), size=11))
    body.append(
        text(right, axis_y - 16, f"{(last - first).days} days from first to last", anchor="end", size=11)
    )
    body.append(title_text(left, title))
    return svg(width, 160, title, body)
