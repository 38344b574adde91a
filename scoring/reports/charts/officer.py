"""Inline-SVG charts for the officer pages: a waterfall of reasons, a timeline of records, a rank line.

Drawn with :mod:`scoring.reports.charts.base` (same palette, markers, fonts and number
formatting), so the output is deterministic and every piece of text is escaped. Each function
returns one ``<svg>`` element. Colour is never the only cue: bars carry signed values, timeline
lanes are named and use distinct marker shapes, so the charts read in black and white.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from scoring.reports.charts.base import (
    AXIS,
    CHAR_WIDTH,
    GRID,
    colour,
    marker,
    nice_ticks,
    num,
    svg,
    text,
    tick_label,
    title_text,
)

RAISES = "#D55E00"
LOWERS = "#0072B2"
OTHER = "#8C8C8C"
HALO = ' stroke="#FFFFFF" stroke-width="3" paint-order="stroke"'
"""A white outline behind label text, so that lines under it do not cross the letters."""
WIDTH = 640  # printed 100% wide on A4 (718 px), the smallest chart text (11) prints at 9.3 pt


@dataclass(frozen=True)
class Step:
    """One bar of a waterfall: a label and a signed contribution (raw-score units)."""

    label: str
    value: float
    other: bool = False


def _clip(label: str, chars: int) -> str:
    return label if len(label) <= chars else label[: max(chars - 1, 1)].rstrip() + "…"


def signed(value: float, decimals: int = 3) -> str:
    """``+0.412`` or ``−0.093`` (a true minus sign); zero has no sign."""
    digits = f"{abs(value):.{decimals}f}"
    if float(digits) == 0:
        return digits
    return f"+{digits}" if value > 0 else f"−{digits}"


def _x_axis(ticks: list[float], scale, top: float, bottom: float, label: str, mid: float) -> list[str]:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    out = []
    for t in ticks:
        x = scale(t)
        out.append(f'<line x1="{num(x)}" y1="{num(top)}" x2="{num(x)}" y2="{num(bottom)}" {GRID}/>')
        out.append(text(x, bottom + 16, tick_label(t, step, False)))
    out.append(
        f'<line x1="{num(scale(ticks[0]))}" y1="{num(bottom)}" x2="{num(scale(ticks[-1]))}" '
        f'y2="{num(bottom)}" {AXIS}/>'
    )
    out.append(text(mid, bottom + 34, label))
    return out


def waterfall_chart(
    steps: Sequence[Step],
    base: float,
    *,
    title: str,
    axis_label: str,
    width: float = WIDTH,
    label_width: float = 0.0,
) -> str:
    """From the base value, each contribution in turn, to the final raw score.

    Rows run top to bottom: the base value, one bar per step (starting where the previous one
    ended; raising bars in vermilion, lowering ones in blue, a grey bar for the remaining features)
    and the final score, with each row's signed value at the right. With ``label_width`` 0 each
    row's label sits above its bar; otherwise labels take a column of that width at the left and
    each row is one line (for short labels, such as the reason families).
    """
    beside = label_width > 0
    row, top, left, right = (21.0 if beside else 38.0), 34.0, 16.0, width - 86.0
    bars_left = left + label_width
    totals = [base]
    for s in steps:
        totals.append(totals[-1] + s.value)
    final = totals[-1]
    ticks = nice_ticks(min(totals), max(totals), count=5 if beside else 6)
    lo, hi = ticks[0], ticks[-1]

    def x(v: float) -> float:
        return bars_left + (v - lo) / (hi - lo) * (right - bars_left)

    n_rows = len(steps) + 2
    bottom = top + row * n_rows
    chars = int(((label_width - 8) if beside else (width - 2 * left)) / CHAR_WIDTH)
    label_dy, bar_dy, value_dy = (15.0, 4.0, 15.0) if beside else (13.0, 18.0, 29.0)
    body = _x_axis(ticks, x, top, bottom, axis_label, (bars_left + right) / 2)
    body.append(
        f'<line x1="{num(x(base))}" y1="{num(top)}" x2="{num(x(base))}" y2="{num(bottom)}" '
        'stroke="#555555" stroke-width="1" stroke-dasharray="4,3"/>'
    )

    def end_row(i: int, label: str, value: float) -> None:
        y = top + row * i
        shown = _clip(label, chars) if beside else label
        body.append(text(left, y + label_dy, shown, anchor="start", extra=' font-weight="600"' + HALO))
        body.append(marker(6, x(value), y + bar_dy + 7, size=5))
        body.append(
            text(width - left, y + value_dy, f"{value:.3f}", anchor="end", extra=' font-weight="600"')
        )

    start_label = "Start: the model's average" if beside else "Start: the model's average (base value)"
    end_label = "End: this person's score" if beside else "End: the model's raw score for this person"
    end_row(0, start_label, base)
    connectors, rows = [], []
    for i, (s, start) in enumerate(zip(steps, totals[:-1], strict=True), start=1):
        y, end = top + row * i, start + s.value
        a, b = sorted((x(start), x(end)))
        fill = OTHER if s.other or s.value == 0 else (RAISES if s.value > 0 else LOWERS)
        rows.append(f"<g><title>{escape(s.label)}: {escape(signed(s.value))}</title>")
        rows.append(text(left, y + label_dy, _clip(s.label, chars), anchor="start", extra=HALO))
        rows.append(
            f'<rect x="{num(a)}" y="{num(y + bar_dy)}" width="{num(max(b - a, 1.0))}" '
            f'height="14" fill="{fill}"/>'
        )
        rows.append(text(width - left, y + value_dy, signed(s.value), anchor="end"))
        rows.append("</g>")
        connectors.append(
            f'<line x1="{num(x(end))}" y1="{num(y + bar_dy + 14)}" x2="{num(x(end))}" '
            f'y2="{num(y + row + bar_dy)}" stroke="#333333" stroke-width="0.8"/>'
        )
    body += connectors + rows
    end_row(n_rows - 1, end_label, final)
    body.append(title_text(left, title))
    return svg(width, bottom + 44, title, body)


@dataclass(frozen=True)
class Mark:
    """One record on a timeline: when it occurred, its lane (event type) and its harm (CCHI days)."""

    when: date
    lane: str
    harm: float


def _date_ticks(start: date, end: date) -> list[date]:
    """First days of years (or of quarters, for spans under three years) inside [start, end]."""
    years = list(range(start.year, end.year + 1))
    ticks = [date(y, 1, 1) for y in years if start <= date(y, 1, 1) <= end]
    if len(ticks) >= 3:
        every = math.ceil(len(ticks) / 10)
        return ticks[::every]
    return [date(y, m, 1) for y in years for m in (1, 4, 7, 10) if start <= date(y, m, 1) <= end]


def timeline_chart(
    marks: Sequence[Mark],
    lanes: Sequence[tuple[str, int]],
    *,
    start: date,
    end: date,
    title: str,
    width: float = WIDTH,
) -> str:
    """Records over time, one horizontal lane per event type; marker area grows with CCHI days.

    ``lanes`` gives each lane's label and style (colour and marker shape), top to bottom. Records
    with no harm (no offence, or harm 0) get the smallest marker.
    """
    lane_h, top, label_w = 30.0, 34.0, max(len(label) for label, _ in lanes) * CHAR_WIDTH + 24
    left, right = label_w, width - 20.0
    bottom = top + lane_h * len(lanes)
    span = max((end - start).days, 1)

    def x(d: date) -> float:
        return left + (d - start).days / span * (right - left)

    body = []
    for t in _date_ticks(start, end):
        body.append(f'<line x1="{num(x(t))}" y1="{num(top)}" x2="{num(x(t))}" y2="{num(bottom)}" {GRID}/>')
        label = str(t.year) if t.month == 1 else t.strftime("%Y-%m")
        body.append(text(x(t), bottom + 16, label))
    body.append(f'<line x1="{num(left)}" y1="{num(bottom)}" x2="{num(right)}" y2="{num(bottom)}" {AXIS}/>')
    largest = max((m.harm for m in marks if math.isfinite(m.harm)), default=0.0)
    styles = dict(lanes)
    rows = {label: i for i, (label, _) in enumerate(lanes)}
    for label, i in rows.items():
        y = top + lane_h * (i + 0.5)
        body.append(f'<line x1="{num(left)}" y1="{num(y)}" x2="{num(right)}" y2="{num(y)}" {GRID}/>')
        body.append(text(left - 8, y + 4, label, anchor="end"))
    body.append('<g fill-opacity="0.7" stroke-opacity="0.9">')
    for m in sorted(marks, key=lambda m: (m.when, rows[m.lane], m.harm)):
        harm = m.harm if math.isfinite(m.harm) and m.harm > 0 else 0.0
        size = 3.0 + (9.0 * math.sqrt(harm / largest) if largest > 0 else 0.0)
        body.append(marker(styles[m.lane], x(m.when), top + lane_h * (rows[m.lane] + 0.5), size=size))
    body.append("</g>")
    note = f"Marker size: CCHI days of the offence (largest here {largest:,.0f})" if largest else ""
    body.append(text(left, bottom + 34, note, anchor="start", size=11))
    body.append(title_text(16, title))
    return svg(width, bottom + 44, title, body)


def rank_chart(labels: Sequence[str], ranks: Sequence[int], *, title: str, width: float = WIDTH) -> str:
    """Rank on the list by month, rank 1 at the top; each point labelled with its rank."""
    top, height, left, right = 34.0, 150.0, 64.0, width - 20.0
    bottom = top + height
    worst = max(max(ranks), 2)
    if worst <= 6:
        ticks = list(range(1, worst + 1))
    else:
        nice = nice_ticks(0, worst, count=4)
        ticks = [1, *(int(t) for t in nice if t - 1 > (nice[1] - nice[0]) / 2 and float(t).is_integer())]
    hi = max(ticks[-1], worst)

    def y(r: float) -> float:
        return top + (r - 1) / (hi - 1) * height

    gap = (right - left) / max(len(labels), 1)
    xs = [left + gap * (i + 0.5) for i in range(len(labels))]
    body = []
    for t in ticks:
        body.append(f'<line x1="{num(left)}" y1="{num(y(t))}" x2="{num(right)}" y2="{num(y(t))}" {GRID}/>')
        body.append(text(left - 6, y(t) + 4, str(t), anchor="end"))
    mid = top + height / 2
    body.append(text(14, mid, "rank (1 = top)", extra=f' transform="rotate(-90 14 {num(mid)})"'))
    body.append(f'<line x1="{num(left)}" y1="{num(bottom)}" x2="{num(right)}" y2="{num(bottom)}" {AXIS}/>')
    for xi, label in zip(xs, labels, strict=True):
        body.append(text(xi, bottom + 18, label))
    points = [(xi, y(r)) for xi, r in zip(xs, ranks, strict=True)]
    if len(points) > 1:
        path = " ".join(f"{num(a)},{num(b)}" for a, b in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour(0)}" stroke-width="2"/>')
    for (px, py), r in zip(points, ranks, strict=True):
        body.append(marker(0, px, py))
        body.append(text(px, py - 9 if py > top + 12 else py + 20, f"#{r}", size=11))
    body.append(title_text(16, title))
    return svg(width, bottom + 30, title, body)
