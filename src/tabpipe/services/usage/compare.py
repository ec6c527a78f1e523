"""Champion against challenger on the same labelled batch, and an evidence-based promotion.

Both registered versions score every row of the batch. The difference in the primary
metric gets a paired bootstrap interval (the same resampled rows for both models) and
a test: DeLong's for a binary ROC AUC, the paired bootstrap's otherwise. The verdict
follows ``compare.alpha`` and ``compare.min_effect``:

- *challenger better*: significant, in the challenger's favour, by at least min_effect;
- *challenger worse*: significant, in the champion's favour;
- *no evidence*: anything else (too few rows, too small a difference).

``--promote`` moves the champion alias only on "challenger better" and when the
challenger passes the absolute gates of params.yaml on this batch; the alias is read
again just before it moves, so a champion changed meanwhile is never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from loguru import logger
from sklearn.dummy import DummyClassifier, DummyRegressor

from tabpipe.errors import DataValidationError, ParamsError, TrackingError
from tabpipe.records.comparison import (
    ComparedModel,
    Comparison,
    DelongSummary,
)
from tabpipe.records.evaluation import GateResult, MetricsReport
from tabpipe.records.params import GREATER_IS_BETTER, Params
from tabpipe.repositories import mlflow_store as store
from tabpipe.repositories.datasets import write_record
from tabpipe.services.analysis.behaviour import behaviour_gates
from tabpipe.services.analysis.gates import evaluate_gates
from tabpipe.services.analysis.metrics import Predictions, compute_metrics, predict
from tabpipe.services.analysis.paired_tests import delong_test, improvement, paired_bootstrap
from tabpipe.services.analysis.slices import slice_report
from tabpipe.services.analysis.uncertainty import gate_intervals
from tabpipe.services.data.batches import load_batch
from tabpipe.services.data.preparation import labelled_rows
from tabpipe.services.usage.champion import move_champion
from tabpipe.services.usage.compare_verdict import decide, slice_differences
from tabpipe.services.usage.registry_view import numbered_version
from tabpipe.utils.hashing import frame_sha256
from tabpipe.utils.project import project_root


@dataclass(frozen=True)
class _Scored:
    """A registered version, its model, and what it predicted on the batch."""

    version: store.RegisteredVersion
    alias: str | None
    model: Any
    predictions: Predictions


def run_compare(
    batch_path: Path,
    params: Params,
    *,
    promote: bool = False,
    challenger_version: str | None = None,
    output: Path | None = None,
    root: Path = Path(),
) -> Comparison:
    """Compare the champion with the challenger (or ``challenger_version``) on a labelled batch.

    Writes ``output`` (JSON) when given and logs a ``compare`` run with both scores,
    the interval, the p-value and the verdict. With ``promote``, moves the champion
    alias when the verdict is "challenger better" and the challenger's gates pass on
    the batch; ``promoted`` and ``promotion`` of the result say what happened.
    """
    if output is not None and output.suffix.lower() != ".json":
        msg = f"--output {output}: name the comparison file .json"
        raise ParamsError(msg)
    data, registry = params.data, params.mlflow
    loaded = load_batch(batch_path, params, root)
    batch = labelled_rows(loaded, data.target)
    if batch.empty:
        which = (
            f"no row has a '{data.target}' value"
            if data.target in loaded.columns
            else f"no '{data.target}' column"
        )
        msg = (
            f"{batch_path}: {which}. compare scores both models against the true labels: "
            "give it a labelled batch (predict scores unlabelled ones)."
        )
        raise DataValidationError(msg)
    if len(batch) < len(loaded):
        logger.warning(
            "compare: {} of {} rows have no '{}' and are not compared",
            len(loaded) - len(batch),
            len(loaded),
            data.target,
        )
    tracking = store.tracking_store(project_root(root))
    experiment_id = store.connect(tracking, registry.experiment_name)
    champion_ref = _registered(params, registry.champion_alias, None)
    challenger_ref = _registered(params, registry.challenger_alias, challenger_version)
    if champion_ref.version == challenger_ref.version:
        msg = (
            f"'{registry.champion_alias}' and the challenger are both v{champion_ref.version}: "
            "nothing to compare (register a challenger with `dvc exp run`, or pass --challenger N)"
        )
        raise ParamsError(msg)
    champion = _score(params, champion_ref, registry.champion_alias, batch)
    challenger = _score(
        params,
        challenger_ref,
        None if challenger_version else registry.challenger_alias,
        batch,
    )
    comparison = _compared(params, batch_path, batch, champion, challenger)
    logger.info(
        "compare: {} {} v{} {:.4f} vs v{} {:.4f}: {} ({})",
        len(batch),
        comparison.metric,
        champion.version.version,
        comparison.champion.value,
        challenger.version.version,
        comparison.challenger.value,
        comparison.verdict,
        comparison.reason,
    )
    with store.stage_run(
        experiment_id=experiment_id,
        stage="compare",
        run_name=f"compare v{champion.version.version} vs v{challenger.version.version}",
        tags={
            "tabpipe.champion_version": champion.version.version,
            "tabpipe.challenger_version": challenger.version.version,
            "tabpipe.batch_sha256": comparison.batch_sha256,
            "tabpipe.batch": str(batch_path),
            "compare.verdict": comparison.verdict,
        },
    ):
        if promote:
            comparison = _promotion(params, comparison, challenger, batch)
        store.log_metrics(
            {
                f"champion_{comparison.metric}": comparison.champion.value,
                f"challenger_{comparison.metric}": comparison.challenger.value,
                "improvement": comparison.improvement,
                "interval_low": comparison.interval_low,
                "interval_high": comparison.interval_high,
                "p_value": comparison.p_value,
                "n_rows": float(comparison.n_rows),
            }
        )
        store.set_tags({"compare.promoted": str(comparison.promoted).lower()})
        store.log_record(comparison, "comparison.json")
        if output is not None:
            write_record(comparison, root / output)
    return comparison


def _registered(params: Params, alias: str, version: str | None) -> store.RegisteredVersion:
    name = params.mlflow.registered_model_name
    if version is not None:
        return numbered_version(name, version, "--challenger")
    chosen = store.version_by_alias(name, alias)
    if chosen is None:
        how = (
            "run `make train` on a clean commit"
            if alias == params.mlflow.champion_alias
            else "run an experiment (`dvc exp run -S ...`), or pass --challenger N"
        )
        msg = f"no '{alias}' version of model '{name}': {how}"
        raise TrackingError(msg)
    return chosen


def _score(
    params: Params, version: store.RegisteredVersion, alias: str | None, batch: pd.DataFrame
) -> _Scored:
    data = params.data
    model = store.load_version_model(params.mlflow.registered_model_name, version.version)
    logger.info("compare: scoring {} rows with v{}", len(batch), version.version)
    try:
        predictions = predict(
            model, batch, data.target, task=data.task, positive_class=data.positive_class
        )
    except (KeyError, ValueError) as exc:
        msg = f"v{version.version} cannot score this batch ({type(exc).__name__}: {exc})"
        raise DataValidationError(msg) from exc
    return _Scored(version=version, alias=alias, model=model, predictions=predictions)


def _compared(
    params: Params,
    batch_path: Path,
    batch: pd.DataFrame,
    champion: _Scored,
    challenger: _Scored,
) -> Comparison:
    """The scores, the interval and test of their difference, the slices, and the verdict."""
    task, metric, settings = params.data.task, params.primary_metric, params.compare
    values = []
    for scored in (champion, challenger):
        value = compute_metrics(scored.predictions, task=task, names=[metric]).get(metric)
        if value is None:
            msg = (
                f"{batch_path}: {metric} is undefined on these {len(batch)} rows "
                "(one class only?): compare needs rows of every class"
            )
            raise DataValidationError(msg)
        values.append(value)
    logger.info(
        "compare: paired bootstrap, {} resamples of {} rows",
        settings.bootstrap_samples,
        len(batch),
    )
    bootstrap = paired_bootstrap(
        champion.predictions,
        challenger.predictions,
        metric,
        task=task,
        n_resamples=settings.bootstrap_samples,
        seed=settings.seed,
    )
    if len(bootstrap.improvements) == 0:
        msg = f"{batch_path}: {metric} is undefined on every resample: too few rows of a class"
        raise DataValidationError(msg)
    low, high = bootstrap.interval(1 - settings.alpha)
    delong = None
    p_value = bootstrap.p_value
    if metric == "roc_auc" and champion.predictions.positive_class is not None:
        preds = champion.predictions
        result = delong_test(
            preds.y_true.to_numpy() == preds.positive_class,
            preds.positive_scores,
            challenger.predictions.positive_scores,
        )
        delong = DelongSummary(
            standard_error=result.standard_error, z=result.z, p_value=result.p_value
        )
        p_value = result.p_value
    gain = improvement(metric, values[0], values[1])
    verdict, reason = decide(gain, p_value, alpha=settings.alpha, min_effect=settings.min_effect)
    return Comparison(
        model_name=params.mlflow.registered_model_name,
        batch=str(batch_path),
        batch_sha256=frame_sha256(batch),
        n_rows=len(batch),
        metric=metric,
        greater_is_better=GREATER_IS_BETTER[metric],
        champion=_compared_model(champion, values[0]),
        challenger=_compared_model(challenger, values[1]),
        improvement=gain,
        interval_low=low,
        interval_high=high,
        confidence=1 - settings.alpha,
        n_resamples=len(bootstrap.improvements),
        test="DeLong" if delong is not None else "paired bootstrap",
        p_value=p_value,
        delong=delong,
        alpha=settings.alpha,
        min_effect=settings.min_effect,
        verdict=verdict,
        reason=reason,
        slices=slice_differences(params, batch, champion.predictions, challenger.predictions),
        min_slice_size=params.evaluate.min_slice_size,
        min_slice_class_size=(
            params.evaluate.min_slice_class_size
            if champion.predictions.positive_class is not None
            else 0
        ),
    )


def _compared_model(scored: _Scored, value: float) -> ComparedModel:
    return ComparedModel(
        version=scored.version.version, run_id=scored.version.run_id, alias=scored.alias,
        value=value,
    )  # fmt: skip


def batch_gates(params: Params, model: Any, batch: pd.DataFrame) -> tuple[GateResult, ...]:
    """The absolute gates of params.yaml on the batch: bounds, uplift, slice gaps, behaviour.

    The uplift baseline is the dummy (prior / mean) model of the batch's own labels;
    the champion gates are this comparison itself, so they are not repeated.
    """
    data = params.data
    task, target = data.task, data.target
    predictions = predict(model, batch, target, task=task, positive_class=data.positive_class)
    metrics = compute_metrics(predictions, task=task)
    dummy = DummyClassifier(strategy="prior") if task == "classification" else DummyRegressor()
    dummy.fit(batch.drop(columns=[target]), batch[target])
    prior = predict(dummy, batch, target, task=task, positive_class=data.positive_class)
    baseline = compute_metrics(prior, task=task)
    intervals = gate_intervals(predictions, prior, params)
    gap_metrics: set[str] = {params.primary_metric, *(r.metric for r in params.gates.slice_gaps)}
    columns = tuple(c for c in params.evaluate.slice_columns if c in batch.columns)
    slices, gaps = slice_report(
        batch, predictions, columns, gap_metrics, params=params,
        gated={(rule.column, rule.metric) for rule in params.gates.slice_gaps},
    )  # fmt: skip
    report = MetricsReport(
        model_sha256="batch", test_sha256=frame_sha256(batch), task=task,
        primary_metric=params.primary_metric, test=metrics, baseline=baseline,
        uplift={k: metrics[k] - baseline[k] for k in metrics if k in baseline},
        train={}, val={}, intervals=intervals.metrics, uplift_intervals=intervals.uplifts,
        slices=slices, slice_gaps=gaps,
    )  # fmt: skip
    behaviour = behaviour_gates(
        model,
        batch.drop(columns=[target]),
        params.gates.behaviour,
        task=task,
        positive_class=data.positive_class,
        seed=params.compare.seed,
    )
    return evaluate_gates(params.gates, report, behaviour=behaviour).gates


def _promotion(
    params: Params, comparison: Comparison, challenger: _Scored, batch: pd.DataFrame
) -> Comparison:
    """Move the champion alias to the challenger when the evidence and its gates allow it."""
    registry = params.mlflow
    name, alias = registry.registered_model_name, registry.champion_alias
    champion, candidate = comparison.champion.version, comparison.challenger.version
    if comparison.verdict != "challenger better":
        return comparison.model_copy(
            update={
                "promotion": f"the verdict is '{comparison.verdict}' ({comparison.reason}); "
                f"'{alias}' stays v{champion}"
            }
        )
    gates = batch_gates(params, challenger.model, batch)
    failed = [gate for gate in gates if gate.passed is False]
    if failed:
        lines = "; ".join(gate.describe() for gate in failed)
        return comparison.model_copy(
            update={
                "challenger_gates": gates,
                "promotion": f"v{candidate} fails {len(failed)} gate(s) on the batch ({lines}); "
                f"'{alias}' stays v{champion}",
            }
        )
    now = store.version_by_alias(name, alias)
    if now is None or now.version != champion:
        msg = (
            f"'{alias}' moved to v{None if now is None else now.version} while v{champion} was "
            "being compared: run `tabpipe compare` again"
        )
        raise TrackingError(msg)
    after = move_champion(
        params,
        candidate,
        champion,
        {"promoted_by": "compare", "compare.batch_sha256": comparison.batch_sha256},
    )
    if after is None or after.version != candidate:
        msg = f"another promotion moved '{alias}' right after this one set it to v{candidate}"
        raise TrackingError(msg)
    return comparison.model_copy(
        update={
            "challenger_gates": gates,
            "promoted": True,
            "promotion": f"v{candidate} is now '{alias}' (replaced v{champion})",
        }
    )
