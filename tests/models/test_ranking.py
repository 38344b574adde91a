"""The list order and its documented tie-break."""

from __future__ import annotations

import pandas as pd

from models.ranking import rank_order, v100_rank


def test_tie_break_score_then_v100_then_person_id() -> None:
    scores = pd.DataFrame(
        {
            "person_id": ["P3", "P1", "P2", "P4"],
            "score": [0.5000001, 0.5, 0.5, 0.9],
            "v100": [10.0, 10.0, 20.0, 0.0],
        }
    )
    out = rank_order(scores, "score", "v100", decimals=6)
    assert list(out["person_id"]) == ["P4", "P2", "P1", "P3"]
    assert list(out["rank"]) == [1, 2, 3, 4]
    assert list(out["score"]) == [0.9, 0.5, 0.5, 0.5]


def test_order_does_not_depend_on_input_order() -> None:
    scores = pd.DataFrame({"person_id": list("ABCDEF"), "score": [0.1, 0.2, 0.2, 0.3, 0.1, 0.2], "v100": 0.0})
    first = rank_order(scores, "score", "v100", 6)
    second = rank_order(scores.sample(frac=1, random_state=3), "score", "v100", 6)
    pd.testing.assert_frame_equal(first, second)


def test_v100_rank_aligned_to_input() -> None:
    scores = pd.DataFrame({"person_id": ["B", "A", "C"], "v100": [5.0, 5.0, 9.0]})
    assert list(v100_rank(scores, "v100")) == [3, 2, 1]
