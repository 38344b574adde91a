"""Rates and shares of the synthetic death reports (:mod:`features.synthetic.deaths`).

Rough figures for England, rounded: the causes of deaths reported to the police, the victim's age
and sex by cause, the category a force gives, where the death happened, what was found, and the
victim's recorded characteristics.
"""

from __future__ import annotations

import numpy as np

CAUSES = ("natural causes", "suicide", "accident", "unascertained", "homicide", "drug poisoning")
CAUSE_SHARES = np.array([0.66, 0.13, 0.12, 0.07, 0.02])  # of the reports that are not drug poisonings
# per cause: (mean age, sd, lowest, highest, share male)
AGE_SEX = (
    (78, 12, 0, 105, 0.48),
    (45, 15, 12, 95, 0.75),
    (50, 22, 1, 100, 0.65),
    (55, 20, 0, 100, 0.60),
    (35, 14, 0, 90, 0.72),
    (40, 11, 15, 80, 0.72),
)
CATEGORY_BY_CAUSE = {  # category -> share, per cause
    0: {"expected": 0.85, "unexpected_not_suspicious": 0.15},
    1: {"unexpected_not_suspicious": 0.85, "unexpected_under_investigation": 0.15},
    2: {"unexpected_not_suspicious": 0.80, "unexpected_under_investigation": 0.20},
    3: {"unexpected_under_investigation": 0.60, "unexpected_not_suspicious": 0.40},
    4: {"homicide": 1.0},
    5: {"unexpected_not_suspicious": 0.80, "unexpected_under_investigation": 0.20},
}
DAYS_TO_CLASSIFY = {  # mean days from report to category decision
    "expected": 1.0,
    "unexpected_not_suspicious": 25.0,
    "unexpected_under_investigation": 120.0,
    "homicide": 5.0,
}
PLACE_BY_CAUSE = {
    0: {
        "home": 0.62,
        "care_home": 0.18,
        "hospital": 0.12,
        "other_residential": 0.03,
        "public_open_space": 0.02,
        "street": 0.02,
        "other": 0.01,
    },
    1: {
        "home": 0.60,
        "public_open_space": 0.12,
        "water": 0.08,
        "other_residential": 0.08,
        "vehicle": 0.04,
        "workplace": 0.03,
        "street": 0.03,
        "churchyard_cemetery": 0.01,
        "custody": 0.005,
        "other": 0.015,
    },
    2: {
        "home": 0.45,
        "street": 0.25,
        "water": 0.08,
        "workplace": 0.07,
        "public_open_space": 0.06,
        "other_residential": 0.05,
        "vehicle": 0.02,
        "other": 0.02,
    },
    3: {
        "home": 0.55,
        "other_residential": 0.12,
        "public_open_space": 0.12,
        "street": 0.10,
        "water": 0.05,
        "churchyard_cemetery": 0.01,
        "other": 0.05,
    },
    4: {"home": 0.55, "street": 0.25, "public_open_space": 0.10, "other_residential": 0.07, "other": 0.03},
    5: {
        "home": 0.60,
        "other_residential": 0.18,
        "public_open_space": 0.08,
        "street": 0.06,
        "churchyard_cemetery": 0.01,
        "vehicle": 0.02,
        "other": 0.05,
    },
}
SUBSTANCE_BY_CAUSE = {
    0: {"none": 0.70, "unknown": 0.25, "alcohol": 0.05},
    1: {"none": 0.50, "prescription": 0.20, "alcohol": 0.20, "unknown": 0.10},
    2: {"none": 0.55, "alcohol": 0.30, "unknown": 0.15},
    3: {"unknown": 0.50, "none": 0.30, "alcohol": 0.20},
    4: {"none": 0.50, "alcohol": 0.30, "cocaine": 0.10, "unknown": 0.10},
    5: {
        "opioids": 0.45,
        "cocaine": 0.22,
        "prescription": 0.10,
        "benzodiazepines": 0.08,
        "amphetamines": 0.06,
        "other": 0.04,
        "ketamine": 0.03,
        "ghb_gbl": 0.02,
    },
}
PUBLIC = ("public_open_space", "street", "water", "churchyard_cemetery")
INSTITUTIONS = {"care_home": 40, "hospital": 6, "custody": 3}  # addresses shared by many deaths
ETHNICITIES = {"White": 0.54, "Asian": 0.21, "Black": 0.13, "Mixed": 0.06, "Other": 0.06}
ORIENTATIONS = {"heterosexual": 0.60, "gay or lesbian": 0.03, "bisexual": 0.01, "not recorded": 0.36}
SERIES_SPAN_DAYS = {"obvious": 300, "subtle": 330, "person": 240}
