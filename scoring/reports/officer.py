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
import shlex
from collections.abc import Mapping
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup

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
    return [
        f"Protected characteristics of the Equality Act 2010: {PROTECTED}. They are held apart and read "
        f"only by the equality audit. {age}",
        "Location: no postcode, address, area or neighbourhood classification is an input.",
        victim,
    ]


def _assets(env: jinja2.Environment) -> dict[str, object]:
    """The inline script, and a CSP that allows exactly that script."""
    script = env.loader.get_source(env, "officer.js")[0]  # type: ignore[union-attr]
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{digest}'"
    return {"script": Markup(script), "csp": Markup(csp)}


def _by_person(frame: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """A frame split by person_id (rows keep their order), or nothing for a missing frame."""
    if frame is None or frame.empty:
        return {}
    return {str(k): v for k, v in frame.groupby(frame["person_id"].astype(str), sort=True)}


def _review_state(person: pd.DataFrame | None, as_of: str) -> tuple[str, str, str]:
    """(reviewed "yes"/"no", badge, detail) from a person's reviews: this list's latest, else the last."""
    if person is None or person.empty:
        return "no", "not reviewed", ""
    ordered = person.sort_values(["recorded_at", "review_id"], kind="mergesort")
    current = ordered[ordered["run"].astype(str).str[:10] == as_of[:10]]
    if len(current):
        last = current.iloc[-1]
        return "yes", str(last["decision"]), f"by {text(last['reviewer'])}"
    last = ordered.iloc[-1]
    return "no", "not reviewed", f"last: {text(last['decision'])} ({text(last['run'])[:10]})"


def index_rows(
    listed: pd.DataFrame, reviews: Mapping[str, pd.DataFrame], as_of: str
) -> list[dict[str, object]]:
    """One dict per listed person for the index table, in rank order."""
    out = []
    for r in listed.itertuples(index=False):
        person_id = str(r.person_id)
        status, change = status_words(str(r.status), r.rank_change, r.previous_rank)
        reasons = [text(x) for x in (r.reason_1, r.reason_2, r.reason_3) if text(x)]
        reviewed, review, review_sub = _review_state(reviews.get(person_id), as_of)
        rank_change = 0 if missing(r.rank_change) else int(r.rank_change)
        out.append(
            {
                "rank": int(r.rank),
                "person_id": person_id,
                "href": f"people/{safe_name(person_id)}.html",
                "probability": pct(r.probability),
                "probability_key": sort_key(r.probability),
                "band": band(r.probability_lo, r.probability_hi),
                "v100": days(r.v100_score),
                "v100_key": sort_key(r.v100_score),
                "v100_rank": "–" if missing(r.v100_rank) else str(int(r.v100_rank)),
                "status": status,
                "status_key": f"{STATUS_ORDER.get(status, '3')}{status} {int(r.rank):06d}",
                "change": change,
                "direction": "up" if rank_change > 0 else ("down" if rank_change < 0 else ""),
                "reasons": reasons,
                "reviewed": reviewed,
                "review": review,
                "review_sub": review_sub,
                "search": " ".join([person_id, *reasons]).lower(),
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


def review_figures(summary: Mapping[str, float]) -> dict[str, str]:
    """Review progress as display strings (missing figures as dashes)."""
    reviewed = summary.get("reviewed", 0)
    return {
        "listed": str(int(summary.get("listed", 0))),
        "reviewed": str(int(reviewed)),
        "share": pct(summary.get("share_reviewed", float("nan")), 0),
        "no_action": str(int(summary.get("no_action", 0))),
        "override": pct(summary.get("override_rate", float("nan")), 0) if reviewed else "–",
    }


def _write(path: Path, page: str) -> Path:
    path.write_text(page, encoding="utf-8", newline="\n")
    os.chmod(path, 0o600)
    return path


def render_officer_report(
    out_dir: Path,
    *,
    as_of: str,
    listed: pd.DataFrame,
    left: pd.DataFrame | None,
    reasons: pd.DataFrame,
    evidence: pd.DataFrame | None,
    history: pd.DataFrame | None,
    rank_history: pd.DataFrame | None,
    reviews: pd.DataFrame | None,
    review_summary: Mapping[str, float],
    base_value: float,
    notes: list[str],
    review_log: Mapping[str, object] | None = None,
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
    notes
        Notes for the reader, shown in order on the index page.
    review_log
        The review log's integrity check: ``ok`` (bool) and ``text`` (its one-line summary,
        :meth:`scoring.review_log.LogCheck.summary`), shown with the review progress; a failed
        check is shown as a warning.

    Returns
    -------
    The paths written: the index first, then the person pages in rank order.
    """
    env = environment()
    assets = _assets(env)
    listed = listed.sort_values(["rank", "person_id"], kind="mergesort").reset_index(drop=True)
    grouped = {
        name: _by_person(f)
        for name, f in (
            ("reasons", reasons),
            ("evidence", evidence),
            ("history", history),
            ("ranks", rank_history),
            ("reviews", reviews),
        )
    }
    features = set() if reasons is None or reasons.empty else set(reasons["feature"].astype(str))
    common = {"as_of": as_of, "advisory": ADVISORY, "not_used": not_used(policy_features(features)), **assets}
    counts, gone = changes(listed, left)
    index = env.get_template("officer_index.html").render(
        rows=index_rows(listed, grouped["reviews"], as_of),
        counts=counts,
        left=gone,
        review=review_figures(review_summary),
        review_log=review_log,
        notes=list(notes),
        **common,
    )
    out_dir = Path(out_dir)
    people = out_dir / "people"
    people.mkdir(parents=True, exist_ok=True)
    os.chmod(out_dir, 0o700)
    os.chmod(people, 0o700)
    written = [_write(out_dir / "index.html", index)]
    template = env.get_template("officer_person.html")
    empty = (
        reasons.iloc[0:0]
        if reasons is not None
        else pd.DataFrame(columns=["order", "feature", "value", "contribution", "direction", "sentence"])
    )
    for _, row in listed.iterrows():
        person_id = str(row["person_id"])
        context = person_context(
            row,
            as_of=as_of,
            reasons=grouped["reasons"].get(person_id, empty),
            evidence=grouped["evidence"].get(person_id),
            history=grouped["history"].get(person_id),
            past_ranks=grouped["ranks"].get(person_id),
            reviews=grouped["reviews"].get(person_id),
            base_value=base_value,
        )
        context["person_id_arg"] = shlex.quote(person_id)
        page = template.render(p=context, index_href="../index.html", run_hint=f"runs/{as_of}", **common)
        written.append(_write(people / f"{safe_name(person_id)}.html", page))
    keep = {p.name for p in written[1:]}
    for stale in sorted(people.glob("*.html")):
        if stale.name not in keep:
            stale.unlink()
    return written
