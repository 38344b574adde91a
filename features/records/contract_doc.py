"""The data contract document, generated from the declaration in :mod:`features.records.schema`.

Regenerate ``docs/data-contract.md`` after changing the declaration::

    python -m features.records.contract_doc > docs/data-contract.md

A test checks that the committed document is current.
"""

from __future__ import annotations

from features.records.death_tables import DEATH_TABLES, MAX_AGE
from features.records.schema import FALSE_WORDS, OFFENCE_REQUIRED_FOR, TABLES, TRUE_WORDS, Table


def _table(table: Table, level: str = "##") -> list[str]:
    need = "required" if table.required else "optional"
    out = [f"{level} {table.name} ({need})", "", table.meaning, ""]
    out += ["| column | type | required | meaning |", "|---|---|---|---|"]
    for c in table.columns:
        rules = []
        if c.unique:
            rules.append("unique")
        if c.references:
            rules.append(f"must exist in {c.references}")
        if c.signed:
            rules.append("may be negative")
        extra = f" ({'; '.join(rules)})" if rules else ""
        out.append(f"| {c.name} | {c.type} | {c.need} | {c.meaning}{extra} |")
    if table.extra_columns:
        out.append(f"| *others* | str | optional | {table.extra_columns} |")
    out.append("")
    return out


def contract_markdown() -> str:
    """The data contract document (``docs/data-contract.md``), generated from :data:`TABLES`.

    Returns
    -------
    str
        Markdown text ending in a newline.
    """
    out = [
        "# Data contract",
        "",
        "<!-- Generated from the declaration in features/records/schema.py by "
        "`python -m features.records.contract_doc > docs/data-contract.md`; do not edit by hand. -->",
        "",
        "A records directory holds one file per table, named `<table>.csv`, `<table>.csv.gz` "
        "or `<table>.parquet`. CSV files are UTF-8, comma-separated, with a header row; every "
        "value is read as text and parsed as below. Parquet files may use native types. "
        "Headers match case-insensitively, spaces and hyphens counting as underscores. "
        "Nothing else in the directory is read.",
        "",
    ]
    for table in TABLES.values():
        out += _table(table)
    out += [
        "## Death reports",
        "",
        "The death investigations job (`harmrank deaths`) reads these tables beside persons and "
        "events (for the offender-side records of people linked to a death); the list job never "
        "opens them. They are checked and quarantined in the same way.",
        "",
    ]
    for table in DEATH_TABLES.values():
        out += _table(table, level="###")
    out += [
        "## Parsing",
        "",
        "- **str**: surrounding spaces are removed; an empty cell is missing.",
        "- **date**: ISO `YYYY-MM-DD` exactly (no times, no other orders); Parquet dates and "
        "timestamps are taken at their calendar day.",
        "- **bool**: " + "/".join(TRUE_WORDS) + " or " + "/".join(FALSE_WORDS) + ", in any "
        "case; an empty cell is false.",
        "- **number**: a decimal number, finite and not negative (unless the column may be negative).",
        "- Columns that are not declared are ignored (except in protected) and listed as a warning.",
        "",
        "## What happens to bad input",
        "",
        "A bad *file* stops the run with a message naming the file and the fix: a required "
        "file is missing, two files hold the same table, a file cannot be read, a required "
        "column is missing, or a table has no rows.",
        "",
        "Every line of a CSV file is accounted for: it is part of a row (kept or quarantined), a "
        "blank line, or the run stops naming the file, the line and the cause. A value may span "
        "lines only when it is quoted as a whole; a quote that opens a value which then swallows "
        "lines that look like rows (as many commas as a row has), or which never closes, is a "
        "stray quote: the run stops naming the line where it opens and how many lines it would "
        'absorb, and nothing is read from that file. Remove the quote, or double it (`""`) inside '
        "a quoted value.",
        "",
        "A bad *row* is quarantined: it is left out of the run and written with its "
        "`source_row` (1-based data row in the file, blank lines not counted), its `source_line` "
        "(the line of the file on which it starts; empty for Parquet) and a `reason` to "
        "`runs/<as_of>/quarantine/<table>.csv`. Nothing is lost: for every table, valid rows "
        "plus quarantined rows equal rows read. A row is quarantined when:",
        "",
        "- it has more or fewer fields than the header (an unquoted comma, a missing field);",
        "- a value holds bytes that are not UTF-8 text (the reason names the line, the column and "
        "the byte; the quarantine shows the value with the byte replaced);",
        "- a required value is missing (offence_code: for " + ", ".join(OFFENCE_REQUIRED_FOR) + " events);",
        "- a date does not parse, is after today, or is before `validation.earliest_date` "
        "(default 1900-01-01);",
        "- recorded_date is before occurred_date, or occurred_date is before the person's birth_date;",
        "- an id repeats an earlier row's (the first occurrence is kept);",
        "- event_type is not one of the valid values;",
        "- offence_code is not in the offence catalogue, or person_id is not in persons "
        "(including persons whose own row was quarantined);",
        "- a boolean does not parse;",
        "- harm_days is not a number, is negative, or is not a multiple of 0.25; "
        "national_count is not a number or is negative;",
        "- a death report's recorded_date is before its reported_date, its found_date is after "
        "it, or its classified_date is before it;",
        "- a death report's place_type, category, sex or a substance code is not one of the "
        f"valid values, its age is over {MAX_AGE}, or its location is missing, half given "
        "(easting without northing), out of range, or in another coordinate system than the "
        "table's other rows;",
        "- an expected_deaths month is not the first day of a month; a death_links pair names an "
        "unknown death report or the same report twice.",
        "",
        "All of a row's defects are listed in its reason, joined by `; `. If more than "
        "`validation.max_bad_share` (default 1%) of a table's rows are quarantined, the run "
        "stops and names the most common reasons with an example row each.",
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    print(contract_markdown(), end="")
