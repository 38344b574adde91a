"""The monthly job: records -> point-in-time features -> labels -> model -> top-k list.

The whole run is point in time: nothing recorded on or after the as-of date is read
into features, labels or training, so re-running a past date reproduces what could
have been known then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from features.build import build_matrix, features_at, model_feature_names, prepare_events
from features.catalogue import V100_FEATURE
from features.errors import PipelineError
from features.labels import build_labels, horizon_end
from features.schema import Records, ValidationReport
from models.ranking import rank_order, v100_rank
from models.train import LightGBMRanker
from scoring.config import RunConfig
from scoring.progress import QuietReporter, Reporter
from scoring.records import load_records

log = logging.getLogger("harmrank")


@dataclass
class RunResult:
    """What one monthly run produced, before anything is written."""

    as_of: pd.Timestamp
    records: Records
    validation: ValidationReport
    ranked: pd.DataFrame
    training: dict[str, object]
    notes: list[str] = field(default_factory=list)

    def top(self, k: int) -> pd.DataFrame:
        """The first ``k`` rows of the ranked cohort."""
        return self.ranked.head(k)


def training_dates(as_of: pd.Timestamp, config: RunConfig, data_start: pd.Timestamp) -> list[pd.Timestamp]:
    """Monthly as-of dates whose label horizon ends on or before ``as_of``, oldest first.

    Dates whose cohort look-back reaches before the first record are dropped: their
    history would look shorter than it was.
    """
    latest = as_of - pd.DateOffset(months=config.label.horizon_months)
    dates = [latest - pd.DateOffset(months=m) for m in range(config.training.history_months)]
    earliest_allowed = data_start + pd.Timedelta(days=config.features.cohort_lookback_days)
    kept = sorted(d for d in dates if d >= earliest_allowed)
    assert all(horizon_end(d, config.label) <= as_of for d in kept)
    return kept


def _train(
    events: pd.DataFrame,
    records: Records,
    dates: list[pd.Timestamp],
    as_of: pd.Timestamp,
    config: RunConfig,
    reporter: Reporter,
) -> tuple[LightGBMRanker, dict[str, object]]:
    with reporter.stage("Building training features"):
        matrix = build_matrix(events, records.persons, dates, config.features)
    with reporter.stage("Labelling training rows"):
        labels = build_labels(matrix[["person_id", "as_of"]], events, config.label, observed_until=as_of)
    if not labels["labelled"].all():
        raise PipelineError("internal: a training row has an unobserved label horizon")
    y = labels["label"].astype("int8").to_numpy()
    positives = int(y.sum())
    if positives < config.training.min_positives:
        raise PipelineError(
            f"only {positives} serious-harm outcomes in the training months "
            f"{dates[0].date()}..{dates[-1].date()}; training needs at least "
            f"{config.training.min_positives} (training.min_positives). Give more history "
            "(training.history_months), a longer extract, or a lower label.min_harm_days."
        )
    names = model_feature_names(config.features)
    with reporter.stage("Training LightGBM"):
        model = LightGBMRanker(config.model, seed=config.seed).fit(matrix[names], y)
    summary = {
        "as_of_dates": [d.date().isoformat() for d in dates],
        "rows": len(matrix),
        "positives": positives,
        "base_rate": round(positives / max(len(matrix), 1), 6),
        "features": names,
    }
    return model, summary


def run_monthly(
    config: RunConfig, as_of: date, data_dir: Path, reporter: Reporter | None = None
) -> RunResult:
    """Run the monthly job for ``as_of`` on the records in ``data_dir`` (nothing is written)."""
    reporter = reporter or QuietReporter()
    as_of_ts = pd.Timestamp(as_of)
    with reporter.stage("Validating records"):
        records, validation = load_records(data_dir, config.validation, config.offences)
    events = prepare_events(records.events, records.offences)
    events = events[events["recorded_date"] < as_of_ts].reset_index(drop=True)
    if events.empty:
        raise PipelineError(
            f"no event in {data_dir} was recorded before the as-of date {as_of}; "
            "choose a later --as-of or check the events file's recorded_date column"
        )
    data_start = events["occurred_date"].min()
    dates = training_dates(as_of_ts, config, data_start)
    if not dates:
        raise PipelineError(
            f"the records start on {data_start.date()}, too late to train for {as_of}: a training date needs "
            f"{config.features.cohort_lookback_days} days of history before it and a "
            f"{config.label.horizon_months}-month outcome window after it, all before the as-of date."
        )
    model, training = _train(events, records, dates, as_of_ts, config, reporter)
    with reporter.stage("Scoring the cohort"):
        current = features_at(events, records.persons, as_of_ts, config.features)
        if current.empty:
            raise PipelineError(
                f"nobody was named as suspect in the {config.features.cohort_lookback_days} "
                f"days before {as_of}; there is no one to rank"
            )
        scored = pd.DataFrame(
            {
                "person_id": current["person_id"],
                "score": model.score(current[model.feature_names_]),
                "v100_score": current[V100_FEATURE],
            }
        )
        scored["v100_rank"] = v100_rank(scored, "v100_score")
        ranked = rank_order(scored, "score", "v100_score", config.output.score_decimals)
    training["cohort_size"] = len(current)
    return RunResult(as_of=as_of_ts, records=records, validation=validation, ranked=ranked, training=training)
