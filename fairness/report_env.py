"""The Jinja2 environment of the fairness pages (equality report, synthetic-world check) and the
small helpers their contexts share: autoescaped, strict about missing names, stable whitespace,
and the number formats of :mod:`fairness.report_sections` as filters."""

from __future__ import annotations

from typing import Any

import jinja2
import pandas as pd

from fairness.report_sections import AUC, COUNT, PCT, RATIO, fmt, header, interval, pvalue


def strict_environment(loader: jinja2.BaseLoader) -> jinja2.Environment:
    """A Jinja2 environment for harmrank's pages: autoescaped, strict about missing names, stable
    whitespace (so the same inputs give the same bytes). Also serves scoring's pages."""
    return jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def environment() -> jinja2.Environment:
    """The environment of fairness/templates, with the report's number formats as filters."""
    env = strict_environment(jinja2.PackageLoader("fairness", "templates"))
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
