"""Inputs to the force's equality impact assessment (Equality Act 2010 s149), filled from a run's
facts (:mod:`scoring.governance`): the three aims, the evidence by protected characteristic, the
disparities and the decisions taken on them, and what is monitored monthly. The assessment is the
force's: every judgement only a person can make is marked for the force to complete."""

from __future__ import annotations

from scoring.reports.formats import RATIO, Cell, long_name
from scoring.reports.governance_blocks import (
    Block,
    Bullets,
    Document,
    Facts,
    Fields,
    Para,
    Section,
    Table,
    Todo,
    equality_scope,
    figure,
    gate_words,
    pct,
    recorded_characteristics,
    table,
)
from scoring.reports.governance_tables import (
    check_table,
    group_table,
    unchecked_table,
)


def _decisions(f: Facts) -> list[Block]:
    e = f["equality"]
    out: list[Block] = [Para(gate_words(f))]
    if not e["gate"]["checks"]:
        return out
    counts = e["gate"]["counts"]
    if counts.get("breached") or counts.get("accepted"):
        caption = (
            f"Breaches: outside the tolerance, parity rejected by the corrected test ({equality_scope(f)})"
        )
        out.append(check_table(f, ("breached", "accepted"), caption=caption))
    if counts.get("not established"):
        caption = (
            "Outside the tolerance, but the corrected test finds parity plausible: not established, does not "
            f"block ({equality_scope(f)})"
        )
        out.append(check_table(f, ("not established",), caption=caption))
    if e["gate"]["counts"].get("not checkable"):
        out.append(unchecked_table(f))
    if e["acceptances"]:
        rows = [
            [
                f"{a['characteristic']} = {a['group']}",
                long_name(a["metric"]),
                a["reason"],
                a["decided_by"],
                f"{a['decided_on']} (review by {a['review_by']})",
            ]
            for a in e["acceptances"]
        ]
        out.append(
            table(
                ["Group", "Measure", "Reason", "Decided by", "Decided on"],
                rows,
                caption="Breaches an equality reviewer has accepted (config fairness.gate.accepted)",
            )
        )
    else:
        out.append(
            Para("No breach has been accepted by an equality reviewer (fairness.gate.accepted is empty).")
        )
    if e["gate"]["unused"]:
        out.append(Para("Acceptances that matched no breach in this run (the setting can be removed):"))
        out.append(Bullets(tuple(e["gate"]["unused"])))
    out.append(
        Todo(
            "for each breach, the decision: justified (the legitimate aim, and why the list is a "
            "proportionate means) or the action taken"
        )
    )
    return out


def _proxies(f: Facts) -> list[Para | Table]:
    p = f["equality"]["proxies"]
    if p is None:
        if f["equality"].get("analyses_elsewhere"):
            return [Para(f"The proxy audit was not made in this run. {f['equality']['analyses_elsewhere']}")]
        return [Para("The proxy audit did not run (config proxies.enabled).")]
    rows = [
        [
            c["characteristic"],
            Cell(figure("auc", {"value": c["cv_auc"], "lo": c["lo"], "hi": c["hi"]})),
            "yes" if c["flagged"] else "no",
        ]
        for c in p["characteristics"]
    ]
    out: list[Para | Table] = [
        table(
            ["Characteristic", "Predicted from the inputs (cross-validated AUC)", "Above the threshold"],
            rows,
            caption=f"How well the model's inputs predict each characteristic (threshold AUC "
            f"{p['threshold_auc']:.2f})",
        )
    ]
    if p["flagged_features"]:
        names = sorted({x["feature"] for x in p["flagged_features"]})
        out.append(Para(f"Inputs associated with a group above the threshold: {', '.join(names)}."))
    return out


def _mitigation(f: Facts) -> list[Para | Table]:
    m = f["equality"]["mitigation"]
    if not m:
        if f["equality"].get("analyses_elsewhere"):
            why = f["equality"]["analyses_elsewhere"]
            return [Para(f"The mitigation analysis was not made in this run. {why}")]
        return [Para("The mitigation analysis did not run (config mitigation.enabled).")]
    rows = [
        [
            r.get("approach", ""),
            r.get("characteristic", ""),
            Cell(pct(r.get("precision_at_100"))),
            Cell(pct(r.get("harm_captured_at_100"))),
            Cell(
                figure(RATIO, {"value": r.get("largest_ratio")})
                + (f" ({r['largest_group']})" if r.get("largest_group") else "")
            ),
        ]
        for r in m
    ]
    return [
        table(
            ["Approach", "Characteristic", "Precision@100", "Harm captured@100", "Largest ratio (group)"],
            rows,
            caption="What other approaches would have done on the mitigation test months (details in "
            "equality.html)",
        )
    ]


def equality_inputs(f: Facts) -> Document:
    """Inputs to the equality impact assessment: the s149 aims, the evidence by characteristic, the
    decisions on disparities and the monitoring."""
    e = f["equality"]
    found, missing = recorded_characteristics(f)
    duty = Section(
        "The duty",
        [
            Para(
                "Equality Act 2010 s149: in exercising its functions the force must have due regard to the "
                "need to"
            ),
            Bullets(
                (
                    "eliminate discrimination, harassment, victimisation and other prohibited conduct;",
                    "advance equality of opportunity between people who share a protected characteristic "
                    "and those who do not;",
                    "foster good relations between people who share a protected characteristic and those "
                    "who do not.",
                )
            ),
            Para(
                "The duty is continuing: this pack is written by every run. Bridges v South Wales Police "
                "[2020] EWCA Civ 1058: the force must make reasonable enquiries to satisfy itself that the "
                "software has no unacceptable bias."
            ),
        ],
    )
    data = Section(
        "Data and gaps",
        [
            Fields(
                (
                    ("Characteristics recorded", ", ".join(found) or "none"),
                    (
                        "Characteristics not recorded",
                        Todo(
                            "what enquiries were made about them, and what is known",
                            known=", ".join(missing) + ".",
                        )
                        if missing
                        else "none",
                    ),
                    (
                        "Coverage",
                        "; ".join(
                            f"{c['characteristic']}: at least {pct(c['lowest_recorded_share'])} recorded in "
                            "every test month"
                            for c in (e["coverage"] if e else [])
                        )
                        or "not measured",
                    ),
                )
            ),
            Para(
                "People whose characteristic is not recorded form their own group, 'not recorded', in "
                "every table."
            ),
        ],
    )
    if e is None:
        evidence = Section(
            "Evidence by protected characteristic",
            [Para(gate_words(f)), Todo("the evidence the force relies on instead")],
        )
        decisions = Section(
            "Disparities and decisions", [Todo("how the force will audit the list without a protected table")]
        )
        proxies = Section("Proxy findings", [Para("Not run.")])
    else:
        evidence = Section(
            "Evidence by protected characteristic",
            [Para(f"Scope: {equality_scope(f)}; list of {e['gate']['k']}.")]
            + [group_table(f, c) for c in e["characteristics"]]
            + [
                Para(
                    f"Figures from fewer than {e['min_cell']} people are suppressed. Intersections: "
                    "equality.html."
                )
            ],
        )
        decisions = Section("Disparities and decisions", _decisions(f))
        proxies = Section("Proxy findings and mitigation", [*_proxies(f), *_mitigation(f)])
    aims = Section(
        "Effect on each aim",
        [
            Fields(
                (
                    (
                        "Eliminating discrimination",
                        Todo("the assessment, citing the gate and the disparities above"),
                    ),
                    ("Advancing equality of opportunity", Todo("the assessment")),
                    (
                        "Fostering good relations",
                        Todo("the assessment, including engagement with affected communities"),
                    ),
                )
            )
        ],
    )
    monitoring = Section(
        "Monitoring",
        [
            Bullets(
                (
                    "Every monthly run: the equality audit, the release gate and this pack; a breach "
                    "blocks release until it is fixed or an equality reviewer accepts it with a reason and "
                    "a review-by date.",
                    "Every monthly run: review and override rates from the review log (the previous list's "
                    "are in this pack).",
                    "Every monthly run: recording coverage of each characteristic, and the proxy audit "
                    "when enabled.",
                )
            ),
            Fields(
                (
                    ("Review date", Todo("when the assessment will next be reviewed in full")),
                    ("Sign-off", Todo("name, role and date")),
                )
            ),
        ],
    )
    return Document(
        "equality-impact-inputs",
        "Equality impact assessment: inputs",
        f"Facts from the run of {f['as_of']} for the force's equality impact assessment (Equality Act 2010 "
        "s149).",
        [duty, data, evidence, decisions, proxies, aims, monitoring],
        ("Equality Act 2010 s149; Bridges v South Wales Police [2020] EWCA Civ 1058.",),
    )
