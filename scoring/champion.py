"""The registry's champion, judged on the months it never saw.

When the champion scores this month's list (``scoring.retrain: false``), the backtest and the
equality audit must describe the champion, not candidates trained for the occasion. Its model
was fitted and calibrated on as-of dates recorded with its MLflow run; every labelled month after
the last of them (a month whose whole outcome window has passed) is a month it never saw. The
champion scores those months exactly as it scores a list (raw margin, then its own calibrator),
the baselines are scored beside it (fitted on the months up to its fit), and the usual
evaluation, selection and calibration report are built from them, so that the model report,
the equality audit and the gate read the champion's own figures.

With no such month yet (a champion promoted from last month's run), there is nothing it has not
seen: the run says so, and writes no backtest or audit of its own.
"""

from __future__ import annotations

import pandas as pd

from features.catalogue import V100_FEATURE
from models.backtest import KEYS, PROBABILITY, BacktestResult, part_counts
from models.baselines import history_baselines
from models.calibrate import Calibrator
from models.calibration_choice import compare_calibrations
from models.evaluate import evaluate, select_model
from models.splits import Split
from models.train import LightGBMRanker
from scoring.config import RunConfig


def champion_name(version: int) -> str:
    """How the champion is named in the evaluation tables: ``champion_v3``."""
    return f"champion_v{version}"


def unseen_months(labelled: pd.DataFrame, fitted_on: list[pd.Timestamp]) -> list[pd.Timestamp]:
    """Labelled as-of dates after the last date the model was fitted or calibrated on."""
    if not fitted_on:
        return []
    last = max(fitted_on)
    return sorted(pd.Timestamp(d) for d in labelled["as_of"].unique() if pd.Timestamp(d) > last)


def evaluate_champion(
    labelled: pd.DataFrame,
    names: list[str],
    ranker: LightGBMRanker,
    calibrator: Calibrator,
    version: int,
    fitted_on: list[pd.Timestamp],
    config: RunConfig,
    notes: list[str],
) -> BacktestResult | None:
    """The champion's backtest on the labelled months after its fit; None (with a note) when there are none.

    Parameters
    ----------
    labelled
        The run's labelled panel: person_id, as_of, the features ``names``, label, future_harm.
    fitted_on
        Every as-of date the champion was trained, validated or calibrated on (from its MLflow run).
    """
    name = champion_name(version)
    months = unseen_months(labelled, fitted_on)
    if not fitted_on:
        notes.append(
            f"the champion (version {version}) has no training dates recorded with its MLflow run, so "
            "the months it never saw cannot be told apart: no backtest or equality audit of it was made"
        )
        return None
    if not months:
        notes.append(
            f"the champion (version {version}) was fitted on as-of dates up to {max(fitted_on).date()}; no "
            "later month has a complete outcome window yet, so there is no month it never saw to judge it "
            "on. This run has no backtest or equality audit of its own: the champion's rest on the run "
            "that trained it."
        )
        return None
    test = labelled[labelled["as_of"].isin(months)].reset_index(drop=True)
    train = labelled[labelled["as_of"] <= max(fitted_on)].reset_index(drop=True)
    out = test[list(dict.fromkeys([*KEYS, "label", "future_harm", V100_FEATURE]))].copy()
    margin = ranker.margin(test[names])
    out[name] = margin
    out[f"{name}{PROBABILITY}"] = calibrator.transform(margin)
    baselines = history_baselines(config.features.use_age, config.seed)
    for baseline, scorer in baselines.items():
        scorer.fit(train, train["label"].to_numpy())
        out[baseline] = scorer.score(test)
    score_cols = {n: n for n in [name, f"{name}{PROBABILITY}", *baselines]}
    evaluation = evaluate(
        out,
        score_cols,
        config.backtest.evaluation,
        config.seed,
        v100_col=V100_FEATURE,
        probabilistic=[f"{name}{PROBABILITY}"],
        decimals=config.output.score_decimals,
    )
    selection = select_model(evaluation, config.backtest.selection, candidates=[name])
    method = calibrator.method
    comparison, reports = compare_calibrations(
        name,
        {method: out[f"{name}{PROBABILITY}"].to_numpy()},
        out["label"].to_numpy(),
        out[name].to_numpy(),
        out["as_of"].to_numpy(),
    )
    comparison["chosen"] = True
    fitted = tuple(sorted(set(fitted_on)))
    splits = [Split(m, fitted, (), (), config.label.horizon_months, note=_note(version)) for m in months]
    y = labelled["label"].to_numpy(dtype="int64")
    counts = [row for i, s in enumerate(splits, start=1) for row in part_counts(s, i, labelled["as_of"], y)]
    notes.append(
        f"the backtest and the equality audit describe the champion (version {version}) itself, on the "
        f"{len(months)} labelled month(s) after its fit ({months[0].date()} to {months[-1].date()})"
    )
    return BacktestResult(
        splits,
        out,
        evaluation,
        selection,
        {name: reports[method]},
        {name: 0.0},
        comparison,
        {name: method},
        method,
        parts=pd.DataFrame(counts),
        settings_used={name: [ranker.settings] * len(splits)},
    )


def _note(version: int) -> str:
    return (
        f"the champion (version {version}): fitted once, on the dates listed as training; "
        "not refitted for each month tested"
    )
