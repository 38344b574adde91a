"""The published list and everything an officer sees beside it.

Explains the listed people (SHAP on the raw model score), finds the records behind their top
reasons, compares the list with last month's, and gathers past review decisions. Reads earlier
runs' lists and the review log; writes nothing (``scoring.outputs`` does).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd

from models.reasons import family_reasons, top_family_reasons
from scoring.changes import find_previous_runs, left_list, list_status, load_lists, rank_history
from scoring.config import RunConfig
from scoring.evidence import family_evidence, history
from scoring.explain import explain
from scoring.pipeline import RunResult
from scoring.review import decisions, review_summary
from scoring.review_log import Location, LogCheck, against_runs, location, verify

N_REASONS = 3


@dataclass
class Listing:
    """The list with reasons and status, and the frames the officer report shows (contracts in docs)."""

    listed: pd.DataFrame
    left: pd.DataFrame
    reasons: pd.DataFrame
    families: pd.DataFrame
    evidence: pd.DataFrame
    history: pd.DataFrame
    rank_history: pd.DataFrame
    reviews: pd.DataFrame
    review_summary: dict[str, float]  # this list's review progress (scoring.review.review_summary)
    previous_review: dict[str, object] | None  # the previous list's: its run (as-of date) and the same keys
    base_value: float
    log_check: LogCheck  # the review log's integrity when the list was written


def review_progress(
    people: list[str], as_of: str, previous: pd.DataFrame | None, previous_run: str | None, log: Location
) -> tuple[dict[str, float], dict[str, object] | None]:
    """Review progress of this list and of the previous one, from the review log.

    Each list is counted over its own people and its own run: this list's ``people`` against
    decisions recorded for ``as_of`` (none yet when a list is first written; some when a run is
    written again), the previous list (person_id column) against ``previous_run``. Returns this
    list's :func:`scoring.review.review_summary` and the previous list's with its ``run`` added
    (None without a previous list).
    """
    summary = review_summary(people, as_of, log)
    if previous is None or previous_run is None:
        return summary, None
    return summary, {"run": previous_run, **review_summary(previous["person_id"], previous_run, log)}


def build_listing(result: RunResult, config: RunConfig) -> Listing:
    """Explain and compare the top ``config.output.k`` of ``result``."""
    top = result.top(config.output.k).reset_index(drop=True)
    people = top["person_id"].astype("str").tolist()
    rows = result.current.set_index("person_id").loc[people, result.features]
    explained = explain(result.model, rows, people)
    families = family_reasons(
        explained.contributions, rows.set_axis(explained.contributions.index), result.as_of
    )
    listed = top.merge(top_family_reasons(families, N_REASONS), on="person_id", how="left")
    earlier_runs = find_previous_runs(config.runs_dir, result.as_of.date())
    lists = load_lists(earlier_runs)
    previous = lists[lists["as_of"] == lists["as_of"].max()] if len(lists) else None
    listed = list_status(listed, previous, lists if len(lists) else None)
    log = location(config.scoring.review_log)
    log_check, moved = against_runs(verify(log), log, config.runs_dir)
    if moved is not None:
        logging.getLogger("harmrank").warning("%s", moved)
        result.notes.append(moved)
    previous_run = earlier_runs[0][0].isoformat() if earlier_runs and previous is not None else None
    summary, previous_review = review_progress(
        people, result.as_of.date().isoformat(), previous, previous_run, log
    )
    events, offences = result.records.events, result.records.offences
    return Listing(
        listed=listed,
        left=left_list(listed, previous),
        reasons=explained.reasons,
        families=families,
        evidence=family_evidence(
            explained.reasons, families, events, offences, result.as_of, n_families=N_REASONS
        ),
        history=history(events, offences, people, result.as_of, result.features),
        rank_history=rank_history(lists, people),
        reviews=decisions(log, people),
        review_summary=summary,
        previous_review=previous_review,
        base_value=explained.base_value,
        log_check=log_check,
    )
