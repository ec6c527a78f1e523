"""The registry as commands read it: a version by number, and who holds each alias now.

``tabpipe status`` also says whether the holder is the model in this work tree. Reads
only: no store is created where there is none.
"""

from __future__ import annotations

from pathlib import Path

from tabpipe.errors import ParamsError, TrackingError
from tabpipe.records.params import Params
from tabpipe.repositories import mlflow_store as store
from tabpipe.utils.project import project_root


def numbered_version(name: str, version: str, option: str = "--version") -> store.RegisteredVersion:
    """Registered ``version`` of model ``name``; a ParamsError naming ``option`` if none."""
    found = {v.version: v for v in store.model_versions(name)}
    if version not in found:
        known = ", ".join(found) or "none"
        msg = f"{option} {version}: {name} has no such version (registered: {known})"
        raise ParamsError(msg)
    return found[version]


def registry_summary(params: Params, root: Path, model_sha256: str | None) -> list[str]:
    """Lines for ``tabpipe status``: who holds each alias, and whether it is this model."""
    registry = params.mlflow
    tracking = store.tracking_store(project_root(root))
    if not store.store_exists(tracking):
        return [f"registry ({tracking.uri}): no MLflow store yet (run `dvc repro`)"]
    try:
        store.open_store(tracking, registry.experiment_name)  # reads only
        holders = {
            alias: store.version_by_alias(registry.registered_model_name, alias)
            for alias in (registry.champion_alias, registry.challenger_alias)
        }
    except TrackingError as exc:
        return [f"registry ({tracking.uri}): not reachable: {exc}"]
    lines = [f"registry ({tracking.uri}), model {registry.registered_model_name}:"]
    for alias, holder in holders.items():
        if holder is None:
            lines.append(f"  {alias:<16} none")
            continue
        same = holder.model_sha256 is not None and holder.model_sha256 == model_sha256
        which = "the model in this work tree" if same else "not the model in this work tree"
        sha = (holder.model_sha256 or "unknown")[:12]
        lines.append(f"  {alias:<16} v{holder.version} (model {sha}): {which}")
    return lines
