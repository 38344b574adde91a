"""Monotone constraints and police-activity records: what each choice costs, measured on a backtest.

Usage: python bench/policy.py [--world data/world] [--as-of 2026-11-01] [--config configs/default.yaml]
                              [--objective binary]

Builds the monthly job's panel once with every feature the choices need, then backtests four
variants of the configured model on the same test months (one objective, ``binary`` by default):

- ``constrained``: monotone constraints on, police-activity records off (the default);
- ``unconstrained``: monotone constraints off, police-activity records off;
- ``constrained+police``: constraints on, stop-and-search and intelligence counts as inputs;
- ``unconstrained+police``: the model before either choice.

Every variant is scored on the same rows and evaluated in one call, so differences are paired:
the same bootstrap resamples of persons are drawn for all of them. Prints precision@100, harm
captured@100 and AUC with 95% intervals, the paired difference of each variant from the default,
and, by ethnicity and sex, the selection rate of the top 100 and each group's share of the list,
from the same test months; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fairness.groups import attach_groups  # noqa: E402
from features.build import model_feature_names, prepare_events  # noqa: E402
from features.catalogue import V100_FEATURE  # noqa: E402
from models.backtest import Candidate, backtest  # noqa: E402
from models.evaluate import evaluate  # noqa: E402
from models.ranking import rank_order  # noqa: E402
from models.splits import temporal_splits  # noqa: E402
from scoring.config import load_config  # noqa: E402
from scoring.pipeline import _panel, labelled_dates  # noqa: E402
from scoring.records import load_records  # noqa: E402

KEYS = ["person_id", "as_of"]
VARIANTS = {
    "constrained": (True, False),
    "unconstrained": (False, False),
    "constrained+police": (True, True),
    "unconstrained+police": (False, True),
}
DEFAULT = "constrained"
K = 100


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--world", type=Path, default=ROOT / "data" / "world")
    parser.add_argument("--as-of", default="2026-11-01")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "default.yaml")
    parser.add_argument("--objective", default="binary", choices=["binary", "lambdarank"])
    args = parser.parse_args()

    config = load_config(args.config)
    on = config.features.model_copy(update={"use_police_activity": True})
    config = config.model_copy(update={"features": on})
    as_of = pd.Timestamp(args.as_of)
    start = time.perf_counter()
    records, _ = load_records(args.world, config.validation, config.offences)
    events = prepare_events(records.events, records.offences)
    events = events[events["recorded_date"] < as_of].reset_index(drop=True)
    dates = labelled_dates(as_of, config, events["occurred_date"].min())
    matrix = _panel(events, records, dates, as_of, config)
    labelled = matrix[matrix["labelled"]].reset_index(drop=True)
    labelled["label"] = labelled["label"].astype("int8")
    print(f"panel: {len(labelled):,} labelled rows ({time.perf_counter() - start:.0f} s)")
    splits = temporal_splits(labelled["as_of"].unique(), config.label.horizon_months, config.backtest.splits)
    with_police = model_feature_names(on)
    without = model_feature_names(on.model_copy(update={"use_police_activity": False}))

    merged: pd.DataFrame | None = None
    for name, (monotone, police) in VARIANTS.items():
        settings = config.model.model_copy(
            update={"objective": args.objective, "monotone_constraints": monotone}
        )
        start = time.perf_counter()
        result = backtest(
            labelled,
            with_police if police else without,
            splits,
            [Candidate(name, settings)],
            {},
            seed=config.seed,
            evaluation=config.backtest.evaluation.model_copy(update={"n_boot": 0}),
            selection=config.backtest.selection,
            v100_col=V100_FEATURE,
            calibration=config.backtest.calibration,
        )
        print(f"{name}: backtest {time.perf_counter() - start:.0f} s")
        cols = result.predictions[[*KEYS, name]]
        merged = (
            result.predictions[[*KEYS, "label", "future_harm", V100_FEATURE, name]]
            if merged is None
            else merged.merge(cols, on=KEYS, validate="1:1")
        )
    assert merged is not None

    result = evaluate(
        merged,
        {n: n for n in VARIANTS},
        config.backtest.evaluation,
        config.seed,
        v100_col=V100_FEATURE,
        decimals=config.output.score_decimals,
    )
    print(
        f"\n{len(splits)} test months {splits[0].test.date()}..{splits[-1].test.date()}, objective "
        f"{args.objective}; 95% intervals from {config.backtest.evaluation.n_boot} person resamples"
    )
    print(f"{'variant':22} {'precision@100':>22} {'harm captured@100':>22} {'AUC':>22}")
    figures = (("precision", K), ("harm_captured", K), ("auc_roc", None))
    t = result.table
    pooled = t[(t["month"] == "pooled") & (t["ties"] == "list")]
    for name in VARIANTS:
        cells = []
        for metric, k in figures:
            row = pooled[(pooled["model"] == name) & (pooled["metric"] == metric)]
            row = row[row["k"].isna()] if k is None else row[row["k"] == k]
            v, lo, hi = row[["value", "lo", "hi"]].iloc[0]
            cells.append(f"{v:.3f} ({lo:.3f}-{hi:.3f})")
        print(f"{name:22} " + " ".join(f"{c:>22}" for c in cells))
    print(f"\npaired difference from {DEFAULT} (variant minus {DEFAULT}, 95% interval):")
    for name in VARIANTS:
        if name == DEFAULT:
            continue
        cells = []
        for metric, k in figures:
            d, lo, hi = result.compare(name, DEFAULT, metric, k)
            cells.append(f"{d:+.4f} ({lo:+.4f} to {hi:+.4f})")
        print(f"{name:22} " + " ".join(f"{c:>26}" for c in cells))

    merged = merged.reset_index(drop=True).assign(_row=np.arange(len(merged)))
    groups = attach_groups(merged[KEYS], records.protected, None, config.fairness)
    print(f"\nshare of the top {K} by group over the test months (cohort share beside it):")
    columns = [c for c in ("ethnicity", "sex") if c in groups.columns]
    for column in columns:
        cohort = groups[column].value_counts(normalize=True)
        table = {"cohort": cohort}
        for name in VARIANTS:
            listed = np.zeros(len(merged), dtype=bool)
            for _, rows in merged.groupby("as_of", sort=True):
                ranked = rank_order(rows.assign(score=rows[name]), "score", V100_FEATURE, 6)
                listed[ranked["_row"].to_numpy()[:K]] = True
            table[name] = groups.loc[listed, column].value_counts(normalize=True)
        frame = pd.DataFrame(table).fillna(0.0).sort_values("cohort", ascending=False)
        print(f"\n{column}:")
        print(frame.map(lambda x: f"{100 * x:.1f}%").to_string())


if __name__ == "__main__":
    main()
