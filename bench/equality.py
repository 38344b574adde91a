"""Equality checks on synthetic worlds: label bias against the truth, proxy audit, mitigation trade-off.

Usage:
    python bench/equality.py                       # two small generated worlds, recording bias 1.0 and 0
    python bench/equality.py --bias 1.0 0.5 0      # one generated world per recording-bias value
    python bench/equality.py --world data/world    # a world directory (records + truth/)

For each world: the monthly feature panel up to ``--as-of`` (default: the day after the world
ends), the recorded against the true serious-harm rates by group (fairness.label_bias), the proxy
audit (fairness.proxies), a LightGBM trained on past months and its monthly top ``--k`` on the latest
test months against the top ``--k`` by true propensity (features.synthetic.world.oracle_risk), and the
mitigation trade-off for ``--characteristic`` (fairness.mitigation). This script reads the ground
truth because it is an evaluation; the pipeline never does. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before LightGBM loads: spin-waiting is 10-20x slower

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the packages, not the sibling script bench/features.py

from fairness.groups import attach_groups  # noqa: E402
from fairness.label_bias import recording_rates, selection_vs_oracle, true_propensity  # noqa: E402
from fairness.mitigation import listed, mitigation_analysis, mitigation_split  # noqa: E402
from fairness.proxies import proxy_audit  # noqa: E402
from fairness.proxy_settings import MitigationSettings, ProxySettings  # noqa: E402
from fairness.settings import FairnessSettings  # noqa: E402
from features.build import build_matrix, model_feature_names, prepare_events  # noqa: E402
from features.labels import build_labels  # noqa: E402
from features.records.schema import Records, ValidationSettings  # noqa: E402
from features.records.validate import validate  # noqa: E402
from features.synthetic.settings import SyntheticConfig  # noqa: E402
from features.synthetic.world import generate_world, oracle_risk  # noqa: E402
from models.train import LightGBMRanker  # noqa: E402
from scoring.config import RunConfig, load_config  # noqa: E402
from scoring.records import load_records  # noqa: E402

TRUTH_TABLES = ("persons", "monthly", "offences", "offence_params", "params")


def world_from_dir(path: Path, config: RunConfig) -> tuple[Records, dict[str, pd.DataFrame], str]:
    """Validated records and the truth tables of a world directory, and a description."""
    records, _ = load_records(path, config.validation, ROOT / config.offences)
    truth = {name: pd.read_parquet(path / "truth" / f"{name}.parquet") for name in TRUTH_TABLES}
    world = json.loads((path / "truth" / "world.json").read_text())["config"]
    return records, truth, f"{path} (recording_bias {world['recording_bias']}, {world['persons']:,} persons)"


def generated_world(
    bias: float, persons: int, years: int, seed: int
) -> tuple[Records, dict[str, pd.DataFrame], str]:
    """A generated world with the given recording bias, validated as the monthly job would."""
    config = SyntheticConfig(persons=persons, years=years, seed=seed, recording_bias=bias)
    world = generate_world(config, pd.read_csv(ROOT / "configs" / "offences.csv"))
    sources = {name: f"generated/{name}" for name in world.records}
    records, _ = validate(dict(world.records), ValidationSettings(today=date(2100, 1, 1)), sources)
    return records, world.truth, f"generated (recording_bias {bias}, {persons:,} persons, {years} years)"


def panel(records: Records, as_of: pd.Timestamp, config: RunConfig) -> pd.DataFrame:
    """Labelled feature rows for every monthly as-of date with a full look-back and label horizon."""
    events = prepare_events(records.events, records.offences)
    events = events[events["recorded_date"] < as_of].reset_index(drop=True)
    first = events["occurred_date"].min() + pd.Timedelta(days=config.features.cohort_lookback_days)
    latest = as_of - pd.DateOffset(months=config.label.horizon_months)
    dates = [d for d in pd.date_range(end=latest, periods=120, freq="MS") if d >= first]
    matrix = build_matrix(events, records.persons, dates, config.features)
    labels = build_labels(matrix[["person_id", "as_of"]], events, config.label, observed_until=as_of)
    matrix["label"] = labels["label"].astype("int8").to_numpy()
    matrix["future_harm"] = labels["future_harm"].to_numpy()
    return matrix


def show(title: str, frame: pd.DataFrame) -> None:
    print(f"\n{title}")
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def run(
    records: Records,
    truth: dict[str, pd.DataFrame],
    description: str,
    args: argparse.Namespace,
    config: RunConfig,
) -> None:
    """Every check on one world, printing tables and timings."""
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    end = pd.Timestamp(truth["params"].set_index("name")["value"]["end_date"])
    as_of = pd.Timestamp(args.as_of) if args.as_of else end + pd.Timedelta(days=1)
    print(f"\n=== {description}; as-of {as_of.date()}")
    matrix = panel(records, as_of, config)
    names = model_feature_names(config.features)
    groups = attach_groups(
        matrix[["person_id", "as_of"]], records.protected, records.persons, FairnessSettings(intersections=[])
    )
    seconds["features and groups"] = time.perf_counter() - clock
    print(
        f"panel: {len(matrix):,} rows, {matrix['as_of'].nunique()} months, "
        f"outcome rate {matrix['label'].mean():.3f}"
    )

    clock = time.perf_counter()
    label = config.label
    recording = recording_rates(
        matrix, groups, truth["offences"], records.offences, label.min_harm_days, label.horizon_months
    )
    seconds["recording rates"] = time.perf_counter() - clock
    show("Recorded against true serious-harm rates (per person-month):", recording)

    clock = time.perf_counter()
    train, test = mitigation_split(matrix["as_of"], label.horizon_months, args.test_months, 24)
    model = LightGBMRanker(
        config.model.model_copy(update={"objective": "binary", "early_stopping_rounds": 0}), config.seed
    )
    model.fit(matrix[names].iloc[train], matrix["label"].iloc[train].to_numpy())
    predictions = matrix.iloc[test][["person_id", "as_of", "label"]].copy()
    predictions["score"] = model.margin(matrix[names].iloc[test])
    months = predictions["as_of"].unique()
    true = pd.concat(
        [true_propensity(truth["monthly"], d, label.horizon_months).assign(as_of=d) for d in months]
    )
    recorded = pd.concat(
        [
            oracle_risk(truth, d.date(), label.horizon_months, label.min_harm_days).assign(as_of=d)
            for d in months
        ]
    )
    for risk in (true, recorded):
        predictions = predictions.merge(risk.drop(columns="expected_harm", errors="ignore"), how="left")
    predictions = predictions.fillna({"true_risk": 0.0}).set_index(pd.Index(test))
    selection = selection_vs_oracle(predictions, groups.iloc[test], "score", "true_risk", args.k)
    by_recorded = selection_vs_oracle(predictions, groups.iloc[test], "score", "oracle_risk", args.k)
    selection["ratio_to_recorded_oracle"] = by_recorded["ratio"].to_numpy()
    seconds["model and oracle"] = time.perf_counter() - clock
    on_list = listed(predictions, predictions["score"].to_numpy(), np.zeros(len(predictions)), args.k)
    distinct = predictions.loc[on_list, "person_id"].nunique()
    show(
        f"Share of the monthly top {args.k} by model score ({len(months)} test months, "
        f"{distinct} distinct people) "
        "against the top by true propensity (last column: against the oracle of the recorded label):",
        selection,
    )

    flagged: list[str] = []
    if not args.skip_proxies:
        clock = time.perf_counter()
        proxies = proxy_audit(
            matrix[names], groups, ProxySettings(), config.seed, keys=matrix[["person_id", "as_of"]]
        )
        seconds["proxy audit"] = time.perf_counter() - clock
        show(
            "Proxy audit (cross-validated AUC of predicting each group from the features):",
            proxies.characteristics,
        )
        top = proxies.features[proxies.features["target"] == "all"].sort_values(
            "association", ascending=False
        )
        show("Most associated features per characteristic:", top.groupby("characteristic").head(3))
        flagged = proxies.flagged_features(args.characteristic)

    clock = time.perf_counter()
    tradeoff = mitigation_analysis(
        matrix,
        names,
        groups,
        (train, test),
        args.characteristic,
        MitigationSettings(test_months=args.test_months),
        config.seed,
        flagged_features=flagged,
        k=args.k,
    )
    seconds["mitigation"] = time.perf_counter() - clock
    show(f"Mitigation trade-off ({args.characteristic}):", tradeoff.drop(columns="notes"))
    for row in tradeoff.itertuples():
        print(f"  {row.approach}: {row.notes}")
    print("\nseconds: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, help="world directory with truth/ (default: generate worlds)")
    parser.add_argument(
        "--bias", type=float, nargs="+", default=[1.0, 0.0], help="recording-bias values to generate"
    )
    parser.add_argument("--as-of", help="as-of date (default: the day after the world ends)")
    parser.add_argument("--persons", type=int, default=20_000, help="persons in a generated world")
    parser.add_argument("--years", type=int, default=6, help="years of a generated world")
    parser.add_argument("--seed", type=int, default=SyntheticConfig().seed)
    parser.add_argument(
        "--characteristic", default="ethnicity", help="characteristic of the mitigation analysis"
    )
    parser.add_argument("--k", type=int, default=100, help="list length per month")
    parser.add_argument("--test-months", type=int, default=3, help="latest labelled months tested")
    parser.add_argument("--skip-proxies", action="store_true", help="skip the proxy audit")
    args = parser.parse_args()
    config = load_config(ROOT / "configs" / "default.yaml")
    if args.world:
        run(*world_from_dir(args.world, config), args, config)
        return
    for bias in args.bias:
        run(*generated_world(bias, args.persons, args.years, args.seed), args, config)


if __name__ == "__main__":
    main()
