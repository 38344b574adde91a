"""The tables the governance documents share: policy switches, inputs, backtest figures, group
figures, gate checks, records read and software versions, each with its scope in the caption."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from scoring.reports.formats import AUC, PCT, RATIO, Cell, Table, header, long_name
from scoring.reports.governance_blocks import (
    POLICY_WORDS,
    Facts,
    backtest_method,
    backtest_scope,
    confidence,
    count,
    equality_scope,
    num,
    table,
)


def policy_rows(f: Facts) -> list[list[str]]:
    """One row per policy switch: what it allows, on or off, and the catalogue features it kept out."""
    rows = []
    for p in f["features"]["policies"]:
        n = len(p["excluded"])
        kept = f"{n} feature{'' if n == 1 else 's'} excluded" if n else "none excluded"
        rows.append(
            [POLICY_WORDS.get(p["switch"], p["switch"]), p["switch"], "on" if p["on"] else "off", kept]
        )
    return rows


def policy_table(f: Facts) -> Table:
    return table(
        ["Policy switch", "Setting", "This run", "Catalogue features"],
        policy_rows(f),
        caption="Policy switches in force for this run (config features.*)",
    )


def family_table(f: Facts) -> Table:
    fam = f["features"]["families"]
    rows = [[x["family"], Cell(str(len(x["features"]))), ", ".join(x["features"])] for x in fam]
    return table(
        ["Input family", "Features", "Names"],
        rows,
        caption=f"The model's {f['features']['count']} inputs (features/catalogue.py; docs/features.md)",
    )


MODEL_COLUMNS = (  # (figure key, format, header)
    ("precision@{k}", PCT, "Precision@{k}"),
    ("recall@{k}", PCT, "Recall@{k}"),
    ("harm_captured@{k}", PCT, "Harm captured@{k}"),
    ("auc_roc", AUC, "AUC-ROC"),
    ("average_precision", AUC, "Average precision"),
)


def backtest_table(f: Facts) -> Table:
    """The chosen model and the baselines on the backtest's pooled months, with intervals."""
    b = f["backtest"]
    k = b["k"]
    rows = []
    for m in b["models"]:
        name = m["name"] + (" (this model)" if m["key"] == b["chosen"] else "")
        figures = [num(kind, m["figures"].get(key.format(k=k))) for key, kind, _ in MODEL_COLUMNS]
        rows.append([Cell(name, numeric=False), *figures])
    heads = ["Model", *(h.format(k=k) for _, _, h in MODEL_COLUMNS)]
    return table(heads, rows, caption=f"{backtest_scope(f)} ({backtest_method(f)}); {confidence(f)}")


def group_order(name: str) -> tuple[int, float, str]:
    """Sort key of a group: age bands by age ("under 18" first, "65 and over" last), then other
    groups by name, then "not recorded"."""
    if name == "not recorded":
        return (2, 0.0, name)
    age = re.match(r"(under )?(\d+)", name)
    if age:
        return (0, int(age.group(2)) - (0.5 if age.group(1) else 0.0), name)
    return (1, 0.0, name)


def group_rows(f: Facts, characteristic: str) -> list[list[Cell]]:
    """One row per group of ``characteristic``: people, cohort share and the gate's list figures."""
    e = f["equality"]
    by: dict[str, dict[str, Mapping[str, Any]]] = {}
    for g in e["groups"]:
        if g["characteristic"] == characteristic:
            by.setdefault(g["group"], {})[g["metric"]] = g
    rows = []
    for group, metrics in sorted(by.items(), key=lambda item: group_order(item[0])):
        size = metrics.get("size", {})
        row = [Cell(group, numeric=False), Cell(count(size.get("n")) if size.get("n") is not None else "–")]
        for metric in ("cohort_share", "selection_rate", "precision", "recall", "fpr"):
            g = metrics.get(metric)
            if g is not None and g["suppressed"]:
                row.append(Cell("suppressed", css="suppressed"))
            else:
                row.append(num(PCT, g))
        rows.append(row)
    return rows


def group_table(f: Facts, characteristic: str) -> Table:
    k = f["equality"]["gate"]["k"]
    heads = [
        "Group",
        "People",
        "Cohort share",
        *(header(m, k) for m in ("selection_rate", "precision", "recall", "fpr")),
    ]
    return table(
        heads,
        group_rows(f, characteristic),
        caption=f"{characteristic}: {equality_scope(f)}; {confidence(f)}",
    )


def check_rows(f: Facts, statuses: Sequence[str]) -> list[list[Cell]]:
    rows = []
    for c in f["equality"]["gate"]["checks"]:
        if c["status"] not in statuses:
            continue
        where = f"{c['characteristic']} = {c['group']} (against {c['reference']})"
        ratio = {"value": c["ratio"], "lo": c["lo"], "hi": c["hi"]}
        note = c["decision"] or c["why"]
        k = f"@{c['k']}" if c["k"] is not None else ""
        rows.append(
            [
                Cell(where, numeric=False),
                Cell(long_name(c["metric"]) + k, numeric=False),
                num(RATIO, ratio)
                if c["status"] != "not checkable"
                else Cell("not checkable", css="suppressed"),
                Cell(c["status"], numeric=False, css="flag" if c["status"] == "breached" else ""),
                Cell(note, numeric=False),
            ]
        )
    return rows


def check_table(f: Facts, statuses: Sequence[str], caption: str) -> Table:
    return table(
        ["Group", "Measure", "Ratio to reference", "Status", "Why, or the decision"],
        check_rows(f, statuses),
        caption,
    )


def unchecked_table(f: Facts) -> Table:
    """The gate's checks that could not be made, counted by characteristic with the groups involved."""
    by: dict[str, list[str]] = {}
    for c in f["equality"]["gate"]["checks"]:
        if c["status"] == "not checkable":
            by.setdefault(c["characteristic"], []).append(c["group"])
    rows: list[list[str | Cell]] = [
        [name, Cell(count(len(groups))), ", ".join(sorted(set(groups)))]
        for name, groups in sorted(by.items())
    ]
    return table(
        ["Characteristic", "Checks not made", "Groups"],
        rows,
        caption="Gate checks that could not be made (too few people behind a figure, or a figure not "
        "defined): NOT passes. Each check's reason is in equality.html and facts.json.",
    )


def package_table(f: Facts) -> Table:
    rows = [[name, version] for name, version in f["packages"].items()]
    rows.append(["Python", f["python"]])
    return table(
        ["Package", "Version"], rows, caption="Software that produced this run (also in manifest.json)"
    )


def data_table(f: Facts) -> Table:
    rows = [
        [
            t["table"],
            Cell(count(t["rows_read"])),
            Cell(count(t["rows_valid"])),
            Cell(count(t["rows_quarantined"])),
        ]
        for t in f["data"]["tables"]
    ]
    return table(
        ["Table", "Rows read", "Rows valid", "Rows quarantined"],
        rows,
        caption="The records this run read (quarantined rows are kept with their reason in quarantine/)",
    )
