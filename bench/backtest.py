"""Backtest figures on a synthetic world: the LightGBM candidates, V100, RFG, logistic and the oracle.

Usage: python bench/backtest.py [--world data/world] [--as-of 2026-11-01] [--config configs/default.yaml]
                                [--search '[{"num_leaves": 31}]'] [--expected-harm]

Runs the monthly job's own panel and temporal backtest, with one more baseline the job never has:
the oracle, which ranks people by their true propensity in the synthetic world's ``truth/``
(expected number of true serious-harm offences in the 12-month horizon, recorded or not). It is
the best any ranking of these people could hope for, so model / oracle says how much of the
achievable is achieved. Truth is read here, for evaluation, and never by the pipeline.
Prints a table of pooled figures with 95% intervals and the fit time per candidate; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from features.build import model_feature_names, prepare_events  # noqa: E402
from features.catalogue import V100_FEATURE  # noqa: E402
from models.backtest import PROBABILITY, backtest  # noqa: E402
from models.baselines import OracleScorer, history_baselines  # noqa: E402
from models.splits import temporal_splits  # noqa: E402
from scoring.backtesting import candidates  # noqa: E402
from scoring.config import load_config  # noqa: E402
from scoring.pipeline import _panel, labelled_dates  # noqa: E402
from scoring.records import load_records  # noqa: E402

ORACLE = "oracle_propensity"


def oracle_propensity(monthly: pd.DataFrame, rows: pd.DataFrame, horizon_months: int) -> np.ndarray:
    """Expected true serious offences in ``[as_of, as_of + horizon)`` per (person_id, as_of) row."""
    out = np.zeros(len(rows))
    monthly = monthly[["person_id", "month", "serious_rate"]]
    for as_of in rows["as_of"].unique():
        end = as_of + pd.DateOffset(months=horizon_months)
        window = monthly[(monthly["month"] >= as_of) & (monthly["month"] < end)]
        sums = window.groupby("person_id", observed=True)["serious_rate"].sum()
        at = (rows["as_of"] == as_of).to_numpy()
        out[at] = rows.loc[at, "person_id"].map(sums).fillna(0.0).to_numpy()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--world", type=Path, default=ROOT / "data" / "world")
    parser.add_argument("--as-of", default="2026-11-01")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "default.yaml")
    parser.add_argument("--search", default="[]", help="JSON list of model-setting overrides to compete")
    parser.add_argument("--expected-harm", action="store_true", help="also rank by expected harm")
    args = parser.parse_args()

    config = load_config(args.config)
    config = config.model_copy(
        update={"backtest": config.backtest.model_copy(update={"search": json.loads(args.search)})}
    )
    as_of = pd.Timestamp(args.as_of)
    start = time.perf_counter()
    records, _ = load_records(args.world, config.validation, config.offences)
    events = prepare_events(records.events, records.offences)
    events = events[events["recorded_date"] < as_of].reset_index(drop=True)
    dates = labelled_dates(as_of, config, events["occurred_date"].min())
    matrix = _panel(events, records, dates, as_of, config)
    labelled = matrix[matrix["labelled"]].reset_index(drop=True)
    labelled["label"] = labelled["label"].astype("int8")
    monthly = pd.read_parquet(args.world / "truth" / "monthly.parquet")
    labelled[ORACLE] = oracle_propensity(monthly, labelled, config.label.horizon_months)
    print(
        f"panel: {len(labelled):,} labelled rows over {labelled['as_of'].nunique()} months "
        f"({time.perf_counter() - start:.1f} s)"
    )

    splits = temporal_splits(labelled["as_of"].unique(), config.label.horizon_months, config.backtest.splits)
    baselines = history_baselines(config.features.use_age, config.seed) | {"oracle": OracleScorer(ORACLE)}
    names = model_feature_names(config.features)
    assert ORACLE not in names
    start = time.perf_counter()
    result = backtest(
        labelled,
        names,
        splits,
        candidates(config, has_harm=True),
        baselines,
        seed=config.seed,
        evaluation=config.backtest.evaluation,
        selection=config.backtest.selection,
        v100_col=V100_FEATURE,
        calibration=config.backtest.calibration,
        expected_harm=args.expected_harm,
    )
    seconds = time.perf_counter() - start
    value = result.evaluation.table
    pooled = value[(value["month"] == "pooled") & (value["ties"] == "list")]

    def figure(model: str, metric: str, k: int | None) -> tuple[float, float, float]:
        row = pooled[(pooled["model"] == model) & (pooled["metric"] == metric)]
        row = row[row["k"].isna()] if k is None else row[row["k"] == k]
        return tuple(row[["value", "lo", "hi"]].iloc[0]) if len(row) else (np.nan,) * 3

    models = [m for m in pooled["model"].unique() if not m.endswith(PROBABILITY)]
    oracle_p, oracle_h = figure("oracle", "precision", 100)[0], figure("oracle", "harm_captured", 100)[0]
    print(
        f"\n{len(splits)} test months {splits[0].test.date()}..{splits[-1].test.date()}; "
        f"backtest {seconds:.0f} s; chosen: {result.selection.chosen}"
    )
    print(
        f"{'model':44} {'precision@100':>22} {'harm captured@100':>22} {'AUC':>6} "
        f"{'p/oracle':>8} {'h/oracle':>8}"
    )
    for model in models:
        p, h, auc = (
            figure(model, "precision", 100),
            figure(model, "harm_captured", 100),
            figure(model, "auc_roc", None),
        )
        print(
            f"{model:44} {p[0]:.3f} ({p[1]:.3f}-{p[2]:.3f}) {h[0]:.3f} ({h[1]:.3f}-{h[2]:.3f}) "
            f"{auc[0]:6.3f} {p[0] / oracle_p:8.2f} {h[0] / oracle_h:8.2f}"
        )
    print("\nfit seconds per candidate (mean per test month, includes calibration):")
    for name, total in result.fit_seconds.items():
        print(f"  {name}: {total / len(splits):.1f} s/month, {total:.0f} s in all")
    print(
        f"regret of the choice: mean {result.selection.mean_regret:.4f}, "
        f"max {result.selection.max_regret:.4f}"
    )


if __name__ == "__main__":
    main()
