"""The one Jinja2 environment of harmrank's pages (scoring/reports/templates), and the small
helpers their contexts share: autoescaped, strict about missing names, stable whitespace (so the
same inputs give the same bytes), and the number formats of :mod:`scoring.reports.formats` as
filters."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2
import pandas as pd

from scoring.reports.formats import AUC, COUNT, PCT, RATIO, fmt, header, interval, pvalue


@cache
def environment() -> jinja2.Environment:
    """The environment of every page: templates from scoring/reports/templates, the number formats
    as filters (pct, ratio, auc, count, span, pvalue, measure). One per process: it compiles each
    template once (the review service renders pages per request); never change it, build your own
    with :func:`new_environment`."""
    return new_environment()


def new_environment(*loaders: jinja2.BaseLoader) -> jinja2.Environment:
    """A fresh environment as :func:`environment`, with ``loaders`` searched before the report templates."""
    reports = jinja2.PackageLoader("scoring.reports", "templates")
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([*loaders, reports]) if loaders else reports,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        pct=lambda v: fmt(PCT, v),
        ratio=lambda v: fmt(RATIO, v),
        auc=lambda v: fmt(AUC, v),
        count=lambda v: fmt(COUNT, v),
        span=lambda lo, hi, kind=RATIO: " ".join(interval(kind, lo, hi)),
        pvalue=pvalue,
        measure=lambda metric, k=None: header(metric, None if k is None or pd.isna(k) else int(k)),
    )
    return env


def records(frame: pd.DataFrame | None, order: list[str]) -> list[dict[str, Any]]:
    """Rows of ``frame`` sorted by ``order`` as dicts; none for a missing or empty frame."""
    if frame is None or not len(frame):
        return []
    return frame.sort_values(order, kind="stable").to_dict("records")
