"""The synthetic-world check of a run: label bias against the truth, beside what the audit flagged.

Usage:
    python bench/synthetic_check.py --run runs/2026-11-01 --world data/world
    python bench/synthetic_check.py --run RUN_DIR --world WORLD_DIR --n-boot 500 --out check.html

Reads a finished run on a synthetic world (its backtest predictions and audit.json) and the world's
records and ground truth (``truth/``), and writes ``synthetic_check.html`` into the run directory:
by group, the recorded against the true serious-harm rates with person-bootstrap intervals and the
ratio to the reference group (:func:`fairness.label_bias.recording_rates`), the share of the
model's monthly top ``--k`` against the top ``--k`` by true propensity
(:func:`fairness.label_bias.selection_vs_oracle`), and the ethnic disparities the run's equality
audit flagged (the recording bias is injected by ethnicity), with a count of its other flags.
``make demo`` runs it after the monthly job.

This is an evaluation: it reads the truth, which the monthly job never does, and nothing here
feeds the model. It only makes sense on a generated world (a force's records have no truth/).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the packages, not the sibling script bench/features.py

from fairness.groups import attach_groups  # noqa: E402
from fairness.label_bias import recording_rates, selection_vs_oracle, true_propensity  # noqa: E402
from scoring.config import RunConfig, load_config  # noqa: E402
from scoring.records import load_records  # noqa: E402
from scoring.reports.synthetic_check import render_synthetic_check  # noqa: E402

OUTPUT = "synthetic_check.html"


def flagged_sentences(audit: dict, characteristic: str) -> tuple[list[str], int]:
    """The run's pooled flagged disparities of ``characteristic``, one sentence each, and how many
    other disparities it flagged."""
    d = pd.DataFrame(audit["audit"]["flagged"])  # every pooled flagged disparity (audit.json's summary)
    if d.empty:
        return [], 0
    d = d[(d["scope"] == "pooled") & d["flagged"].astype(bool)]
    others = int((d["characteristic"] != characteristic).sum())
    d = d[d["characteristic"] == characteristic]
    out = []
    for r in d.sort_values(["characteristic", "group", "metric", "k"], na_position="first").itertuples():
        measure = r.metric.replace("_", " ") + ("" if pd.isna(r.k) else f"@{int(r.k)}")
        out.append(
            f"{r.characteristic} = {r.group}: {measure} is {r.ratio:.2f} times {r.reference}'s "
            f"(95% interval {r.ratio_lo:.2f}-{r.ratio_hi:.2f}, corrected p = {r.p_adjusted:.3g})"
        )
    return out, others


def bias_sentence(world: dict, recording: pd.DataFrame) -> str:
    """The injected recording bias in words, with what the truth shows for the bias group."""
    bias, group = float(world["recording_bias"]), str(world["bias_group"])
    if bias == 0:
        return (
            "The world was generated with no recording bias (recording_bias 0): any ethnic disparity "
            "the audit flags is chance or a real difference in offending, not recording."
        )
    row = recording[(recording["characteristic"] == "ethnicity") & (recording["group"] == group)]
    found = ""
    if len(row):
        r = row.iloc[0]
        found = (
            f" In the backtest months the truth shows {group} people's offending recorded "
            f"{r.relative:.2f} times as often as {r.reference} people's at the same true offending "
            f"(95% interval {r.relative_lo:.2f}-{r.relative_hi:.2f})."
        )
    return (
        f"The world was generated with recording_bias {bias:g}: {group} people's offences are named, "
        f"and they are stopped, {1 + bias:g} times as often as others' at the same true behaviour, "
        f"and true offending does not depend on ethnicity.{found}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", type=Path, required=True, help="run directory (runs/<as-of date>)")
    parser.add_argument("--world", type=Path, default=Path("data/world"), help="world directory with truth/")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "default.yaml")
    parser.add_argument("--k", type=int, default=100, help="list length compared with the oracle's")
    parser.add_argument("--n-boot", type=int, default=200, help="person-bootstrap resamples")
    parser.add_argument("--out", type=Path, default=None, help=f"output page (default RUN/{OUTPUT})")
    args = parser.parse_args()
    clock = time.perf_counter()
    if not (args.world / "truth" / "world.json").is_file():
        sys.exit(f"{args.world} has no truth/world.json: the check needs a generated world (harmrank synth)")
    config: RunConfig = load_config(args.config)
    records, _ = load_records(args.world, config.validation, ROOT / config.offences)
    predictions = pd.read_parquet(args.run / "backtest_predictions.parquet")
    audit = json.loads((args.run / "audit.json").read_text())
    score = audit["audit"]["score_col"]
    world = json.loads((args.world / "truth" / "world.json").read_text())["config"]
    settings = config.fairness.model_copy(update={"intersections": []})
    birth = records.persons[[c for c in ("person_id", "birth_date", "birth_year") if c in records.persons]]
    groups = attach_groups(predictions[["person_id", "as_of"]], records.protected, birth, settings)
    label = config.label
    recording = recording_rates(
        predictions[["person_id", "as_of", "label"]],
        groups,
        pd.read_parquet(args.world / "truth" / "offences.parquet"),
        records.offences,
        label.min_harm_days,
        label.horizon_months,
        n_boot=args.n_boot,
        seed=config.seed,
        confidence=settings.confidence,
    )
    monthly = pd.read_parquet(args.world / "truth" / "monthly.parquet")
    risk = pd.concat(
        [
            true_propensity(monthly, m, label.horizon_months).assign(as_of=m)
            for m in predictions["as_of"].unique()
        ]
    )
    rows = predictions[["person_id", "as_of", score]].astype({"person_id": "str"})
    rows = rows.merge(risk, on=["person_id", "as_of"], how="left").fillna({"true_risk": 0.0})
    selection = selection_vs_oracle(rows.set_index(groups.index), groups, score, "true_risk", args.k)
    flagged, others = flagged_sentences(audit, "ethnicity")  # the bias is injected by ethnicity
    page = render_synthetic_check(
        as_of=str(json.loads((args.run / "manifest.json").read_text())["as_of"]),
        label_bias={"recording": recording, "selection": selection},
        flagged=flagged,
        other_flags=others,
        world=f"{args.world} ({int(world['persons']):,} persons, {world['years']} years, "
        f"seed {world['seed']})",
        bias=bias_sentence(world, recording),
        limit=settings.min_cell,
    )
    out = args.out or args.run / OUTPUT
    out.write_text(page, encoding="utf-8")
    biased = recording[
        (recording["characteristic"] == "ethnicity") & (recording["group"] == world["bias_group"])
    ]
    for r in biased.itertuples():
        print(
            f"{world['bias_group']}: recorded / true {r.recorded_to_true:.2f}, against {r.reference} "
            f"{r.relative:.2f} ({r.relative_lo:.2f}-{r.relative_hi:.2f})"
        )
    print(f"Synthetic-world check: {out} ({time.perf_counter() - clock:.1f} s)")


if __name__ == "__main__":
    main()
