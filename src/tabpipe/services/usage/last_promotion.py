"""promote's memory of its last decision: when nothing it read has changed, say it again.

DVC runs promote every time, because the registry is outside its view. A decision that
left an alias on the model records a digest of everything it read (the model, gates,
metrics and test split files, the mode and alias, the store, and a stamp of the SQLite
store's state taken after the decision's last write). The next promote computes the
same digest first; when it matches, nothing it would ask the registry can have another
answer, so it repeats the decision without importing MLflow (about two seconds) and
without opening a run. A tracking server gives no stamp (``store_stamp`` is None): there
promote always asks.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from loguru import logger

from tabpipe.errors import DataReadError
from tabpipe.records.evaluation import PromotionResult
from tabpipe.records.params import Params
from tabpipe.repositories.datasets import read_record, split_path
from tabpipe.repositories.mlflow_store.location import TrackingStore, store_stamp
from tabpipe.services.stages.tracked_pages import pages_sha256
from tabpipe.services.usage.champion import ModeDecision, now_text
from tabpipe.utils.hashing import path_sha256


def _inputs_sha256(
    params: Params, root: Path, mode: str, alias: str, tracking: TrackingStore, digest: str
) -> str | None:
    """Digest of what a promote decision reads; None for a store that gives no stamp."""
    stamp = store_stamp(tracking)
    if stamp is None:
        return None
    paths = params.paths
    read = [root / paths.gates, root / paths.metrics, split_path(root / paths.split_dir, "test")]
    parts = [digest, *(path_sha256(path) for path in read), mode, alias]
    parts.append(pages_sha256(params, root))  # the pages promote logs to the training run
    parts += [params.mlflow.registered_model_name, params.mlflow.champion_alias]
    parts += [tracking.uri, stamp]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def keyed(
    outcome: PromotionResult, params: Params, root: Path, tracking: TrackingStore
) -> PromotionResult:
    """The outcome with the digest of its inputs when an alias now holds this model."""
    if not outcome.promoted or outcome.alias is None:
        return outcome
    key = _inputs_sha256(params, root, outcome.mode, outcome.alias, tracking, outcome.model_sha256)
    return outcome.model_copy(update={"inputs_sha256": key})


def unchanged_since_last_decision(
    params: Params,
    root: Path,
    decision: ModeDecision,
    alias: str,
    tracking: TrackingStore,
    digest: str,
) -> PromotionResult | None:
    """The last decision again, when nothing it read has changed since; else None."""
    path = root / params.paths.promotion
    if not path.is_file():
        return None
    try:
        last = read_record(path, PromotionResult)
    except DataReadError:  # another version's record, or edited: ask the registry
        return None
    if last.inputs_sha256 is None or last.alias != alias or last.version is None:
        return None
    if _inputs_sha256(params, root, decision.mode, alias, tracking, digest) != last.inputs_sha256:
        return None
    already = f"this model is already '{alias}' (v{last.version})"
    if decision.mode == "challenger":
        already = f"{decision.why}: {already}; '{params.mlflow.champion_alias}' is unchanged"
    logger.info(
        "promote: nothing changed since the last promote ({}); registry not opened", last.decided_at
    )
    return last.model_copy(
        update={
            "reason": already,
            "champion_before": last.champion_after,
            "comparison": (),
            "decided_at": now_text(),
        }
    )
