"""The officer report, ``runs/<DATE>/report/``: the list page and one page per listed person.

:func:`render_officer_report` writes ``index.html`` (the sortable, filterable list, what changed
since last month, review progress) and ``people/<person>.html`` (see :mod:`scoring.reports.person`).
The pages are self-contained: inline CSS (report.css with officer.css), inline SVG and one
inline script (sorting, filtering, and opening collapsed sections for printing) that the
Content-Security-Policy allows by its SHA-256 hash; nothing else can load or run, so the pages
behave the same offline. All text is escaped by Jinja2's autoescaping, and the pages hold no
timestamp: the same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup

from models.reasons import SUFFIX
from scoring.reports.env import environment
from scoring.reports.person import (
    band,
    days,
    missing,
    pct,
    person_context,
    policy_features,
    safe_name,
    sort_key,
    status_words,
    text,
)

ADVISORY = (
    "Advisory only. This list prioritises people for review; it does not justify any action by itself. "
    "Every listed person must receive a recorded human review."
)
PROTECTED = (
    "sex, race and ethnicity, religion or belief, disability, sexual orientation, gender reassignment, "
    "marriage and civil partnership, and pregnancy and maternity"
)
STATUS_ORDER = {"new": "0", "returned": "1", "stayed": "2"}
MARKING = "OFFICIAL-SENSITIVE"
"""The protective marking printed on every page unless the run's ``output.marking`` says otherwise."""
RANK_CONFIDENCE = "95%"
"""The confidence of the ``rank_lo``/``rank_hi`` bootstrap intervals of the list."""
SEARCH_TERMS = 40
"""Most offence terms (descriptions and codes) a person's search text takes from their records."""
SEARCH_CHARS = 1500
PRINT_REASON = 96
"""Most characters of a reason on the printed list (one line in a narrow 9 pt face); longer ones
are cut at a clause or word boundary, never inside a number, and end with an ellipsis."""
"""Most characters of a person's search text beyond their id and reasons."""
NOT_SEARCHED = frozenset({"crime_victim", "witness"})
"""Event types whose offences are left out of the search: a victim or witness of a robbery must not
be found by searching "robbery" on a list of people named as suspects."""
CSS_PLAIN = re.compile(r"[A-Za-z0-9 ._,:()-]")
MARK_SUBJECT = 64
"""Characters of the page's subject (a person id) shown in the printed page margins."""


def not_used(policies: set[str]) -> list[str]:
    """The fixed statement of what the model did not use, adjusted to the policy switches that were on."""
    age = (
        "Age was used, because the policy switch use_age is on for this run."
        if "use_age" in policies
        else "Age is not used either (the policy switch use_age is off)."
    )
    victim = (
        "Records of a person as a victim were used, because the policy switch use_victimisation is on for "
        "this run; records as a witness were not."
        if "use_victimisation" in policies
        else "Records of a person as a victim or witness: they never raise the score (the policy switch "
        "use_victimisation is off). Suspects, victims and witnesses are distinct categories."
    )
    police = (
        "Stop-and-search and intelligence records were used, because the policy switch use_police_activity "
        "is on for this run: they record where the police looked, and the reasons mark them."
        if "use_police_activity" in policies
        else "Stop-and-search and intelligence records: they record where the police looked, not what the "
        "person is alleged to have done, and never raise the score (the policy switch use_police_activity "
        "is off)."
    )
    return [
        f"Protected characteristics of the Equality Act 2010: {PROTECTED}. They are held apart and read "
        f"only by the equality audit. {age}",
        "Location: no postcode, address, area or neighbourhood classification is an input.",
        victim,
        police,
    ]


def _assets(env: jinja2.Environment) -> dict[str, object]:
    """The inline script, and a CSP that allows exactly that script."""
    script = env.loader.get_source(env, "officer.js")[0]  # type: ignore[union-attr]
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{digest}'"
    return {"script": Markup(script), "csp": Markup(csp)}


def by_person(frame: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """A frame split by person_id (rows keep their order), or nothing for a missing frame."""
    if frame is None or frame.empty:
        return {}
    return {str(k): v for k, v in frame.groupby(frame["person_id"].astype(str), sort=True)}


def _review_state(person: pd.DataFrame | None, as_of: str) -> tuple[str, str, str]:
    """(reviewed "yes"/"no", badge, detail) from a person's reviews: this list's latest, else the last."""
    if person is None or person.empty:
        return "no", "not reviewed", ""
    ordered = person.sort_values(["recorded_at", "review_id"], kind="mergesort")
    current = ordered[ordered["run"].astype(str) == as_of]  # not the date's deaths report (<date>/deaths)
    if len(current):
        last = current.iloc[-1]
        return "yes", str(last["decision"]), f"by {text(last['reviewer'])}"
    last = ordered.iloc[-1]
    return "no", "not reviewed", f"last: {text(last['decision'])} ({text(last['run'])[:10]})"


def css_string(value: str) -> str:
    """``value`` as a double-quoted CSS string that nothing in it can end early.

    Letters, digits, space and ``._,:()-`` stay as they are; every other character (quotes,
    backslashes, ``<``, ``/``, line breaks, anything non-ASCII) becomes a CSS escape, backslash, hex
    code point and one space that ends the escape and is not shown. So the string cannot close
    itself, the rule or the ``<style>`` element, whatever a person id holds. NUL and lone surrogates,
    which CSS would turn into U+FFFD anyway, are written as U+FFFD.
    """
    out = []
    for ch in value:
        if CSS_PLAIN.fullmatch(ch):
            out.append(ch)
            continue
        code = ord(ch)
        if code == 0 or 0xD800 <= code <= 0xDFFF:
            code = 0xFFFD
        out.append(f"\\{code:x} ")
    return '"' + "".join(out) + '"'


def print_marks(marking: str, subject: str, as_of: str) -> dict[str, Markup]:
    """The CSS strings ``officer_print.html`` puts in a page's printed margins and screen banner.

    ``marking`` is the protective marking; ``subject`` what the page is about (``"list"`` on the
    index, the person id on a person page), cut to :data:`MARK_SUBJECT` characters with an ellipsis,
    shown with the run date. Both are escaped by :func:`css_string`.
    """
    if len(subject) > MARK_SUBJECT:
        subject = subject[: MARK_SUBJECT - 1] + "…"
    return {
        "marking": Markup(css_string(marking)),
        "subject": Markup(css_string(f"{subject} · run {as_of}")),
    }


def offence_terms(
    *frames: pd.DataFrame | None, limit: int = SEARCH_TERMS, chars: int = SEARCH_CHARS
) -> list[str]:
    """A person's offence descriptions and codes for the index search, from their evidence and
    history records.

    Terms are lower-cased with runs of white space made one space, counted once per record
    (``event_id``) however many frames hold it, and ordered by how many records carry them (most
    first, then alphabetically); at most ``limit`` terms and ``chars`` characters are kept. Records
    of the person as a victim or witness (:data:`NOT_SEARCHED`) are left out.
    """
    seen: set[tuple[str, str]] = set()
    counts: dict[str, int] = {}
    for frame in frames:
        if frame is None or frame.empty:
            continue
        if "event_type" in frame.columns:
            frame = frame[~frame["event_type"].astype(str).isin(NOT_SEARCHED)]
        ids = frame["event_id"].astype(str) if "event_id" in frame.columns else pd.Series(range(len(frame)))
        for column in ("description", "offence_code"):
            if column not in frame.columns:
                continue
            for event, value in zip(ids, frame[column], strict=True):
                term = " ".join(text(value).lower().split())
                if term and (str(event), term) not in seen:
                    seen.add((str(event), term))
                    counts[term] = counts.get(term, 0) + 1
    kept: list[str] = []
    used = 0
    for term in sorted(counts, key=lambda t: (-counts[t], t))[:limit]:
        used += len(term) + 1
        if used > chars:
            break
        kept.append(term)
    return kept


def rank_runs(ranks: Sequence[int], lo: Sequence[float], hi: Sequence[float]) -> list[tuple[int, int]]:
    """The list cut into runs of people who cannot be told apart by their rank intervals.

    Parameters
    ----------
    ranks, lo, hi
        Each listed person's rank and the ends of their rank interval (NaN or None when missing),
        aligned; any order (they are taken in rank order).

    Returns
    -------
    (first rank, last rank) of each run, top of the list first; a run of one has first == last.

    The rule: walking down the list in rank order, a run starts with a person, its *head*, and takes
    in each next person whose interval overlaps the head's (``lo <= head_hi`` and ``head_lo <= hi``:
    some rank lies in both); the first person whose interval does not overlap the head's starts the
    next run. Everyone in a run is indistinguishable from its head at the intervals' confidence;
    two people of one run need not overlap each other. A person without an interval is a run of one.
    """
    order = sorted(range(len(ranks)), key=lambda i: int(ranks[i]))
    runs: list[tuple[int, int]] = []
    head: tuple[float, float] | None = None
    for i in order:
        rank, interval = (
            int(ranks[i]),
            None if missing(lo[i]) or missing(hi[i]) else (float(lo[i]), float(hi[i])),
        )
        if head is not None and interval is not None and interval[0] <= head[1] and head[0] <= interval[1]:
            runs[-1] = (runs[-1][0], rank)
            continue
        runs.append((rank, rank))
        head = interval
    return runs


def has_rank_intervals(listed: pd.DataFrame) -> bool:
    """Whether the list carries rank intervals (``rank_lo`` and ``rank_hi``, not all missing)."""
    return {"rank_lo", "rank_hi"} <= set(listed.columns) and bool(
        (listed["rank_lo"].notna() & listed["rank_hi"].notna()).any()
    )


def rank_statement(listed: pd.DataFrame) -> dict[str, object] | None:
    """Who cannot be told apart, for the page (None without rank intervals): ``lines``, one
    sentence per run of two or more and one for the runs of one; ``spans``, each run as
    ``"1–37"`` (or ``"38"``), for the compact printed statement."""
    if listed.empty or not has_rank_intervals(listed):
        return None
    runs = rank_runs(listed["rank"].tolist(), listed["rank_lo"].tolist(), listed["rank_hi"].tolist())
    lines = [
        f"Ranks {a}–{b} cannot be told apart at {RANK_CONFIDENCE}: "
        "each one's rank interval overlaps the first's."
        for a, b in runs
        if b > a
    ]
    alone = [str(a) for a, b in runs if a == b]
    if alone:
        lines.append(
            "Runs of one (the next person's interval does not overlap theirs, or they have none): "
            f"rank {', '.join(alone)}."
        )
    return {"lines": lines, "spans": [f"{a}–{b}" if b > a else str(a) for a, b in runs]}


def brief(text: str, limit: int = PRINT_REASON) -> str:
    """``text`` cut to at most ``limit`` characters for the printed list: whole when it fits, else
    at the last clause end (``;``, ``.`` or ``,``) that keeps three quarters of the limit, else at
    the last space, with an ellipsis; a figure is never cut."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    clause = max(head.rfind("; "), head.rfind(". "), head.rfind(", "))
    cut = clause if clause >= 3 * limit // 4 else head.rfind(" ")
    return (head[:cut] if cut > 0 else head).rstrip(" ,;:.") + "…"


def split_reason(sentence: str) -> dict[str, str]:
    """A reason sentence as its text, its direction suffix (``": raises the score"``...) and its
    printed form (:func:`brief`; the common "raises" left out, the others said in brackets)."""
    for direction, suffix in SUFFIX.items():
        if sentence.endswith(suffix) and len(sentence) > len(suffix):
            text, tail = sentence[: -len(suffix)], "" if direction == "raises" else f" ({suffix[2:]})"
            return {
                "text": text,
                "suffix": suffix,
                "print": brief(text, PRINT_REASON - len(tail)) + tail,
            }
    return {"text": sentence, "suffix": "", "print": brief(sentence)}


def _short_change(status: str, change: str) -> str:
    """The status with its rank change in few words, for print: ``stayed up 2`` (not "(was 3)")."""
    return f"{status} {change.split(' (')[0]}" if change else status


def _rank_interval(r: object) -> str:
    lo, hi = getattr(r, "rank_lo", None), getattr(r, "rank_hi", None)
    if missing(lo) or missing(hi):
        return ""
    return f"{int(float(lo))}–{int(float(hi))}"  # type: ignore[arg-type]


def index_rows(
    listed: pd.DataFrame,
    reviews: Mapping[str, pd.DataFrame],
    as_of: str,
    terms: Mapping[str, list[str]] | None = None,
) -> list[dict[str, object]]:
    """One dict per listed person for the index table, in rank order.

    ``terms`` are each person's offence terms (:func:`offence_terms`), searched with their id and
    reasons. Each sortable cell has a ``*_key``: numbers with fixed decimals, words grouped first
    (status: new, returned, stayed; review: not reviewed, then by decision), the list order breaking ties.
    """
    out = []
    terms = terms or {}
    for r in listed.itertuples(index=False):
        person_id = str(r.person_id)
        status, change = status_words(str(r.status), r.rank_change, r.previous_rank)
        reasons = [text(x) for x in (r.reason_1, r.reason_2, r.reason_3) if text(x)]
        reviewed, review, review_sub = _review_state(reviews.get(person_id), as_of)
        rank_change = 0 if missing(r.rank_change) else int(r.rank_change)
        model_score = getattr(r, "model_score", None)
        out.append(
            {
                "rank": int(r.rank),
                "rank_interval": _rank_interval(r),
                "person_id": person_id,
                "href": f"people/{safe_name(person_id)}.html",
                "probability": pct(r.probability),
                "probability_key": sort_key(r.probability),
                "band": band(r.probability_lo, r.probability_hi),
                "raw": "" if missing(model_score) else f"{float(model_score):.3f}",  # type: ignore[arg-type]
                "v100": days(r.v100_score),
                "v100_key": sort_key(r.v100_score),
                "v100_rank": "–" if missing(r.v100_rank) else str(int(r.v100_rank)),
                "status": status,
                "status_key": f"{STATUS_ORDER.get(status, '3')} {status}",
                "change": change,
                "direction": "up" if rank_change > 0 else ("down" if rank_change < 0 else ""),
                "reasons": [split_reason(x) for x in reasons],
                "status_print": _short_change(status, change),
                "reasons_key": reasons[0].lower() if reasons else "",
                "reviewed": reviewed,
                "review": review,
                "review_key": f"{1 if reviewed == 'yes' else 0} {review}",
                "review_sub": review_sub,
                "search": " ".join([person_id, *reasons, *terms.get(person_id, [])]).lower(),
            }
        )
    return out


def changes(listed: pd.DataFrame, left: pd.DataFrame | None) -> tuple[dict[str, int], list[dict[str, str]]]:
    """Counts of new, stayed (up and down) and returned people, and who left, by previous rank."""
    status = listed["status"].astype(str)
    change = pd.to_numeric(listed["rank_change"], errors="coerce")
    counts = {s: int((status == s).sum()) for s in ("new", "stayed", "returned")}
    counts["moved_up"] = int((change > 0).sum())
    counts["moved_down"] = int((change < 0).sum())
    gone: list[dict[str, str]] = []
    if left is not None and not left.empty:
        frame = left.assign(person_id=left["person_id"].astype(str))
        frame = frame.sort_values(["previous_rank", "person_id"], kind="mergesort")
        gone = [
            {"person_id": p, "previous_rank": "–" if missing(r) else str(int(r))}
            for p, r in zip(frame["person_id"], frame["previous_rank"], strict=True)
        ]
    return counts, gone


def review_figures(
    summary: Mapping[str, float], previous: Mapping[str, object] | None = None
) -> dict[str, object]:
    """Review progress as display strings (missing figures as dashes).

    ``summary`` is about this list (``scoring.review.review_summary``); ``previous``, when given,
    about the previous list: the same figures plus ``run``, its as-of date.
    """
    reviewed = summary.get("reviewed", 0)
    figures: dict[str, object] = {
        "listed": str(int(summary.get("listed", 0))),
        "reviewed": str(int(reviewed)),
        "share": pct(summary.get("share_reviewed", float("nan")), 0),
        "no_action": str(int(summary.get("no_action", 0))),
        "override": pct(summary.get("override_rate", float("nan")), 0) if reviewed else "–",
        "previous": None,
    }
    if previous is not None and previous.get("run"):
        figures["previous"] = {
            "run": text(previous["run"])[:10],
            **{k: v for k, v in review_figures(previous).items() if k != "previous"},  # type: ignore[arg-type]
        }
    return figures


def order_statement(listed: pd.DataFrame, rank_by: str = "probability") -> str:
    """What the list is ordered by, in words, checked against the list itself.

    With ``rank_by == "probability"`` the run orders by calibrated probability, then raw score;
    calibration is monotone, so that is the raw score's order whenever the raw scores fall down the
    list (checked here; the statement names the probability order when they do not).
    """
    ties = "equal raw scores are ordered by V100 score, then person id"
    if rank_by == "expected_harm":
        return (
            "The list is ordered by expected harm, highest first: the calibrated probability times the "
            "CCHI days expected if the outcome happens; equal values by raw score, V100 score and person id. "
            "The probability alone need not fall down the list."
        )
    raw = pd.to_numeric(listed.get("model_score", pd.Series(dtype=float)), errors="coerce")
    if len(raw) and raw.notna().all() and bool((raw.diff().dropna() <= 0).all()):
        return (
            "The list is ordered by the model's raw score (shown under the probability), highest first. "
            "The calibrated probability never falls as the raw score rises, so it falls or stays equal down "
            "the list; people with equal probability are in raw-score order, and " + ties + "."
        )
    return (
        "The list is ordered by calibrated probability, highest first; equal probabilities by the model's "
        "raw score (shown under the probability), and " + ties + "."
    )


def _write(path: Path, page: str) -> Path:
    path.write_text(page, encoding="utf-8", newline="\n")
    os.chmod(path, 0o600)
    return path


def index_page(
    *,
    as_of: str,
    listed: pd.DataFrame,
    left: pd.DataFrame | None,
    reasons: pd.DataFrame | None,
    evidence: pd.DataFrame | None,
    history: pd.DataFrame | None,
    reviews: pd.DataFrame | None,
    review_summary: Mapping[str, float],
    notes: list[str],
    review_log: Mapping[str, object] | None = None,
    previous_review: Mapping[str, object] | None = None,
    marking: str = MARKING,
    rank_by: str = "probability",
    service: Mapping[str, object] | None = None,
    terms: Mapping[str, list[str]] | None = None,
) -> str:
    """The list page (``index.html``); arguments as :func:`render_officer_report`; ``terms``, each
    person's offence terms for the search when already worked out (:func:`offence_terms`).

    ``service`` is set when the review service serves the page (:mod:`scoring.serve`): who is signed
    in, the forms' CSRF token, ``href(person_id)`` for the links to person pages, and ``shown``, the
    people the table keeps under a filter (every figure on the page stays about the whole list).
    """
    env = environment()
    listed = listed.sort_values(["rank", "person_id"], kind="mergesort").reset_index(drop=True)
    features = set() if reasons is None or reasons.empty else set(reasons["feature"].astype(str))
    if terms is None:
        terms = search_terms(listed, evidence, history)
    by_review = by_person(reviews)
    counts, gone = changes(listed, left)
    rows = index_rows(listed, by_review, as_of, terms)
    if service is not None:
        href, shown = service["href"], service.get("shown")
        rows = [r for r in rows if shown is None or r["person_id"] in shown]  # type: ignore[operator]
        for row in rows:
            row["href"] = href(row["person_id"])  # type: ignore[operator]
    return env.get_template("officer_index.html").render(
        rows=rows,
        total=len(listed),
        counts=counts,
        left=gone,
        review=review_figures(review_summary, previous_review),
        review_log=review_log,
        notes=list(notes),
        order=order_statement(listed, rank_by),
        rank_runs=rank_statement(listed),
        intervals=has_rank_intervals(listed),
        confidence=RANK_CONFIDENCE,
        marking=marking,
        marks=print_marks(marking, "list", as_of),
        service=service,
        **_common(env, as_of, features),
    )


def search_terms(
    listed: pd.DataFrame, evidence: pd.DataFrame | None, history: pd.DataFrame | None
) -> dict[str, list[str]]:
    """Each listed person's offence terms for the list's search (:func:`offence_terms`)."""
    by_evidence, by_history = by_person(evidence), by_person(history)
    return {
        str(p): offence_terms(by_evidence.get(str(p)), by_history.get(str(p))) for p in listed["person_id"]
    }


def _common(env: jinja2.Environment, as_of: str, features: set[str]) -> dict[str, object]:
    return {
        "as_of": as_of,
        "advisory": ADVISORY,
        "not_used": not_used(policy_features(features)),
        **_assets(env),
    }


def person_page(
    row: pd.Series,
    *,
    as_of: str,
    reasons: pd.DataFrame | None,
    families: pd.DataFrame | None,
    evidence: pd.DataFrame | None,
    history: pd.DataFrame | None,
    past_ranks: pd.DataFrame | None,
    reviews: pd.DataFrame | None,
    base_value: float,
    objective: str = "binary",
    marking: str = MARKING,
    features: set[str] | None = None,
    service: Mapping[str, object] | None = None,
) -> str:
    """One listed person's page (``row``: their line of the list; the frames only their rows).

    ``features`` are the model's features (for the statement of what it did not use; default:
    those in ``reasons``); ``service`` as in :func:`index_page`, with the decision form's state.
    """
    env = environment()
    if reasons is None:
        reasons = pd.DataFrame(columns=["order", "feature", "value", "contribution", "direction", "sentence"])
    if features is None:
        features = set(reasons["feature"].astype(str))
    person_id = str(row["person_id"])
    context = person_context(
        row,
        as_of=as_of,
        reasons=reasons,
        families=families,
        objective=objective,
        evidence=evidence,
        history=history,
        past_ranks=past_ranks,
        reviews=reviews,
        base_value=base_value,
    )
    context["person_id_arg"] = shlex.quote(person_id)
    return env.get_template("officer_person.html").render(
        p=context,
        index_href="../index.html" if service is None else service["index_href"],
        run_hint=f"runs/{as_of}",
        marking=marking,
        marks=print_marks(marking, person_id, as_of),
        service=service,
        **_common(env, as_of, features),
    )


def render_officer_report(
    out_dir: Path,
    *,
    as_of: str,
    listed: pd.DataFrame,
    left: pd.DataFrame | None,
    reasons: pd.DataFrame,
    evidence: pd.DataFrame | None,
    families: pd.DataFrame | None = None,
    objective: str = "binary",
    history: pd.DataFrame | None,
    rank_history: pd.DataFrame | None,
    reviews: pd.DataFrame | None,
    review_summary: Mapping[str, float],
    base_value: float,
    notes: list[str],
    review_log: Mapping[str, object] | None = None,
    previous_review: Mapping[str, object] | None = None,
    marking: str = MARKING,
    rank_by: str = "probability",
) -> list[Path]:
    """Write the officer report: ``out_dir/index.html`` and ``out_dir/people/<person>.html``.

    Parameters
    ----------
    out_dir
        The report directory (created if needed; made owner-only). Person pages no longer on the
        list are removed from ``out_dir/people``.
    as_of
        The run's as-of date, ISO (``YYYY-MM-DD``).
    listed, left, reasons, evidence, history, rank_history, reviews, review_summary, base_value
        The frames of ``docs/report-frames.md``: the list (one row per listed person), who left
        since last month, all SHAP reasons of the listed people, the records behind the top reasons,
        their event histories, their ranks on earlier lists, the review log and its summary, and the
        model's base value (raw margin).
    objective
        The model's LightGBM objective (``binary`` or ``lambdarank``): what the waterfall's raw
        score is (log-odds, or a ranking score).
    notes
        Notes for the reader, shown in order on the index page.
    review_log
        The review log's integrity check: ``ok`` (bool) and ``text`` (its one-line summary,
        :meth:`scoring.review_log.LogCheck.summary`), shown with the review progress; a failed
        check is shown as a warning.
    previous_review
        The previous list's review progress: ``run`` (its as-of date) and the keys of
        ``review_summary``; shown beside this list's (which is usually 0 when the list is new).
    marking
        The protective marking (``output.marking``): on the screen at the top of every page, and at
        the top and bottom of every printed page with the page's subject, run date and page number.
    rank_by
        What the run ranked by (``scoring.rank_by``): ``probability`` or ``expected_harm``; the
        index states it (:func:`order_statement`).

    The index's search covers each person's id, top reasons and the offence descriptions and
    codes of their evidence and history records (:func:`offence_terms`).

    Returns
    -------
    The paths written: the index first, then the person pages in rank order.
    """
    listed = listed.sort_values(["rank", "person_id"], kind="mergesort").reset_index(drop=True)
    index = index_page(
        as_of=as_of,
        listed=listed,
        left=left,
        reasons=reasons,
        evidence=evidence,
        history=history,
        reviews=reviews,
        review_summary=review_summary,
        notes=notes,
        review_log=review_log,
        previous_review=previous_review,
        marking=marking,
        rank_by=rank_by,
    )
    out_dir = Path(out_dir)
    people = out_dir / "people"
    people.mkdir(parents=True, exist_ok=True)
    os.chmod(out_dir, 0o700)
    os.chmod(people, 0o700)
    written = [_write(out_dir / "index.html", index)]
    grouped = {
        name: by_person(f)
        for name, f in (
            ("reasons", reasons),
            ("families", families),
            ("evidence", evidence),
            ("history", history),
            ("ranks", rank_history),
            ("reviews", reviews),
        )
    }
    features = set() if reasons is None or reasons.empty else set(reasons["feature"].astype(str))
    empty = reasons.iloc[0:0] if reasons is not None else None
    for _, row in listed.iterrows():
        person_id = str(row["person_id"])
        page = person_page(
            row,
            as_of=as_of,
            reasons=grouped["reasons"].get(person_id, empty),
            families=grouped["families"].get(person_id),
            evidence=grouped["evidence"].get(person_id),
            history=grouped["history"].get(person_id),
            past_ranks=grouped["ranks"].get(person_id),
            reviews=grouped["reviews"].get(person_id),
            base_value=base_value,
            objective=objective,
            marking=marking,
            features=features,
        )
        written.append(_write(people / f"{safe_name(person_id)}.html", page))
    keep = {p.name for p in written[1:]}
    for stale in sorted(people.glob("*.html")):
        if stale.name not in keep:
            stale.unlink()
    return written
