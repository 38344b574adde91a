"""Inputs to the force's data protection impact assessment (DPA 2018 s64(3)), filled from a run's
facts (:mod:`scoring.governance`): the processing, its necessity and proportionality, the risks to
data subjects and the measures. The assessment is the force's: every judgement only a person can
make is marked for the force to complete."""

from __future__ import annotations

from scoring.reports.governance_blocks import (
    POLICY_WORDS,
    Bullets,
    Document,
    Facts,
    Fields,
    Para,
    Section,
    Todo,
    backtest_scope,
    cohort_words,
    data_period,
    figure,
    gate_words,
    model_words,
    outcome_words,
    quarantined,
    review_words,
    table,
)
from scoring.reports.governance_card import ADVISORY
from scoring.reports.governance_tables import (
    data_table,
    family_table,
    policy_table,
)


def _precision(f: Facts) -> str:
    b = f["backtest"]
    if b is None:
        return "not measured: the run had no backtest"
    chosen = next(m for m in b["models"] if m["key"] == b["chosen"])
    k = b["k"]
    return (
        f"precision@{k} {figure('pct', chosen['figures'].get(f'precision@{k}'))}, recall@{k} "
        f"{figure('pct', chosen['figures'].get(f'recall@{k}'))} ({backtest_scope(f)})"
    )


def dpia_inputs(f: Facts) -> Document:
    """DPIA inputs under DPA 2018 s64(3): the processing, necessity and proportionality, risks, measures."""
    policy = f["policy"]
    description = Section(
        "Description of the processing",
        [
            Para(
                "Nature: each month the force's records (people, events, offences and, for the audit only, "
                "protected characteristics) are validated; a point-in-time history is built for every "
                f"person in the cohort; {model_words(f)} scores them; the top {f['list']['k']} are "
                "published to officers with the reasons and records behind each score; officers review "
                "each listed person and record "
                "a decision. " + ADVISORY
            ),
            Fields(
                (
                    ("Data period", data_period(f)),
                    ("People scored", cohort_words(f)),
                    ("People listed", f"{f['list']['k']} each month"),
                    ("Outcome predicted", outcome_words(f)),
                    (
                        "Categories of data subject (s38(3))",
                        "Suspects (the cohort: people named as suspect); people charged or convicted "
                        "(counts of their charges and convictions are inputs); victims (a victim's "
                        "identifier on a suspect's record is used only to count how many different people "
                        "the alleged offences were against; "
                        + (
                            "records of being a victim ARE inputs: use_victimisation is on)"
                            if policy.get("use_victimisation")
                            else "records of being a victim are validated but never raise a score)"
                        )
                        + "; witnesses (witness, incident and order records never enter the features).",
                    ),
                    ("Purpose", Todo("the law enforcement purpose (s31) the force relies on")),
                    (
                        "Lawful basis and sensitive processing condition",
                        Todo("s35 basis and Schedule 8 condition, if any"),
                    ),
                )
            ),
            data_table(f),
        ],
    )
    necessity = Section(
        "Necessity and proportionality",
        [
            Bullets(
                (
                    "Minimisation: from the persons table only an identifier and a birth date are read; "
                    f"{f['features']['count']} inputs, all counts and harm totals of recorded events "
                    "(listed below). No name, address, postcode or area classification is read.",
                    "Protected characteristics are read only by the equality audit; they are never inputs.",
                    "Accuracy of the inputs: they are facts of recording (a person was named as suspect, "
                    "arrested, charged or convicted on a date), not findings of guilt. "
                    + quarantined(f)
                    + ".",
                    "Statistical accuracy: " + _precision(f) + ".",
                    "Less intrusive alternative: the V100 list ranks the same cohort from one input; its "
                    "figures on the same months are in the model card.",
                )
            ),
            policy_table(f),
            family_table(f),
            Todo(
                "why this processing is necessary for the purpose, and why a less intrusive means would "
                "not do"
            ),
        ],
    )
    risk_rows = [
        [
            "Decisions about a person taken on the score alone (s49, s50)",
            "Advisory list; recorded review of every listed person",
            review_words(f)[0],
        ],
        [
            "Listed people who would not have gone on to the outcome (allocative harm, stigma)",
            "Advisory use; reasons and records shown for checking",
            "Backtest: " + _precision(f),
        ],
        [
            "Discrimination against a protected group",
            "Equality audit and release gate every run",
            gate_words(f),
        ],
        [
            "Victims deterred from reporting",
            "use_victimisation off by default",
            "use_victimisation is " + ("ON" if policy.get("use_victimisation") else "off"),
        ],
        [
            "Scores driven by where the police look",
            "use_police_activity off by default",
            "use_police_activity is " + ("ON" if policy.get("use_police_activity") else "off"),
        ],
        [
            "Feedback: listing brings attention, attention brings records",
            "Monthly monitoring of who stays on the list",
            "List churn in the model report",
        ],
        ["Inaccurate or late records", "Validation and quarantine; point-in-time features", quarantined(f)],
        [
            "Disclosure of the list",
            "Owner-only files; protective marking " + f["marking"],
            "Run directory written owner-only",
        ],
    ]
    risks = Section(
        "Risks to data subjects' rights and freedoms",
        [
            table(
                ["Risk", "Mitigation in the tool", "Evidence from this run"],
                risk_rows,
                caption="Risks the run can speak to",
            ),
            Todo(
                "likelihood and severity of each risk, further risks, and the residual risk after the "
                "measures"
            ),
        ],
    )
    measures = Section(
        "Measures, safeguards and security",
        [
            Fields(
                (
                    (
                        "Human review",
                        Todo("the force's review procedure and who reviews", known=" ".join(review_words(f))),
                    ),
                    (
                        "Policy switches",
                        "; ".join(
                            f"{POLICY_WORDS.get(k, k)}: {'on' if v else 'off'}" for k, v in policy.items()
                        ),
                    ),
                    (
                        "Retention",
                        Todo(
                            "retention periods for run directories and the review log, and who deletes them",
                            known="Each run is written owner-only to its own folder of the runs "
                            "directory (config runs_dir); the review log (config scoring.review_log) is "
                            "append-only and harmrank never deletes from it.",
                        ),
                    ),
                    (
                        "Logging",
                        "Every review decision is appended, with the reviewer, the decision and the "
                        "reason, to a hash-chained log that refuses changes; each run's manifest records "
                        "the log's head, so a rewrite shows (harmrank verify-log).",
                    ),
                    (
                        "Access control",
                        Todo(
                            "who may run the job, read the list and record reviews, and how that is enforced",
                            known="Run directories and the review log are readable by their owner only.",
                        ),
                    ),
                    ("Data protection officer's advice", Todo("the DPO's advice and the force's response")),
                    (
                        "Sign-off and review date",
                        Todo("who signed off, when, and when the DPIA will be reviewed"),
                    ),
                )
            )
        ],
    )
    return Document(
        "dpia-inputs",
        "Data protection impact assessment: inputs",
        f"Facts from the run of {f['as_of']} for the force's DPIA under the Data Protection Act 2018 s64.",
        [description, necessity, risks, measures],
        ("Data Protection Act 2018, Part 3, s64 (data protection impact assessment).",),
    )
