"""Settings of the death investigations job (the ``deaths`` section of the run configuration).

The linkage priors are declared here, as data, with the reasons in docs/deaths.md: each is the
share of truly linked pairs expected in a distance, days-apart or age-difference band, or the
chance that a linked pair agrees on a attribute. Labelled links (the ``death_links`` table)
update them; without labels they are used as declared.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from features.records.death_tables import CATEGORIES


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bands(_Frozen):
    """Edges of bands and the share of linked pairs expected in each (one more share than edges)."""

    edges: tuple[float, ...]
    linked: tuple[float, ...]

    @model_validator(mode="after")
    def _shape(self) -> Bands:
        if len(self.linked) != len(self.edges) + 1:
            raise ValueError(f"linked needs {len(self.edges) + 1} shares for {len(self.edges)} edges")
        if list(self.edges) != sorted(set(self.edges)) or min(self.edges, default=1) <= 0:
            raise ValueError("edges must be positive and increasing")
        if min(self.linked) <= 0 or abs(sum(self.linked) - 1) > 1e-6:
            raise ValueError("linked shares must be positive and sum to 1")
        return self


class Priors(_Frozen):
    """Declared priors of the pair scores (docs/deaths.md gives the reason for each)."""

    distance_m: Bands = Bands(
        edges=(100, 250, 500, 1_000, 2_000, 5_000, 10_000),
        linked=(0.20, 0.12, 0.12, 0.12, 0.12, 0.14, 0.10, 0.08),
    )
    days_apart: Bands = Bands(edges=(7, 30, 90, 180), linked=(0.12, 0.25, 0.30, 0.18, 0.15))
    age_difference: Bands = Bands(edges=(3, 7, 15), linked=(0.45, 0.30, 0.17, 0.08))
    same_place_type: float = Field(0.5, gt=0, lt=1)
    same_substance: float = Field(0.7, gt=0, lt=1)
    same_sex: float = Field(0.8, gt=0, lt=1)
    same_flag: float = Field(0.3, gt=0, lt=1)
    same_address: float = Field(0.2, gt=0, lt=1)


class LinkageSettings(_Frozen):
    """How pairs of death reports are scored and how many alerts a month are raised."""

    window_days: int = Field(
        365, ge=7, le=3_650, description="Pairs are scored when found this close in time."
    )
    budget: int = Field(
        20, ge=0, le=1_000, description="Most scored alerts a month (shared-person alerts come on top)."
    )
    min_log10_lr: float = Field(3.0, ge=0, description="No alert below this log10 likelihood ratio.")
    series_months: int = Field(12, ge=1, le=60, description="Months of alerts that form this month's series.")
    max_named: int = Field(
        10,
        ge=2,
        description="A person id in more reports than this (a professional, a placeholder) raises no alert.",
    )
    labelled_weight: float = Field(
        20.0, ge=0, description="Weight of the declared priors, in labelled pairs, when links are given."
    )
    min_labelled: int = Field(
        10, ge=1, description="Linked pairs needed before the labels update the priors."
    )
    priors: Priors = Priors()


class KnoxSettings(_Frozen):
    """The Knox test: are reports close in space also close in time, more than chance allows?"""

    distance_m: float = Field(1_000.0, gt=0, description="Close in space: at most this far apart.")
    days: int = Field(30, ge=1, description="Close in time: at most this many days apart.")
    period_days: int = Field(365, ge=30, description="Reports found in this many days before the as-of date.")
    permutations: int = Field(999, ge=99, le=99_999)


class ScanSettings(_Frozen):
    """The prospective space-time permutation scan (Kulldorff 2005) of this month's reports."""

    period_days: int = Field(365, ge=56, description="Study period before the as-of date.")
    max_weeks: int = Field(8, ge=1, le=52, description="Longest cluster, in weeks ending at the as-of date.")
    max_radius_m: float = Field(2_000.0, gt=0, description="Widest cylinder.")
    max_areas: int = Field(20, ge=1, description="Most areas in a cylinder.")
    replications: int = Field(999, ge=99, le=9_999)
    shown: int = Field(5, ge=1, description="Clusters listed.")


class PatternSettings(_Frozen):
    """Control charts of death reports against what the force's history and context expect."""

    alpha: float = Field(
        0.01, gt=0, lt=0.5, description="Chance a chart is over its limit by chance in a month."
    )
    reference_years: int = Field(5, ge=1, le=10, description="Years of the same season the expectation uses.")
    months_shown: int = Field(24, ge=6, le=120)
    min_expected: float = Field(
        0.1, ge=0, description="Groups expecting fewer reports a month are not checked."
    )


class EqualitySettings(_Frozen):
    """How category decisions and their speed are compared across victim groups."""

    period_days: int = Field(
        1_095, ge=90, description="Reports found in this many days before the as-of date."
    )
    min_group: int = Field(10, ge=1, description="Groups with fewer reports are suppressed.")
    n_boot: int = Field(300, ge=0, le=5_000)
    confidence: float = Field(0.95, gt=0.5, lt=1)


class DeathSettings(_Frozen):
    """The ``deaths`` section: which reports are studied, and each part of the report."""

    categories: tuple[str, ...] = Field(
        ("unexpected_not_suspicious", "unexpected_under_investigation", "homicide", "not_yet_classified"),
        description="Categories the clustering and linkage study (expected deaths are left out).",
    )
    linkage: LinkageSettings = LinkageSettings()
    knox: KnoxSettings = KnoxSettings()
    scan: ScanSettings = ScanSettings()
    pattern: PatternSettings = PatternSettings()
    equality: EqualitySettings = EqualitySettings()

    @model_validator(mode="after")
    def _known_categories(self) -> DeathSettings:
        unknown = sorted(set(self.categories) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; valid: {', '.join(CATEGORIES)}")
        return self
