"""The equality report, ``runs/<DATE>/equality.html``: the audit's findings for a non-statistician.

:func:`render_equality_report` is pure: it reads the audit, the gate, and optionally the proxy
audit, the mitigation trade-off and the label-bias tables (duck-typed: only the attributes named
in the fairness data contract are read) and returns one self-contained HTML page (inline CSS and
SVG, no script, no external file, a print stylesheet). Jinja2 autoescapes every text; the charts
escape their own (:mod:`scoring.reports.charts`). The page holds no timestamp and iterates in sorted order,
so the same inputs give the same bytes. Only aggregates are shown: a table with a ``person_id``
column is refused.

The summary's sentences are written here and in the template; the per-characteristic tables
and charts are built in :mod:`scoring.reports.equality_sections`.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from markupsafe import Markup

from features.errors import PipelineError
from scoring.reports.charts.equality import Point, scatter
from scoring.reports.env import environment, records
from scoring.reports.equality_drivers import drivers_sections, makeup_tables, worked_example
from scoring.reports.equality_gate import check_rows, gate_context
from scoring.reports.equality_sections import (
    GATE_METRICS,
    NOT_RECORDED,
    OVERALL,
    POOLED,
    Figures,
    View,
    characteristic_section,
    coverage_table,
    disparity_rows,
    stability_section,
)
from scoring.reports.formats import RATIO, finite, fmt, interval, kind_of, long_name
from scoring.reports.synthetic_check import label_bias_context

DEFAULT_LIMIT = 10
LIMIT_NAMES = ("min_cell", "min_cell_size", "min_count", "suppress_below", "suppression_threshold")
CORRECTIONS = {"holm": "Holm", "bh": "Benjamini-Hochberg", "fdr_bh": "Benjamini-Hochberg"}
FINDINGS_SHOWN = 8
LOW_COVERAGE = 0.9
SENTENCES = {
    "fpr": "{S} were {r} times as likely as {R} to be listed without going on to a serious-harm outcome",
    "selection_rate": "{S} were {r} times as likely as {R} to be listed",
    "precision": "Of the people listed, {S} went on to a serious-harm outcome {r} times as often as {R}",
    "recall": "Of the people who went on to a serious-harm outcome, {S} were {r} times as likely as {R} "
    "to have been listed",
    "fnr": "Of the people who went on to a serious-harm outcome, {S} were {r} times as likely as {R} "
    "to have been missed by the list",
    "base_rate": "{S} went on to a serious-harm outcome {r} times as often as {R}",
    "harm_captured": "The list captured {r} times as large a share of the harm caused by {S} as of the "
    "harm caused by {R}",
}
POLICY = {
    "use_age": ("Age as a model input", "Age was a model input.", "Age was not a model input."),
    "use_sex": ("Sex as a model input", "Sex was a model input.", "Sex was not a model input."),
    "use_victimisation": (
        "Victim and witness records in the score",
        "Records as a victim or witness could raise a person's score.",
        "Records as a victim or witness did not raise anyone's score.",
    ),
    "use_police_activity": (
        "Stop-and-search and intelligence records in the score",
        "Stop-and-search and intelligence counts were model inputs: records of where the police looked, "
        "not of the person's own alleged offending, could raise a score (their share of each group's "
        "scores is below).",
        "Stop-and-search and intelligence records were not model inputs: where the police looked did "
        "not raise anyone's score.",
    ),
}


def render_equality_report(
    *,
    as_of: str,
    audit: Any,
    gate: Any,
    proxies: Any | None,
    tradeoff: pd.DataFrame | None,
    label_bias: dict[str, pd.DataFrame] | None,
    policy: dict[str, bool],
    notes: list[str],
    police_activity: pd.DataFrame | None = None,
    list_makeup: pd.DataFrame | None = None,
    model: str = "",
    drivers: dict[str, Any] | None = None,
    analyses_elsewhere: str = "",
) -> str:
    """The equality report as one self-contained HTML page (deterministic bytes).

    Parameters
    ----------
    as_of
        The run's as-of date (YYYY-MM-DD), shown in the heading.
    audit, gate, proxies
        ``AuditResult``, ``GateResult`` and ``ProxyResult`` (or None) as in the fairness contract.
    tradeoff
        The mitigation table (approach, characteristic, precision_at_100, harm_captured_at_100,
        largest_disparity, disparity_metric, notes), or None when the analysis was not run.
    label_bias
        ``{"recording": ..., "selection": ...}`` from the synthetic-world check, or None.
    policy
        The policy switches, such as ``{"use_age": False, "use_victimisation": False}``.
    notes
        Notes from the run, shown in the summary.
    police_activity
        By characteristic and group of this run's listed people: characteristic, group, listed
        (people), share (mean share of a listed person's absolute family contributions that comes
        from police-activity families, NaN when suppressed), suppressed (bool). None when
        police-activity records are not model inputs.
    list_makeup
        This month's released list by group (:data:`fairness.makeup.MAKEUP_COLUMNS`), or None.
    model
        Which model the backtest figures describe, in words (named on the page).
    drivers
        ``{"score_distribution": ..., "family_gaps": ..., "family_sample": n}`` from
        :mod:`fairness.drivers`, or None.
    analyses_elsewhere
        Why the proxy audit and the mitigation analysis were made in another run (shown in their
        sections instead of "not run"); empty when they belong to this one.

    Raises
    ------
    PipelineError
        When any table given has a ``person_id`` column (the report shows aggregates only).
    """
    frames = [audit.groups, audit.disparities, audit.coverage, gate.checks, tradeoff]
    frames += [getattr(proxies, "characteristics", None), getattr(proxies, "features", None)]
    frames += [*(label_bias or {}).values(), list_makeup, *(drivers or {}).values()]
    if any(isinstance(f, pd.DataFrame) and "person_id" in f.columns for f in frames):
        raise PipelineError(
            "The equality report shows aggregates only, but it was given a table with a person_id "
            "column: pass the audit's group tables, not person-level rows."
        )
    view = _view(audit, gate)
    chars = sorted({str(c) for c in audit.groups["characteristic"]} - {OVERALL[0]})
    base, inter = [c for c in chars if " x " not in c], [c for c in chars if " x " in c]
    flagged = _flagged(view)
    selection = _selection(view, base)
    context = {
        "as_of": as_of,
        "gate": gate_context(gate, view.k),
        "selection": [_finding(view, r) for r in selection],
        "drivers": drivers_sections(
            view,
            gate.checks,
            selection,
            (drivers or {}).get("score_distribution"),
            (drivers or {}).get("family_gaps"),
            int((drivers or {}).get("family_sample") or 0),
            f"backtest, pooled over {_months(audit)}",
        ),
        "example": worked_example(gate.checks),
        "scope": {"backtest": f"backtest, pooled over {_months(audit)}", "list": as_of, "model": model},
        "makeup": makeup_tables(list_makeup, view.limit, as_of),
        "checked": _checked(audit, view, base, inter),
        "findings": [_finding(view, r) for r in flagged[:FINDINGS_SHOWN]],
        "n_flagged": len(flagged),
        "facts": _facts(audit, proxies, policy),
        "policy": _policy(policy),
        "police_activity": _police_activity(police_activity),
        "notes": [str(n) for n in [*notes, *audit.notes]],
        "limit": view.limit,
        "level": view.level,
        "band": " to ".join(fmt(RATIO, b) for b in view.band or ()),
        "k": view.k,
        "characteristics": [characteristic_section(view, c) for c in base],
        "intersections": [characteristic_section(view, c, compact=True) for c in inter],
        "stability": stability_section(audit, view, flagged[0] if flagged else _largest(view, base)),
        "coverage": coverage_table(audit.coverage),
        "proxies": _proxies(proxies),
        "tradeoff": _tradeoff(tradeoff),
        "analyses_elsewhere": analyses_elsewhere,
        "label_bias": label_bias_context(label_bias, view.limit),
        "tolerances": _flatten(getattr(audit.settings, "gate", None)),
        "checks": check_rows(gate.checks),
    }
    return environment().get_template("equality.html").render(**context)


def _selection(view: View, base: list[str]) -> list[Any]:
    """Flagged selection-rate disparities at the headline k of the single characteristics, largest first."""
    rows = view.disparities
    rows = rows[
        (rows["metric"] == "selection_rate")
        & (rows["k_int"] == view.k)
        & rows["characteristic"].isin(base)
        & rows["flagged"].astype(bool)
        & ~rows["suppressed"].astype(bool)
    ]
    return sorted(rows.itertuples(index=False), key=lambda r: (-_distance(r), r.characteristic, r.group))


def _setting(settings: Any, names: tuple[str, ...], default: Any) -> Any:
    for name in names:
        value = settings.get(name) if isinstance(settings, dict) else getattr(settings, name, None)
        if value is not None:
            return value
    return default


def _view(audit: Any, gate: Any) -> View:
    """Pooled figures, list lengths (headline 100 when audited), the suppression limit and the gate's band."""
    ks = sorted({int(k) for k in audit.groups["k"].dropna()})
    checks, band = gate.checks, None
    if len(checks) and {"lower", "upper"} <= set(checks.columns):
        bounds = sorted(zip(checks["lower"], checks["upper"], strict=True), key=lambda b: (b[0], b[1]))
        band = next(((float(a), float(b)) for a, b in bounds if finite(a) and finite(b)), None)
    return View(
        figs=Figures(audit.groups, POOLED),
        disparities=disparity_rows(audit.disparities, POOLED),
        ks=ks,
        k=100 if 100 in ks else (ks[0] if ks else None),
        limit=int(_setting(audit.settings, LIMIT_NAMES, DEFAULT_LIMIT)),
        band=band or (0.8, 1.25),
        level=f"{float(_setting(audit.settings, ('confidence',), 0.95)) * 100:g}%",
    )


def _distance(row: Any) -> float:
    return abs(math.log(row.ratio)) if finite(row.ratio) and row.ratio > 0 else 0.0


def _flagged(view: View) -> list[Any]:
    """Pooled flagged disparities, most important first."""
    rows = view.disparities
    rows = rows[rows["flagged"].astype(bool) & ~rows["suppressed"].astype(bool)]
    return sorted(rows.itertuples(index=False), key=lambda r: _importance(view, r))


def _importance(view: View, r: Any) -> tuple:
    """Sort key: the headline k first, then single characteristics, the gate's measures, the largest ratio."""
    intersection, other_measure = " x " in r.characteristic, r.metric not in GATE_METRICS
    return (
        r.k_int != view.k,
        intersection,
        other_measure,
        -_distance(r),
        r.characteristic,
        r.group,
        r.metric,
    )


def _largest(view: View, base: list[str]) -> Any | None:
    """The largest unsuppressed pooled FPR ratio at the headline k (for the stability chart)."""
    rows = view.disparities
    mask = (rows["metric"] == "fpr") & (rows["k_int"] == view.k) & rows["characteristic"].isin(base)
    rows = rows[mask & ~rows["suppressed"].astype(bool)]
    candidates = [r for r in rows.itertuples(index=False) if finite(r.ratio)]
    return min(candidates, key=lambda r: (-_distance(r), r.characteristic, r.group), default=None)


def describe(characteristic: str, group: str) -> str:
    """A group in words: "people recorded as Black", "people aged 18-24", "people with sex not recorded"."""
    chars, groups = characteristic.split(" x "), group.split(" | ")
    if len(chars) != len(groups):
        return f"people in the group {group}"
    plain, other = [], []
    for c, g in zip(chars, groups, strict=True):
        label = c.replace("_", " ").removesuffix(" band")
        if g == NOT_RECORDED:
            other.append(f"with {label} not recorded")
        elif "age" in c.lower().split("_"):
            other.append(f"aged {g}")
        elif g.lower() in ("yes", "no"):
            plain.append(f"{'having' if g.lower() == 'yes' else 'not having'} a {label}")
        else:
            plain.append(g)
    text = "people" + (" recorded as " + " and ".join(plain) if plain else "")
    return text + (", " if plain and other else " " if other else "") + " and ".join(other)


def _finding(view: View, row: Any) -> str:
    """One flagged disparity in plain words, with the two groups' figures and the ratio's interval."""
    subject, ref = describe(row.characteristic, row.group), describe(row.characteristic, row.reference)
    r = fmt(RATIO, row.ratio)
    generic = "The " + long_name(row.metric) + " for {S} was {r} times that for {R}"
    sentence = SENTENCES.get(row.metric, generic).format(S=subject, R=ref, r=r)
    kind, k = kind_of(row.metric), row.k_int
    measure = long_name(row.metric) + (f" at {k}" if k is not None else "")
    g_fig, r_fig = (view.figs.get(row.characteristic, g, row.metric, k) for g in (row.group, row.reference))
    figures = ""
    if g_fig and r_fig and not (g_fig.suppressed or r_fig.suppressed):
        figures = f"{fmt(kind, g_fig.value)} against {fmt(kind, r_fig.value)}; "
    span = interval(RATIO, row.ratio_lo, row.ratio_hi)
    span_text = f", {view.level} interval {span[0][1:-1].replace('–', ' to ')}" if span else ""
    return f"{sentence[0].upper()}{sentence[1:]} ({measure}: {figures}ratio {r}{span_text})."


def _months(audit: Any) -> str:
    months = sorted(pd.Timestamp(m) for m in audit.months)
    if not months:
        return "–"
    first, last = months[0].strftime("%Y-%m"), months[-1].strftime("%Y-%m")
    return f"{len(months)} months, {first} to {last}" if len(months) > 1 else first


def _checked(audit: Any, view: View, base: list[str], inter: list[str]) -> list[tuple[str, str]]:
    """What was checked, as (label, text) pairs."""
    settings = audit.settings
    sizes = [f"{c} ({len(view.figs.groups_of(c))} groups)" for c in base]
    refs = [f"{c}: {view.reference(c)}" for c in base if view.reference(c)]
    correction = _setting(settings, ("correction", "multiple_comparison", "adjust"), None)
    boot = _setting(settings, ("n_boot", "bootstrap"), None)
    method = f"{view.level} intervals" + (f" from {boot} bootstrap resamples" if boot else "")
    if correction:
        name = CORRECTIONS.get(str(correction).lower(), correction)
        method += f"; p-values corrected for multiple comparisons ({name})"
    return [
        ("Score audited", str(audit.score_col)),
        ("Months", _months(audit)),
        ("List lengths (k)", ", ".join(map(str, view.ks)) + (f" (headline: {view.k})" if view.k else "")),
        ("Characteristics", ", ".join(sizes) or "none"),
        ("Intersections", ", ".join(inter) or "none"),
        ("Reference groups", "; ".join(refs) or "–"),
        ("Method", method),
        ("Disclosure control", f"figures from fewer than {view.limit} people are suppressed"),
    ]


def _facts(audit: Any, proxies: Any | None, policy: dict[str, bool]) -> dict[str, Any]:
    """Figures the template's "what it means" and "what needs a decision" sentences need."""
    low = []
    cov = audit.coverage
    if cov is not None and len(cov):
        totals = cov.groupby("characteristic")[["recorded", "total"]].sum().sort_index()
        for c, row in totals.iterrows():
            share = row["recorded"] / row["total"] if row["total"] else math.nan
            if finite(share) and share < LOW_COVERAGE:
                low.append((str(c), f"{share * 100:.0f}%"))
    features = proxies.features if proxies is not None else pd.DataFrame(columns=["feature", "flagged"])
    flagged = features.loc[features["flagged"].astype(bool), "feature"]
    inputs = [name for key, name in (("use_age", "age"), ("use_sex", "sex")) if policy.get(key)]
    return {
        "low_coverage": low,
        "proxy_features": int(flagged.nunique()),  # distinct features, whatever number of groups
        "proxy_pairs": len(flagged),
        "features_audited": int(features["feature"].nunique()),
        "inputs": inputs,
    }


def _policy(policy: dict[str, bool]) -> dict[str, Any]:
    """The policy switches as (name, on/off) rows and one plain sentence each."""
    rows, sentences = [], []
    for key in sorted(policy):
        name, on, off = POLICY.get(key, (key.replace("_", " "), f"{key}: on.", f"{key}: off."))
        rows.append((name, "on" if policy[key] else "off"))
        sentences.append(on if policy[key] else off)
    if "use_age" not in policy:
        sentences.insert(0, "The configuration did not say whether age was a model input.")
    return {"rows": rows, "sentences": sentences}


def _police_activity(table: pd.DataFrame | None) -> list[dict[str, str]] | None:
    """The police-activity shares by group as display rows (suppressed cells as a dash)."""
    if table is None:
        return None
    return [
        {
            "characteristic": str(r.characteristic),
            "group": str(r.group),
            "listed": str(int(r.listed)) if not r.suppressed else "withheld (disclosure control)",
            "share": "–" if r.suppressed else f"{100 * float(r.share):.0f}%",
        }
        for r in table.itertuples(index=False)
    ]


def _proxies(proxies: Any | None) -> dict[str, Any] | None:
    if proxies is None:
        return None
    feats = proxies.features[proxies.features["flagged"].astype(bool)]
    feats = feats.assign(neg=-feats["association"])
    return {
        "characteristics": records(proxies.characteristics, ["characteristic", "target"]),
        "features": records(feats, ["characteristic", "target", "neg", "feature"]),
        "threshold_auc": f"{float(proxies.threshold_auc):.2f}",
        "threshold_association": f"{float(proxies.threshold_association):.2f}",
    }


def _tradeoff(tradeoff: pd.DataFrame | None) -> dict[str, Any] | None:
    """The trade-off rows (numbered in their given order) and one scatter plot per characteristic."""
    if tradeoff is None or not len(tradeoff):
        return None
    frame = tradeoff.reset_index(drop=True).assign(number=lambda f: f.index + 1)
    for col, empty in (("largest_ratio", math.nan), ("largest_group", "")):  # older trade-off tables
        if col not in frame:
            frame[col] = empty
    charts = []
    for c in sorted(set(frame["characteristic"].astype(str))):
        part = frame[frame["characteristic"].astype(str) == c]
        points = [
            Point(str(r.number), float(r.largest_disparity), float(v), style)
            for r in part.itertuples(index=False)
            for style, v in enumerate((r.precision_at_100, r.harm_captured_at_100))
        ]
        metric = ", ".join(sorted(set(part["disparity_metric"].astype(str))))
        chart = scatter(
            points,
            names=("precision@100", "harm captured@100"),
            title=f"{c}: performance against the largest disparity",
            x_label=f"largest disparity |1 − ratio| ({metric})",
            y_label="share of the list / of the harm",
        )
        charts.append(Markup(chart))
    return {"rows": frame.to_dict("records"), "charts": charts}


def _flatten(settings: Any, prefix: str = "") -> list[tuple[str, str, str]]:
    """Rows (setting, value, rationale) of a settings object; pydantic descriptions give the rationale."""
    if settings is None:
        return []
    fields = getattr(type(settings), "model_fields", None)
    if fields is not None:
        items = [(name, getattr(settings, name), f.description or "") for name, f in fields.items()]
    elif isinstance(settings, dict):
        items = [(str(k), settings[k], "") for k in sorted(settings)]
    elif hasattr(settings, "__dict__"):
        items = [(str(k), v, "") for k, v in sorted(vars(settings).items())]
    else:
        return [(prefix or "gate", _value(settings), "")]
    rows = []
    for name, value, why in items:
        path = f"{prefix}.{name}" if prefix else name
        if hasattr(type(value), "model_fields") or isinstance(value, dict):
            rows += _flatten(value, path)
        elif isinstance(value, list | tuple) and value and hasattr(type(value[0]), "model_fields"):
            rows.append((path, f"{len(value)} (each shown in full with the gate's result)", why))
        elif isinstance(value, list | tuple) and not value:
            rows.append((path, "none", why))
        else:
            rows.append((path, _value(value), why))
    return rows


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, set | frozenset):
        value = sorted(value, key=str)
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)
