"""A short account of what the pipeline has produced and where, printed after `make train`."""

from __future__ import annotations

from pathlib import Path

from tabpipe.models.dataset import DatasetModel, SplitSummary
from tabpipe.models.drift import DriftReport
from tabpipe.models.evaluation import GatesReport, MetricsReport, PromotionResult, TrainingRun
from tabpipe.models.params import Params
from tabpipe.repositories.datasets import read_model


def describe_outputs(params: Params, root: Path = Path()) -> str:
    paths = params.paths
    lines = ["tabpipe outputs:"]
    if (root / paths.dataset_summary).is_file():
        dataset = read_model(root / paths.dataset_summary, DatasetModel)
        lines.append(
            f"  validated data   {paths.validated}  ({dataset.n_rows} rows x "
            f"{dataset.n_columns} columns, {dataset.duplicate_rows} duplicate rows)"
        )
        lines.append(f"  dataset summary  {paths.dataset_summary}")
        lines.append(f"  validation       {paths.validation_report}")
    else:
        lines.append(f"  validated data   missing: run `dvc repro` ({paths.validated})")
    if (root / paths.split_summary).is_file():
        split = read_model(root / paths.split_summary, SplitSummary)
        counts = ", ".join(f"{part.name}={part.n_rows}" for part in split.parts)
        lines.append(f"  splits           {paths.split_dir}/  ({counts})")
        lines.append(f"  split summary    {paths.split_summary}")
    else:
        lines.append(f"  splits           missing: run `dvc repro` ({paths.split_dir})")
    if (root / paths.training_run).is_file():
        run = read_model(root / paths.training_run, TrainingRun)
        lines.append(f"  model            {paths.model}  ({run.model_kind}, run {run.run_id})")
    if (root / paths.metrics).is_file():
        metrics = read_model(root / paths.metrics, MetricsReport)
        primary = metrics.primary_metric
        interval = (
            f" (95% CI {metrics.interval.low:.4f} to {metrics.interval.high:.4f})"
            if metrics.interval
            else ""
        )
        baseline = metrics.baseline.get(primary)
        versus = f", baseline {baseline:.4f}" if baseline is not None else ""
        lines.append(
            f"  metrics          {paths.metrics}  (test {primary} "
            f"{metrics.test[primary]:.4f}{interval}{versus})"
        )
    if (root / paths.gates).is_file():
        gates = read_model(root / paths.gates, GatesReport)
        verdict = "passed" if gates.passed else f"FAILED ({len(gates.failed)} gate(s))"
        lines.append(f"  quality gates    {paths.gates_summary}  ({verdict})")
    if (root / paths.promotion).is_file():
        promotion = read_model(root / paths.promotion, PromotionResult)
        champion = (
            f"{promotion.model_name} v{promotion.version} is '{promotion.alias}'"
            if promotion.version
            else "no champion"
        )
        lines.append(f"  promotion        {paths.promotion}  ({champion}: {promotion.reason})")
    drift_summary = root / paths.drift_dir / "drift.json"
    if drift_summary.is_file():
        drift = read_model(drift_summary, DriftReport)
        lines.append(f"  drift            {paths.drift_dir}/drift.html  ({drift.verdict()})")
    if (root / paths.model_card).is_file():
        lines.append(f"  model card       {paths.model_card}")
    notebooks = [
        root / paths.notebooks_dir / f"{source.stem}.html" for source in params.report.notebooks
    ]
    if any(html.is_file() for html in notebooks):
        shown = ", ".join(str(html.relative_to(root)) for html in notebooks if html.is_file())
        lines.append(f"  notebooks        {shown}")
    if (root / paths.promotion).is_file():
        lines.append("  compare runs     make ui, then open http://127.0.0.1:5000")
    return "\n".join(lines)
