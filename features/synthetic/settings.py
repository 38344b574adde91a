"""Settings of the synthetic world (:class:`SyntheticConfig`, the file configs/synthetic.yaml).

Kept apart from the generator so that every part of the world (population, events, crimes,
frames) can read the settings without importing the generator that calls it.
"""

from __future__ import annotations

import datetime
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Broad ONS ethnic groups of the synthetic population (``bias_group`` is one of them).
ETHNICITIES = ("Asian", "Black", "Mixed", "White", "Other")

#: Default age-crime curve: age in years -> log multiplier of the offending rate (0 at the peak).
DEFAULT_AGE_CURVE: dict[int, float] = {
    10: -3.0,
    12: -2.0,
    14: -1.1,
    16: -0.5,
    18: -0.1,
    19: 0.0,
    24: 0.0,
    27: -0.2,
    30: -0.45,
    35: -0.75,
    40: -1.05,
    50: -1.6,
    60: -2.3,
    70: -3.0,
    90: -4.0,
}


class DeathWorld(BaseModel):
    """Death reports of the synthetic force area, and the linked series planted among them."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Write death reports (deaths, death_protected, expected_deaths).")
    residents: int = Field(
        1_000_000,
        ge=1_000,
        le=20_000_000,
        description="People living in the force area (sets the death rate).",
    )
    report_rate: float = Field(
        0.0012,
        gt=0,
        le=0.05,
        description="Death reports to the police per resident a year (the Met: 10,978 in 2022 for 8.9M).",
    )
    area_grid: int = Field(24, ge=2, le=200, description="Small areas on a side of the square force area.")
    area_metres: float = Field(800.0, gt=0, description="Side of a small area, in metres.")
    drug_share: float = Field(0.10, ge=0, le=1, description="Share of reports that are drug poisonings.")
    drug_hotspots: int = Field(10, ge=0, description="Areas where drug poisonings concentrate.")
    hotspot_ratio: float = Field(6.0, ge=1, description="Drug-poisoning rate of a hotspot area over another.")
    winter_excess: float = Field(0.15, ge=0, le=1, description="Extra reports in January over July.")
    missing_share: float = Field(
        0.03, ge=0, le=1, description="Share of ages, sexes and substances not recorded."
    )
    obvious_series: int = Field(
        2, ge=0, le=50, description="Planted series: one place, one substance, one finder."
    )
    subtle_series: int = Field(
        3,
        ge=0,
        le=50,
        description="Planted series: a year and a few km apart, alike in victim and substance.",
    )
    person_series: int = Field(
        2, ge=0, le=50, description="Planted series: one offender-side person last seen with each victim."
    )
    series_size: int = Field(4, ge=2, le=20, description="Deaths in each planted series.")
    closure_bias: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of the closure-bias group's deaths under investigation closed as not "
        "suspicious instead, and quickly (the equality section should see it); 0 = no bias.",
    )
    closure_bias_group: str = Field(
        "gay or lesbian", description="Recorded sexual orientation whose deaths the closure bias affects."
    )

    @field_validator("closure_bias_group")
    @classmethod
    def _known_orientation(cls, group: str) -> str:
        from features.synthetic.death_rates import ORIENTATIONS

        if group not in ORIENTATIONS:
            raise ValueError(f"closure_bias_group must be one of {', '.join(ORIENTATIONS)}")
        return group


class SyntheticConfig(BaseModel):
    """Settings of the synthetic world; every field has a default (the world of configs/synthetic.yaml).

    Rates are per person and per year unless a name says otherwise; probabilities are in [0, 1].
    """

    model_config = ConfigDict(extra="forbid")

    persons: int = Field(50_000, ge=100, le=9_999_999, description="Number of persons.")
    years: int = Field(6, ge=1, le=30, description="Years of records up to end_date.")
    seed: int = Field(20261101, ge=0, description="Seed of numpy's default_rng.")
    end_date: date = Field(date(2026, 10, 31), description="Last day the extract covers.")
    recording_bias: float = Field(
        1.0,
        ge=0,
        le=3,
        description="Extra relative recording of the bias group's offences (named suspect) and "
        "stops at the same true propensity: 1.0 = twice as often; 0 = no bias.",
    )
    bias_group: str = Field("Black", description="Ethnicity group the recording bias applies to.")
    bad_row_share: float = Field(0.0005, ge=0, le=0.1, description="Share of event rows deliberately broken.")
    offender_share: float = Field(
        0.30, gt=0, le=1, description="Share of persons in the latent offender class."
    )
    female_offender_ratio: float = Field(
        0.45, gt=0, le=2, description="Female offender-class probability relative to male."
    )
    female_log_rate: float = Field(-0.6, le=1, description="Shift of a female offender's log offending rate.")
    offence_rate: float = Field(
        0.5,
        gt=0,
        le=10,
        description="Median true offences per month of an offender at the peak age (base rate).",
    )
    propensity_sd: float = Field(
        0.7, ge=0, le=4, description="SD of the log base offending rate between offenders."
    )
    drift_sd: float = Field(
        0.6, ge=0, le=4, description="Stationary SD of the monthly AR(1) drift of the log rate."
    )
    drift_persistence: float = Field(
        0.88, ge=0, lt=1, description="Monthly AR(1) coefficient of the drifts (rate, seriousness)."
    )
    seriousness_corr: float = Field(
        0.6, ge=-1, le=1, description="Correlation of the seriousness latent with log base rate."
    )
    seriousness_effect: float = Field(
        1.6,
        ge=0,
        le=5,
        description="Log-odds shift of an offence's type per SD of seriousness per SD of log harm.",
    )
    seriousness_drift_sd: float = Field(
        0.6, ge=0, le=4, description="Stationary SD of the monthly AR(1) drift of seriousness."
    )
    age_curve: dict[int, float] = Field(
        default_factory=lambda: dict(DEFAULT_AGE_CURVE),
        description="Age (years) -> log multiplier of the offending rate; no offending before "
        "the first age, linear in between, flat after the last.",
    )
    domestic_abuser_share: float = Field(
        0.15, ge=0, le=1, description="Share of adult offenders who abuse a partner."
    )
    domestic_incident_rate: float = Field(
        1.0, ge=0, description="Domestic incidents (non-crime) per year of an abuser."
    )
    named_cap: float = Field(
        0.98, gt=0, le=1, description="Ceiling of the named-suspect probability of a report."
    )
    victimisation_rate: float = Field(
        0.30, ge=0, description="Reported victimisations per person-year by unknown offenders."
    )
    witness_prob: float = Field(0.25, ge=0, le=1, description="Probability a report has a witness.")
    intelligence_per_offence: float = Field(
        0.8, ge=0, description="Intelligence reports per expected offence of an offender."
    )
    intelligence_rate: float = Field(
        0.05, ge=0, description="Intelligence reports per person-year regardless of offending."
    )
    stop_rate: float = Field(0.15, ge=0, description="Stops per year of a non-offending man at the peak age.")
    stop_per_offence: float = Field(
        0.5, ge=0, description="Relative increase of the stop rate per expected offence a year."
    )
    incident_rate: float = Field(
        0.40, ge=0, description="Non-crime incidents per person-year regardless of offending."
    )
    incident_per_offence: float = Field(
        0.4, ge=0, description="Extra incidents per expected offence of an offender."
    )
    arrest_scale: float = Field(
        1.0, ge=0, le=2, description="Multiplier of the per-offence arrest probabilities."
    )
    conviction_prob: float = Field(0.7, ge=0, le=1, description="Probability a charge convicts.")
    missing_birth_share: float = Field(
        0.01, ge=0, le=1, description="Share of persons with no recorded birth date."
    )
    not_recorded_share: float = Field(
        0.05, ge=0, le=1, description="Mean share of 'not recorded' protected characteristics."
    )
    deaths: DeathWorld = Field(default_factory=DeathWorld, description="Death reports and planted series.")

    @field_validator("age_curve")
    @classmethod
    def _check_age_curve(cls, curve: dict[int, float]) -> dict[int, float]:
        if len(curve) < 2 or min(curve) < 0:
            raise ValueError("age_curve needs at least two ages >= 0, e.g. {10: -3.0, 18: 0.0}")
        return dict(sorted(curve.items()))

    @field_validator("bias_group")
    @classmethod
    def _check_bias_group(cls, group: str) -> str:
        if group not in ETHNICITIES:
            raise ValueError(f"bias_group must be one of {', '.join(ETHNICITIES)}")
        return group

    @property
    def start_date(self) -> date:
        """First day the extract covers: the day after ``end_date`` minus ``years`` years."""
        end = self.end_date
        try:
            back = end.replace(year=end.year - self.years)
        except ValueError:  # 29 February
            back = end.replace(year=end.year - self.years, day=28)
        return back + datetime.timedelta(days=1)
