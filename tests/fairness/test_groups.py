"""Groups of audited rows, coverage and small-number suppression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairness.groups import attach_groups, coverage, margins, resolve_characteristics, suppress
from fairness.settings import FairnessSettings
from features.errors import ConfigError, RecordsError

T = pd.Timestamp


@pytest.fixture
def protected() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": pd.Series(["P1", "P2", "P3"], dtype="str"),
            "sex": pd.Series(["Male", None, "Female"], dtype="str"),
            "ethnicity": pd.Series(["Black", "White", "  "], dtype="str"),
        }
    )


@pytest.fixture
def rows() -> pd.DataFrame:
    # P4 is not in the protected table; a non-default index must be kept.
    return pd.DataFrame(
        {
            "person_id": ["P1", "P1", "P2", "P3", "P4"],
            "as_of": [T("2018-06-01"), T("2018-07-01"), T("2018-07-01"), T("2018-07-01"), T("2018-07-01")],
        },
        index=[10, 11, 12, 13, 14],
    )


@pytest.fixture
def birth() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P3", "P4"],
            "birth_date": [T("2000-06-15"), T("1953-07-01"), pd.NaT, pd.NaT],
            "birth_year": [np.nan, np.nan, 1990, np.nan],
        }
    )


def test_groups_are_text_with_not_recorded_for_missing(protected, rows, birth) -> None:
    out = attach_groups(rows, protected, birth, FairnessSettings())
    assert list(out.index) == [10, 11, 12, 13, 14]
    assert list(out.columns) == ["sex", "ethnicity", "age_band", "sex x ethnicity", "ethnicity x age_band"]
    assert all(out[c].dtype == "str" for c in out.columns)
    assert list(out["sex"]) == ["Male", "Male", "not recorded", "Female", "not recorded"]
    assert list(out["ethnicity"]) == ["Black", "Black", "White", "not recorded", "not recorded"]
    assert out.loc[12, "sex x ethnicity"] == "not recorded | White"
    assert out.loc[11, "ethnicity x age_band"] == "Black | 18-24"


def test_age_band_is_completed_years_at_each_as_of(protected, rows, birth) -> None:
    bands = attach_groups(rows, protected, birth, FairnessSettings())["age_band"]
    # P1 turns 18 on 2018-06-15: 17 on 1 June, 18 on 1 July.
    assert bands[10] == "under 18" and bands[11] == "18-24"
    assert bands[12] == "65 and over"  # 65th birthday on the as-of date itself
    assert bands[13] == "25-34"  # birth_year 1990 only: taken as 1 July 1990, 28 on 2018-07-01
    assert bands[14] == "not recorded"


def test_without_birth_dates_age_band_is_left_out_and_its_intersection_skipped(protected, rows) -> None:
    out = attach_groups(rows, protected, None, FairnessSettings())
    assert list(out.columns) == ["sex", "ethnicity", "sex x ethnicity"]
    with pytest.raises(ConfigError, match=r"\['age_band'\].*persons.birth_date"):
        attach_groups(rows, protected, None, FairnessSettings(characteristics=["sex", "age_band"]))


def test_explicit_characteristics_and_their_errors(protected, rows, birth) -> None:
    s = FairnessSettings(characteristics=["ethnicity"], intersections=[])
    assert list(attach_groups(rows, protected, birth, s).columns) == ["ethnicity"]
    with pytest.raises(ConfigError, match=r"\['religion'\].*available: \['sex', 'ethnicity', 'age_band'\]"):
        resolve_characteristics(list(protected.columns), True, FairnessSettings(characteristics=["religion"]))
    twice = pd.concat([protected, protected.head(1)], ignore_index=True)
    with pytest.raises(RecordsError, match="more than one row for person_id 'P1'"):
        attach_groups(rows, twice, birth, FairnessSettings())


def test_coverage_counts_recorded_values_by_month(protected, rows, birth) -> None:
    groups = attach_groups(rows, protected, birth, FairnessSettings())
    cov = coverage(rows["as_of"], groups).set_index(["month", "characteristic"])
    assert list(cov.columns) == ["recorded", "total", "recorded_share"]
    july = T("2018-07-01")
    assert cov.loc[(july, "sex"), ["recorded", "total"]].tolist() == [2, 4]  # P1, P3 of P1..P4
    assert cov.loc[(july, "sex x ethnicity"), "recorded"] == 1  # only P1 has both
    assert cov.loc[(T("2018-06-01"), "ethnicity"), "recorded_share"] == 1.0


def test_margins_of_an_intersection_are_its_rows_and_columns() -> None:
    names = ["F | A", "F | B", "M | A", "M | B"]
    blocks = [list(b) for b in margins("sex x ethnicity", names)]
    assert blocks == [[0, 1, 2, 3], [0, 1], [2, 3], [0, 2], [1, 3]]
    assert [list(b) for b in margins("sex", ["F", "M"])] == [[0, 1]]


def test_primary_and_secondary_suppression() -> None:
    # One scope (pooled), groups of 120, 4, 30, 15 and 0 people.
    counts = np.array([[120, 4, 30, 15, 0]])
    flags = suppress(counts, 10, margins("x", list("abcde")))
    # 4 is primary; alone it could be recovered from the total, so the next smallest (15) goes too;
    # the empty group describes nobody and stays.
    assert flags.tolist() == [[False, True, False, True, False]]
    # Two primary cells already protect each other.
    assert suppress(np.array([[120, 4, 3, 15]]), 10, margins("x", list("abcd"))).tolist() == [
        [False, True, True, False]
    ]


def test_secondary_suppression_covers_intersections_and_months() -> None:
    names = ["F | A", "F | B", "M | A", "M | B"]
    flags = suppress(np.array([[5, 50, 60, 70]]), 10, margins("sex x ethnicity", names))
    # F | A is primary; its row (F) and its column (A) each need a second suppressed cell,
    # and then M | B, so that no row or column has a lone suppressed cell.
    assert flags.tolist() == [[True, True, True, True]]
    # Months (rows 1..) of one group add up to the pooled figure (row 0).
    over_months = suppress(np.array([[90], [40], [3], [47]]), 10, [])
    assert over_months[:, 0].tolist() == [False, True, True, False]
