"""The offence catalogue: the default from CCHI subgroups, and per-Home-Office-code tables."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from features.errors import RecordsError
from features.records.offences import (
    CATALOGUE_COLUMNS,
    SUBGROUP_CODES,
    UNCLASSIFIED,
    build_default_catalogue,
    normalise_catalogue,
)
from features.records.schema import ValidationSettings
from features.records.validate import validate

REPO = Path(__file__).resolve().parents[3]
REFERENCE = REPO.parent / "shared" / "reference" / "cchi_subgroups.csv"
SETTINGS = ValidationSettings(today=dt.date(2026, 11, 1), max_bad_share=1.0)


def reference() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "category": ["Violence and sexual offences", "Shoplifting"],
            "prc_subgroup": ["Homicide", "Shoplifting"],
            "cchi_days": [5475.0, 1.0],
            "national_count_2024_25": [524, 525833],
        }
    )


def per_code_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "HO code": ["008/01", "001/00", "046/00", "019/07"],
            "Offence title": ["Assault with injury", "Murder", "Shoplifting", "Rape of a female"],
            "CCHI Score": ["365", "5475", "1", "2920"],
            "Offence Group": ["Violence", "Violence", "Theft", "Sexual offences"],
            "Offence Subgroup": ["Violence with injury", "Homicide", "Shoplifting", "Rape"],
        },
        dtype="str",
    )


def minimal_records(codes: list[str]) -> dict[str, pd.DataFrame]:
    persons = pd.DataFrame({"person_id": ["P1"]}, dtype="str")
    events = pd.DataFrame(
        {
            "event_id": [f"E{i}" for i in range(len(codes))],
            "person_id": "P1",
            "event_type": "crime_suspect",
            "offence_code": codes,
            "occurred_date": "2020-01-01",
            "recorded_date": "2020-01-02",
        },
        dtype="str",
    )
    return {"persons": persons, "events": events}


@pytest.mark.skipif(not REFERENCE.is_file(), reason=f"reference table not found at {REFERENCE}")
def test_default_catalogue_file_is_built_from_the_reference() -> None:
    built = build_default_catalogue(pd.read_csv(REFERENCE))
    expected = (REPO / "configs" / "offences.csv").read_text(encoding="utf-8")
    assert built.to_csv(index=False, lineterminator="\n") == expected


def test_build_default_catalogue_layout() -> None:
    built = build_default_catalogue(reference())
    assert tuple(built.columns) == CATALOGUE_COLUMNS
    assert built["offence_code"].tolist() == ["VSO01", "SHP01"]
    assert built["description"].tolist() == ["Homicide", "Shoplifting"]
    assert built["harm_days"].dtype == "float64"
    assert built["national_count"].dtype == "int64"
    assert len(set(SUBGROUP_CODES.values())) == len(SUBGROUP_CODES)


def test_unknown_subgroup_needs_a_code() -> None:
    ref = reference()
    ref.loc[1, "prc_subgroup"] = "Fraud"
    with pytest.raises(RecordsError, match=r"'Fraud'.*SUBGROUP_CODES"):
        build_default_catalogue(ref)


def test_our_layout_passes_through_with_loose_headers() -> None:
    raw = build_default_catalogue(reference()).astype("str")
    raw.columns = ["Offence Code", "DESCRIPTION", "subgroup", "Category", "Harm-Days", "national_count"]
    out = normalise_catalogue(raw, "offences.csv")
    assert tuple(out.columns) == CATALOGUE_COLUMNS
    assert out["offence_code"].tolist() == ["VSO01", "SHP01"]


def test_reference_layout_is_accepted() -> None:
    out = normalise_catalogue(reference(), "cchi_subgroups.csv")
    pd.testing.assert_frame_equal(out, build_default_catalogue(reference()))


def test_per_code_table_becomes_our_layout_and_validates() -> None:
    notes: list[str] = []
    out = normalise_catalogue(per_code_table(), "cchi.csv", notes)
    assert notes == []
    assert out["offence_code"].tolist() == ["008/01", "001/00", "046/00", "019/07"]
    assert out["category"].tolist() == ["Violence", "Violence", "Theft", "Sexual offences"]
    assert out["subgroup"].iloc[3] == "Rape"
    records, report = validate({"offences": out, **minimal_records(["008/01", "019/07"])}, SETTINGS, {})
    assert report.rows_quarantined == 0
    assert records.offences["harm_q"].tolist() == [1460, 21900, 4, 11680]
    assert records.offences["description"].iloc[0] == "Assault with injury"
    assert records.offences["national_count"].isna().all()


def test_per_code_table_with_upper_case_headers_and_no_groups() -> None:
    raw = per_code_table().drop(columns=["Offence Group", "Offence Subgroup"])
    raw.columns = ["HO_CODE", "FULL_OFFENCE_TITLE", "CCHI_SCORE"]
    notes: list[str] = []
    out = normalise_catalogue(raw, "cchi.csv", notes)
    assert (out["category"] == UNCLASSIFIED).all() and (out["subgroup"] == UNCLASSIFIED).all()
    assert len(notes) == 1
    assert "cchi.csv: no category or subgroup column" in notes[0]
    assert f"set to '{UNCLASSIFIED}'" in notes[0]


def test_per_code_warnings_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    raw = per_code_table()[["HO code", "CCHI Score"]]
    raw.loc[0, "HO code"] = "8/1"
    with caplog.at_level("WARNING"):
        out = normalise_catalogue(raw, "cchi.csv")
    assert out["description"].tolist() == raw["HO code"].tolist()
    assert "no offence title column" in caplog.text
    assert "do not look like Home Office codes NNN/NN (e.g. '8/1')" in caplog.text


def test_bad_rows_of_a_per_code_table_are_quarantined() -> None:
    raw = per_code_table()
    raw.loc[1, "CCHI Score"] = "n/a"
    raw.loc[2, "HO code"] = "008/01"
    out = normalise_catalogue(raw, "cchi.csv")
    _, report = validate({"offences": out, **minimal_records(["008/01"])}, SETTINGS, {"offences": "cchi.csv"})
    q = report.quarantine["offences"]
    assert q["source_row"].tolist() == [2, 3]
    assert q["reason"].tolist() == [
        "harm_days: 'n/a' is not a number",
        "duplicate offence_code '008/01': row 1 has the same offence_code and is the one kept",
    ]


def test_unrecognised_catalogue_is_an_error() -> None:
    raw = pd.DataFrame({"code": ["A"], "weight": ["1"]})
    with pytest.raises(RecordsError) as info:
        normalise_catalogue(raw, "data/offences.csv")
    message = str(info.value)
    assert message.startswith("data/offences.csv: not a recognised offence catalogue")
    assert "Columns found: code, weight" in message
    assert "HO_CODE" in message and "harm_days" in message
