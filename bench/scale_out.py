"""The scale-out engines against the one-machine engines on a world: time, and whether they agree.

Features: the same panel of as-of dates built by DuckDB and by Spark (local mode, ``--spark-master``);
the matrices must be identical. Training: the same months fitted by local LightGBM and by LightGBM's
Dask interface (a LocalCluster of ``--workers``); the lists are compared on a later month (top-100
overlap, AUC). Prints one line per measurement and the medians; ``--json`` writes them.

    .venv/bin/python bench/scale_out.py --data data/world --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the packages, not the sibling script bench/features.py

from features.build import build_matrix, model_feature_names, prepare_events  # noqa: E402
from features.labels import build_labels  # noqa: E402
from features.spark import SparkSettings  # noqa: E402
from models.dask_engine import DaskSettings  # noqa: E402
from models.train import LightGBMRanker  # noqa: E402
from scoring.config import load_config  # noqa: E402
from scoring.defaults import CATALOGUE  # noqa: E402
from scoring.records import load_records  # noqa: E402


def _timed(label: str, fn, repeats: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, out = [], None
    for i in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
        print(f"  {label} run {i + 1}: {times[-1]:.1f} s", flush=True)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/world", help="records directory")
    parser.add_argument("--as-of", default="2026-11-01", help="latest as-of date of the panel")
    parser.add_argument("--dates", type=int, default=26, help="monthly as-of dates in the feature panel")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--workers", type=int, default=2, help="Dask LocalCluster workers")
    parser.add_argument("--part", choices=["both", "features", "training"], default="both")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    config = load_config(REPO / "configs" / "default.yaml")
    records, _ = load_records(args.data, config.validation, CATALOGUE)
    events = prepare_events(records.events, records.offences)
    as_of = pd.Timestamp(args.as_of)
    dates = list(pd.date_range(end=as_of, periods=args.dates, freq="MS"))
    print(f"world {args.data}: {len(records.persons):,} persons, {len(events):,} events; {len(dates)} dates")

    figures: dict[str, object] = {"persons": len(records.persons), "events": len(events), "dates": len(dates)}
    if args.part != "training":
        figures |= _features(events, records.persons, dates, config, args)
    if args.part != "features":
        figures |= _training(events, records.persons, as_of, config, args)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))


def _features(events, persons, dates, config, args) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """DuckDB against Spark on the same panel: seconds, and whether the matrices are identical."""
    duck_s, duck = _timed(
        "features duckdb", lambda: build_matrix(events, persons, dates, config.features), args.repeats
    )
    spark_settings = config.features.model_copy(
        update={
            "engine": "spark",
            "spark": SparkSettings(
                master=args.spark_master,
                conf=SparkSettings().conf | {"spark.ui.showConsoleProgress": "false"},
            ),
        }
    )
    build_matrix(events, persons, dates[-1:], spark_settings)  # start the session and warm the JVM
    spark_s, spark = _timed(
        "features spark", lambda: build_matrix(events, persons, dates, spark_settings), args.repeats
    )
    assert isinstance(duck, pd.DataFrame) and isinstance(spark, pd.DataFrame)
    identical = duck.equals(spark)
    print(f"features: {len(duck):,} rows; duckdb {duck_s:.1f} s, spark {spark_s:.1f} s; same: {identical}")
    return {"rows": len(duck), "duckdb_s": duck_s, "spark_s": spark_s, "identical": identical}


def _training(events, persons, as_of, config, args) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Local LightGBM against LightGBM on Dask on the same months: seconds, AUC, top-100 overlap."""
    figures: dict[str, object] = {}
    # training: 12 months ending 2 years before the as-of date, validated and tested on later months
    train_dates = list(pd.date_range(end=as_of - pd.DateOffset(years=2), periods=12, freq="MS"))
    valid, test = as_of - pd.DateOffset(months=22), as_of - pd.DateOffset(months=17)
    panel = build_matrix(events, persons, [*train_dates, valid, test], config.features)
    labels = build_labels(panel[["person_id", "as_of"]], events, config.label, observed_until=as_of)
    panel["label"], panel["future_harm"] = labels["label"].to_numpy(), labels["future_harm"].to_numpy()
    names = model_feature_names(config.features)
    train, hold, later = (panel[panel["as_of"].isin(d)] for d in (train_dates, [valid], [test]))
    print(f"training rows {len(train):,} ({int(train['label'].sum()):,} positives); test month {test.date()}")
    for objective in ("binary", "lambdarank"):
        scores = {}
        for engine in ("local", "dask"):
            settings = config.model.model_copy(
                update={"objective": objective, "engine": engine, "dask": DaskSettings(workers=args.workers)}
            )

            def fit(settings=settings):  # type: ignore[no-untyped-def]
                return LightGBMRanker(settings, config.seed).fit(
                    train[names],
                    train["label"].to_numpy(),
                    harm=train["future_harm"].to_numpy(),
                    as_of=train["as_of"].to_numpy(),
                    valid=(hold[names], hold["label"].to_numpy(), None, None),
                )

            if engine == "dask":
                fit()  # start the LocalCluster
            seconds, model = _timed(f"{objective} {engine}", fit, args.repeats)
            assert isinstance(model, LightGBMRanker)
            scores[engine] = model.margin(later[names])
            auc = roc_auc_score(later["label"], scores[engine])
            figures[f"{objective}_{engine}_s"] = seconds
            figures[f"{objective}_{engine}_auc"] = auc
            best = model.best_iteration_
            print(f"{objective} {engine}: {seconds:.1f} s, best iteration {best}, AUC {auc:.4f}")
        ids = later["person_id"].to_numpy()
        tops = [set(ids[np.argsort(-scores[e], kind="stable")[:100]]) for e in ("local", "dask")]
        overlap = len(tops[0] & tops[1])
        figures[f"{objective}_top100_overlap"] = overlap
        print(f"{objective}: top-100 overlap {overlap}")
    return figures


if __name__ == "__main__":
    main()
