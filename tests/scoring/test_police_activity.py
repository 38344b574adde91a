"""The police-activity policy switch: off by default, and when on, its weight by group is reported."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.build import model_feature_names
from scoring.config import load_config
from scoring.equality import police_activity_by_group, policy


def families(people: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Family rows: each person's harm contribution and stop-and-search contribution."""
    rows = []
    for person, (harm, stop) in people.items():
        rows.append({"person_id": person, "family": "harm", "contribution": harm, "police_activity": False})
        rows.append(
            {"person_id": person, "family": "stop_search", "contribution": stop, "police_activity": True}
        )
    return pd.DataFrame(rows)


def test_the_default_config_keeps_stop_search_and_intelligence_out_of_the_model() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "configs" / "default.yaml")
    assert config.features.use_police_activity is False
    names = model_feature_names(config.features)
    assert not [n for n in names if n.startswith(("stop_count", "intelligence_count"))]
    assert policy(config)["use_police_activity"] is False
    on = config.features.model_copy(update={"use_police_activity": True})
    assert {"stop_count_365d", "intelligence_count_all"} <= set(model_feature_names(on))


def test_shares_by_group_are_hand_computed_and_small_groups_suppressed() -> None:
    people = {f"A{i}": (0.75, 0.25) for i in range(12)} | {f"B{i}": (0.5, -0.5) for i in range(11)}
    people |= {f"M{i}": (0.9, 0.1) for i in range(10)} | {"C0": (1.0, 0.0)}
    protected = pd.DataFrame(
        {
            "person_id": list(people),
            "ethnicity": ["White"] * 12 + ["Black"] * 11 + ["Mixed"] * 10 + ["Asian"],
        }
    )
    table = police_activity_by_group(families(people), protected, min_cell=10).set_index("group")
    assert table.loc["White", "share"] == pytest.approx(0.25)
    assert table.loc["Black", "share"] == pytest.approx(0.5)  # |-0.5| / (0.5 + 0.5)
    assert table.loc["Asian", "suppressed"] and pd.isna(table.loc["Asian", "share"])
    assert table.loc["Asian", "listed"] == 1
    # Asian alone could be recovered from the number listed: the smallest other group goes too
    assert table.loc["Mixed", "suppressed"] and pd.isna(table.loc["Mixed", "share"])
    assert not table.loc["White", "suppressed"] and not table.loc["Black", "suppressed"]


def test_no_table_when_police_activity_was_not_a_model_input() -> None:
    frame = families({"A": (1.0, 0.0)}).assign(police_activity=False)
    assert police_activity_by_group(frame, pd.DataFrame({"person_id": ["A"], "sex": ["Male"]}), 10) is None
