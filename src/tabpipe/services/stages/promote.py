"""The promote stage: register the model and move an alias, as a checked transaction.

Promotion is the last stage: it runs only after the gates, drift and the report
passed. It moves the production alias (``mlflow.champion_alias``) only from a run
on a clean commit; an experiment (``dvc exp run``) or a work tree with uncommitted
changes gets the challenger alias instead. Before the champion alias moves, the
champion that holds it *now* is re-scored on this test split and compared with the
candidate (``max_drop_vs_champion``), together with the best score any version ever
promoted on this split reached, so small drops cannot add up. The alias is read
again just before it is set, and again after: a champion that changed in between is
compared anew, and a lost race is reported, never hidden.

``tabpipe promote --version N`` promotes a registered version explicitly (a rollback,
say): it re-checks the absolute gates on the current splits and reports the champion
comparison without letting it block, because a person decided.

DVC runs promote every time (the registry is outside its view); when nothing it read has
changed since a decision that left an alias on this model, it repeats that decision
without opening MLflow (``services/usage/last_promotion.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

from tabpipe.errors import GateFailedError, StaleOutputsError, TrackingError
from tabpipe.records.evaluation import (
    GateResult,
    GatesReport,
    MetricsReport,
    PromotionResult,
)
from tabpipe.records.params import Params
from tabpipe.repositories import mlflow_store as store
from tabpipe.repositories.datasets import (
    SPLIT_NAMES,
    read_frame,
    read_record,
    read_split,
    split_path,
    write_record,
)
from tabpipe.repositories.dvc_state import uncommitted_inputs
from tabpipe.repositories.mlflow_store.location import tracking_store
from tabpipe.repositories.model_file import model_digest
from tabpipe.repositories.reports import read_text
from tabpipe.services.analysis.gates import (
    evaluate_gates,
)
from tabpipe.services.params.checks import check_against_schema
from tabpipe.services.reporting.model_card import registry_description
from tabpipe.services.stages.tracked_pages import log_pages
from tabpipe.services.usage.champion import (
    TEST_METRIC_TAG,
    TEST_SHA_TAG,
    ModeDecision,
    gates_against_champion,
    move_champion,
    now_text,
    promotion_mode,
    same_version,
)
from tabpipe.services.usage.last_promotion import keyed, unchanged_since_last_decision
from tabpipe.services.usage.registry_view import numbered_version
from tabpipe.utils.hashing import frame_sha256
from tabpipe.utils.project import git_state, project_root
from tabpipe.utils.text import utc_now_text

if TYPE_CHECKING:
    import pandas as pd

MAX_RECHECKS = 3


def run_promote(params: Params, root: Path = Path(), version: str | None = None) -> PromotionResult:
    """Register the model and move an alias as a checked transaction (or promote ``version``).

    Reads the model file, metrics and gates (all about the same model and test split),
    the registry's champion and the git and DVC state; re-scores the champion on this
    test split and compares; writes reports/promotion.json and a promote run. Raises
    GateFailedError when the comparison fails and StaleOutputsError when the records do
    not describe the model file.
    """
    check_against_schema(params, root)
    logger.info("promote: the model of {} ({})", params.paths.metrics, params.paths.gates)
    if version is not None:
        return promote_version(params, version, root)
    paths, registry = params.paths, params.mlflow
    digest = model_digest(root / paths.model)
    gates = read_record(root / paths.gates, GatesReport)
    metrics = read_record(root / paths.metrics, MetricsReport)
    for path, described in (
        (paths.gates, gates.model_sha256),
        (paths.metrics, metrics.model_sha256),
    ):
        if described != digest:
            msg = (
                f"{path} describes model {described[:12]}, but {paths.model} is "
                f"{digest[:12]}: the outputs are from different runs. Run `dvc repro`."
            )
            raise StaleOutputsError(msg)
    project = project_root(root)
    experiment = os.environ.get("DVC_EXP_NAME")
    decision = promotion_mode(experiment, None if experiment else uncommitted_inputs(project))
    tracking = tracking_store(project)
    alias = registry.champion_alias if decision.mode == "champion" else registry.challenger_alias
    unchanged = unchanged_since_last_decision(params, root, decision, alias, tracking, digest)
    if unchanged is not None:
        return _record(unchanged, params, root)
    test = read_frame(split_path(root / paths.split_dir, "test"))
    if frame_sha256(test) != metrics.test_sha256:  # the champion is re-scored on these rows
        msg = (
            f"{paths.metrics} was computed on another test split than the one in "
            f"{paths.split_dir}: the champion comparison would mix two splits. Run `dvc repro`."
        )
        raise StaleOutputsError(msg)
    experiment_id = store.connect(tracking, registry.experiment_name)
    store.sweep_stale_runs(experiment_id)
    training = store.find_training_run(experiment_id, digest)
    if training is not None:  # the drift page, card and notebooks, whatever is decided
        log_pages(params, root, experiment_id, training)
    champion_before = store.version_by_alias(
        registry.registered_model_name, registry.champion_alias
    )

    def result(
        promoted: bool,
        reason: str,
        *,
        alias: str | None = None,
        version: str | None = None,
        comparison: tuple[GateResult, ...] = (),
        champion_after: store.RegisteredVersion | None = champion_before,
    ) -> PromotionResult:
        return PromotionResult(
            promoted=promoted,
            mode=decision.mode,
            model_name=registry.registered_model_name,
            model_sha256=digest,
            alias=alias,
            version=version,
            champion_before=None if champion_before is None else champion_before.version,
            champion_after=None if champion_after is None else champion_after.version,
            comparison=comparison,
            reason=reason,
            tracking_uri=tracking.uri,
            decided_at=now_text(),
        )

    if not gates.passed:
        outcome = result(False, f"{len(gates.failed)} gate(s) failed: not registered")
        return _record(outcome, params, root)
    holder = (
        champion_before
        if decision.mode == "champion"
        else (store.version_by_alias(registry.registered_model_name, alias))
    )
    if holder is not None and holder.model_sha256 == digest:  # nothing to do: no new run
        already = f"this model is already '{alias}' (v{holder.version})"
        if decision.mode == "challenger":
            already = f"{decision.why}: {already}; '{registry.champion_alias}' is unchanged"
        outcome = result(True, already, alias=alias, version=holder.version)
        return _record(keyed(outcome, params, root, tracking), params, root)
    if training is None or not training.model_uri:
        msg = (
            f"no finished run in {tracking.uri} logged {paths.model} (sha256 {digest[:12]}), "
            "so there is no logged model to register. It was probably restored from DVC's "
            "cache into another MLflow store: retrain with `dvc repro --force train`."
        )
        raise TrackingError(msg)
    with store.stage_run(
        experiment_id=experiment_id,
        stage="promote",
        parent_run_id=training.run_id,
        tags={store.MODEL_SHA_TAG: digest, "promote.mode": decision.mode},
    ):
        outcome = _promote_candidate(
            params, root, decision, training, metrics, test, champion_before, result
        )
        store.set_tags(
            {
                "promote.promoted": str(outcome.promoted).lower(),
                "promote.version": outcome.version or "",
                "promote.alias": outcome.alias or "",
            }
        )
        _record(outcome, params, root)
        if outcome.mode == "champion" and not outcome.promoted:
            raise GateFailedError(_refusal(outcome))
    # The run has ended: the store's stamp now holds every write of this decision.
    return _record(keyed(outcome, params, root, tracking), params, root)


def _promote_candidate(
    params: Params,
    root: Path,
    decision: ModeDecision,
    training: store.TrainingRunRef,
    metrics: MetricsReport,
    test: pd.DataFrame,
    champion_before: store.RegisteredVersion | None,
    result: Callable[..., PromotionResult],
) -> PromotionResult:
    registry = params.mlflow
    name = registry.registered_model_name
    digest = metrics.model_sha256
    version = _registered_version(params, root, training, metrics)
    if decision.mode == "challenger":
        comparison = gates_against_champion(params, metrics, test, champion_before)
        store.set_alias(name, registry.challenger_alias, version)
        verdict = (
            "it would pass the champion gates"
            if all(g.passed is not False for g in comparison)
            else "it would NOT pass the champion gates"
        )
        kept = "none" if champion_before is None else f"v{champion_before.version}"
        return result(
            True,
            f"{decision.why}: registered as '{registry.challenger_alias}'; "
            f"'{registry.champion_alias}' stays {kept} ({verdict}). Commit and run "
            f"`dvc repro` on the clean commit, or `tabpipe promote --version {version}`.",
            alias=registry.challenger_alias,
            version=version,
            comparison=comparison,
        )
    champion = champion_before
    for _ in range(MAX_RECHECKS):
        if champion is not None and champion.model_sha256 == digest:
            return result(
                True, f"this model is already '{registry.champion_alias}' (v{champion.version})",
                alias=registry.champion_alias, version=champion.version, champion_after=champion,
            )  # fmt: skip
        comparison = gates_against_champion(params, metrics, test, champion)
        if any(g.passed is False for g in comparison):
            return result(
                False, "worse than the champion beyond the tolerance",
                version=version, comparison=comparison, champion_after=champion,
            )  # fmt: skip
        # Read the alias again right before moving it: a champion promoted meanwhile
        # (another clone, the same server) is compared anew, never overwritten blindly.
        now = store.version_by_alias(name, registry.champion_alias)
        if same_version(now, champion):
            break
        logger.warning(
            "promote: the champion changed during promotion (v{} -> v{}); comparing again",
            None if champion is None else champion.version,
            None if now is None else now.version,
        )
        champion = now
    else:
        msg = f"the '{registry.champion_alias}' alias kept moving during promotion; try again"
        raise TrackingError(msg)
    previous = None if champion is None else champion.version
    after = move_champion(params, version, previous)
    if after is None or after.version != version:
        return result(
            False,
            f"another promotion moved '{registry.champion_alias}' to "
            f"v{None if after is None else after.version} right after this one set it to "
            f"v{version}; the registry keeps the last writer",
            version=version,
            comparison=comparison,
            champion_after=after,
        )
    return result(
        True,
        "all gates passed" + (f"; replaced v{previous}" if previous else "; first champion"),
        alias=registry.champion_alias,
        version=version,
        comparison=comparison,
        champion_after=after,
    )


def _registered_version(
    params: Params, root: Path, training: store.TrainingRunRef, metrics: MetricsReport
) -> str:
    """The version holding this model (same sha256), registered now when there is none."""
    name = params.mlflow.registered_model_name
    for existing in store.model_versions(name):
        if existing.model_sha256 == metrics.model_sha256:
            return existing.version
    card = read_text(root / params.paths.model_card) or ""
    git = git_state(project_root(root))
    tags = {
        store.MODEL_SHA_TAG: metrics.model_sha256,
        TEST_SHA_TAG: metrics.test_sha256,
        **{f"{TEST_METRIC_TAG}{metric}": repr(value) for metric, value in metrics.test.items()},
        **git,
    }
    registered_at = utc_now_text()

    def describe(version: str) -> str:
        """This version's card (when it describes this model) headed by what it is."""
        if metrics.model_sha256 not in card:
            return ""
        return registry_description(
            card, version=version, registered_at=registered_at, run_id=training.run_id, git=git
        )

    return store.register_version(
        model_uri=training.model_uri,
        run_id=training.run_id,
        model_name=name,
        tags=tags,
        describe=describe,
    )


def _refusal(outcome: PromotionResult) -> str:
    failed = "\n".join(f"  - {g.describe()}" for g in outcome.comparison if g.passed is False)
    kept = outcome.champion_after or "none"
    registered = f"v{outcome.version} is registered without an alias; " if outcome.version else ""
    return (
        f"not promoted: {outcome.reason}\n{failed}\n"
        f"The champion stays v{kept}. {registered}to promote it anyway (a person's decision), "
        f"run `tabpipe promote --version {outcome.version}`."
    )


def _record(outcome: PromotionResult, params: Params, root: Path) -> PromotionResult:
    write_record(outcome, root / params.paths.promotion)
    logger.info("promote: {}", outcome.reason)
    return outcome


def promote_version(params: Params, version: str, root: Path = Path()) -> PromotionResult:
    """Move the champion alias to registered ``version`` (a rollback, say).

    Absolute gates are re-checked on the current splits; the champion comparison is
    shown, not enforced (a person decided).
    """
    registry = params.mlflow
    name = registry.registered_model_name
    tracking = store.tracking_store(project_root(root))
    experiment_id = store.connect(tracking, registry.experiment_name)
    store.sweep_stale_runs(experiment_id)
    target = numbered_version(name, version)
    champion_before = store.version_by_alias(name, registry.champion_alias)
    train_rows = params.evaluate.max_train_rows if params.engine == "dask" else None
    splits = {
        part: read_split(
            root / params.paths.split_dir,
            part,
            max_rows=train_rows if part == "train" else None,
            seed=params.train.seed,
        )
        for part in SPLIT_NAMES
    }
    from tabpipe.services.analysis.evaluation import evaluate_model  # noqa: PLC0415 - explicit only

    model = store.load_version_model(name, version)
    digest = target.model_sha256 or "unknown"
    evaluation = evaluate_model(model, splits, params, model_sha256=digest)
    report = evaluation.report
    gates = evaluate_gates(params.gates, report, behaviour=evaluation.behaviour)
    comparison = gates_against_champion(params, report, splits["test"], champion_before)

    def result(
        promoted: bool, reason: str, after: store.RegisteredVersion | None
    ) -> PromotionResult:
        return PromotionResult(
            promoted=promoted, mode="explicit", model_name=name, model_sha256=digest,
            alias=registry.champion_alias if promoted else None, version=version,
            champion_before=None if champion_before is None else champion_before.version,
            champion_after=None if after is None else after.version,
            comparison=comparison + gates.gates, reason=reason, tracking_uri=tracking.uri,
            decided_at=now_text(),
        )  # fmt: skip

    with store.stage_run(
        experiment_id=experiment_id,
        stage="promote",
        parent_run_id=target.run_id or None,
        tags={store.MODEL_SHA_TAG: digest, "promote.mode": "explicit"},
    ):
        if not gates.passed:
            outcome = _record(
                result(False, f"v{version} fails {len(gates.failed)} gate(s) on the current "
                       "splits", champion_before), params, root,
            )  # fmt: skip
            failed = "\n".join(f"  - {g.describe()}" for g in gates.failed)
            msg = f"not promoted: {outcome.reason}:\n{failed}"
            raise GateFailedError(msg)
        previous = None if champion_before is None else champion_before.version
        if previous == version:
            already = f"v{version} is already '{registry.champion_alias}'"
            return _record(result(True, already, champion_before), params, root)
        after = move_champion(params, version, previous)
        worse = [g for g in comparison if g.passed is False]
        note = f" (champion comparison not enforced: {len(worse)} failed)" if worse else ""
        store.set_tags({"promote.promoted": "true", "promote.version": version})
        return _record(
            result(True, f"explicit promotion; replaced v{previous}{note}", after), params, root
        )
