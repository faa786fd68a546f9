"""MLflow behind one small interface: the tracking store, logging and registering a trained model,
promotion to `@champion` only when it is not worse, and loading the champions for scoring.

The store is local by default (`<data dir>/mlflow/`: a SQLite database and an artifact folder);
`MLFLOW_TRACKING_URI` overrides it (read by the Dagster resource and the command line). MLflow keeps its URI in process-wide state, so every function
here sets it from the `MlflowStore` it is given rather than relying on what was set before.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

TRACKING_URI_VARIABLE = "MLFLOW_TRACKING_URI"
CHAMPION = "champion"
CHALLENGER = "challenger"
EXPERIMENT = "klantbeeld"
# The packages a logged model needs; spelled out because inferring them costs ~3.4 s per model (STACK.md).
MODEL_REQUIREMENTS = ["scikit-learn==1.9.1", "scipy>=1.17,<1.18", "numpy>=2.4,<2.5", "pandas>=3.1,<3.2"]
# Modules whose types a model file may contain (skops loads nothing else).
TRUSTED_MODULE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "ml.", "builtins.", "collections.")
# Tags on a registered version: how the promotion decided, on which holdout.
DECISION_TAG = "klantbeeld.decision"
HOLDOUT_TAG = "klantbeeld.holdout_cutoff"


@dataclass(frozen=True)
class MlflowStore:
    """Where runs, models and their artifacts live."""

    tracking_uri: str
    artifact_location: str
    experiment_name: str = EXPERIMENT

    @classmethod
    def under(cls, data_dir: Path, tracking_uri: str | None = None) -> MlflowStore:
        """A SQLite store in `<data dir>/mlflow` (or `tracking_uri`), artifacts in `<data dir>/mlflow/artifacts`."""
        folder = Path(data_dir).resolve() / "mlflow"
        uri = tracking_uri or f"sqlite:///{folder / 'mlflow.db'}"
        return cls(tracking_uri=uri, artifact_location=(folder / "artifacts").as_uri())

    def activate(self) -> MlflowClient:
        """Point MLflow at this store (creating it and the experiment on first use); the client."""
        import mlflow
        from mlflow import MlflowClient

        if self.tracking_uri.startswith("sqlite:///"):
            Path(self.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        user_setting = os.environ.get(TRACKING_URI_VARIABLE)
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        # MLflow also writes the URI into the environment; keep the user's setting there, or the next
        # run in this process (its resources read the variable) would use this run's store
        if user_setting is None:
            os.environ.pop(TRACKING_URI_VARIABLE, None)
        else:
            os.environ[TRACKING_URI_VARIABLE] = user_setting
        client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
        if client.get_experiment_by_name(self.experiment_name) is None:
            client.create_experiment(self.experiment_name, artifact_location=self.artifact_location)
        mlflow.set_experiment(self.experiment_name)
        return client


def trusted_types(model: Any) -> list[str]:
    """The types in the model's skops file that skops does not trust by itself, all from modules we
    ship or depend on; anything else is refused (never trust a type blindly)."""
    import skops.io

    untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    foreign = [name for name in untrusted if not name.startswith(TRUSTED_MODULE_PREFIXES)]
    if foreign:
        raise TypeError(f"the model holds types from outside the trusted modules: {foreign}")
    return untrusted


def log_model(model: Any, name: str, input_example: pd.DataFrame, safe_format: bool = True) -> ModelVersion:
    """Log the model in the active run with its signature (from the example) and register a new version.

    `safe_format`: skops, which loads only trusted types; False for a model that holds what skops
    cannot write (the segment model's description tables): cloudpickle, loaded only from our own store.
    """
    import mlflow.sklearn

    serialization = (
        {"skops_trusted_types": trusted_types(model)}
        if safe_format
        else {"serialization_format": mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE}
    )
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        # every feature reaches the model as float64 with NaN for NULL (FeatureFrame): so the signature
        input_example=input_example.astype("float64"),
        pip_requirements=MODEL_REQUIREMENTS,
        registered_model_name=name,
        **serialization,
    )
    from mlflow import MlflowClient

    return MlflowClient().get_model_version(name, str(info.registered_model_version))


def champion_version(client: MlflowClient, name: str) -> ModelVersion | None:
    """The version `@champion` points at, or None when the model has none (or does not exist)."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def load_version(version: ModelVersion) -> Any:
    import mlflow.sklearn

    return mlflow.sklearn.load_model(f"models:/{version.name}/{version.version}")


@dataclass(frozen=True)
class Promotion:
    """What became of a new model version."""

    model_name: str
    version: str
    promoted: bool
    metric: str
    new_value: float
    champion_version: str | None
    champion_value: float | None
    reason: str


def decide_promotion(
    metric: str, new_value: float, champion_value: float | None, higher_is_better: bool
) -> tuple[bool, str]:
    """A new version is promoted when there is no champion, the champion cannot be measured on this
    holdout, or the new one is not worse on the same holdout."""
    if champion_value is None or math.isnan(champion_value):
        return True, f"no champion measurable on this holdout; {metric} {new_value:.4f}"
    not_worse = new_value >= champion_value if higher_is_better else new_value <= champion_value
    comparison = "not worse than" if not_worse else "worse than"
    return (
        not_worse,
        f"{metric} {new_value:.4f} {comparison} the champion's {champion_value:.4f} on the same holdout",
    )


def promote_if_not_worse(
    client: MlflowClient,
    version: ModelVersion,
    metric: str,
    new_value: float,
    champion: ModelVersion | None,
    champion_value: float | None,
    holdout_cutoff: str,
    higher_is_better: bool = True,
) -> Promotion:
    """Move `@champion` to the new version when it is not worse; else it becomes `@challenger`. The
    decision and its reason are tagged on the version (visible in the MLflow UI)."""
    promoted, reason = decide_promotion(metric, new_value, champion_value, higher_is_better)
    if champion is not None and champion_value is not None and not math.isnan(champion_value):
        reason += f" (champion version {champion.version})"
    client.set_registered_model_alias(version.name, CHAMPION if promoted else CHALLENGER, version.version)
    client.set_model_version_tag(version.name, version.version, DECISION_TAG, reason)
    client.set_model_version_tag(version.name, version.version, HOLDOUT_TAG, holdout_cutoff)
    return Promotion(
        model_name=version.name,
        version=str(version.version),
        promoted=promoted,
        metric=metric,
        new_value=new_value,
        champion_version=str(champion.version) if champion is not None else None,
        champion_value=champion_value,
        reason=reason,
    )


def promote_unevaluated(
    client: MlflowClient, version: ModelVersion, champion: ModelVersion | None, why: str
) -> Promotion:
    """A version that could not be evaluated becomes champion only while there is none; otherwise it
    waits as challenger (never replace a measured champion by an unmeasured model)."""
    promoted = champion is None
    reason = f"not evaluated ({why}); " + ("first version: champion" if promoted else "the champion stays")
    client.set_registered_model_alias(version.name, CHAMPION if promoted else CHALLENGER, version.version)
    client.set_model_version_tag(version.name, version.version, DECISION_TAG, reason)
    return Promotion(
        model_name=version.name,
        version=str(version.version),
        promoted=promoted,
        metric="none",
        new_value=float("nan"),
        champion_version=str(champion.version) if champion is not None else None,
        champion_value=None,
        reason=reason,
    )
