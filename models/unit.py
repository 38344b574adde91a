"""The scoring unit's parts as text: what the registry stores and what it loads back.

A scoring unit is everything that turns a person's features into the published figures: the
LightGBM booster (its raw score), the calibrator fitted on later months (the probability), the
harm model when the list is ranked by expected harm, and the ordered feature list. Each part is
stored in a stable, readable format, and nothing is unpickled:

``booster.txt``
    LightGBM's own text format, cut at the best iteration (what the ranker scored with).
``calibrator.json``
    The calibrator's method, the kind of score it reads, and its isotonic steps, Platt slope and
    intercept or beta coefficients, written with Python's shortest exact float repr
    (:func:`calibrator_to_dict`); it reloads to a :class:`models.calibrate.Calibrator` whose
    ``transform`` and ``band`` are identical.
``harm_model.json`` (and ``harm_booster.txt``)
    The harm-given-outcome model: its mean harm, Duan's smearing factor and, when it has one, its
    LightGBM regression in text format.
``unit.json``
    The format, the ordered features and the protected characteristics the unit refuses as inputs.

This module only converts between objects and text; :mod:`models.pyfunc` writes the files into
an MLflow model and reads them back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from features.errors import PipelineError
from models.calibrate import Calibrator

if TYPE_CHECKING:
    import lightgbm as lgb

    from models.expected_harm import HarmGivenOutcome

UNIT_FORMAT = "harmrank.unit/1"
HARM_FORMAT = "harmrank.harm_model/1"
CALIBRATOR_FORMATS = ("harmrank.calibrator/2", "harmrank.calibrator/3")
#: artifact name -> file name of every part (the harm model's two only when there is one)
FILES = {
    "unit": "unit.json",
    "booster": "booster.txt",
    "calibrator": "calibrator.json",
    "harm_model": "harm_model.json",
    "harm_booster": "harm_booster.txt",
}


@dataclass
class ScoringUnit:
    """The parts that turn features into the published probability (and expected harm).

    ``features`` is the booster's column order; ``protected`` names the protected characteristics
    the unit refuses when they are passed beside the features.
    """

    booster: lgb.Booster
    calibrator: Calibrator
    features: list[str]
    protected: list[str] = field(default_factory=list)
    harm_model: HarmGivenOutcome | None = None


def calibrator_to_dict(calibrator: Calibrator) -> dict[str, object]:
    """A fitted calibrator as JSON-ready data (exact: floats are written by their repr).

    ``isotonic`` and ``sigmoid`` keep format ``harmrank.calibrator/2``, which older harmrank reads;
    the methods added since (``isotonic_interp``, ``beta``) are ``harmrank.calibrator/3``:
    isotonic_interp adds the steps' mean scores (``centres``) to the isotonic block, beta writes
    its three coefficients (a, b, c) and their covariance.
    """
    new = calibrator.method in ("isotonic_interp", "beta")
    state: dict[str, object] = {
        "format": CALIBRATOR_FORMATS[1] if new else CALIBRATOR_FORMATS[0],
        "method": calibrator.method,
        "scores_are": calibrator.scores_are,
        "n": int(calibrator.n_),
        "base_rate": float(calibrator.base_rate_),
    }
    if calibrator.method in ("isotonic", "isotonic_interp"):
        steps: dict[str, object] = {
            "min_step_rows": int(calibrator.min_step_rows),
            "edges": calibrator.band_edges_.tolist(),
            "n": calibrator.band_n_.tolist(),
            "positives": calibrator.band_positives_.tolist(),
        }
        if calibrator.method == "isotonic_interp":
            steps["centres"] = calibrator.band_centres_.tolist()
        state["isotonic"] = steps
    elif calibrator.method == "sigmoid":
        state["sigmoid"] = {
            "slope": float(calibrator.slope_),
            "intercept": float(calibrator.intercept_),
            "covariance": calibrator.band_cov_.tolist(),
        }
    else:
        state["beta"] = {
            "coefficients": calibrator.coef_.tolist(),
            "covariance": calibrator.band_cov_.tolist(),
        }
    return state


def calibrator_from_dict(state: Mapping[str, Any]) -> Calibrator:
    """The calibrator that :func:`calibrator_to_dict` wrote (either format)."""
    if state.get("format") not in CALIBRATOR_FORMATS:
        raise PipelineError(f"unknown calibrator format {state.get('format')!r}; log the model again")
    calibrator = Calibrator(state["method"], state["scores_are"])
    calibrator.n_, calibrator.base_rate_ = int(state["n"]), float(state["base_rate"])
    if calibrator.method in ("isotonic", "isotonic_interp"):
        steps = state["isotonic"]
        calibrator.min_step_rows = int(steps["min_step_rows"])
        calibrator.band_edges_ = np.asarray(steps["edges"], dtype="float64")
        calibrator.band_n_ = np.asarray(steps["n"], dtype="int64")
        calibrator.band_positives_ = np.asarray(steps["positives"], dtype="int64")
        if "centres" in steps:
            calibrator.band_centres_ = np.asarray(steps["centres"], dtype="float64")
    elif calibrator.method == "sigmoid":
        sigmoid = state["sigmoid"]
        calibrator.slope_, calibrator.intercept_ = float(sigmoid["slope"]), float(sigmoid["intercept"])
        calibrator.band_cov_ = np.asarray(sigmoid["covariance"], dtype="float64")
    elif calibrator.method == "beta":
        beta = state["beta"]
        calibrator.coef_ = np.asarray(beta["coefficients"], dtype="float64")
        calibrator.band_cov_ = np.asarray(beta["covariance"], dtype="float64")
    else:
        raise PipelineError(f"unknown calibration method {calibrator.method!r} in a stored calibrator")
    return calibrator


def unit_texts(unit: ScoringUnit) -> dict[str, str]:
    """Every part of ``unit`` as text, by artifact name (see :data:`FILES`).

    The booster is written up to its best iteration (LightGBM's default when saving), the
    iteration the ranker scores with.
    """
    texts = {
        "unit": _dumps(
            {
                "format": UNIT_FORMAT,
                "features": list(unit.features),
                "protected": list(unit.protected),
                "harm_model": unit.harm_model is not None,
            }
        ),
        "booster": unit.booster.model_to_string(),
        "calibrator": _dumps(calibrator_to_dict(unit.calibrator)),
    }
    harm = unit.harm_model
    if harm is not None:
        booster = getattr(harm, "booster_", None)
        state = {
            "format": HARM_FORMAT,
            "mean_days": float(harm.mean_days_),
            "smearing": float(harm.smearing_) if booster is not None else None,
            "booster": booster is not None,
        }
        texts["harm_model"] = _dumps(state)
        if booster is not None:
            texts["harm_booster"] = booster.model_to_string()
    return texts


def unit_from_texts(texts: Mapping[str, str]) -> ScoringUnit:
    """The unit that :func:`unit_texts` wrote."""
    import lightgbm as lgb

    manifest = json.loads(texts["unit"])
    if manifest.get("format") != UNIT_FORMAT:
        raise PipelineError(f"unknown scoring unit format {manifest.get('format')!r}; log the model again")
    booster = lgb.Booster(model_str=texts["booster"])
    features = [str(f) for f in manifest["features"]]
    if list(booster.feature_name()) != features:
        raise PipelineError(f"the stored booster's features differ from the unit's {features[:5]}...")
    harm = _harm_model(texts) if manifest["harm_model"] else None
    calibrator = calibrator_from_dict(json.loads(texts["calibrator"]))
    return ScoringUnit(booster, calibrator, features, [str(p) for p in manifest["protected"]], harm)


def _harm_model(texts: Mapping[str, str]) -> HarmGivenOutcome:
    import lightgbm as lgb

    from models.expected_harm import HarmGivenOutcome
    from models.train import ModelSettings

    state = json.loads(texts["harm_model"])
    if state.get("format") != HARM_FORMAT:
        raise PipelineError(f"unknown harm model format {state.get('format')!r}; log the model again")
    model = HarmGivenOutcome(ModelSettings(), seed=0)  # settings and seed matter only when fitting
    model.mean_days_ = float(state["mean_days"])
    model.booster_ = lgb.Booster(model_str=texts["harm_booster"]) if state["booster"] else None
    if state["booster"]:
        model.smearing_ = float(state["smearing"])
    return model


def refused_names(unit: ScoringUnit, defaults: Sequence[str]) -> set[str]:
    """Normalised names (see :func:`normalise`) of the protected characteristics the unit refuses:
    its own list and ``defaults``, less any that is one of its features (such as ``age`` under the
    ``use_age`` policy)."""
    features = {normalise(f) for f in unit.features}
    return {normalise(p) for p in [*unit.protected, *defaults]} - features


def normalise(name: str) -> str:
    """A column name in lower case with spaces and hyphens as underscores: ``Sexual orientation`` ->
    ``sexual_orientation``."""
    return "_".join(str(name).strip().lower().replace("-", " ").split())


def _dumps(state: Mapping[str, object]) -> str:
    return json.dumps(state, indent=1)
