"""Settings of the equality audit and its release gate.

Every tolerance carries its rationale in its description, so the config file, the docs and the
equality report can repeat it. Settings are validated once at the entry point.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator, model_validator

NOT_RECORDED = "not recorded"
AGE_BAND = "age_band"
INTERSECTION_SEP = " x "  # "sex x ethnicity"
GROUP_SEP = " | "  # "Male | Black"

TOP_K_METRICS = ("list_share", "selection_rate", "precision", "recall", "fpr", "fnr", "harm_captured")
WHOLE_SCORE_METRICS = (
    "size",
    "cohort_share",
    "base_rate",
    "mean_predicted",
    "observed_rate",
    "calibration_in_large",
    "auc",
)
COMPOSITION = ("size", "cohort_share", "list_share")  # describe group sizes: never compared as disparities
METRIC_NAMES = (*WHOLE_SCORE_METRICS[:3], *TOP_K_METRICS, *WHOLE_SCORE_METRICS[3:])


class AcceptedBreach(BaseModel):
    """A breach of the gate that an equality reviewer has examined and accepted, and why.

    The gate stops blocking on it until ``review_by``; the report shows the decision beside the
    breach, and the acceptance lapses (the breach blocks again) after that date.
    """

    model_config = ConfigDict(extra="forbid")

    characteristic: str = Field(min_length=1, description="Characteristic of the breach, e.g. age_band.")
    group: str = Field(min_length=1, description="Group of the breach, as the report names it, e.g. 35-49.")
    metric: str = Field(
        min_length=1, description="Gate metric of the breach: precision, fpr, recall or selection_rate."
    )
    k: PositiveInt | None = Field(
        None,
        description="List length the acceptance covers; null: the gate's k. A breach found at a "
        "longer list (the comparison could not be checked at the gate's k) needs an acceptance "
        "naming that k: a decision about the top 1,000 is not a decision about the top 100.",
    )
    reason: str = Field(
        min_length=20,
        description="Why the difference is accepted: the legitimate aim and why the list is a "
        "proportionate means of achieving it (Equality Act 2010 s19), or the mitigation in place.",
    )
    decided_by: str = Field(min_length=1, description="Who accepted it (name and role).")
    decided_on: date = Field(description="When it was accepted.")
    review_by: date = Field(
        description="Last as-of date the acceptance covers: after it the breach blocks release again "
        "until it is re-examined (the s149 duty is continuing)."
    )

    @model_validator(mode="after")
    def _review_after_decision(self) -> AcceptedBreach:
        if self.review_by <= self.decided_on:
            raise ValueError(f"review_by ({self.review_by}) must be after decided_on ({self.decided_on})")
        return self


class GateSettings(BaseModel):
    """Release gate: tolerances on the pooled disparities at one list size.

    A run that breaks a tolerance is marked "not for release" and cannot be promoted.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        True, description="Check the tolerances; false records the audit without gating the release."
    )
    k: PositiveInt = Field(
        100,
        description="List size the gate checks: the published list, which is what officers act on. "
        "Must be one of the audit's ks.",
    )
    ratio_bounds: tuple[float, float] = Field(
        (0.8, 1.25),
        description="A group's ratio to the reference group on each of `metrics` must lie in "
        "[lower, upper]. 0.8 is the four-fifths rule of thumb used in adverse-impact analysis; "
        "1.25 = 1/0.8 makes the band symmetric on the log scale, so that over- and under-selection "
        "are treated alike. A ratio outside the band breaches only when the corrected test rejects "
        "parity (its interval excludes 1.0): with 100 people a month, chance alone moves small "
        "groups' ratios outside the band.",
    )
    metrics: list[str] = Field(
        ["precision", "fpr"],
        description="Metrics held within `ratio_bounds`: precision@k (a listed person of each group "
        "is as likely to go on to the outcome: the list is equally reliable for everyone) and the "
        "false positive rate at k (people of each group who do not go on to the outcome are equally "
        "likely to be listed: the burden of a wrong listing falls equally).",
    )
    min_recall_ratio: float | None = Field(
        0.8,
        gt=0,
        le=1,
        description="Lowest allowed ratio of a group's recall@k to the reference group's (equal "
        "opportunity: people of each group who go on to the outcome are equally likely to be "
        "listed, so that protection from them does not depend on the group). A ratio below it "
        "breaches (when `recall_needs_significance`, only if the corrected test rejects parity). "
        "null: no recall rule.",
    )
    recall_needs_significance: bool = Field(
        True,
        description="Breach the recall rule only when the corrected test also rejects parity, as for "
        "`metrics`. Recall@100 rests on few people per group: on a score with no disparity at all, "
        "point ratios of several groups fall below 0.8 by chance, so without this a gate fails "
        "most runs. false: any point ratio below the minimum breaches.",
    )

    selection_rate_bounds: tuple[float, float] | None = Field(
        (0.8, 1.25),
        description="A group's selection rate at k (the share of the group that is listed) divided by "
        "the reference group's must lie in [lower, upper], unless the corrected test finds parity "
        "plausible. The error-rate rules above are measured against recorded outcomes: where one "
        "group's behaviour is recorded more often than another's (recording bias), a list can look "
        "equally accurate for every group while listing one group far more often, which is what "
        "label bias looks like. A selection-rate breach therefore blocks release until an equality "
        "reviewer records why it is justified (`accepted`): for example that the difference follows "
        "differences in recorded serious offending that the force has examined and believes reflect "
        "behaviour rather than recording. null: selection rates are reported but not gated.",
    )
    fallback_to_larger_k: bool = Field(
        True,
        description="When a comparison cannot be checked at k (too few people behind a figure, or a "
        "figure not defined), check it at the next larger audited list length, and say so. A group "
        "too small for the published list can often be checked on a longer list; the check is then "
        "about how the score orders that group, not about the published list itself.",
    )

    accepted: list[AcceptedBreach] = Field(
        [],
        description="Breaches an equality reviewer has examined and accepted, each with the reason, "
        "who decided, when, and the date it must be reviewed by. An accepted breach does not block "
        "release; the report lists it with the decision. Default none.",
    )

    @field_validator("ratio_bounds")
    @classmethod
    def _bounds_around_parity(cls, bounds: tuple[float, float]) -> tuple[float, float]:
        lower, upper = bounds
        if not 0 < lower < 1 < upper:
            raise ValueError(f"ratio_bounds must satisfy 0 < lower < 1 < upper, got [{lower}, {upper}]")
        return bounds

    @field_validator("metrics")
    @classmethod
    def _gate_metrics(cls, names: list[str]) -> list[str]:
        unknown = sorted(set(names) - set(METRIC_NAMES))
        if unknown:
            raise ValueError(f"unknown gate metrics {unknown}; valid: {list(METRIC_NAMES)}")
        return names

    def checked_metrics(self) -> list[str]:
        """The metrics the gate compares: the ratio rules, then selection rate and recall when set."""
        out = list(self.metrics)
        if self.selection_rate_bounds is not None and "selection_rate" not in out:
            out.append("selection_rate")
        if self.min_recall_ratio is not None and "recall" not in out:
            out.append("recall")
        return out

    @field_validator("selection_rate_bounds")
    @classmethod
    def _selection_around_parity(cls, bounds: tuple[float, float] | None) -> tuple[float, float] | None:
        if bounds is not None and not 0 < bounds[0] < 1 < bounds[1]:
            raise ValueError(f"selection_rate_bounds must satisfy 0 < lower < 1 < upper, got {list(bounds)}")
        return bounds

    @model_validator(mode="after")
    def _accepted_are_gate_checks(self) -> GateSettings:
        checked = self.checked_metrics()
        seen = set()
        for a in self.accepted:
            if a.metric not in checked:
                raise ValueError(
                    f"accepted breach of {a.characteristic}={a.group}: metric {a.metric!r} is not "
                    f"checked by the gate; checked: {checked}"
                )
            key = (a.characteristic, a.group, a.metric)
            if key in seen:
                raise ValueError(f"accepted breach {key} is listed twice")
            seen.add(key)
        return self


class FairnessSettings(BaseModel):
    """What the equality audit measures, how it estimates intervals and when it flags a disparity."""

    model_config = ConfigDict(extra="forbid")

    characteristics: list[str] | None = Field(
        None,
        description="Protected characteristics audited, as columns of the protected table (plus "
        "'age_band', derived from persons.birth_date at each as-of date). null: every column of "
        "the protected table except person_id, plus age_band when birth dates are given.",
    )
    intersections: list[list[str]] = Field(
        [["sex", "ethnicity"], ["ethnicity", AGE_BAND]],
        description="Combinations audited as groups of their own (named 'sex x ethnicity', groups "
        "like 'Male | Black'): disparities can hide in a combination while each part looks even. "
        "An intersection naming a characteristic that is not available is skipped with a warning.",
    )
    age_bands: list[PositiveInt] = Field(
        [18, 25, 35, 50, 65],
        min_length=1,
        description="Edges of the age bands in whole years at the as-of date: [18, 25] gives "
        "'under 18', '18-24', '25 and over'.",
    )
    reference: Literal["largest"] | dict[str, str] = Field(
        "largest",
        description="Reference group of each characteristic that disparities compare against: "
        "'largest' (the group with most people, 'not recorded' excepted), or a mapping "
        "characteristic -> group; characteristics not in the mapping use the largest.",
    )
    ks: list[PositiveInt] = Field(
        [100, 500, 1000], min_length=1, description="List sizes (people per month) audited."
    )
    n_boot: int = Field(
        200,
        ge=0,
        description="Bootstrap resamples of persons for the intervals and p-values; 0 for none "
        "(then nothing can be flagged).",
    )
    confidence: float = Field(0.95, gt=0, lt=1, description="Coverage of the percentile intervals.")
    min_cell: PositiveInt = Field(
        10,
        description="Small-number suppression for disclosure control: a figure computed from 1 to "
        "min_cell - 1 people is withheld (and one more group with it, so that it cannot be "
        "recovered from the total).",
    )
    correction: Literal["holm", "bh"] = Field(
        "holm",
        description="Multiple-comparison correction over each family of disparities: 'holm' "
        "(controls the chance of any false flag) or 'bh' (Benjamini-Hochberg: controls the "
        "expected share of false flags; flags more).",
    )
    family: Literal["characteristic", "scope"] = Field(
        "characteristic",
        description="The family a correction runs over: 'characteristic' (every group, metric and k "
        "of one characteristic in one scope) or 'scope' (everything in one scope).",
    )
    alpha: float = Field(
        0.05, gt=0, lt=1, description="A disparity is flagged when its corrected p-value is below alpha."
    )
    disparity_metrics: list[str] = Field(
        ["selection_rate", "precision", "recall", "fpr", "calibration_in_large", "auc"],
        min_length=1,
        description="Metrics compared with the reference group (ratio and difference); any group "
        "metric except size, cohort_share and list_share, which describe how big a group is.",
    )
    gate: GateSettings = Field(GateSettings(), description="The release gate.")

    @field_validator("age_bands")
    @classmethod
    def _increasing(cls, edges: list[int]) -> list[int]:
        if any(b <= a for a, b in itertools.pairwise(edges)):
            raise ValueError(f"age_bands must be strictly increasing, got {edges}")
        return edges

    @field_validator("ks")
    @classmethod
    def _distinct_ks(cls, ks: list[int]) -> list[int]:
        if len(set(ks)) != len(ks):
            raise ValueError(f"ks must be distinct, got {ks}")
        return ks

    @field_validator("intersections")
    @classmethod
    def _pairs(cls, combos: list[list[str]]) -> list[list[str]]:
        for combo in combos:
            if len(combo) < 2 or len(set(combo)) != len(combo):
                raise ValueError(f"each intersection needs two or more distinct characteristics, got {combo}")
        return combos

    @field_validator("disparity_metrics")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        valid = [m for m in METRIC_NAMES if m not in COMPOSITION]
        unknown = sorted(set(names) - set(valid))
        if unknown:
            raise ValueError(f"unknown or unsupported disparity metrics {unknown}; valid: {valid}")
        return names

    @model_validator(mode="after")
    def _gate_in_audit(self) -> FairnessSettings:
        g = self.gate
        if g.k not in self.ks:
            raise ValueError(f"gate.k = {g.k} must be one of ks {self.ks}")
        needed = g.checked_metrics()
        missing = [m for m in needed if m not in self.disparity_metrics]
        if missing:
            raise ValueError(f"gate metrics {missing} must be in disparity_metrics {self.disparity_metrics}")
        return self

    def band_labels(self) -> list[str]:
        """Labels of the age bands, youngest first: 'under 18', '18-24', ..., '65 and over'."""
        e = self.age_bands
        middle = [f"{a}-{b - 1}" for a, b in itertools.pairwise(e)]
        return [f"under {e[0]}", *middle, f"{e[-1]} and over"]
