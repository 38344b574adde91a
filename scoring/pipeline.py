"""The monthly job: records -> point-in-time features -> labels -> backtest -> model -> top-k list.

The whole run is point in time: nothing recorded on or after the as-of date is read into
features, labels or training, so re-running a past date reproduces what could have been
known then. One feature panel is built for every monthly as-of date the run needs; the
backtest and the production model are both fitted on it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from features.build import build_matrix, model_feature_names, prepare_events
from features.catalogue import V100_FEATURE
from features.errors import PipelineError
from features.labels import build_labels, horizon_end
from features.records.schema import Records, ValidationReport
from models.backtest import (
    BacktestResult,
    FittedModel,
    backtest,
    candidate_settings,
    fit_model,
    resolve_calibration,
)
from models.baselines import history_baselines
from models.calibrate import Calibrator
from models.drift import MAJOR as DRIFT_MAJOR
from models.drift import Drift
from models.drift import measure as measure_drift
from models.drift import sample as drift_sample
from models.expected_harm import HarmGivenOutcome
from models.rank_intervals import add_rank_intervals, rank_intervals
from models.ranking import rank_order, v100_rank
from models.splits import Split, temporal_splits
from models.train import LightGBMRanker
from scoring.backtesting import candidates
from scoring.champion import evaluate_champion
from scoring.config import RunConfig
from scoring.equality import Equality, equality_audit, this_months_list
from scoring.progress import QuietReporter, Reporter
from scoring.records import load_records, shown

log = logging.getLogger("harmrank")


@dataclass
class RunResult:
    """What one monthly run produced, before anything is written."""

    as_of: pd.Timestamp
    records: Records
    validation: ValidationReport
    ranked: pd.DataFrame
    training: dict[str, object]
    model: FittedModel
    features: list[str]
    current: pd.DataFrame
    backtest: BacktestResult | None = None
    notes: list[str] = field(default_factory=list)
    model_source: str = "trained"
    champion_version: int | None = None
    equality: Equality | None = None
    drift: Drift | None = None

    def top(self, k: int) -> pd.DataFrame:
        """The first ``k`` rows of the ranked cohort."""
        return self.ranked.head(k)


def labelled_dates(as_of: pd.Timestamp, config: RunConfig, data_start: pd.Timestamp) -> list[pd.Timestamp]:
    """Monthly as-of dates the run learns from, oldest first.

    Each has its whole label horizon before ``as_of`` and a full cohort look-back after the
    first record (an earlier date's history would look shorter than it was). Only as many
    months are kept as the production fit and, when enabled, the backtest can use.
    """
    s = config.backtest.splits
    needed = s.history_months + s.validation_months + s.calibration_months + s.gap_months
    if config.backtest.enabled:
        needed += s.test_months + config.label.horizon_months
    latest = as_of - pd.DateOffset(months=config.label.horizon_months)
    dates = [latest - pd.DateOffset(months=m) for m in range(needed)]
    earliest_allowed = data_start + pd.Timedelta(days=config.features.cohort_lookback_days)
    kept = sorted(d for d in dates if d >= earliest_allowed)
    assert all(horizon_end(d, config.label) <= as_of for d in kept)
    return kept


def production_split(dates: list[pd.Timestamp], as_of: pd.Timestamp, config: RunConfig) -> Split:
    """The split whose test date is the run's as-of date: the latest months train, validate, calibrate."""
    settings = config.backtest.splits.model_copy(update={"test_months": 1})
    return temporal_splits([*dates, as_of], config.label.horizon_months, settings)[-1]


def latest_as_of(events: pd.DataFrame) -> pd.Timestamp:
    """The latest as-of date the records support: the day after the last recorded_date.

    A later date would treat the days after the extract as days in which nobody was recorded
    doing anything: its labels and calibration would count outcome windows that have not happened.
    """
    return events["recorded_date"].max().normalize() + pd.Timedelta(days=1)


def check_as_of(events: pd.DataFrame, as_of: pd.Timestamp, data_dir: Path | str) -> None:
    """Refuse an as-of date after :func:`latest_as_of`, naming the latest one the records support."""
    latest = latest_as_of(events)
    if as_of > latest:
        raise PipelineError(
            f"the as-of date {as_of.date()} is later than the records in {shown(data_dir)} support: "
            f"their last recorded_date is {(latest - pd.Timedelta(days=1)).date()}, so the latest as-of "
            f"date is {latest.date()}. A later date would count the months after the extract as months in "
            "which nobody was recorded offending. Use an earlier --as-of, or a newer extract."
        )


def plan_splits(
    as_of: pd.Timestamp, config: RunConfig, data_start: pd.Timestamp
) -> tuple[list[Split], Split | None, str | None]:
    """The backtest's splits, this run's own (production) split, and why the backtest would be skipped.

    The same dates and rules :func:`run_monthly` uses; ``harmrank splits`` prints them.
    """
    dates = labelled_dates(as_of, config, data_start)
    if not dates:
        return [], None, "no learning date: the records start too late for this as-of date"
    production = production_split(dates, as_of, config)
    if not config.backtest.enabled:
        return [], production, "backtest.enabled is false"
    try:
        splits = temporal_splits(dates, config.label.horizon_months, config.backtest.splits)
    except PipelineError as exc:
        return [], production, str(exc)
    return splits, production, None


def _panel(
    events: pd.DataFrame, records: Records, dates: list[pd.Timestamp], as_of: pd.Timestamp, config: RunConfig
) -> pd.DataFrame:
    matrix = build_matrix(events, records.persons, [*dates, as_of], config.features)
    labels = build_labels(matrix[["person_id", "as_of"]], events, config.label, observed_until=as_of)
    matrix["label"] = labels["label"].to_numpy()
    matrix["future_harm"] = labels["future_harm"].to_numpy()
    matrix["labelled"] = labels["labelled"].to_numpy()
    if not matrix.loc[matrix["as_of"] < as_of, "labelled"].all():
        raise PipelineError("internal: a training row has an unobserved label horizon")
    return matrix


def _check_positives(training: pd.DataFrame, config: RunConfig) -> None:
    positives = int(training["label"].sum())
    if positives < config.training.min_positives:
        first, last = training["as_of"].min().date(), training["as_of"].max().date()
        raise PipelineError(
            f"only {positives} serious-harm outcomes in the learning months {first}..{last}; the model "
            f"needs at least {config.training.min_positives} (training.min_positives). Give a longer "
            "extract, more months (backtest.splits.history_months) or a lower label.min_harm_days."
        )


def _labelled(matrix: pd.DataFrame) -> pd.DataFrame:
    labelled = matrix[matrix["labelled"]].reset_index(drop=True)
    labelled["label"] = labelled["label"].astype("int8")
    return labelled


def _backtest(
    labelled: pd.DataFrame, names: list[str], config: RunConfig, notes: list[str], reporter: Reporter
) -> BacktestResult | None:
    """Backtest candidates and baselines on the labelled months; None (and a note) when too few."""
    try:
        splits = temporal_splits(
            labelled["as_of"].unique(), config.label.horizon_months, config.backtest.splits
        )
    except PipelineError as exc:
        notes.append(f"backtest skipped, and the configured model used as it is: {exc}")
        log.warning(notes[-1])
        return None
    label = f"Backtesting models and baselines on {len(splits)} test months"
    with reporter.stage(label, total=len(splits)) as advance:
        return backtest(
            labelled,
            names,
            splits,
            candidates(config, has_harm=True),
            history_baselines(config.features.use_age, config.seed),
            seed=config.seed,
            evaluation=config.backtest.evaluation,
            selection=config.backtest.selection,
            v100_col=V100_FEATURE,
            calibration=config.backtest.calibration,
            decimals=config.output.score_decimals,
            expected_harm=config.scoring.rank_by == "expected_harm",
            inner_folds=config.backtest.inner_folds,
            progress=advance,
        )


def _champion(
    config: RunConfig, names: list[str]
) -> tuple[LightGBMRanker, Calibrator, int, HarmGivenOutcome | None] | None:
    """The registry's champion as a ranker, its calibrator, version and harm model, or None when there
    is none (or retraining is asked for). The list is scored by the registered unit alone, so that
    ``mlflow.pyfunc.load_model`` gives the published figures: a champion registered without a harm
    model cannot rank by expected harm, and is refused for it."""
    if config.scoring.retrain or not config.tracking.enabled:
        return None
    from models.registry import load_champion

    loaded = load_champion(config.tracking)
    if loaded is None:
        return None
    booster, calibrator, version, harm = loaded
    if config.scoring.rank_by == "expected_harm" and harm is None:
        raise PipelineError(
            f"the champion (version {version} of '{config.tracking.registered_model}') was registered "
            "without a harm model (it was trained to rank by probability), so it cannot rank by expected "
            "harm (scoring.rank_by). Set scoring.retrain: true to train a model that does, then promote it."
        )
    ranker = LightGBMRanker.from_booster(booster, config.seed)
    if ranker.feature_names_ != names:
        missing = sorted(set(names) - set(ranker.feature_names_))
        extra = sorted(set(ranker.feature_names_) - set(names))
        raise PipelineError(
            f"the champion (version {version} of '{config.tracking.registered_model}') was trained on "
            f"other features than this config builds (missing from it: {missing[:5]}, not built now: "
            f"{extra[:5]}). Set scoring.retrain: true to train a new model, then promote it."
        )
    return ranker, calibrator, version, harm


def run_monthly(
    config: RunConfig, as_of: date, data_dir: Path | str, reporter: Reporter | None = None
) -> RunResult:
    """Run the monthly job for ``as_of`` on the records in ``data_dir`` (nothing is written)."""
    reporter = reporter or QuietReporter()
    as_of_ts = pd.Timestamp(as_of)
    with reporter.stage("Validating records"):
        records, validation = load_records(data_dir, config.validation, config.offences, config.source)
    check_as_of(records.events, as_of_ts, data_dir)
    events = prepare_events(records.events, records.offences)
    events = events[events["recorded_date"] < as_of_ts].reset_index(drop=True)
    if events.empty:
        raise PipelineError(
            f"no event in {shown(data_dir)} was recorded before the as-of date {as_of}; "
            "choose a later --as-of or check the events file's recorded_date column"
        )
    data_start = events["occurred_date"].min()
    dates = labelled_dates(as_of_ts, config, data_start)
    if not dates:
        raise PipelineError(
            f"the records start on {data_start.date()}, too late to train for {as_of}: a learning date needs "
            f"{config.features.cohort_lookback_days} days of history before it and a "
            f"{config.label.horizon_months}-month outcome window after it, all before the as-of date."
        )
    with reporter.stage(f"Building features for {len(dates) + 1} monthly as-of dates"):
        matrix = _panel(events, records, dates, as_of_ts, config)
    current = matrix[matrix["as_of"] == as_of_ts].reset_index(drop=True)
    if current.empty:
        raise PipelineError(
            f"nobody was named as suspect in the {config.features.cohort_lookback_days} "
            f"days before {as_of}; there is no one to rank"
        )
    if config.output.k > len(current):
        raise PipelineError(
            f"output.k is {config.output.k:,}, but the cohort at {as_of} holds {len(current):,} people "
            f"(named as suspect in the {config.features.cohort_lookback_days} days before it): set "
            f"output.k to at most {len(current):,}. Nothing was trained or written."
        )
    names = model_feature_names(config.features)
    notes: list[str] = []
    result_backtest, chosen = None, config.model
    equality = None
    champion = _champion(config, names)
    if config.backtest.enabled:
        labelled = _labelled(matrix)
        if champion is None:
            result_backtest = _backtest(labelled, names, config, notes, reporter)
        else:  # the champion scores the list: judge the champion itself, on the months it never saw
            ranker, calibrator, version, _ = champion
            with reporter.stage(f"Backtesting the champion (version {version}) on the months after its fit"):
                from models.registry import fitted_dates  # mlflow: imported only when tracking is on

                fitted_on = fitted_dates(config.tracking, version)
                result_backtest = evaluate_champion(
                    labelled, names, ranker, calibrator, version, fitted_on, config, notes
                )
        if result_backtest is not None:
            elsewhere = _analyses_elsewhere(champion, config)
            parts = "groups" if elsewhere else "groups, proxies, mitigation"
            with reporter.stage(f"Auditing equality ({parts})"):
                equality = equality_audit(result_backtest, labelled, names, records, config, as_of, elsewhere)
            if equality is None:
                notes.append("no protected table in the records: the equality audit could not run")
            else:
                notes.extend(equality.notes)
                if elsewhere:
                    notes.append(f"no proxy audit or mitigation analysis in this run. {elsewhere}")
    split = production_split(dates, as_of_ts, config)
    if result_backtest is not None and champion is None:  # the winner's settings, tuned on this split
        winner = result_backtest.selection.chosen
        candidate = next(c for c in candidates(config, has_harm=True) if c.name == winner)
        chosen, _ = candidate_settings(
            candidate, matrix, split, names, config.seed, config.backtest.inner_folds
        )
    rows = np.concatenate([split.indices(matrix["as_of"])[p] for p in ("train", "validation", "calibration")])
    _check_positives(matrix.iloc[rows], config)
    expected_harm = config.scoring.rank_by == "expected_harm"
    if champion is not None:
        ranker, calibrator, version, harm = champion
        fitted = FittedModel(ranker, calibrator, (), (), harm if expected_harm else None)
        chosen = ranker.settings
        notes.append(f"scored with the champion, version {version}; no model was trained (scoring.retrain)")
    else:
        with reporter.stage(f"Training LightGBM ({chosen.objective}) and calibrating"):
            fitted = fit_model(
                matrix,
                split,
                names,
                chosen,
                config.seed,
                calibration=resolve_calibration(config.backtest.calibration, result_backtest),
                expected_harm=expected_harm,
            )
    with reporter.stage("Scoring the cohort"):
        ranked = _score(current, fitted, names, config)
    drift = None
    if champion is not None:
        with reporter.stage("Checking drift against the champion's training months"):
            drift = _drift(matrix, current, names, champion, config, notes)
    if equality is not None:
        listed_ids = ranked["person_id"].head(config.output.k)
        this_months_list(equality, current, listed_ids, records, config, fitted.ranker, names)
        equality.model = _audited_model(result_backtest, champion)
    trained = champion is None
    ranked = _rank_intervals(ranked, current, matrix, split, fitted, names, config, notes, trained, reporter)
    training: dict[str, object] = {
        "model_source": "champion" if champion else "trained",
        "champion_version": champion[2] if champion else None,
        "rank_by": config.scoring.rank_by,
        "objective": chosen.objective,
        "train_dates": [d.date().isoformat() for d in split.train],
        "validation_dates": [d.date().isoformat() for d in split.validation],
        "calibration_dates": [d.date().isoformat() for d in split.calibration],
        "rows": len(rows),
        "positives": int(matrix.iloc[rows]["label"].sum()),
        "best_iteration": int(fitted.ranker.best_iteration_),
        "calibration": fitted.calibrator.method,
        "features": names,
        "cohort_size": len(current),
    }
    return RunResult(
        as_of=as_of_ts,
        records=records,
        validation=validation,
        ranked=ranked,
        training=training,
        model=fitted,
        features=names,
        current=current,
        backtest=result_backtest,
        notes=notes,
        equality=equality,
        model_source="champion" if champion else "trained",
        champion_version=champion[2] if champion else None,
        drift=drift,
    )


def _drift(
    matrix: pd.DataFrame,
    current: pd.DataFrame,
    names: list[str],
    champion: tuple[LightGBMRanker, Calibrator, int, HarmGivenOutcome | None],
    config: RunConfig,
    notes: list[str],
) -> Drift | None:
    """This month's cohort against the rows of the champion's fitting months; a note says what moved."""
    from models.registry import fitted_dates  # mlflow: imported only when tracking is on

    ranker, _, version, _ = champion
    months = [pd.Timestamp(d) for d in fitted_dates(config.tracking, version)]
    reference = drift_sample(matrix[matrix["as_of"].isin(months)], config.seed)
    if reference.empty:
        notes.append(
            f"drift not measured: none of the champion's (version {version}) training months is in this "
            "run's panel"
        )
        return None
    found = measure_drift(
        reference, current, names, ranker.margin(reference[names]), ranker.margin(current[names]), months
    )
    major = found.shifted()
    if major or found.score_psi >= DRIFT_MAJOR:
        moved = ", ".join(major[:5]) + (f" and {len(major) - 5} more" if len(major) > 5 else "")
        notes.append(
            f"drift since the champion's training months (population stability index 0.25 or more): "
            f"{moved or 'no single feature'}; the champion's score PSI is {found.score_psi:.2f}. "
            "Consider retraining before the usual three months are up (drift.csv, and the model report's "
            "Drift section)."
        )
    return found


def _analyses_elsewhere(champion: tuple | None, config: RunConfig) -> str:
    """Why a month scored by the champion leaves the proxy audit and the mitigation analysis to the
    run that trained it ("" when this run trains its own model, or when both are switched off)."""
    if champion is None or not (config.proxies.enabled or config.mitigation.enabled):
        return ""
    return (
        "The proxy audit and the mitigation analysis concern the features and the training of a model, "
        "so they are made in the run that trains one. This month was scored by the registry's champion "
        f"(version {champion[2]}), whose training run made them if they were switched on then; they run "
        "again at the next retraining."
    )


def _audited_model(backtest_result: BacktestResult | None, champion: tuple | None) -> str:
    """Which model the backtest figures describe, in words, for every page that shows them."""
    name = backtest_result.selection.chosen if backtest_result is not None else "the configured model"
    if champion is None:
        return (
            f"{name}, trained in this run: the backtest figures describe models of its settings, each "
            "trained on the months before the month it was tested on; this month's list was scored by "
            "a model of the same kind trained on the latest months"
        )
    return (
        f"the registry's champion, version {champion[2]}, which scored this month's list: the backtest "
        "figures are the champion's own, on the labelled months after its fit"
    )


def _score(current: pd.DataFrame, fitted: FittedModel, names: list[str], config: RunConfig) -> pd.DataFrame:
    """The whole cohort ranked: the list order, ties broken by the raw score, V100, then person_id."""
    predicted = fitted.predict(current[names])
    scored = pd.DataFrame(
        {
            "person_id": current["person_id"],
            "probability": predicted["probability"].to_numpy(),
            "probability_lo": predicted["probability_lo"].to_numpy(),
            "probability_hi": predicted["probability_hi"].to_numpy(),
            "model_score": predicted["margin"].to_numpy(),
            "v100_score": current[V100_FEATURE],
        }
    )
    by = "expected_harm" if config.scoring.rank_by == "expected_harm" else "probability"
    scored.insert(1, "score", predicted[by].to_numpy())
    scored["v100_rank"] = v100_rank(scored, "v100_score")
    decimals = config.output.score_decimals
    ranked = rank_order(scored, "score", "v100_score", decimals, secondary="model_score")
    rounded = ["probability", "probability_lo", "probability_hi", "model_score"]
    ranked[rounded] = ranked[rounded].round(decimals)
    return ranked


def _rank_intervals(
    ranked: pd.DataFrame,
    current: pd.DataFrame,
    matrix: pd.DataFrame,
    split: Split,
    fitted: FittedModel,
    names: list[str],
    config: RunConfig,
    notes: list[str],
    trained: bool,
    reporter: Reporter,
) -> pd.DataFrame:
    """``ranked`` with the listed people's bootstrap rank intervals (output.rank_intervals resamples;
    <NA> when off, for a champion, whose training rows are not at hand, or when ranking by expected harm)."""
    n = config.output.rank_intervals
    if not n or not trained or config.scoring.rank_by != "probability":
        if n:
            notes.append(
                "no rank intervals: they refit a model trained in this run (not the registry's champion) "
                "and ranked by probability"
            )
        return add_rank_intervals(ranked, None)
    train = matrix.iloc[split.indices(matrix["as_of"])["train"]]
    cohort = current.set_index("person_id").loc[ranked["person_id"], names]  # the cohort in list order
    with reporter.stage(f"Rank intervals: {n} person-bootstrap refits of the model", total=n) as advance:
        intervals = rank_intervals(
            train, names, cohort, fitted.ranker.settings, fitted.ranker.best_iteration_,
            k=config.output.k, n_resamples=n, seed=config.seed, progress=lambda _: advance(),
        )  # fmt: skip
    return add_rank_intervals(ranked, intervals)
