"""Small hand-made inputs for the officer report, in the layouts of docs/report-frames.md.

Five listed people (two stayed, two new, one returned), two who left, thirteen reasons each, an
evidence trail with one capped reason (30 records, 25 shown), histories over three years, ranks on
earlier lists for three people and two recorded reviews (one on an earlier list, one on this one).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from features.catalogue import by_name
from models.reasons import family_reasons, top_family_reasons

AS_OF = "2026-11-01"
BASE_VALUE = -3.25
PEOPLE = ["P0007", "P0003", "P0012", "P0001", "P0020"]
FEATURES = [
    "suspect_violence_sexual_count_365d",
    "suspect_harm_365d",
    "suspect_count_365d",
    "arrest_count_365d",
    "conviction_count_1095d",
    "days_since_last_offence",
    "suspect_robbery_count_90d",
    "stop_count_365d",
    "suspect_drugs_count_365d",
    "suspect_count_all",
    "arrest_count_all",
    "suspect_shoplifting_count_all",
    "intelligence_count_365d",
]
CAPPED = ("P0007", 1, 30)
"""(person, reason order, records): the reason whose evidence trail is longer than the cap."""
OFFENCES = [
    ("VSO02", "Violence with injury", 365.0),
    ("ROB01", "Robbery of personal property", 730.0),
    ("SHP01", "Shoplifting", 1.0),
    ("VSO06", "Rape offences", 2555.0),
]


def reasons() -> pd.DataFrame:
    """All 13 features for each listed person, ordered by |contribution| (largest first)."""
    rng = np.random.default_rng(5)
    rows = []
    for person in PEOPLE:
        values = rng.integers(0, 9, len(FEATURES)).astype(float)
        contributions = rng.normal(0.0, 0.4, len(FEATURES)).round(6)
        contributions[0] = 1.5  # the top reason of everyone raises the score most
        order = np.lexsort((np.arange(len(FEATURES)), -np.abs(contributions)))
        for rank, i in enumerate(order, start=1):
            feature, c = FEATURES[i], float(contributions[i])
            direction = "raises" if c > 0 else "lowers"
            sentence = f"{by_name(feature).sentence(float(values[i]))}: {direction} the score"
            rows.append((person, rank, feature, float(values[i]), c, direction, sentence))
    return pd.DataFrame(
        rows, columns=["person_id", "order", "feature", "value", "contribution", "direction", "sentence"]
    )


def _event_rows(person: str, count: int, start: str, event_type: str, prefix: str) -> list[tuple]:
    rows = []
    for i in range(count):
        code, description, harm = OFFENCES[i % len(OFFENCES)]
        occurred = pd.Timestamp(start) + pd.Timedelta(days=37 * i)
        offence = event_type in ("crime_suspect", "charge", "conviction", "crime_victim")
        rows.append(
            (
                person,
                f"{prefix}{person}-{i:03d}",
                event_type,
                occurred,
                occurred + pd.Timedelta(days=2),
                code if offence else None,
                description if offence else None,
                harm if offence else math.nan,
                f"CRIME/{occurred.year}/{prefix}{person[1:]}{i:03d}",
            )
        )
    return rows


EVENT_COLUMNS = [
    "person_id",
    "event_id",
    "event_type",
    "occurred_date",
    "recorded_date",
    "offence_code",
    "description",
    "harm_days",
    "source_ref",
]


def history() -> pd.DataFrame:
    """Each person's records over three years: suspect, arrest, stop and search, intelligence, one victim."""
    rows = []
    for n, person in enumerate(PEOPLE):
        rows += _event_rows(person, 8 + n, "2023-12-01", "crime_suspect", "S")
        rows += _event_rows(person, 3, "2024-06-10", "arrest", "A")
        rows += _event_rows(person, 2, "2025-02-01", "stop_search", "Q")
        rows += _event_rows(person, 4, "2024-01-15", "intelligence", "I")
        rows += _event_rows(person, 1, "2025-09-09", "crime_victim", "V")
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    frame["harm_days"] = frame["harm_days"].astype(float)
    frame["in_model"] = frame["event_type"] != "crime_victim"  # victim records: policy switch off
    return frame


def families(reason_frame: pd.DataFrame) -> pd.DataFrame:
    """The reason families of each person, from the 13 features' contributions and values."""
    contribs = reason_frame.pivot(index="person_id", columns="feature", values="contribution")
    values = reason_frame.pivot(index="person_id", columns="feature", values="value")
    return family_reasons(contribs.loc[PEOPLE, FEATURES], values.loc[PEOPLE, FEATURES], pd.Timestamp(AS_OF))


def evidence(family_frame: pd.DataFrame) -> pd.DataFrame:
    """Records behind the top two families of each person; the capped family has 30 records, and
    every person's first two records of family 2 also back family 1 (listed once, under family 1)."""
    rows = []
    top = family_frame[family_frame["order"] <= 2]
    for person, order, family in zip(top["person_id"], top["order"], top["family"], strict=True):
        count = CAPPED[2] if (person, order) == CAPPED[:2] else 2 + int(order)
        prefix = f"E{order}" if order == 1 else "E1"  # family 2 repeats family 1's first records ...
        for i, r in enumerate(_event_rows(person, count, "2023-01-10", "crime_suspect", prefix)):
            if order == 2 and i >= 2:  # ... then has records of its own
                r = (r[0], f"F{person}-{i:03d}", *r[2:-1], f"CRIME/{r[3].year}/F{person[1:]}{i:03d}")
            rows.append((r[0], family, int(order), *r[1:], family))
    frame = pd.DataFrame(rows, columns=["person_id", "family", "order", *EVENT_COLUMNS[1:], "features"])
    frame["harm_days"] = frame["harm_days"].astype(float)
    both = frame.groupby(["person_id", "event_id"])["family"].transform(lambda f: ";".join(f))
    frame["families"] = both
    frame["events_total"] = frame.groupby(["person_id", "order"])["event_id"].transform("size")
    return frame


def listed(reason_frame: pd.DataFrame) -> pd.DataFrame:
    """The list: ranks 1..5 with probabilities, V100 scores, top three reasons and status."""
    top3 = top_family_reasons(families(reason_frame)).set_index("person_id")
    top3.columns = [1, 2, 3]
    margin = BASE_VALUE + reason_frame.groupby("person_id")["contribution"].sum()
    frame = pd.DataFrame(
        {
            "rank": [1, 2, 3, 4, 5],
            "person_id": PEOPLE,
            "probability": [0.421, 0.352, 0.3105, 0.224, 0.18],
            "probability_lo": [0.35, 0.29, 0.25, 0.17, 0.13],
            "probability_hi": [0.49, 0.41, 0.37, 0.28, 0.23],
            "score": [0.9, 0.8, 0.7, 0.6, 0.5],
            "model_score": [float(margin[p]) for p in PEOPLE],
            "v100_score": [730.0, 3650.0, 0.0, 365.25, 1460.0],
            "v100_rank": [9, 1, 5000, 30, 4],
            "reason_1": [top3.loc[p, 1] for p in PEOPLE],
            "reason_2": [top3.loc[p, 2] for p in PEOPLE],
            "reason_3": [top3.loc[p, 3] for p in PEOPLE],
            "status": ["stayed", "new", "returned", "stayed", "new"],
            "previous_rank": pd.array([3, None, None, 1, None], dtype="Int64"),
            "rank_change": pd.array([2, None, None, -3, None], dtype="Int64"),
        }
    )
    return frame


def left() -> pd.DataFrame:
    return pd.DataFrame({"person_id": ["P0099", "P0050"], "previous_rank": pd.array([4, 2], dtype="Int64")})


def rank_history() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": ["P0007", "P0007", "P0001", "P0012"],
            "as_of": pd.to_datetime(["2026-09-01", "2026-10-01", "2026-10-01", "2026-08-01"]),
            "rank": [5, 3, 1, 40],
        }
    )


def reviews() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "review_id": [1, 2],
            "run": ["2026-10-01", AS_OF],
            "person_id": ["P0001", "P0007"],
            "decision": ["no-action", "action"],
            "reason": ["Records checked: the 2025 robbery was withdrawn.", "Confirmed on the crime system."],
            "reviewer": ["PC A Example", "DS B Example"],
            "recorded_at": ["2026-10-03T09:15:00Z", "2026-11-02T10:00:00Z"],
        }
    )


def review_summary() -> dict[str, float]:
    return {"listed": 5, "reviewed": 1, "share_reviewed": 0.2, "no_action": 0, "override_rate": 0.0}


def inputs() -> dict[str, object]:
    """Every keyword argument of ``render_officer_report`` except ``out_dir``."""
    reason_frame = reasons()
    family_frame = families(reason_frame)
    return {
        "as_of": AS_OF,
        "listed": listed(reason_frame),
        "left": left(),
        "reasons": reason_frame,
        "families": family_frame,
        "evidence": evidence(family_frame),
        "history": history(),
        "rank_history": rank_history(),
        "reviews": reviews(),
        "review_summary": review_summary(),
        "base_value": BASE_VALUE,
        "notes": ["Synthetic world: no real person is described.", "Scores use the champion model."],
    }


def many(n: int = 100, intervals: bool = True) -> dict[str, object]:
    """``inputs()`` for a list of ``n`` people: the five people repeated under new ids ``Q0001``,
    ``Q0002``, ... (person i copies ``PEOPLE[(i - 1) % 5]``: every per-person frame, status and
    reasons), ranked 1..n with falling probabilities and raw scores; reviews of Q0004 (earlier
    list) and Q0001 (this list), no rank history.

    With ``intervals``, 95% rank intervals ``rank_lo``/``rank_hi`` that widen down the list.
    """
    base = inputs()
    copies = {f"Q{i + 1:04d}": PEOPLE[i % len(PEOPLE)] for i in range(n)}

    def copied(frame: pd.DataFrame) -> pd.DataFrame:
        parts = [frame[frame["person_id"] == src].assign(person_id=new) for new, src in copies.items()]
        return pd.concat(parts, ignore_index=True)

    source = base["listed"].set_index("person_id")  # type: ignore[union-attr]
    listed = source.loc[list(copies.values())].reset_index(drop=True)
    ranks = np.arange(1, n + 1)
    listed["rank"] = ranks
    listed.insert(1, "person_id", list(copies))
    listed["probability"] = (0.5 - 0.004 * ranks).round(4)
    listed["probability_lo"] = (listed["probability"] - 0.05).round(4)
    listed["probability_hi"] = (listed["probability"] + 0.05).round(4)
    listed["score"] = listed["probability"]
    listed["model_score"] = (1.0 - 0.02 * ranks).round(6)
    listed["previous_rank"] = (listed["rank"] + listed["rank_change"]).astype("Int64")
    if intervals:
        listed["rank_lo"] = np.maximum(1, ranks - 2 - ranks // 6).astype(float)
        listed["rank_hi"] = (ranks + 2 + ranks // 6).astype(float)
    reviews = base["reviews"].copy()  # type: ignore[union-attr]
    reviews["person_id"] = ["Q0004", "Q0001"]
    per_person = {
        name: copied(frame)
        for name, frame in base.items()
        if name not in ("listed", "left", "reviews", "rank_history")
        and isinstance(frame, pd.DataFrame)
        and "person_id" in frame.columns
    }
    summary = {"listed": n, "reviewed": 1, "share_reviewed": 1 / n, "no_action": 0, "override_rate": 0.0}
    return {
        **base,
        **per_person,
        "listed": listed,
        "rank_history": None,
        "reviews": reviews,
        "review_summary": summary,
    }
