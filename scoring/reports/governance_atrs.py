"""The draft ATRS record (UK Algorithmic Transparency Recording Standard, tier 1 and tier 2 in
v3.0 numbering), filled from a run's facts (:mod:`scoring.governance`) for the force to complete
and publish."""

from __future__ import annotations

from scoring.reports.governance_blocks import (
    Document,
    Facts,
    Fields,
    Para,
    Section,
    Todo,
    cohort_words,
    gate_words,
    model_words,
    outcome_words,
    quarantined,
    recorded_characteristics,
    review_words,
    table,
)
from scoring.reports.governance_card import ADVISORY, headline
from scoring.reports.governance_tables import (
    backtest_table,
    family_table,
)


def atrs_record(f: Facts) -> Document:
    """A draft ATRS record: tier 1 and tier 2 (v3.0 numbering), for the force to complete, publish."""
    b = f["backtest"]
    found, missing = recorded_characteristics(f)
    tier1 = Section(
        "Tier 1: summary",
        [
            Fields(
                (
                    ("Name", Todo("the name the force publishes the tool under")),
                    (
                        "Description",
                        "Each month the force's analysts run harmrank on the force's records. It ranks the "
                        f"{cohort_words(f)} by their chance of {outcome_words(f)}, and lists the top "
                        f"{f['list']['k']} with the reasons behind each place, for officers to review. "
                        + ADVISORY,
                    ),
                    ("Website", Todo("URL of the force's page about the tool")),
                    ("Contact email", Todo("a monitored address for questions from the public")),
                )
            )
        ],
    )
    owner = Section(
        "2.1 Owner and responsibility",
        [
            Fields(
                (
                    ("Organisation", Todo("the force")),
                    ("Team", Todo("the team that runs the job")),
                    ("Senior responsible owner", Todo("name and role")),
                    (
                        "Third parties",
                        Todo(
                            "any supplier or partner; harmrank itself runs on the force's machines and its "
                            "pages load nothing from the network"
                        ),
                    ),
                )
            )
        ],
    )
    rationale = Section(
        "2.2 Description and rationale",
        [
            Para(f"Scope: {cohort_words(f)}; the list: the top {f['list']['k']} by {model_words(f)}."),
            Para(
                "Previous process: the V100 list, which ranks the same people by the Crime Harm Index days "
                "of the offences they were named in over the last 365 days. Alternatives backtested on the "
                "same months: "
                + ", ".join(
                    m["name"] for m in (b["models"] if b else []) if m["key"] != (b["chosen"] if b else "")
                )
                + "."
            ),
            *headline(f),
            Todo("the benefit the force expects, and why it chose this tool over the alternatives"),
        ],
    )
    process = Section(
        "2.3 Decision-making process and human oversight",
        [
            Fields(
                (
                    (
                        "Process integration",
                        "The list is one input to officers' decisions about whom to look at first. Every "
                        "listed person is reviewed by an officer, who records a decision (action, no "
                        "action, needs information) and a reason in an append-only, hash-chained review "
                        "log.",
                    ),
                    (
                        "Information provided",
                        "For each listed person: the calibrated probability with its band, the place and "
                        "its change since last month, the reasons by family in plain words, and the "
                        "records behind them.",
                    ),
                    ("Frequency and scale", f"Monthly; {f['list']['k']} of {cohort_words(f)}."),
                    ("Human review", " ".join(review_words(f))),
                    ("Required training", Todo("the training officers receive before reviewing the list")),
                    (
                        "Appeals and review",
                        Todo(
                            "how a person can ask about or challenge their listing (DPA 2018 Part 3 rights "
                            "and their restrictions)"
                        ),
                    ),
                )
            )
        ],
    )
    spec = Section(
        "2.4 Tool specification",
        [
            Fields(
                (
                    ("Task", f"Rank the cohort by the probability of {outcome_words(f)}."),
                    ("Input", f"{f['features']['count']} features of recorded offending history (below)."),
                    (
                        "Output",
                        f"A list of {f['list']['k']} with probabilities, reasons and evidence; model and "
                        "equality reports.",
                    ),
                    ("Architecture", model_words(f)),
                    (
                        "Performance",
                        "the backtest table below; calibration and group figures in the model card"
                        if b
                        else "no backtest in this run",
                    ),
                    ("Performance by subgroup", gate_words(f)),
                    (
                        "Sensitive attributes",
                        f"Recorded for the audit only: {', '.join(found) or 'none'}. Not recorded: "
                        f"{', '.join(missing) or 'none'}.",
                    ),
                    (
                        "Data completeness",
                        quarantined(f) + ".",
                    ),
                    (
                        "Data source and collection",
                        Todo("the force systems the records are extracted from, and how"),
                    ),
                    ("Data sharing", Todo("whether any data leaves the force, and to whom")),
                    (
                        "Data access and storage",
                        Todo(
                            "who has access, where the files are kept, and for how long",
                            known="Run directories and the review log are readable by their owner only.",
                        ),
                    ),
                )
            ),
            family_table(f),
            *([backtest_table(f)] if b else []),
        ],
    )
    risks = Section(
        "2.5 Risks, mitigations and impact assessments",
        [
            Fields(
                (
                    (
                        "Data protection impact assessment",
                        Todo("date completed and where published (inputs: dpia-inputs)"),
                    ),
                    (
                        "Equality impact assessment",
                        Todo("date completed and where published (inputs: equality-impact-inputs)"),
                    ),
                )
            ),
            table(
                ["Risk", "Mitigation in the tool", "Evidence from this run"],
                [
                    [
                        "Decisions taken on the score alone",
                        "Advisory list; review of every listed person recorded with a reason",
                        review_words(f)[0],
                    ],
                    [
                        "Discrimination between groups",
                        "Equality audit and release gate every run",
                        gate_words(f),
                    ],
                    [
                        "Victims penalised",
                        "use_victimisation off by default",
                        "use_victimisation is " + ("on" if f["policy"].get("use_victimisation") else "off"),
                    ],
                    [
                        "Where the police look drives the score",
                        "use_police_activity off by default",
                        "use_police_activity is "
                        + ("on" if f["policy"].get("use_police_activity") else "off"),
                    ],
                    [
                        "Bad records",
                        "Validation; bad rows quarantined with their reason",
                        f"{sum(t['rows_quarantined'] for t in f['data']['tables']):,} rows quarantined",
                    ],
                ],
                caption="Risks and mitigations (the DPIA inputs list more)",
            ),
            Todo("the force's own risk register entries for the tool"),
        ],
    )
    return Document(
        "atrs-record",
        "Algorithmic Transparency Recording Standard record (draft)",
        f"A draft record for the force to complete and publish, filled from the run of {f['as_of']} (tier 1 "
        "and tier 2, v3.0 numbering).",
        [tier1, owner, rationale, process, spec, risks],
        ("Algorithmic Transparency Recording Standard, Central Digital and Data Office (v3.0).",),
    )
