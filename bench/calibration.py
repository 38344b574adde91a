"""Which calibration to use: every method compared on the backtest's test months, and the top 100.

Usage: python bench/calibration.py [--world data/world] [--as-of 2026-11-01] [--config configs/default.yaml]
                                   [--calibration-months 1,2,3] [--objectives binary]

For each number of calibration months, runs the monthly job's own panel and temporal backtest
(``backtest.calibration: auto``, so every method of :data:`models.calibrate.METHODS` is fitted on
each split's calibration rows and scored on its test rows) and prints, for the chosen candidate:

- per method: ECE and Brier score over the pooled test months and within each month's top 1% by
  the model's score, the number of distinct probabilities in that top 1% and of distinct scores
  there that share one (tied), calibration slope and intercept, whether it meets the issue's
  targets, and which method the rule chose;
- precision@100 of the chosen candidate with its 95% person-bootstrap interval (calibration is
  monotone, so it is the same for every method; more calibration months move training months);
- the production model's top 100 at the as-of date under each method: distinct probabilities,
  their range and the band width at ranks 1, 10, 50 and 100.

Asserts nothing; prints figures. Changing calibration months shifts every split's training
months, so compare precision@100 across them, not only calibration.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from features.build import model_feature_names, prepare_events  # noqa: E402
from features.catalogue import V100_FEATURE  # noqa: E402
from models.backtest import BacktestResult, backtest, calibration_rows, fit_model  # noqa: E402
from models.baselines import history_baselines  # noqa: E402
from models.calibrate import METHODS, Calibrator  # noqa: E402
from models.calibration_choice import CALIBRATION_RULE  # noqa: E402
from models.splits import temporal_splits  # noqa: E402
from scoring.backtesting import candidates  # noqa: E402
from scoring.config import RunConfig, load_config  # noqa: E402
from scoring.pipeline import _panel, labelled_dates, production_split  # noqa: E402
from scoring.records import load_records  # noqa: E402

RANKS = (1, 10, 50, 100)


def with_months(
    config: RunConfig, months: int, objectives: list[str] | None, test_months: int | None
) -> RunConfig:
    """``config`` with ``calibration_months`` set, calibration ``auto`` and (optionally) fewer objectives
    and test months."""
    update_splits: dict[str, object] = {"calibration_months": months}
    if test_months:
        update_splits["test_months"] = test_months
    splits = config.backtest.splits.model_copy(update=update_splits)
    update: dict[str, object] = {"splits": splits, "calibration": "auto"}
    if objectives:
        update["objectives"] = objectives
    return config.model_copy(update={"backtest": config.backtest.model_copy(update=update)})


def comparison_table(result: BacktestResult, candidate: str) -> None:
    rows = result.calibration_comparison
    rows = rows[rows["candidate"] == candidate]
    value, lo, hi = precision(result, candidate)
    chosen = " (chosen)" if candidate == result.selection.chosen else ""
    print(f"  {candidate}{chosen}: precision@100 {value:.3f} (95% CI {lo:.3f}-{hi:.3f})")
    print(
        f"  {'method':16} {'ECE':>7} {'ECE top1%':>9} {'Brier':>7} {'Brier top1%':>11} {'distinct':>8} "
        f"{'tied':>5} {'slope':>6} {'icpt':>6} {'targets':>7}"
    )
    for r in rows.itertuples(index=False):
        mark = "  <- chosen" if r.chosen else ""
        print(
            f"  {r.method:16} {r.ece:7.4f} {r.ece_top:9.4f} {r.brier:7.4f} {r.brier_top:11.4f} "
            f"{r.distinct_top:4d}/{r.n_top:<4d}{r.tied_top:5d} {r.slope:6.2f} {r.intercept:6.2f} "
            f"{'met' if r.meets_targets else 'missed':>7}{mark}"
        )


def precision(result: BacktestResult, model: str, k: int = 100) -> tuple[float, float, float]:
    t = result.evaluation.table
    row = t[(t["model"] == model) & (t["month"] == "pooled") & (t["metric"] == "precision")]
    row = row[(row["k"] == k) & (row["ties"] == "list")]
    return tuple(float(v) for v in row[["value", "lo", "hi"]].iloc[0])  # type: ignore[return-value]


def top_list(
    matrix: pd.DataFrame, dates: list[pd.Timestamp], as_of: pd.Timestamp, config: RunConfig, chosen: str
) -> None:
    """The production model's top 100 at ``as_of`` under each calibration method."""
    names = model_feature_names(config.features)
    settings = next(c.settings for c in candidates(config, has_harm=True) if c.name == chosen)
    split = production_split(dates, as_of, config)
    fitted = fit_model(matrix, split, names, settings, config.seed, calibration="isotonic")
    cal = matrix.iloc[calibration_rows(split, matrix["as_of"])]
    cal_margin = fitted.ranker.margin(cal[names])
    current = matrix[matrix["as_of"] == as_of]
    margin = np.sort(fitted.ranker.margin(current[names]))[::-1][: config.output.k]
    print(
        f"  production model ({len(cal):,} calibration rows, {int(cal['label'].sum()):,} outcomes); "
        f"top {len(margin)}:"
    )
    print(f"  {'method':16} {'distinct':>8} {'highest':>8} {'lowest':>8}   band width at ranks {RANKS}")
    for method in METHODS:
        calibrator = Calibrator(method, scores_are="margin").fit(cal_margin, cal["label"].to_numpy())
        p = calibrator.transform(margin).round(config.output.score_decimals)
        lo, hi = calibrator.band(margin)
        widths = " ".join(f"{hi[r - 1] - lo[r - 1]:.3f}" for r in RANKS if r <= len(p))
        print(f"  {method:16} {len(np.unique(p)):8d} {p.max():8.3f} {p.min():8.3f}   {widths}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--world", type=Path, default=ROOT / "data" / "world")
    parser.add_argument("--as-of", default="2026-11-01")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "default.yaml")
    parser.add_argument("--calibration-months", default="1,2,3", help="comma-separated counts to compare")
    parser.add_argument("--objectives", default="", help="comma-separated objectives (default: the config's)")
    parser.add_argument(
        "--test-months",
        type=int,
        default=0,
        help="test months (default: the config's); more calibration months leave fewer testable months, so "
        "set this to compare calibration months on the same test months",
    )
    args = parser.parse_args()

    base = load_config(args.config)
    as_of = pd.Timestamp(args.as_of)
    records, _ = load_records(args.world, base.validation, base.offences)
    events = prepare_events(records.events, records.offences)
    events = events[events["recorded_date"] < as_of].reset_index(drop=True)
    objectives = [o for o in args.objectives.split(",") if o]
    print(f"rule (auto): {CALIBRATION_RULE}")
    for months in (int(m) for m in args.calibration_months.split(",")):
        config = with_months(base, months, objectives, args.test_months or None)
        start = time.perf_counter()
        dates = labelled_dates(as_of, config, events["occurred_date"].min())
        matrix = _panel(events, records, dates, as_of, config)
        labelled = matrix[matrix["labelled"]].reset_index(drop=True)
        labelled["label"] = labelled["label"].astype("int8")
        splits = temporal_splits(
            labelled["as_of"].unique(), config.label.horizon_months, config.backtest.splits
        )
        result = backtest(
            labelled,
            model_feature_names(config.features),
            splits,
            candidates(config, has_harm=True),
            history_baselines(config.features.use_age, config.seed),
            seed=config.seed,
            evaluation=config.backtest.evaluation,
            selection=config.backtest.selection,
            v100_col=V100_FEATURE,
            calibration="auto",
            decimals=config.output.score_decimals,
        )
        chosen = result.selection.chosen
        value, lo, hi = precision(result, chosen)
        train_dates = sum(len(s.train) for s in splits) / len(splits)
        print(
            f"\ncalibration_months {months}: {len(splits)} test months {splits[0].test.date()}.."
            f"{splits[-1].test.date()}, {train_dates:.1f} training dates per split; chosen {chosen} "
            f"calibrated with {result.calibration_method}; precision@100 {value:.3f} "
            f"(95% CI {lo:.3f}-{hi:.3f}); {time.perf_counter() - start:.0f} s"
        )
        for candidate in [chosen, *(c for c in result.calibration_choice if c != chosen)]:
            comparison_table(result, candidate)
        top_list(matrix, dates, as_of, config, chosen)


if __name__ == "__main__":
    main()
