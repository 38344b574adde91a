"""The published list and everything an officer sees beside it.

Explains the listed people (SHAP on the raw model score), finds the records behind their top
reasons, compares the list with last month's, and gathers past review decisions. Reads earlier
runs' lists and the review log; writes nothing (``scoring.outputs`` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from scoring.changes import find_previous_runs, left_list, list_status, load_lists, rank_history
from scoring.config import RunConfig
from scoring.evidence import evidence, history
from scoring.explain import explain, top_reasons
from scoring.pipeline import RunResult
from scoring.review import decisions, review_summary
from scoring.review_log import LogCheck, verify

N_REASONS = 3
NAN = float("nan")


@dataclass
class Listing:
    """The list with reasons and status, and the frames the officer report shows (contracts in docs)."""

    listed: pd.DataFrame
    left: pd.DataFrame
    reasons: pd.DataFrame
    evidence: pd.DataFrame
    history: pd.DataFrame
    rank_history: pd.DataFrame
    reviews: pd.DataFrame
    review_summary: dict[str, float]
    reviewed_run: str | None  # the earlier run the review summary is about
    base_value: float
    log_check: LogCheck  # the review log's integrity when the list was written


def build_listing(result: RunResult, config: RunConfig) -> Listing:
    """Explain and compare the top ``config.output.k`` of ``result``."""
    top = result.top(config.output.k).reset_index(drop=True)
    people = top["person_id"].astype("str").tolist()
    rows = result.current.set_index("person_id").loc[people, result.features]
    explained = explain(result.model, rows, people)
    listed = top.merge(top_reasons(explained.reasons, N_REASONS), on="person_id", how="left")
    earlier_runs = find_previous_runs(config.runs_dir, result.as_of.date())
    lists = load_lists(earlier_runs)
    previous = lists[lists["as_of"] == lists["as_of"].max()] if len(lists) else None
    listed = list_status(listed, previous, lists if len(lists) else None)
    log = Path(config.scoring.review_log)
    log_check = verify(log)
    reviewed_run = earlier_runs[0][0].isoformat() if earlier_runs else None
    if previous is not None and reviewed_run is not None:
        summary = review_summary(previous["person_id"], reviewed_run, log)
    else:  # no earlier list: nothing could have been reviewed yet
        summary = {"listed": 0, "reviewed": 0, "share_reviewed": NAN, "no_action": 0, "override_rate": NAN}
    events, offences = result.records.events, result.records.offences
    return Listing(
        listed=listed,
        left=left_list(listed, previous),
        reasons=explained.reasons,
        evidence=evidence(explained.reasons, events, offences, result.as_of, n_reasons=N_REASONS),
        history=history(events, offences, people, result.as_of, result.features),
        rank_history=rank_history(lists, people),
        reviews=decisions(log, people),
        review_summary=summary,
        reviewed_run=reviewed_run,
        base_value=explained.base_value,
        log_check=log_check,
    )
