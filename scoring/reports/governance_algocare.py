"""The ALGO-CARE checklist (Oswald, Grace, Urwin and Barnes 2018): each item answered from the
run's facts (:mod:`scoring.governance`) where the run can answer it, and marked for the force where
only a person can."""

from __future__ import annotations

from scoring.reports.governance_blocks import (
    Document,
    Facts,
    Fields,
    Para,
    Section,
    Todo,
    backtest_scope,
    cohort_words,
    count,
    figure,
    gate_words,
    model_words,
    recorded_characteristics,
    review_words,
)
from scoring.reports.governance_card import ADVISORY


def _item(title: str, question: str, answers: list[tuple[str, str | Todo]]) -> Section:
    return Section(title, [Para(question), Fields(tuple(answers))])


def _accuracy(f: Facts) -> str:
    b = f["backtest"]
    if b is None:
        return "Not measured: the run had no backtest."
    chosen = next(m for m in b["models"] if m["key"] == b["chosen"])
    v100 = next((m for m in b["models"] if m["key"] == "v100"), None)
    k = b["k"]

    def fig(model: dict, name: str) -> str:
        return figure("pct", model["figures"].get(f"{name}@{k}"))

    text = (
        f"On the {backtest_scope(f)}: precision@{k} {fig(chosen, 'precision')} (so the rest of the listed "
        f"people did not go on to the outcome), recall@{k} {fig(chosen, 'recall')}."
    )
    if v100 is not None:
        text += f" The V100 list on the same months: precision@{k} {fig(v100, 'precision')}."
    return text


def algo_care(f: Facts) -> Document:
    policy = f["policy"]
    found, missing = recorded_characteristics(f)
    items = [
        _item(
            "A: Advisory",
            "Is the algorithm's output used in an advisory capacity? Does an officer keep the discretion "
            "to decide?",
            [
                ("From the run", ADVISORY + " " + " ".join(review_words(f))),
                (
                    "For the force",
                    Todo("the decisions the list informs, and how officers are told they may disagree"),
                ),
            ],
        ),
        _item(
            "L: Lawful",
            "Are the tool's function, its effect on people and its use of data lawful, necessary and "
            "proportionate?",
            [
                (
                    "From the run",
                    f"It processes {cohort_words(f)}; protected characteristics are read only by the "
                    "equality audit. The DPIA inputs and the equality impact assessment inputs of this "
                    "pack hold the facts.",
                ),
                ("For the force", Todo("the legal basis, the DPIA conclusion and the legal advice taken")),
            ],
        ),
        _item(
            "G: Granularity",
            "Does the tool work at a level of detail suited to its purpose and its data? Does it avoid "
            "broad-brush grouping? Are there gaps in the data?",
            [
                (
                    "From the run",
                    f"One score per person, from {f['features']['count']} inputs about their own recorded "
                    "events (no area or demographic input). Characteristics recorded for the audit: "
                    f"{', '.join(found) or 'none'}; not recorded: {', '.join(missing) or 'none'}.",
                ),
                (
                    "For the force",
                    Todo("known gaps or errors in the force's records and how they affect the list"),
                ),
            ],
        ),
        _item(
            "O: Ownership",
            "Who owns the algorithm and the data? Can the force access, amend and evaluate the code and "
            "the data? How is it kept secure?",
            [
                (
                    "From the run",
                    "The code runs on the force's own machines; each run records its inputs' hashes, "
                    "config and package versions (manifest.json); software: harmrank "
                    f"{f['packages'].get('harmrank', '')}.",
                ),
                (
                    "For the force",
                    Todo(
                        "who owns the deployment and the data, any contract terms, and the security "
                        "arrangements"
                    ),
                ),
            ],
        ),
        _item(
            "C: Challengeable",
            "What oversight and audit follow deployment, to find bias for example? How are people told of "
            "its use?",
            [
                (
                    "From the run",
                    gate_words(f) + " The equality report and this pack are written by every run.",
                ),
                (
                    "For the force",
                    Todo(
                        "who reviews the audit, how the public is told (the ATRS record), and how a person "
                        "can challenge a listing"
                    ),
                ),
            ],
        ),
        _item(
            "A: Accuracy",
            "Does the model match the policing aim? Is its accuracy validated regularly? Can its false "
            "positives and negatives be justified? What do inaccurate forecasts cost?",
            [
                (
                    "From the run",
                    f"The model is {model_words(f)}. {_accuracy(f)} The backtest runs every month.",
                ),
                (
                    "For the force",
                    Todo(
                        "whether these error rates are acceptable for the decisions the list informs, and why"
                    ),
                ),
            ],
        ),
        _item(
            "R: Responsible",
            "Would the tool's operation be considered fair? Is its use transparent, accountable and under "
            "review? Is it in the public interest and ethically justified?",
            [
                (
                    "From the run",
                    "Victim records "
                    + (
                        "CAN raise a score (use_victimisation on)"
                        if policy.get("use_victimisation")
                        else "do not raise a score"
                    )
                    + "; stop-and-search and intelligence records "
                    + (
                        "ARE inputs (use_police_activity on)."
                        if policy.get("use_police_activity")
                        else "are not inputs."
                    )
                    + f" The review log holds {count(f['review']['log_entries'])} decisions.",
                ),
                ("For the force", Todo("the ethics panel's view and the public-interest case")),
            ],
        ),
        _item(
            "E: Explainable",
            "Is information available about how the tool decides and what each factor contributes? Are "
            "individual results explainable?",
            [
                (
                    "From the run",
                    "Every listed person's page shows the reasons that raised and lowered their score "
                    "(SHAP contributions summed by family, in plain words) and the records behind them; "
                    "the model report shows which inputs matter overall. Explanations describe the model, "
                    "not the person's behaviour.",
                ),
                (
                    "For the force",
                    Todo("how explanations are given to the people listed, where the law allows"),
                ),
            ],
        ),
    ]
    return Document(
        "algo-care",
        "ALGO-CARE checklist",
        f"Each item of ALGO-CARE answered from the run of {f['as_of']}, or marked for the force to answer.",
        items,
        (
            "Oswald, M., Grace, J., Urwin, S. and Barnes, G. (2018) Algorithmic risk assessment policing "
            "models: lessons from the Durham HART model and 'Experimental' proportionality. Information & "
            "Communications Technology Law 27(2).",
        ),
    )
