"""The model registry: versions keyed by the model's digest, aliases, and loading a version."""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import yaml
from loguru import logger
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from mlflow.tracking import MlflowClient

from tabpipe.errors import ModelFileError
from tabpipe.repositories.mlflow_store.connection import (
    MODEL_SHA_TAG,
    reaching_server,
)
from tabpipe.repositories.model_file import load_model

REGISTERED_MODEL_DESCRIPTION = (
    "Registered by tabpipe's promote stage. `champion` is production: it moves only from a "
    "run on a clean commit that passed every gate and beat the champion, or by "
    "`tabpipe promote --version N` / `tabpipe compare --promote`. `challenger` is the model "
    "of the latest experiment or uncommitted run. Each version's description is its model card."
)


@dataclass(frozen=True)
class RegisteredVersion:
    """One version of a registered model, with the tags tabpipe records on it."""

    version: str
    run_id: str
    tags: dict[str, str]
    aliases: tuple[str, ...]

    @property
    def model_sha256(self) -> str | None:
        """The sha256 of the model file this version holds (tabpipe's tag)."""
        return self.tags.get(MODEL_SHA_TAG)


def _version(found: Any) -> RegisteredVersion:
    return RegisteredVersion(
        version=str(found.version),
        run_id=str(found.run_id or ""),
        tags=dict(found.tags or {}),
        aliases=tuple(found.aliases or ()),
    )


@reaching_server
def version_by_alias(model_name: str, alias: str) -> RegisteredVersion | None:
    """The version an alias points at, or None when the alias (or the model) does not exist."""
    try:
        found = MlflowClient().get_model_version_by_alias(model_name, alias)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST" or "not found" in exc.message.lower():
            return None
        raise
    return _version(found)


@reaching_server
def model_versions(model_name: str) -> list[RegisteredVersion]:
    """Every version of the model, oldest first (none when the name is not registered)."""
    found = MlflowClient().search_model_versions(f"name = '{model_name}'")
    return sorted((_version(v) for v in found), key=lambda v: int(v.version))


@reaching_server
def registered_run_ids() -> set[str]:
    """Runs whose model is a registered version: their records are never changed."""
    return {str(v.run_id) for v in MlflowClient().search_model_versions() if v.run_id}


@reaching_server
def register_version(
    *,
    model_uri: str,
    run_id: str,
    model_name: str,
    tags: Mapping[str, str],
    describe: Callable[[str], str],
) -> str:
    """A new version of ``model_name`` from the model logged in ``run_id``.

    ``describe`` gives the version's description from its number ('' for none).
    """
    printed = io.StringIO()  # MLflow prints its own lines to stderr: pass them to the log
    with contextlib.redirect_stderr(printed):
        registered = mlflow.register_model(
            model_uri, model_name, tags={**tags, "tabpipe.run_id": run_id}
        )
    for line in filter(None, (text.strip() for text in printed.getvalue().splitlines())):
        logger.info("mlflow: {}", line)
    version = str(registered.version)
    client = MlflowClient()
    if not client.get_registered_model(model_name).description:
        client.update_registered_model(model_name, description=REGISTERED_MODEL_DESCRIPTION)
    if description := describe(version):
        client.update_model_version(model_name, version, description=description)
    logger.info("registered {} version {}", model_name, version)
    return version


@reaching_server
def set_alias(model_name: str, alias: str, version: str) -> None:
    """Point ``alias`` of ``model_name`` at ``version`` (MLflow moves it atomically)."""
    MlflowClient().set_registered_model_alias(model_name, alias, version)
    logger.info("{} version {} is now '{}'", model_name, version, alias)


@reaching_server
def set_version_tags(model_name: str, version: str, tags: Mapping[str, str]) -> None:
    """Set tags on one registered version."""
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(model_name, version, key, value)


@reaching_server
def load_version_model(model_name: str, version: str) -> Any:
    """A registered version, loaded with tabpipe's own list of trusted types.

    MLflow's sklearn flavour would trust the types the artifact itself lists in its
    MLmodel file, so a tampered registry entry could name any type and have it built.
    The skops file is downloaded and loaded like the pipeline's own model file, and a
    version that is not skops (a pickle) is refused.
    """
    uri = f"models:/{model_name}/{version}"
    remedy = (
        f"Version {version} cannot serve: point the alias at a sound version (`tabpipe "
        "promote --version N`), or restore the store's artifact folder from a backup."
    )
    with tempfile.TemporaryDirectory() as folder:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=folder))
        try:
            flavor = Model.load(str(local)).flavors.get("sklearn")
        except (OSError, ValueError, yaml.YAMLError) as exc:
            msg = f"{uri}: its MLmodel file cannot be read ({type(exc).__name__}). {remedy}"
            raise ModelFileError(msg) from exc
        if not isinstance(flavor, dict) or flavor.get("serialization_format") != "skops":
            msg = f"{uri}: not a skops-serialised scikit-learn model; refusing to load it"
            raise ModelFileError(msg)
        member = str(flavor["pickled_model"])
        if not (local / member).is_file():
            msg = f"{uri}: its artifact {member} is missing from the store. {remedy}"
            raise ModelFileError(msg)
        return load_model(local / member, name=f"{uri} (artifact {member})", remedy=remedy)
