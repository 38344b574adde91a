"""The content of one officer page per listed person: reasons, waterfall, evidence, history, rank, reviews.

:func:`person_context` turns one person's rows of the explanation frames (see
``docs/report-frames.md``) into plain dicts and strings for ``officer_person.html``. Numbers are
formatted here with fixed decimals and charts are built by :mod:`scoring.reports.charts.officer`, so the page
is the same bytes for the same inputs. Nothing here writes files; :mod:`scoring.reports.officer`
does.
"""

from __future__ import annotations

import math
import re
from hashlib import sha1

import pandas as pd
from markupsafe import Markup

from features.catalogue import by_name
from features.catalogue_types import reason_family
from features.records.schema import EVENT_TYPES
from models.reasons import FAMILY_COLUMNS, family_of, officer_facing
from scoring.reports.charts import officer as charts

TOP_REASONS = 3
"""Reason families an officer reads first (the list's three reasons); the others follow in a table."""
EVIDENCE_ROWS = 25
"""Records shown per reason family in the evidence trail."""
KEY_EVIDENCE_ROWS = 3
"""Records per family that the brief prints (the rest print only with the full record)."""
HISTORY_ROWS = 40
"""Most recent records shown in the history table before the collapsible rest."""
EVENT_WORDS = {
    "crime_suspect": "named as suspect",
    "crime_victim": "recorded as victim",
    "witness": "witness",
    "arrest": "arrest",
    "charge": "charge",
    "conviction": "conviction",
    "intelligence": "intelligence",
    "stop_search": "stop and search",
    "order": "order",
    "incident": "incident",
}
AXIS_WORDS = {
    "binary": "log-odds of the outcome",
    "lambdarank": "a ranking score, not log-odds",
}
"""What the raw score is, by the model's objective (any other objective: no gloss)."""


def axis_label(objective: str) -> str:
    """The waterfall's axis: the model's raw score and what it is for this objective."""
    words = AXIS_WORDS.get(objective)
    return f"model's raw score ({words})" if words else "model's raw score"


DASH = "–"


def safe_name(person_id: str) -> str:
    """A file name for a person's page: ``[A-Za-z0-9_-]`` kept, others replaced by ``_``.

    An id that had to change (or was empty or over 80 characters) gets the first 10 hex digits
    of its SHA-1 appended, so two ids never share a page.
    """
    kept = re.sub(r"[^A-Za-z0-9_-]", "_", person_id)
    if kept == person_id and 0 < len(kept) <= 80:
        return kept
    return f"{kept[:80]}-{sha1(person_id.encode('utf-8')).hexdigest()[:10]}"


def missing(value: object) -> bool:
    return (
        value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
    )


def pct(value: object, decimals: int = 1) -> str:
    """A probability as a percentage, ``12.3%``; missing as a dash."""
    return DASH if missing(value) else f"{100 * float(value):.{decimals}f}%"  # type: ignore[arg-type]


def band(lo: object, hi: object) -> str:
    """The interval band as ``9.8–15.1%``, or empty when either end is missing."""
    return "" if missing(lo) or missing(hi) else f"{100 * float(lo):.1f}–{100 * float(hi):.1f}%"  # type: ignore[arg-type]


def days(value: object) -> str:
    """CCHI days rounded to whole days, thousands separated (``1,460``); missing as a dash."""
    if missing(value):
        return DASH
    return f"{round(float(value)):,}"  # type: ignore[arg-type]


def number(value: object) -> str:
    """A feature value for analysts: thousands separated, at most two decimals (``1,460``, ``0.25``)."""
    if missing(value):
        return DASH
    text = f"{float(value):,.2f}".rstrip("0").rstrip(".")  # type: ignore[arg-type]
    return "0" if text in ("-0", "") else text


def day(value: object) -> str:
    """A date as ``YYYY-MM-DD``; missing as a dash."""
    return DASH if missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def text(value: object) -> str:
    return "" if missing(value) else str(value)


def sort_key(value: object) -> str:
    """A stable numeric sort key for the index table's ``data-sort`` (empty when missing)."""
    return "" if missing(value) else f"{float(value):.6f}"  # type: ignore[arg-type]


def event_words(event_type: str) -> str:
    return EVENT_WORDS.get(event_type, event_type.replace("_", " "))


def event_style(event_type: str) -> int:
    """Chart style of an event type: its place in the records contract, unknown types after it."""
    return EVENT_TYPES.index(event_type) if event_type in EVENT_TYPES else len(EVENT_TYPES)


def status_words(status: str, rank_change: object, previous_rank: object) -> tuple[str, str]:
    """The status line and its detail: ``stayed``, ``up 3 (was 8)``; ``new``; ``returned``."""
    if status != "stayed" or missing(rank_change):
        return status, ""
    change = int(rank_change)  # type: ignore[call-overload]
    was = f" (was {int(previous_rank)})" if not missing(previous_rank) else ""  # type: ignore[call-overload]
    if change > 0:
        return status, f"up {change}{was}"
    if change < 0:
        return status, f"down {-change}{was}"
    return status, "same rank"


def _records(frame: pd.DataFrame) -> list[dict[str, str]]:
    """Rows of an evidence or history frame as display strings, in the frame's order.

    ``in_model`` is "yes"/"no" when the frame says whether the record's type feeds the model, else "".
    """
    used = frame["in_model"] if "in_model" in frame.columns else pd.Series([pd.NA] * len(frame))
    return [
        {
            "occurred": day(r.occurred_date),
            "recorded": day(r.recorded_date),
            "event_type": event_words(str(r.event_type)),
            "offence": " · ".join(x for x in (text(r.offence_code), text(r.description)) if x),
            "harm": days(r.harm_days),
            "source_ref": text(r.source_ref),
            "in_model": "" if missing(u) else ("yes" if bool(u) else "no"),
        }
        for r, u in zip(frame.itertuples(index=False), used, strict=True)
    ]


def _feature_rows(reasons: pd.DataFrame) -> list[dict[str, str]]:
    """The analyst's table: every feature, its value and its contribution, largest first."""
    ordered = reasons.sort_values(["order", "feature"], kind="mergesort")
    return [
        {
            "order": str(int(r.order)),
            "feature": text(r.feature),
            "family": family_of(text(r.feature)),
            "value": number(r.value),
            "contribution": charts.signed(float(r.contribution)),
            "direction": text(r.direction),
        }
        for r in ordered.itertuples(index=False)
    ]


def reasons_section(
    reasons: pd.DataFrame, families: pd.DataFrame | None, base_value: float, objective: str = "binary"
) -> dict[str, object]:
    """The reason families (top ones first), their waterfall, and the analyst's feature table.

    ``families`` are :func:`models.reasons.family_reasons` rows of one person; without them (an
    older caller) the families are formed here from ``reasons`` with the catalogue's declarations.
    """
    if families is None or families.empty:
        families = _families_from(reasons)
    families = families.sort_values("order", kind="mergesort")
    facing = officer_facing(families)
    rows = [
        {
            "order": int(r.order),
            "family": text(r.family),
            "title": text(r.title),
            "sentence": text(r.sentence),
            "contribution": charts.signed(float(r.contribution)),
            "direction": text(r.direction),
            "effect": text(r.direction).replace(" ", "-"),
            "police": bool(r.police_activity),
        }
        for r, ok in zip(families.itertuples(index=False), facing, strict=True)
        if ok
    ]
    hidden = families.loc[~facing]
    steps = [
        charts.Step(text(r.title), float(r.contribution))
        for r in families.loc[facing].itertuples(index=False)
    ]
    if len(hidden) and float(hidden["contribution"].abs().sum()) > 0:
        steps.append(
            charts.Step("Absences and inputs with no effect", float(hidden["contribution"].sum()), other=True)
        )
    raw = float(base_value)
    for s in steps:  # the same order of additions as the chart's, so the two agree to the last digit
        raw += s.value
    chart = charts.waterfall_chart(
        steps,
        float(base_value),
        title="How each family of reasons moves the score",
        axis_label=axis_label(objective),
        label_width=260.0,
    )
    return {
        "top": rows[:TOP_REASONS],
        "rest": rows[TOP_REASONS:],
        "chart": Markup(chart),
        "base": f"{float(base_value):.3f}",
        "raw": f"{raw:.3f}",
        "count": len(reasons),
        "families": len(families),
        "features": _feature_rows(reasons),
        "axis": axis_label(objective),
    }


def _families_from(reasons: pd.DataFrame) -> pd.DataFrame:
    """Family rows built from feature-level reasons alone (sentences from the features' own)."""
    if reasons.empty:
        return pd.DataFrame(columns=FAMILY_COLUMNS)
    frame = reasons.assign(family=[family_of(str(f)) for f in reasons["feature"]])
    sums = frame.groupby("family", sort=False)["contribution"].sum()
    first = frame.sort_values("order", kind="mergesort").groupby("family", sort=False)["sentence"].first()
    out = pd.DataFrame({"family": sums.index, "contribution": sums.to_numpy()})
    out["title"] = [reason_family(f).title for f in out["family"]]
    out["sentence"] = [str(first[f]).rsplit(": ", 1)[0] for f in out["family"]]
    out["direction"] = [
        "raises" if c > 0 else ("lowers" if c < 0 else "no effect") for c in out["contribution"]
    ]
    out["absent"] = False
    out["police_activity"] = [reason_family(f).police_activity for f in out["family"]]
    out = out.sort_values("contribution", key=lambda c: -c.abs(), kind="mergesort").reset_index(drop=True)
    out["order"] = range(1, len(out) + 1)
    return out


def evidence_section(
    families: list[dict[str, object]], evidence: pd.DataFrame | None
) -> list[dict[str, object]]:
    """The records behind each top family, newest first; a record backing several families is
    listed once, under the first, and marked with every family it backs."""
    orders = {str(f["family"]): int(f["order"]) for f in families}  # type: ignore[call-overload]
    groups = {} if evidence is None or evidence.empty else dict(tuple(evidence.groupby("family", sort=False)))
    seen: set[str] = set()
    out = []
    for f in families:
        key = str(f["family"])
        rows = groups.get(key)
        total = 0 if rows is None else int(rows["events_total"].max())
        records: list[dict[str, str]] = []
        repeated = 0
        if rows is not None:
            rows = rows.sort_values(
                ["occurred_date", "recorded_date", "event_id"], ascending=[False, False, True]
            )
            fresh = ~rows["event_id"].astype(str).isin(seen)
            repeated = int((~fresh).sum())
            kept = rows.loc[fresh].head(EVIDENCE_ROWS)
            seen.update(kept["event_id"].astype(str))
            also = [
                ", ".join(str(orders[x]) for x in str(fs).split(";") if x != key and x in orders)
                for fs in kept["families"]
            ]
            records = [dict(r, also=a) for r, a in zip(_records(kept), also, strict=True)]
        out.append(
            {
                "order": f["order"],
                "title": f["title"],
                "sentence": f["sentence"],
                "records": records,
                "total": total,
                "shown": len(records),
                "repeated": repeated,
                "key_rows": KEY_EVIDENCE_ROWS,
            }
        )
    return out


def history_section(history: pd.DataFrame | None, as_of: str) -> dict[str, object]:
    """The person's records as a timeline chart and a table, most recent first."""
    if history is None or history.empty:
        return {"chart": None, "recent": [], "older": [], "total": 0, "counts": [], "in_model": False}
    frame = history.sort_values(
        ["occurred_date", "recorded_date", "event_id"], ascending=[False, False, True]
    )
    present = sorted(set(frame["event_type"].astype(str)), key=lambda t: (event_style(t), t))
    counts = frame["event_type"].astype(str).value_counts()
    dated = frame[frame["occurred_date"].notna()]
    chart = None
    if len(dated):
        end = max(pd.Timestamp(as_of), pd.Timestamp(dated["occurred_date"].max())).date()
        first = pd.Timestamp(dated["occurred_date"].min()).date()
        start = min(first.replace(month=1, day=1), end - pd.Timedelta(days=365).to_pytimedelta())
        marks = [
            charts.Mark(pd.Timestamp(w).date(), event_words(str(t)), float(h) if not missing(h) else 0.0)
            for w, t, h in zip(dated["occurred_date"], dated["event_type"], dated["harm_days"], strict=True)
        ]
        lanes = [(event_words(t), event_style(t)) for t in present]
        chart = Markup(
            charts.timeline_chart(marks, lanes, start=start, end=end, title="Recorded history over time")
        )
    records = _records(frame)
    return {
        "chart": chart,
        "recent": records[:HISTORY_ROWS],
        "older": records[HISTORY_ROWS:],
        "total": len(records),
        "counts": [(event_words(t), int(counts[t])) for t in present],
        "in_model": "in_model" in frame.columns,
    }


def rank_section(past: pd.DataFrame | None, as_of: str, rank: int) -> dict[str, object]:
    """Rank on each past list and this one, as a small chart and a line of text."""
    if past is None or past.empty:
        return {"chart": None, "points": []}
    past = past[pd.to_datetime(past["as_of"]) < pd.Timestamp(as_of)]
    past = past.sort_values("as_of", kind="mergesort")
    points = [(day(a), int(r)) for a, r in zip(past["as_of"], past["rank"], strict=True)]
    points.append((f"{as_of[:10]} (this list)", int(rank)))
    if len(points) == 1:
        return {"chart": None, "points": []}
    labels = [p[0][:7] for p in points]
    chart = charts.rank_chart(labels, [p[1] for p in points], title="Rank on each monthly list")
    return {"chart": Markup(chart), "points": points}


def review_rows(reviews: pd.DataFrame | None) -> list[dict[str, str]]:
    """Recorded review decisions, oldest first."""
    if reviews is None or reviews.empty:
        return []
    frame = reviews.sort_values(["recorded_at", "review_id"], kind="mergesort")
    return [
        {
            "run": text(r.run),
            "decision": text(r.decision),
            "reason": text(r.reason),
            "reviewer": text(r.reviewer),
            "recorded_at": text(r.recorded_at),
        }
        for r in frame.itertuples(index=False)
    ]


def policy_features(features: set[str]) -> set[str]:
    """The policy switches (``use_age``, ``use_victimisation``) that the listed people's features need."""
    out: set[str] = set()
    for name in features:
        try:
            policy = by_name(name).policy
        except KeyError:
            continue
        if policy:
            out.add(policy)
    return out


def person_context(
    row: pd.Series,
    *,
    as_of: str,
    reasons: pd.DataFrame,
    evidence: pd.DataFrame | None,
    history: pd.DataFrame | None,
    past_ranks: pd.DataFrame | None,
    reviews: pd.DataFrame | None,
    base_value: float,
    families: pd.DataFrame | None = None,
    objective: str = "binary",
) -> dict[str, object]:
    """Everything ``officer_person.html`` shows for one listed person (``row``: their line of ``listed``)."""
    person_id = str(row["person_id"])
    status, change = status_words(str(row["status"]), row["rank_change"], row["previous_rank"])
    reasons_part = reasons_section(reasons, families, base_value, objective)
    return {
        "person_id": person_id,
        "rank": int(row["rank"]),
        "probability": pct(row["probability"]),
        "band": band(row["probability_lo"], row["probability_hi"]),
        "v100": days(row["v100_score"]),
        "v100_rank": DASH if missing(row["v100_rank"]) else str(int(row["v100_rank"])),
        "status": status,
        "change": change,
        "reasons": reasons_part,
        "evidence": evidence_section(reasons_part["top"], evidence),  # type: ignore[arg-type]
        "history": history_section(history, as_of),
        "ranks": rank_section(past_ranks, as_of, int(row["rank"])),
        "reviews": review_rows(reviews),
    }
