"""The model card (Mitchell et al. 2019), filled from a run's facts (:mod:`scoring.governance`), and
the passages the other documents share with it (the advisory line, the uses out of scope, the
headline figures)."""

from __future__ import annotations

from scoring.reports.formats import AUC, PCT, RATIO, Table, long_name
from scoring.reports.governance_blocks import (
    Bullets,
    Document,
    Facts,
    Fields,
    Para,
    Section,
    Todo,
    backtest_scope,
    cohort_words,
    count,
    data_period,
    equality_scope,
    figure,
    gate_words,
    list_scope,
    model_words,
    month_span,
    outcome_words,
    pct,
    points,
    table,
)
from scoring.reports.governance_tables import (
    backtest_table,
    data_table,
    family_table,
    group_table,
    package_table,
    policy_table,
)

ADVISORY = (
    "The list is advisory only. It prioritises people for a recorded human review; it does not justify any "
    "action about a person by itself."
)


def out_of_scope(f: Facts) -> Bullets:
    """The uses the model card and the ATRS record rule out."""
    victims = (
        "Assessing or ranking victims or witnesses. Records of being a victim do not raise a score in this "
        "run (use_victimisation is off)."
        if not f["policy"].get("use_victimisation")
        else "Assessing or ranking victims or witnesses. NOTE: in this run use_victimisation is ON, so "
        "records of being a victim can raise a score; the force must record why."
    )
    return Bullets(
        (
            "Any automated decision: no arrest, charge, bail, custody, sentencing, disclosure, "
            "safeguarding or deployment decision may be taken on the score or the list alone.",
            "Any use without the recorded human review of every listed person (reviewer, decision and "
            "reason in the review log).",
            victims,
            "Scoring people outside the cohort (people not recently named as suspect), places or "
            "neighbourhoods, or predicting where crime will happen.",
            "Use as evidence of guilt, or of a person's character, in any proceedings.",
            "Use in another force, or on another population, before it has been backtested there on that "
            "force's own records.",
        )
    )


def _calibration(f: Facts) -> list[Para | Fields]:
    b = f["backtest"]
    c = b["calibration"] if b else None
    if not c:
        return [Para("No calibration figures: the run had no backtest.")]
    chosen = next(m for m in b["models"] if m["key"] == b["chosen"])["figures"]
    how = (
        "chosen by the backtest's rule"
        if c.get("setting") == "auto"
        else "as configured (backtest.calibration)"
    )
    slope = c.get("slope")
    return [
        Fields(
            (
                ("Method", f"{c['method']} calibration, {how}"),
                ("Expected calibration error, all", figure(PCT, chosen.get("ece"))),
                ("Brier score, all", figure(AUC, chosen.get("brier"))),
                ("Expected calibration error, each month's top 1%", pct(c.get("ece_top"))),
                (
                    "Mean predicted / observed, each month's top 1%",
                    f"{pct(c.get('mean_predicted_top'))} / {pct(c.get('observed_rate_top'))}",
                ),
                ("Calibration slope (1 is ideal)", "–" if slope is None else f"{slope:.2f}"),
            )
        ),
        Para(
            f"Scope: {backtest_scope(f)}, the chosen model's calibrated probability for every cohort member "
            "(the top 1% by score in each month where stated; the figures without an interval have none)."
        ),
    ]


def headline(f: Facts) -> list[Para]:
    """The chosen model against the V100 list, in words."""
    b = f["backtest"]
    if b is None:
        return [Para("No backtest ran, so this run has no evidence of how well the model ranks.")]
    chosen = next(m for m in b["models"] if m["key"] == b["chosen"])
    v100 = next((m for m in b["models"] if m["key"] == "v100"), None)
    k = b["k"]
    text = (
        f"On the {backtest_scope(f)}, {figure(PCT, chosen['figures'].get(f'precision@{k}'))} of the people "
        f"on the model's list of {k} went on to the outcome (precision@{k}); the offences they were named "
        f"in over the next {f['outcome']['horizon_months']} months carried "
        f"{figure(PCT, chosen['figures'].get(f'harm_captured@{k}'))} of the Crime Harm Index days of all "
        f"the offences the cohort was named in (harm captured@{k})."
    )
    out = [Para(text)]
    if v100 is not None:
        versus = b["versus_v100"]
        out.append(
            Para(
                f"The V100 list on the same months: precision@{k} "
                f"{figure(PCT, v100['figures'].get(f'precision@{k}'))}, harm captured@{k} "
                f"{figure(PCT, v100['figures'].get(f'harm_captured@{k}'))}. Model minus V100: precision "
                f"{points(versus.get(f'precision@{k}'))}, harm captured "
                f"{points(versus.get(f'harm_captured@{k}'))} (paired intervals)."
            )
        )
    return out


def _by_group(f: Facts) -> list[Para | Table]:
    e = f["equality"]
    if e is None:
        return [Para(gate_words(f))]
    out: list[Para | Table] = [Para(gate_words(f))]
    for characteristic in e["characteristics"]:
        out.append(group_table(f, characteristic))
    if e["flagged"]:
        rows = [
            [
                f"{d['characteristic']} = {d['group']} (against {d['reference']})",
                long_name(d["metric"]) + (f"@{d['k']}" if d["k"] is not None else ""),
                figure(RATIO, {"value": d["ratio"], "lo": d["lo"], "hi": d["hi"]}),
            ]
            for d in e["flagged"]
        ]
        out.append(
            table(
                ["Group", "Measure", "Ratio to reference"],
                rows,
                caption=f"Every disparity the corrected test flags, intersections included "
                f"({equality_scope(f)})",
            )
        )
    out.append(Para("The full tables, intersections and month-by-month figures are in equality.html."))
    return out


def _audited(f: Facts) -> list[str]:
    """The characteristics the audit compared (age bands from birth dates), else the protected table's."""
    return f["equality"]["characteristics"] if f["equality"] else f["data"]["protected_columns"]


def _choice(f: Facts) -> str:
    """Which candidate the backtest chose, and by what rule."""
    b = f["backtest"]
    if b is None:
        return "no backtest: the configured model, as it is"
    rule = b["selection"]
    measure = rule["metric"] + (f"@{rule['k']}" if rule.get("k") else "")
    return (
        f"{b['chosen']}, of {len(b['candidates'])} candidates, by {measure} month by month (mean minus "
        f"{rule['std_penalty']:g} x its standard deviation across the test months)"
    )


def model_card(f: Facts) -> Document:
    m, b, k = f["model"], f["backtest"], f["list"]["k"]
    trained = m["train_dates"]
    span = month_span(trained[0][:7], trained[-1][:7], len(trained)) if trained else "no months"
    sections = [
        Section(
            "Model details",
            [
                Fields(
                    (
                        (
                            "System",
                            f"harmrank {f['packages'].get('harmrank', '')}, monthly run of {f['as_of']}",
                        ),
                        ("Model", model_words(f)),
                        ("Chosen by the backtest", _choice(f)),
                        (
                            "Training rows",
                            f"{count(m['rows'])} person-months ({count(m['positives'])} with the outcome), "
                            f"as-of dates in {span}",
                        ),
                        ("Calibration months", ", ".join(d[:7] for d in m["calibration_dates"]) or "none"),
                        ("Seed", str(f["seed"])),
                        ("Organisation deploying it", Todo("the force's name")),
                        (
                            "Senior responsible owner",
                            Todo("name and role of the SRO accountable for the list"),
                        ),
                        ("Changes since the last approved version", Todo("what changed and who approved it")),
                        ("Contact for questions about the model", Todo("team and address")),
                    )
                )
            ],
        ),
        Section(
            "Intended use",
            [
                Para(
                    f"To rank the {cohort_words(f)} by their calibrated probability of {outcome_words(f)}, "
                    f"and to publish the top {f['list']['k']} with the reasons and records behind each "
                    "score, for "
                    "officers to review. " + ADVISORY
                ),
                Bullets(
                    (
                        "Analysts run the job monthly, check the backtest and the equality report, and "
                        "promote models.",
                        "Officers review every listed person before any action and record a decision and a "
                        "reason.",
                        "Equality reviewers read the equality report (aggregates only) to discharge the "
                        "s149 duty.",
                    )
                ),
                Para("Out of scope:"),
                out_of_scope(f),
                Todo("the force's own statement of permitted uses, and who may see the list"),
            ],
        ),
        Section(
            "Factors",
            [
                Para(
                    "Groups: the audit compares every group of each protected characteristic the force "
                    f"records ({', '.join(_audited(f)) or 'none recorded'}) and their intersections with a "
                    "reference group. No characteristic is a model input; age is one only under the use_age "
                    "switch."
                ),
                Para(
                    "Instrumentation: the inputs and the outcome are police records, not behaviour. A "
                    "group whose behaviour is recorded more often looks riskier at the same behaviour, and "
                    "the backtest, judged by the same records, cannot see this (see Ethical "
                    "considerations)."
                ),
                policy_table(f),
                family_table(f),
            ],
        ),
        Section(
            "Metrics",
            [
                Bullets(
                    (
                        f"Precision@{k}: the share of the listed people who went on to the outcome.",
                        f"Recall@{k}: the share of the people with the outcome who were listed.",
                        f"Harm captured@{k}: the share of the Crime Harm Index days of the offences the "
                        "cohort was named in over the outcome window that the listed people were named in.",
                        "AUC-ROC and average precision: how well the whole cohort is ordered.",
                        "Brier score and expected calibration error: how close the probabilities are to "
                        "observed rates.",
                    )
                ),
                Para(
                    (
                        "Each figure has a percentile interval from resampling people (a person drawn "
                        f"twice brings every month of theirs twice); {b['n_boot']} resamples. "
                        if b
                        else ""
                    )
                    + f"Decision threshold: the list length, {k}; the release gate's tolerances are in "
                    "the equality impact assessment inputs."
                ),
            ],
        ),
        Section(
            "Evaluation data",
            [
                Para(
                    f"A temporal backtest over the test months {', '.join(x[:7] for x in b['months'])}: at "
                    "each, candidates and baselines were trained on earlier months only, and each month's "
                    f"list was judged by the {f['outcome']['horizon_months']} months after it. Population: "
                    "each month's cohort, built from the records known at that date."
                )
                if b
                else Para("No backtest ran in this run: there is no evaluation data."),
                *[Para(n) for n in (b["notes"] if b else [])],
            ],
        ),
        Section(
            "Training data",
            [
                Para(f"The force's records: {data_period(f)}."),
                data_table(f),
                Para(f"Outcome: {outcome_words(f)}; only as-of dates whose whole outcome window had passed."),
            ],
        ),
        Section(
            "Quantitative analyses",
            [
                *headline(f),
                *([backtest_table(f)] if b else []),
                Para("Calibration of the chosen model:"),
                *_calibration(f),
                Para(
                    f"The list itself, {list_scope(f)}: calibrated probabilities from "
                    f"{pct(f['list']['probability_min'])} to {pct(f['list']['probability_max'])}; "
                    f"{f['list']['in_v100_top']} of the {f['list']['k']} are also in the V100 top "
                    f"{f['list']['k']}."
                ),
                Para("By group:"),
                *_by_group(f),
            ],
        ),
        Section(
            "Ethical considerations",
            [
                Bullets(
                    (
                        "Sensitive data: the protected characteristics are read only by the equality audit "
                        "and never become inputs.",
                        "Label bias: the outcome is being recorded as a suspect, not offending. Recording "
                        "that differs between groups passes into the labels and the scores.",
                        "Feedback: a listed person may draw more police attention, and so more records, "
                        "which raise next month's score. Monitor how many people stay on the list.",
                        "Stigma and allocative harm: " + _misses(f),
                        "Explanations are of the model, not of the person: a reason says what raised the "
                        "score, not what caused any behaviour.",
                        *_proxy_words(f),
                    )
                ),
                Todo("the view of the force's ethics committee or panel, with its date"),
            ],
        ),
        Section(
            "Caveats and recommendations",
            [
                Bullets(
                    (
                        "Figures describe the backtest months; a change in recording practice, systems or "
                        "law breaks the comparison. Re-run the backtest after any such change.",
                        "The model ranks people already recorded as suspects; it knows nothing of people "
                        "the records do not hold.",
                        "Retrain and re-audit monthly; promote a model only when the gate allows it.",
                        *[str(n) for n in f["notes"]],
                    )
                ),
                Todo("local caveats the force knows of (recording changes, system migrations, data gaps)"),
            ],
        ),
        Section("Software", [package_table(f)]),
    ]
    return Document(
        "model-card",
        "Model card",
        f"The model behind the list of {f['as_of']}, after Mitchell et al. (2019), 'Model Cards for Model "
        "Reporting'.",
        sections,
        ("Mitchell, M. et al. (2019) Model Cards for Model Reporting. FAT* '19.",),
    )


def _misses(f: Facts) -> str:
    """How many listed people did not go on to the outcome, in the backtest."""
    b = f["backtest"]
    if b is None:
        return "some listed people will not go on to the outcome."
    chosen = next(m for m in b["models"] if m["key"] == b["chosen"])
    precision = chosen["figures"].get(f"precision@{b['k']}") or {}
    if precision.get("value") is None:
        return "some listed people will not go on to the outcome."
    return (
        f"on the {backtest_scope(f)}, {pct(1 - precision['value'])} of the listed people did not go on to "
        "the outcome; being listed must not be treated as a finding about them."
    )


def _proxy_words(f: Facts) -> list[str]:
    e = f["equality"]
    p = e["proxies"] if e else None
    if p is None:
        if e and e.get("analyses_elsewhere"):
            return [f"Proxies: the proxy audit was not made in this run. {e['analyses_elsewhere']}"]
        return ["Proxies: the proxy audit did not run in this run (config proxies.enabled)."]
    flagged = p["flagged_characteristics"]
    features = sorted({x["feature"] for x in p["flagged_features"]})
    if flagged:
        text = (
            f"Proxies: the model's inputs predict {', '.join(flagged)} above the audit's threshold "
            f"(cross-validated AUC of {p['threshold_auc']:.2f} or more)"
        )
    else:
        text = (
            "Proxies: the model's inputs predict no characteristic above the audit's threshold "
            f"(cross-validated AUC {p['threshold_auc']:.2f})"
        )
    if features:
        text += f"; inputs most associated with a group: {', '.join(features[:8])}"
    return [text + "; measured on the learning months' panel."]
