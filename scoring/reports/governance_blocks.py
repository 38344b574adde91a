"""What a governance document is made of, and the phrases that state a run's facts with their scope.

A :class:`Document` is a list of :class:`Section`, each a list of blocks: :class:`Para`,
:class:`Bullets`, :class:`Fields` (label and answer pairs), :class:`~scoring.reports.formats.Table`
and :class:`Todo` (a question only the force can answer, always shown as "To be completed by the
force", never left blank). :mod:`scoring.reports.governance` renders one structure to HTML,
Markdown and .docx, so each document's words are written once.

Every figure is written with its scope: the backtest's are pooled over its test months, the
list's are this month's. Shares and probabilities are percentages in the fixed formats of
:mod:`scoring.reports.formats`, with their intervals beside them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scoring.reports.formats import COUNT, PCT, Cell, Table, fmt, interval

Facts = Mapping[str, Any]
TO_COMPLETE = "To be completed by the force"
#: Characters no XML document may hold (and no page should show): C0 controls but tab, line feed
#: and carriage return, the C1 controls, lone surrogates and the two non-characters U+FFFE, U+FFFF.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
PROTECTED_CHARACTERISTICS = (
    "age",
    "disability",
    "gender reassignment",
    "marriage and civil partnership",
    "pregnancy and maternity",
    "race (ethnicity)",
    "religion or belief",
    "sex",
    "sexual orientation",
)
#: Which protected-table column records each characteristic (a column not listed is shown by name).
CHARACTERISTIC_COLUMNS = {
    "age": ("age_band", "birth_date", "birth_year", "age"),
    "disability": ("disability",),
    "gender reassignment": ("gender_reassignment",),
    "marriage and civil partnership": ("marriage", "marital_status", "civil_partnership"),
    "pregnancy and maternity": ("pregnancy", "maternity", "pregnancy_maternity"),
    "race (ethnicity)": ("ethnicity", "race"),
    "religion or belief": ("religion", "religion_or_belief", "belief"),
    "sex": ("sex",),
    "sexual orientation": ("sexual_orientation",),
}
POLICY_WORDS = {
    "use_age": "Age (at the as-of date and at the first offence) as a model input",
    "use_victimisation": "Records of being a victim of crime as model inputs",
    "use_police_activity": "Stop-and-search and intelligence records as model inputs",
}


def clean(text: object) -> str:
    """``text`` as one line without control characters (XML rejects them; pages should not show them)."""
    return " ".join(_CONTROL.sub("", str(text)).split())


@dataclass(frozen=True)
class Todo:
    """A question only the force can answer: shown as "To be completed by the force: <prompt>",
    after ``known``, the part of the answer the run gives (if any)."""

    prompt: str
    known: str = ""
    kind: str = "todo"


@dataclass(frozen=True)
class Para:
    text: str
    kind: str = "para"


@dataclass(frozen=True)
class Bullets:
    items: tuple[str | Todo, ...]
    kind: str = "bullets"


@dataclass(frozen=True)
class Fields:
    """Labelled answers; an answer is text or a :class:`Todo`."""

    rows: tuple[tuple[str, str | Todo], ...]
    kind: str = "fields"


Block = Para | Bullets | Fields | Todo | Table


@dataclass
class Section:
    heading: str
    blocks: Sequence[Block] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.heading.lower()).strip("-")


@dataclass
class Document:
    """One document of the pack: ``slug`` names its files (``slug.html``, ``slug.md``, ``slug.docx``)."""

    slug: str
    title: str
    purpose: str
    sections: list[Section]
    sources: tuple[str, ...] = ()

    def todos(self) -> int:
        """How many answers the force must still give."""
        count = 0
        for section in self.sections:
            for block in section.blocks:
                if isinstance(block, Todo):
                    count += 1
                elif isinstance(block, Fields):
                    count += sum(isinstance(v, Todo) for _, v in block.rows)
                elif isinstance(block, Bullets):
                    count += sum(isinstance(v, Todo) for v in block.items)
        return count


def table(headers: Sequence[str], rows: Sequence[Sequence[str | Cell]], caption: str = "") -> Table:
    """A :class:`Table` from plain text cells (a :class:`Cell` is kept as it is)."""
    cells = [[c if isinstance(c, Cell) else Cell(str(c), numeric=False) for c in row] for row in rows]
    return Table(list(headers), cells, caption)


# -- figures with their intervals ------------------------------------------------------------------


def figure(kind: str, f: Mapping[str, Any] | None) -> str:
    """A figure and its interval, such as ``62.0% (57.0–69.5%)``; "not available" when missing."""
    if not f or f.get("value") is None:
        return "not available"
    span = interval(kind, f.get("lo"), f.get("hi"))
    return " ".join((fmt(kind, f["value"]), *span))


def num(kind: str, f: Mapping[str, Any] | None) -> Cell:
    """A table cell of a figure with its interval below it."""
    if not f or f.get("value") is None:
        return Cell("–")
    return Cell(fmt(kind, f["value"]), interval(kind, f.get("lo"), f.get("hi")))


def pct(value: Any) -> str:
    return fmt(PCT, value)


def count(value: Any) -> str:
    return fmt(COUNT, value)


def points(f: Mapping[str, Any] | None) -> str:
    """A difference of two shares in percentage points, with its interval."""
    if not f or f.get("value") is None:
        return "not available"
    text = f"{f['value'] * 100:+.1f} percentage points"
    lo, hi = f.get("lo"), f.get("hi")
    if lo is not None and hi is not None:
        text += f" ({lo * 100:+.1f} to {hi * 100:+.1f})"
    return text


def month_span(first: str | None, last: str | None, n: int, what: str = "months") -> str:
    """``the 3 test months 2025-09 to 2025-11`` (``what`` names the months)."""
    if not first:
        return f"no {what}"
    return f"the {what.removesuffix('s')} {first}" if first == last else f"the {n} {what} {first} to {last}"


# -- scopes ----------------------------------------------------------------------------------------


def list_scope(f: Facts) -> str:
    return f"this month's list, as of {f['as_of']}"


def backtest_scope(f: Facts) -> str:
    b = f["backtest"]
    span = month_span(b["first_month"], b["last_month"], len(b["months"]), "test months")
    return f"backtest, pooled over {span}"


def backtest_method(f: Facts) -> str:
    """How the backtest's figures were made, for a caption."""
    b, horizon = f["backtest"], f["outcome"]["horizon_months"]
    return (
        f"each month's list of {b['k']} judged by the {horizon} months after it; months the model was never "
        "trained on"
    )


def equality_scope(f: Facts) -> str:
    e = f["equality"]
    span = month_span(e["first_month"], e["last_month"], len(e["months"]), "test months")
    return f"equality audit of the backtest, pooled over {span}"


def confidence(f: Facts) -> str:
    b = f.get("backtest")
    level = b["confidence"] if b else 0.95
    return f"{level:.0%} intervals in brackets (person bootstrap)"


# -- sentences the documents share ------------------------------------------------------------------


def outcome_words(f: Facts) -> str:
    o = f["outcome"]
    types = ", ".join(o["event_types"])
    return (
        f"being named in a record of type {types} for an offence carrying at least "
        f"{count(o['min_harm_days'])} Cambridge Crime Harm Index days, within {o['horizon_months']} months "
        "of the as-of date"
    )


def cohort_words(f: Facts) -> str:
    li = f["list"]
    types = ", ".join(li["cohort_event_types"])
    return (
        f"{count(li['cohort_size'])} people named in a record of type {types} in the "
        f"{count(li['cohort_lookback_days'])} days before {f['as_of']}"
    )


def model_words(f: Facts) -> str:
    m = f["model"]
    source = (
        f"the registry's champion (version {m['champion_version']}), not retrained this run"
        if m["source"] == "champion"
        else "trained in this run"
    )
    return (
        f"a LightGBM gradient-boosted tree model ({m['objective']} objective), {source}, calibrated with "
        f"{m['calibration']} calibration fitted on later months than it was trained on"
    )


def gate_words(f: Facts) -> str:
    """The release gate's result in one or two sentences."""
    e = f.get("equality")
    if e is None:
        return (
            "The equality audit and its release gate did not run (no backtest, or no protected table): "
            "nothing is known from this run about how the list treats groups."
        )
    g = e["gate"]
    if not g["enabled"]:
        return "The release gate is switched off (fairness.gate.enabled): no tolerance was checked."
    c = g["counts"]
    verdict = "release allowed" if g["passed"] else "NOT FOR RELEASE"
    return (
        f"Release gate: {verdict} ({equality_scope(f)}, list of {g['k']}). Of {sum(c.values())} checks, "
        f"{c['passed']} passed, {c['breached']} breached, {c['accepted']} breached but accepted by an "
        f"equality reviewer, {c['not established']} outside the tolerance with parity still plausible under "
        f"the corrected test (not established), and {c['not checkable']} could not be checked (too few "
        "people, or a figure not defined): those are not passes."
    )


def review_words(f: Facts) -> list[str]:
    """What the review log says about human review: this list's progress and the previous list's rates."""
    r = f["review"]
    this, previous = r["this_list"] or {}, r["previous_list"]
    out = []
    reviewed = int(this.get("reviewed") or 0)
    if reviewed:
        out.append(
            f"This list: {count(reviewed)} of {count(this.get('listed'))} listed people reviewed so far "
            f"({pct(this.get('share_reviewed'))}); {count(this.get('no_action'))} decided no action "
            f"(override rate {pct(this.get('override_rate'))}). Source: the review log."
        )
    else:
        out.append(
            "This list: no review is recorded yet. The pack is written with the list, before officers "
            "review it; this month's review and override rates appear in the next month's pack."
        )
    if previous is None:
        out.append(
            "Previous list: none in this runs directory, so there are no review or override rates yet (a "
            "first run)."
        )
    else:
        done = int(previous.get("reviewed") or 0)
        rate = pct(previous.get("override_rate")) if done else "not defined (nobody reviewed)"
        out.append(
            f"Previous list ({previous.get('run')}): {count(done)} of {count(previous.get('listed'))} "
            f"listed people reviewed ({pct(previous.get('share_reviewed'))}); "
            f"{count(previous.get('no_action'))} decided no action (override rate {rate}). Source: the "
            "review log."
        )
    state = "intact" if r["log_intact"] else "FAILED its integrity check"
    out.append(
        f"The review log holds {count(r['log_entries'])} decisions in all and is {state} (hash chain "
        "checked)."
    )
    return out


def data_period(f: Facts) -> str:
    d = f["data"]
    return (
        f"events that occurred from {d['first_occurred'] or 'an unknown date'} and were recorded before "
        f"{f['as_of']} (the last on {d['last_recorded'] or 'an unknown date'}): {count(d['events_used'])} "
        "events"
    )


def recorded_characteristics(f: Facts) -> tuple[list[str], list[str]]:
    """The nine protected characteristics split into (recorded for the audit, not recorded): a
    characteristic is recorded when the protected table has its column or the audit compared its
    groups (age bands come from birth dates)."""
    audited = f["equality"]["characteristics"] if f.get("equality") else []
    columns = {c.lower() for c in [*f["data"]["protected_columns"], *audited]}
    found: list[str] = []
    missing: list[str] = []
    for name in PROTECTED_CHARACTERISTICS:
        (found if columns & set(CHARACTERISTIC_COLUMNS[name]) else missing).append(name)
    return found, missing


def quarantined(f: Facts) -> str:
    tables = f["data"]["tables"]
    bad, read = sum(t["rows_quarantined"] for t in tables), sum(t["rows_read"] for t in tables)
    return f"{count(bad)} of {count(read)} rows read were quarantined with their reason (quarantine/)"
