"""The registered model is the whole scoring unit: an MLflow pyfunc that returns the published figures.

``mlflow.pyfunc.load_model("models:/harmrank@champion").predict(features)`` returns, per row:

``probability``
    The calibrated probability of the outcome: the figure published in the list (which rounds it
    to ``output.score_decimals``).
``probability_lo``, ``probability_hi``
    The calibration band around it (:meth:`models.calibrate.Calibrator.band`), a deterministic
    function of the calibrator. The list's bootstrap rank interval (``rank_lo``, ``rank_hi``)
    refits models on resampled training rows and is not part of the unit.
``raw_score``
    The booster's raw score (the list's ``model_score``, unrounded).
``expected_harm``
    Only when the unit holds a harm model (``scoring.rank_by: expected_harm``): the probability
    times the harm expected given the outcome (CCHI days).

Every figure is computed by :meth:`models.backtest.FittedModel.predict`, the method the monthly
job scores the list with; the unit's parts are stored as text (:mod:`models.unit`).

Inputs: a DataFrame with the unit's features, matched **by name** (a frame whose columns are in
another order gives the same answer: MLflow's schema enforcement reorders them, and
:func:`score` selects them by name). A missing feature is refused (by MLflow's schema check, or by
:func:`score` when the model is called without it). A column named after a protected
characteristic (:data:`PROTECTED_NAMES`, the protected table's columns at logging time) is refused
unless it is one of the features; the signature declares those names as optional inputs of any
type so that MLflow passes them on to be refused rather than dropping them. Other extra columns are
ignored (MLflow drops them with a warning).

Nothing is pickled: the model is logged "from code", a two-line script (:data:`LOADER`) that
imports :class:`HarmrankModel` from harmrank, so loading needs harmrank installed (``mlflow models
predict --env-manager local`` in harmrank's environment works; MLflow's own environments cannot
install harmrank).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import DataType
from mlflow.types.schema import AnyType, ColSpec, Schema, TensorSpec

from features.errors import HarmrankError
from models.backtest import FittedModel
from models.train import LightGBMRanker
from models.unit import FILES, ScoringUnit, normalise, refused_names, unit_from_texts, unit_texts

#: Names of protected characteristics (Equality Act 2010 and the columns a protected table commonly
#: has) refused as inputs, besides the protected table's own columns recorded at logging time.
PROTECTED_NAMES = (
    "age",
    "age_band",
    "birth_date",
    "date_of_birth",
    "sex",
    "gender",
    "gender_reassignment",
    "ethnicity",
    "ethnic_group",
    "race",
    "nationality",
    "religion",
    "religion_or_belief",
    "belief",
    "disability",
    "sexual_orientation",
    "marital_status",
    "marriage_or_civil_partnership",
    "pregnancy",
    "pregnancy_or_maternity",
    "maternity",
)
OUTPUTS = ("probability", "probability_lo", "probability_hi", "raw_score")
#: The model's code as MLflow stores it: the class comes from the installed harmrank.
LOADER = """from mlflow.models import set_model

from models.pyfunc import HarmrankModel

set_model(HarmrankModel())
"""


class ModelInputError(HarmrankError):
    """The scoring unit was given input it refuses: a missing feature or a protected characteristic."""


def fitted_model(unit: ScoringUnit) -> FittedModel:
    """The unit as the monthly job's :class:`FittedModel` (no training or calibration dates)."""
    ranker = LightGBMRanker.from_booster(unit.booster, seed=0)  # the seed matters only when fitting
    return FittedModel(ranker, unit.calibrator, (), (), unit.harm_model)


def score(unit: ScoringUnit, model_input: pd.DataFrame, fitted: FittedModel | None = None) -> pd.DataFrame:
    """The published figures (:data:`OUTPUTS`, and ``expected_harm`` with a harm model) per row.

    Features are taken by name; a missing feature or a column named after a protected
    characteristic raises :class:`ModelInputError`.
    """
    if not isinstance(model_input, pd.DataFrame):
        raise ModelInputError(
            f"the scoring unit takes a DataFrame of features, not {type(model_input).__name__}"
        )
    refused = refused_names(unit, PROTECTED_NAMES)
    protected = [str(c) for c in model_input.columns if normalise(str(c)) in refused]
    if protected:
        raise ModelInputError(
            f"the input holds protected characteristics {protected}: the model never reads them. "
            "Remove those columns and pass the features only."
        )
    missing = [f for f in unit.features if f not in model_input.columns]
    if missing:
        raise ModelInputError(
            f"the input lacks {len(missing)} of the model's {len(unit.features)} features: {missing[:10]}"
            f"{' ...' if len(missing) > 10 else ''}. Pass every feature, by name."
        )
    predicted = (fitted or fitted_model(unit)).predict(model_input[unit.features])
    out = pd.DataFrame(
        {
            "probability": predicted["probability"],
            "probability_lo": predicted["probability_lo"],
            "probability_hi": predicted["probability_hi"],
            "raw_score": predicted["margin"],
        },
        index=model_input.index,
    )
    if "expected_harm" in predicted:
        out["expected_harm"] = predicted["expected_harm"]
    return out


class HarmrankModel(PythonModel):
    """MLflow's view of a :class:`ScoringUnit`: its parts are the model's artifacts (:data:`FILES`)."""

    def load_context(self, context: Any) -> None:
        texts = {name: Path(path).read_text(encoding="utf-8") for name, path in context.artifacts.items()}
        self.unit = unit_from_texts(texts)
        self.fitted = fitted_model(self.unit)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        """See :func:`score`; ``params`` are not used."""
        return score(self.unit, model_input, self.fitted)


def _column_type(name: str, dtype: Any) -> DataType:
    """MLflow's type of a feature column: integers as ``long`` (int32 counts upcast; a CSV's int64
    fits), floats as ``double``, booleans as ``boolean``."""
    types = pd.api.types
    if types.is_bool_dtype(dtype):
        return DataType.boolean
    if types.is_integer_dtype(dtype):
        return DataType.long
    if types.is_float_dtype(dtype):
        return DataType.double
    raise ValueError(f"feature {name!r} has dtype {dtype}; the scoring unit takes numeric features only")


def model_signature(unit: ScoringUnit, dtypes: Mapping[str, Any]) -> ModelSignature:
    """Inputs: each feature (in the unit's order, typed by :func:`_column_type`), then each refused
    protected name as an optional input of any type; outputs: the published figures."""
    inputs: list[ColSpec | TensorSpec] = [ColSpec(_column_type(n, dtypes[n]), n) for n in unit.features]
    features = {normalise(f) for f in unit.features}
    protected = dict.fromkeys(p for p in [*unit.protected, *PROTECTED_NAMES] if normalise(p) not in features)
    inputs += [ColSpec(AnyType(), name, required=False) for name in protected]
    outputs = [*OUTPUTS, *(["expected_harm"] if unit.harm_model is not None else [])]
    returned: list[ColSpec | TensorSpec] = [ColSpec(DataType.double, name) for name in outputs]
    return ModelSignature(Schema(inputs), Schema(returned))


#: the input example's rows by column type: made up (nothing, a little, more), no person's data
EXAMPLE = {
    DataType.long: np.array([0, 1, 3], dtype="int64"),
    DataType.double: np.array([0.0, 1.5, 30.0]),
    DataType.boolean: np.array([False, True, True]),
}


def input_example(unit: ScoringUnit, dtypes: Mapping[str, Any]) -> pd.DataFrame:
    """Three made-up rows of the features (:data:`EXAMPLE`)."""
    return pd.DataFrame({name: EXAMPLE[_column_type(name, dtypes[name])] for name in unit.features})


def log_scoring_unit(
    unit: ScoringUnit, dtypes: Mapping[str, Any], pip_requirements: Sequence[str], name: str = "model"
) -> Any:
    """Log ``unit`` as a pyfunc model of the active MLflow run; returns MLflow's ``ModelInfo``.

    ``dtypes`` gives each feature's dtype (as the monthly job builds it) for the signature.
    """
    with tempfile.TemporaryDirectory(prefix="harmrank-unit-") as folder:
        loader = Path(folder) / "harmrank_model.py"
        loader.write_text(LOADER, encoding="utf-8")
        artifacts = {}
        for part, text in unit_texts(unit).items():
            path = Path(folder) / FILES[part]
            path.write_text(text, encoding="utf-8")
            artifacts[part] = str(path)
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=loader,
            artifacts=artifacts,
            signature=model_signature(unit, dtypes),
            input_example=input_example(unit, dtypes),
            pip_requirements=list(pip_requirements),
        )


def load_unit(model_uri: str) -> ScoringUnit:
    """The scoring unit of a logged or registered harmrank pyfunc (``models:/harmrank@champion``)."""
    model = mlflow.pyfunc.load_model(model_uri).unwrap_python_model()
    if not isinstance(model, HarmrankModel):
        raise ValueError(f"{model_uri} is not a harmrank scoring unit but a {type(model).__name__}")
    return model.unit
