"""Groups of audited rows, coverage and small-number suppression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairness.groups import attach_groups, coverage, margins, resolve_characteristics, suppress
from fairness.makeup import list_makeup
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
    # the empty group describes nobody and stays (hiding it would protect nothing: another table
    # can show it is empty).
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


def test_secondary_suppression_spares_the_reference_group_when_another_cell_can_protect() -> None:
    # sex x ethnicity listed counts: the reference group Male | White holds 70 listed people,
    # Male | Black 53, Female | White 12, and "not recorded | White" 3 (primary).
    names = ["F | B", "F | W", "M | B", "M | W", "n | B", "n | W"]
    counts = np.array([[20, 12, 53, 70, 0, 3]])
    reference = names.index("M | W")
    blocks = margins("sex x ethnicity", names)
    flags = suppress(counts, 10, blocks, keep=reference)
    hidden = [n for n, f in zip(names, flags[0], strict=True) if f]
    # The primary cell; F | W, the smallest non-empty cell beside it in "* | W" (not the reference);
    # F | B, the only other cell of "F | *"; n | B, the only other cell of "n | *" (empty: the last
    # resort, taken because nothing else is left in that row).
    assert hidden == ["F | B", "F | W", "n | B", "n | W"]
    assert not flags[0, reference]  # every comparison of the characteristic is read against it
    for block in blocks:
        assert flags[0, block].sum() != 1
    # The same counts with no reference named hide the smallest non-empty cells alike.
    assert suppress(counts, 10, blocks).tolist() == flags.tolist()
    # Male | Black, with 53 listed, stays shown.
    assert not flags[0, names.index("M | B")]


def test_the_reference_is_taken_before_an_empty_cell_and_only_when_nothing_else_is_left() -> None:
    # "* | W": n | W is primary (3); the only other non-empty cell is the reference M | W: an empty
    # F | W would protect nothing (the sex table shows nobody female listed), so M | W is hidden.
    names = ["F | W", "M | W", "n | W"]
    flags = suppress(np.array([[0, 70, 3]]), 10, margins("sex x ethnicity", names), keep=1)
    assert flags.tolist() == [[False, True, True]]


def test_the_reference_group_is_hidden_only_when_nothing_else_can_protect() -> None:
    # Two groups only: the complement of a primary cell can only be the reference.
    flags = suppress(np.array([[5, 200]]), 10, margins("x", ["a", "b"]), keep=1)
    assert flags.tolist() == [[True, True]]


def test_the_list_makeup_counts_this_months_list_against_its_cohort_with_suppression() -> None:
    # 1,000 people: 600 White, 300 Black, 95 Asian, 5 Mixed; the list holds 40 White, 45 Black,
    # 12 Asian and 3 Mixed people.
    eth = np.array(["White"] * 600 + ["Black"] * 300 + ["Asian"] * 95 + ["Mixed"] * 5)
    listed = np.zeros(1_000, dtype=bool)
    for start, n in ((0, 40), (600, 45), (900, 12), (995, 3)):
        listed[start : start + n] = True
    table = list_makeup(pd.DataFrame({"ethnicity": pd.Series(eth, dtype="str")}), listed, 10)
    rows = table.set_index("group")
    assert rows.loc["Black", "listed"] == 45 and rows.loc["Black", "cohort"] == 300
    assert rows.loc["Black", "list_share"] == pytest.approx(0.45)
    assert rows.loc["Black", "cohort_share"] == pytest.approx(0.30)
    assert rows.loc["Black", "representation"] == pytest.approx(1.5)
    # Mixed has 5 people in the cohort: hidden, with the smallest other group (Asian) so that it
    # cannot be recovered from the totals; White, the reference, stays.
    assert rows.loc["Mixed", "suppressed"] and pd.isna(rows.loc["Mixed", "listed"])
    assert pd.isna(rows.loc["Mixed", "cohort"])
    assert rows.loc["Asian", "suppressed"] and pd.isna(rows.loc["Asian", "representation"])
    assert not rows.loc["White", "suppressed"] and rows.loc["White", "listed"] == 40
