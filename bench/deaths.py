"""How well the death investigations job finds planted series, at the default alert budget.

Usage: python bench/deaths.py [--seeds 1 2 3 4 5] [--residents 1000000 3000000] [--years 6]
                              [--config configs/default.yaml] [--set key=json ...] [--json FILE]

For each seed and force size, generates a synthetic world (death reports with 2 obvious, 3 subtle
and 2 shared-person series of 4 deaths each; the persons side small, it only supplies the
offender-side people), then runs the monthly alerts exactly as `harmrank deaths` does, month by
month from the second year of the extract, each month with only what was recorded by its end.
For each planted series with at least two deaths in the extract it records:

- found: whether any alert joined two of its deaths;
- delay: days from the recording of its second death to the end of the first month with such an
  alert (an alert in the month the second death is recorded has a delay of at most a month).

Prints, per kind of series and force size, the share found, the share found within a month of the
second death and within a year, the median delay, and the alerts a month (mean and most) against
the budget; with the targets of issue #18. Asserts nothing.
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

from features.records.death_validate import validate_deaths  # noqa: E402
from features.records.schema import ValidationSettings  # noqa: E402
from features.synthetic.settings import SyntheticConfig  # noqa: E402
from features.synthetic.world import generate_world  # noqa: E402
from models.deaths.alerts import month_alerts  # noqa: E402
from scoring.config import load_config  # noqa: E402


def _override(data: dict, key: str, value: object) -> None:
    *path, last = key.split(".")
    for part in path:
        data = data.setdefault(part, {})
    data[last] = value


def detection(
    residents: int, seed: int, years: int, settings, offences: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per planted series: kind, found, delay; per month: alerts by reason."""
    config = SyntheticConfig(persons=2_000, years=years, seed=seed, deaths={"residents": residents})
    world = generate_world(config, offences)
    raw = {k: world.records[k] for k in ("deaths", "death_protected", "expected_deaths")}
    today = ValidationSettings(today=config.end_date + pd.Timedelta(days=1))
    records, _ = validate_deaths(raw, today, {k: k for k in raw})
    deaths = records.deaths
    first = (pd.Timestamp(config.start_date) + pd.DateOffset(years=1)).to_period("M").to_timestamp()
    months = pd.date_range(first, pd.Timestamp(config.end_date) + pd.Timedelta(days=1), freq="MS")[1:]
    history = []
    for as_of in months:
        alerts = month_alerts(deaths, as_of, settings, seed).alerts.assign(as_of=as_of)
        history.append(alerts)
    alerts = pd.concat(history, ignore_index=True)
    per_month = (
        alerts.groupby("as_of")["reason"].value_counts().unstack(fill_value=0).reindex(months, fill_value=0)
    )
    truth = world.truth["death_series"].merge(deaths[["death_id", "recorded_date"]], on="death_id")
    rows = []
    for sid, members in truth.groupby("series_id"):
        recorded = members["recorded_date"].sort_values()
        if len(recorded) < 2 or recorded.iloc[1] < first:
            continue  # fewer than two deaths, or its second before the months scored
        ids = set(members["death_id"])
        hit = alerts[alerts["death_a"].isin(ids) & alerts["death_b"].isin(ids)]
        found = len(hit) > 0
        delay = (hit["as_of"].min() - recorded.iloc[1]).days if found else np.nan
        rows.append(
            {
                "residents": residents,
                "seed": seed,
                "series": sid,
                "kind": members["kind"].iloc[0],
                "found": found,
                "delay_days": delay,
            }
        )
    return pd.DataFrame(rows), per_month.assign(residents=residents, seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--residents", type=int, nargs="+", default=[1_000_000, 3_000_000])
    parser.add_argument("--years", type=int, default=6)
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "default.yaml")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=JSON", help="e.g. deaths.linkage.budget=10"
    )
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    cfg = load_config(args.config)
    data = cfg.model_dump(mode="json")
    for item in args.set:
        key, value = item.split("=", 1)
        _override(data, key, json.loads(value))
    settings = type(cfg).model_validate(data).deaths
    offences = pd.read_csv(ROOT / "configs" / "offences.csv")
    series, months = [], []
    for residents in args.residents:
        for seed in args.seeds:
            start = time.perf_counter()
            s, m = detection(residents, seed, args.years, settings, offences)
            series.append(s)
            months.append(m)
            print(
                f"residents {residents:,} seed {seed}: {len(s)} series, {time.perf_counter() - start:.1f} s",
                flush=True,
            )
    found = pd.concat(series, ignore_index=True)
    per_month = pd.concat(months)
    budget = settings.linkage.budget
    print(
        f"\nAlert budget {budget} a month by score (shared-person alerts on top), "
        f"floor log10 LR {settings.linkage.min_log10_lr}"
    )
    print(
        f"{'residents':>10} {'kind':>8} {'series':>6} {'found':>6} {'<=1 month':>9} {'<=1 year':>8} "
        f"{'median delay':>12}"
    )
    for (residents, kind), g in found.groupby(["residents", "kind"]):
        delay = g["delay_days"]
        month = (delay <= 31).mean()
        year = (delay <= 366).mean()
        median = np.nanmedian(delay) if g["found"].any() else np.nan
        print(
            f"{residents:>10,} {kind:>8} {len(g):>6} {g['found'].mean():>6.0%} {month:>9.0%} {year:>8.0%} "
            f"{median:>9.0f} days"
        )
    print(f"\n{'residents':>10} {'alerts a month: mean':>20} {'most':>5} {'months over budget':>19}")
    for residents, g in per_month.groupby("residents"):
        score = g.get("score", pd.Series(0, index=g.index))
        total = g.drop(columns=["residents", "seed"]).sum(axis=1)
        print(
            f"{residents:>10,} {total.mean():>20.1f} {int(total.max()):>5} {int((score > budget).sum()):>19}"
        )
    print(
        "\nTargets (#18): every obvious series within a month of its second death; at least half of "
        "the subtle series within a year; no month over the budget."
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "series": found.to_dict("records"),
                    "months": per_month.reset_index().astype(str).to_dict("records"),
                },
                indent=1,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
