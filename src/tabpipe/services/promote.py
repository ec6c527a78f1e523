"""The promote stage: register the model and move the champion alias, only after passing gates.

It is its own DVC stage, downstream of evaluate, so the DAG itself says that
promotion depends on the gates; and it re-reads their verdict from
reports/gates.json rather than trusting anything else.
"""

from __future__ import annotations

from pathlib import Path

from loguru import logger

from tabpipe.models.evaluation import GatesReport, PromotionResult, TrainingRun
from tabpipe.models.params import Params
from tabpipe.repositories import mlflow_store as store
from tabpipe.repositories.datasets import read_model, write_model
from tabpipe.utils.project import project_root


def run_promote(params: Params, root: Path = Path()) -> PromotionResult:
    paths, registry = params.paths, params.mlflow
    run = read_model(root / paths.training_run, TrainingRun)
    gates = read_model(root / paths.gates, GatesReport)
    experiment_id = store.connect(
        store.tracking_store(project_root(root)), registry.experiment_name
    )
    champion = store.current_champion(registry.registered_model_name, registry.champion_alias)
    previous = None if champion is None else champion.version

    def result(promoted: bool, reason: str, version: str | None = None) -> PromotionResult:
        return PromotionResult(
            promoted=promoted,
            model_name=registry.registered_model_name,
            alias=registry.champion_alias,
            version=version,
            previous_version=previous,
            reason=reason,
        )

    if not gates.passed:
        outcome = result(False, f"{len(gates.failed)} gate(s) failed; the alias did not move")
    elif champion is not None and champion.run_id == run.run_id:
        outcome = result(
            False, "this run's model is already the champion", version=champion.version
        )
    else:
        with store.pipeline_run(experiment_id=experiment_id, run_id=run.run_id):
            version = store.register_champion(
                model_uri=run.model_uri,
                run_id=run.run_id,
                model_name=registry.registered_model_name,
                alias=registry.champion_alias,
                previous=champion,
            )
            store.set_tags({"promoted.version": version, "promoted.replaced": previous or "none"})
        outcome = result(True, "all gates passed", version=version)
    write_model(outcome, root / paths.promotion)
    logger.info("promote: {}", outcome.reason)
    return outcome
