"""Settings of the proxy audit (:mod:`fairness.proxies`) and mitigation analysis (:mod:`fairness.mitigation`).

The thresholds are effect sizes, not significance tests: with thousands of people almost any
association is "significant", so what matters is whether it is large enough to act as a proxy.
An AUC converts to a standardised difference between two normal groups by ``d = sqrt(2) * Phi^-1(AUC)``
(Cohen's d: 0.2 small, 0.5 medium, 0.8 large); the defaults are written in those terms.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LightGBMSmall(BaseModel):
    """A small, deterministic LightGBM classifier used inside the audit (not the production model)."""

    model_config = ConfigDict(extra="forbid")

    n_estimators: int = Field(100, gt=0, description="Boosting rounds.")
    learning_rate: float = Field(0.1, gt=0, le=1, description="Shrinkage per round.")
    num_leaves: int = Field(15, ge=2, description="Leaves per tree.")
    min_child_samples: int = Field(50, ge=1, description="Minimum rows in a leaf.")
    threads: int = Field(2, ge=1, description="LightGBM threads; results do not depend on it.")


class ProxySettings(BaseModel):
    """How well the model's features predict each protected characteristic, and which features do it."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Run the proxy audit in every monthly run.")
    threshold_auc: float = Field(
        0.65,
        ge=0.5,
        le=1,
        description="A characteristic is flagged when the cross-validated AUC of predicting a group from "
        "the features (one-vs-rest, or the macro mean 'all') reaches this. 0.5 is chance; 0.65 means a "
        "random member of the group outscores a random non-member 65% of the time, a standardised "
        "difference of d = 0.55 (medium): the features carry enough of the characteristic for a model to "
        "treat the group differently without being told who is in it.",
    )
    threshold_association: float = Field(
        0.2,
        ge=0,
        le=1,
        description="A feature is flagged when its association |2 AUC - 1| (Somers' D of the single "
        "feature against membership of the group) reaches this: 0.2 is a single-feature AUC of 0.60 "
        "(d = 0.36, between small and medium). Lower than the matrix threshold because one feature "
        "alone rarely carries as much as all of them together.",
    )
    min_group: int = Field(
        50,
        ge=2,
        description="Groups with fewer persons (after deduplication and sampling) are not targets: "
        "an AUC from fewer than 50 people has a standard error of 0.04 or more.",
    )
    intersections: bool = Field(
        False,
        description="Also audit the audit's intersections (such as sex x ethnicity). Each group is "
        "one more cross-validated classifier (ethnicity x age band alone has about 40), which would "
        "triple the proxy audit's time, and what predicts an intersection is mostly what predicts "
        "its parts, which are always audited.",
    )
    n_folds: int = Field(5, ge=2, le=20, description="Stratified cross-validation folds (seeded).")
    max_rows: int = Field(
        50_000,
        ge=100,
        description="Persons used per characteristic (one row each); more are subsampled, seeded and "
        "stratified by group, to bound the run time.",
    )
    n_boot: int = Field(
        200,
        ge=0,
        description="Bootstrap resamples of persons' out-of-fold predictions for the AUC intervals "
        "(0: no intervals).",
    )
    confidence: float = Field(0.95, gt=0, lt=1, description="Coverage of the AUC intervals.")
    classifier: LightGBMSmall = LightGBMSmall()


class MitigationSettings(BaseModel):
    """The mitigation trade-off: analysis only, never the production score."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Run the mitigation analysis in every monthly run.")
    characteristics: list[str] = Field(
        ["ethnicity"], description="Characteristics whose disparity the trade-off is analysed for."
    )
    max_train_rows: int = Field(
        30_000,
        ge=100,
        description="Training rows used (seeded random subsample): every ExponentiatedGradient iteration "
        "fits up to five LightGBM models, so the cost is linear in this.",
    )
    test_months: int = Field(3, ge=1, description="Latest test as-of dates evaluated (top-k per month).")
    k: int = Field(100, gt=0, description="List length per month for precision and harm captured.")
    model: LightGBMSmall = Field(
        LightGBMSmall(n_estimators=60, learning_rate=0.1, min_child_samples=100),
        description="LightGBM settings shared by every approach, so that rows of the table differ only "
        "in the mitigation (the production model's own settings give slightly different figures).",
    )
    eg_max_iter: int = Field(
        8,
        ge=1,
        description="Most ExponentiatedGradient iterations; each fits one LightGBM for its step and up to "
        "four more to check the duality gap (it stops early, after at least five, once the gap is small).",
    )
    eg_linprog: bool = Field(
        False,
        description="Also solve the linear programme over the classifiers found at each iteration "
        "(Fairlearn's run_linprog_step): up to four more fits per iteration.",
    )
    eg_eps: float = Field(
        0.01, gt=0, le=1, description="ExponentiatedGradient: allowed violation of the parity constraint."
    )
    balance_classes: bool = Field(
        True,
        description="ExponentiatedGradient minimises a cost-weighted error in which a missed outcome "
        "costs (1 - p)/p times a false alarm (p = the outcome rate): with a rare outcome the plain error "
        "rate is minimised by predicting nobody, which ranks nobody.",
    )
    disparity_metric: Literal["selection_rate", "fpr", "tpr", "precision"] = Field(
        "selection_rate",
        description="Group metric at k whose ratio to the largest group gives largest_disparity: "
        "'selection_rate' (share of the group listed), 'fpr' (listed without the outcome, as a share of "
        "those without it: what the gate checks), 'tpr' (recall) or 'precision'. The selection rate is "
        "the default because at k = 100 of ~8,000 a month only a handful of a small group's listed "
        "people lack the outcome, so an FPR ratio over a few test months is mostly noise.",
    )
    min_group: int = Field(
        1000,
        ge=1,
        description="Groups with fewer test rows (person-months) are left out of largest_disparity: at "
        "k = 100 of ~8,000 a month, 1,000 rows list about 12 people; fewer would make the ratio noise.",
    )
