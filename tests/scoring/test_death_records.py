"""The deaths tables of the records contract: bad rows quarantined with their reasons and lines,
codes read in any spelling, locations in either system, and bad files refused with the fix."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from features.errors import RecordsError
from features.records.schema import ValidationSettings
from scoring.records import load_death_records, write_quarantine

SETTINGS = ValidationSettings(today=date(2026, 11, 1), max_bad_share=0.9)
HEADER = (
    "death_id,reported_date,recorded_date,easting,northing,area_code,place_type,category,age,sex,substances"
)
GOOD = "D1,2026-01-05,2026-01-06,530000,180000,E01,Home,Unexpected - not suspicious,34,Male,GHB/GBL;Alcohol"


def _write(folder: Path, name: str, lines: list[str]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_good_rows_are_read_in_contract_spelling(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "deaths",
        [HEADER, GOOD, "D2,2026-02-01,2026-02-01,530500,180000,E02,churchyard cemetery,expected,,,"],
    )
    records, report = load_death_records(tmp_path, SETTINGS)
    d = records.deaths
    assert report.table("deaths").rows_valid == 2 and not report.quarantine
    assert d["place_type"].tolist() == ["home", "churchyard_cemetery"]
    assert d["category"].tolist() == ["unexpected_not_suspicious", "expected"]
    assert d["sex"].tolist() == ["male", "not recorded"]
    assert d["substances"].tolist() == ["alcohol;ghb_gbl", "unknown"]
    assert d["found_date"].tolist() == d["reported_date"].tolist()  # no found_date: the reported date
    assert d[["x", "y"]].values.tolist() == [[530000.0, 180000.0], [530500.0, 180000.0]]
    assert records.protected is None and records.expected is None and records.links is None
    assert any("death_protected" in w for w in report.warnings)


def test_bad_rows_are_quarantined_with_line_and_reason(tmp_path: Path) -> None:
    rows = [
        HEADER,
        GOOD,
        "D2,2026-01-05,2026-01-01,530000,180000,E01,home,expected,50,female,none",  # recorded early
        "D3,2026-01-05,2026-01-05,530000,,E01,home,expected,50,female,none",  # half a location
        "D4,2026-01-05,2026-01-05,530000,180000,E01,garden shed,expected,50,female,none",
        "D5,2026-01-05,2026-01-05,530000,180000,E01,home,suspicious?,50,female,none",
        "D6,2026-01-05,2026-01-05,530000,180000,E01,home,expected,150,female,none",
        "D7,2026-01-05,2026-01-05,530000,180000,E01,home,expected,50,female,heroin",
        "D1,2026-01-05,2026-01-05,530000,180000,E01,home,expected,50,female,none",  # repeated id
    ]
    _write(tmp_path, "deaths", rows)
    _write(tmp_path, "death_protected", ["death_id,ethnicity", "D1,White", "D2,Black", "D99,Asian"])
    records, report = load_death_records(tmp_path, SETTINGS)
    assert records.deaths["death_id"].tolist() == ["D1"]
    q = report.quarantine["deaths"].set_index("death_id")
    assert q.loc["D2", "reason"] == "recorded_date 2026-01-01 is before reported_date 2026-01-05"
    assert "give easting with northing" in q.loc["D3", "reason"]
    assert q.loc["D4", "reason"].startswith("place_type 'garden shed' is not one of: home,")
    assert q.loc["D5", "reason"].startswith("category 'suspicious?' is not one of")
    assert q.loc["D6", "reason"] == "age 150.0 is over 120"
    assert q.loc["D7", "reason"].startswith("substances 'heroin' holds a code that is not one of")
    assert q["source_line"].tolist() == [3, 4, 5, 6, 7, 8, 9]
    t = report.table("deaths")
    assert t.rows_valid + t.rows_quarantined == t.rows_read == 8
    protected = report.quarantine["death_protected"]["reason"].tolist()
    assert protected == [
        "death_id 'D2' is in deaths but its row 2 was quarantined",
        "death_id 'D99' is not in deaths",
    ]
    written = write_quarantine(report, tmp_path / "run")
    assert sorted(p.name for p in written.values()) == ["death_protected.csv", "deaths.csv"]


def test_latitude_and_longitude_become_metres(tmp_path: Path) -> None:
    header = "death_id,reported_date,recorded_date,latitude,longitude,area_code,place_type,category"
    _write(
        tmp_path,
        "deaths",
        [
            header,
            "D1,2026-01-05,2026-01-05,51.50,-0.12,W1,home,expected",
            "D2,2026-01-05,2026-01-05,51.51,-0.12,W1,home,expected",
            "D3,2026-01-05,2026-01-05,51.50,-0.10,W1,home,expected",
            "D4,2026-01-05,2026-01-05,95,-0.10,W1,home,expected",
        ],
    )
    records, report = load_death_records(tmp_path, SETTINGS)
    d = records.deaths
    north = np.hypot(d.x[1] - d.x[0], d.y[1] - d.y[0])
    east = np.hypot(d.x[2] - d.x[0], d.y[2] - d.y[0])
    assert north == pytest.approx(1_112, abs=2)  # 0.01 degree of latitude
    assert east == pytest.approx(1_385, abs=5)  # 0.02 degree of longitude at 51.5 degrees north
    assert report.quarantine["deaths"]["reason"].tolist() == ["latitude 95.0 is outside -90 to 90"]


def test_context_and_links_are_checked(tmp_path: Path) -> None:
    _write(tmp_path, "deaths", [HEADER, GOOD, GOOD.replace("D1,", "D2,")])
    _write(
        tmp_path, "expected_deaths", ["area_code,month,expected", "E01,2026-01-01,2.5", "E01,2026-01-15,2.5"]
    )
    _write(tmp_path, "death_links", ["death_id_a,death_id_b,linked", "D1,D2,yes", "D1,D1,no", "D1,D3,no"])
    records, report = load_death_records(tmp_path, SETTINGS)
    assert records.expected is not None and records.expected["expected"].tolist() == [2.5]
    assert report.quarantine["expected_deaths"]["reason"].tolist() == [
        "month 2026-01-15 is not the first day of a month"
    ]
    assert records.links is not None and records.links.values.tolist() == [["D1", "D2", True]]
    assert report.quarantine["death_links"]["reason"].tolist() == [
        "death_id_a and death_id_b are both 'D1'",
        "death_id_b 'D3' is not in deaths",
    ]


def test_bad_files_stop_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(RecordsError, match=r"no deaths file\. Expected deaths\.csv"):
        load_death_records(tmp_path, SETTINGS)
    _write(
        tmp_path,
        "deaths",
        [
            "death_id,reported_date,recorded_date,area_code,place_type,category",
            "D1,2026-01-05,2026-01-05,E01,home,expected",
        ],
    )
    with pytest.raises(RecordsError, match="no location columns"):
        load_death_records(tmp_path, SETTINGS)
    with pytest.raises(RecordsError, match=r"user:\*\*\*@db/crime: could not connect") as refused:
        load_death_records("postgresql://user:secret@db/crime", SETTINGS)
    assert "secret" not in str(refused.value)
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    sa.create_engine(empty).connect().close()
    with pytest.raises(RecordsError, match="the deaths table cannot be read"):
        load_death_records(empty, SETTINGS)
    pd.DataFrame({"death_id": ["D1"]}).to_parquet(tmp_path / "deaths.parquet")
    with pytest.raises(RecordsError, match="more than one file"):
        load_death_records(tmp_path, SETTINGS)


def test_validate_checks_the_death_tables_and_keeps_every_quarantine(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from scoring.cli import app

    config = tmp_path / "synthetic.yaml"
    config.write_text("persons: 300\nyears: 2\nbad_row_share: 0.005\n")
    runner = CliRunner()
    made = runner.invoke(app, ["synth", "--config", str(config), "--out", str(tmp_path / "world")])
    assert made.exit_code == 0, made.output
    checked = runner.invoke(app, ["validate", str(tmp_path / "world"), "--quarantine", str(tmp_path / "out")])
    assert checked.exit_code == 0, checked.output
    assert "expected_deaths" in checked.output and "recorded_date before reported_date" in checked.output
    files = sorted(p.name for p in (tmp_path / "out" / "quarantine").iterdir())
    assert files == ["death_protected.csv", "deaths.csv", "events.csv"]
    only_list = tmp_path / "list-only"
    only_list.mkdir()
    for name in ("persons", "events", "offences", "protected"):
        (only_list / f"{name}.parquet").write_bytes((tmp_path / "world" / f"{name}.parquet").read_bytes())
    (only_list / "deaths.txt").write_text("not a table the contract reads")
    alone = runner.invoke(app, ["validate", str(only_list)])
    assert alone.exit_code == 0, alone.output
    assert "expected_deaths" not in alone.output
