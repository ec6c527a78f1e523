"""The model card: what a model is for, what it was trained on, how well it does, where not.

People write the intended use and the limitations they know (``report.model_card``);
everything measured comes from the pipeline's own outputs, so the card cannot drift
from the model it describes. Rendered as Markdown so it reads well in git, in the
MLflow registry (as the version's description) and on a code host.
"""

from __future__ import annotations

from dataclasses import dataclass

from tabpipe.records.dataset import DatasetSummary, SplitSummary
from tabpipe.records.drift import DriftReport
from tabpipe.records.evaluation import GatesReport, LeakageCheck, MetricsReport, ModelSummary
from tabpipe.records.params import Params
from tabpipe.services.gate_tables import gates_table
from tabpipe.utils.text import fmt_number


@dataclass(frozen=True)
class CardInputs:
    """The pipeline outputs a card is written from (drift may be absent)."""

    dataset: DatasetSummary
    split: SplitSummary
    model: ModelSummary
    metrics: MetricsReport
    gates: GatesReport
    drift: DriftReport | None


def _shown(value: float | None) -> str:
    return fmt_number(value, missing="n/a")


def _registry_line(params: Params) -> str:
    registry = params.mlflow
    return (
        f"Registered as `{registry.registered_model_name}` by the promote stage, which finds "
        "the version by the sha256 above: alias "
        f"`{registry.champion_alias}` from a clean commit, `{registry.challenger_alias}` from "
        "an experiment. The registry, not this file, says which version holds an alias "
        "(`tabpipe status`, `make ui`)."
    )


def _task_line(params: Params) -> str:
    data = params.data
    if data.task == "regression":
        return f"Regression of `{data.target}`."
    positive = f" (positive class `{data.positive_class}`)" if data.positive_class else ""
    return f"Classification of `{data.target}`{positive}."


def _threshold_line(params: Params, model: ModelSummary) -> list[str]:
    """How a binary model turns its probability into a label (nothing for other models)."""
    if model.decision_threshold is None:
        return []
    positive = params.data.positive_class or "the positive class"
    return [
        f"- Decision threshold: labelled `{positive}` when P({positive}) >= "
        f"{model.decision_threshold:.4f} ({model.threshold_policy}, chosen on the validation "
        "split and shipped in the model: every label metric, `tabpipe predict` and pyfunc's "
        "`predict` use it; `predict_proba` and the scoring server return probabilities)."
    ]


def _data_section(inputs: CardInputs) -> list[str]:
    dataset, split = inputs.dataset, inputs.split
    missing = [c for c in dataset.columns if c.n_missing]
    lines = [
        "## Training data",
        "",
        f"- Dataset `{dataset.name}`: `{dataset.source_path}` "
        f"(sha256 `{dataset.source_sha256[:16]}`), {dataset.n_rows:,} rows after validation, "
        f"{dataset.n_columns} columns, {dataset.duplicate_rows:,} duplicate rows "
        + ("dropped." if dataset.duplicates_dropped else "kept."),
        "- Split (seed {seed}{strat}): {parts}.".format(
            seed=split.seed,
            strat=", stratified" if split.stratified else "",
            parts=", ".join(f"{part.name} {part.n_rows:,}" for part in split.parts),
        ),
    ]
    if dataset.target.class_counts:
        counts = ", ".join(f"`{k}` {v:,}" for k, v in dataset.target.class_counts.items())
        lines.append(f"- Target `{dataset.target.column}`: {counts}.")
    else:
        lines.append(
            f"- Target `{dataset.target.column}`: mean {_shown(dataset.target.mean)}, "
            f"std {_shown(dataset.target.std)}."
        )
    if missing:
        shown = ", ".join(f"`{c.name}` {c.n_missing:,}" for c in missing)
        lines.append(f"- Missing values (imputed by the model's pipeline): {shown}.")
    return [*lines, ""]


def _metrics_section(metrics: MetricsReport, min_slice_size: int, min_class: int) -> list[str]:
    primary = metrics.primary_metric
    lines = [
        "## Evaluation (test split)",
        "",
        "| metric | test | baseline | train | validation |",
        "|---|---|---|---|---|",
    ]
    for name, value in metrics.test.items():
        label = f"**{name}**" if name == primary else name
        lines.append(
            f"| {label} | {_shown(value)} | {_shown(metrics.baseline.get(name))} | "
            f"{_shown(metrics.train.get(name))} | {_shown(metrics.val.get(name))} |"
        )
    if metrics.interval is not None:
        interval = metrics.interval
        lines += [
            "",
            f"{primary}: {interval.confidence:.0%} bootstrap interval "
            f"[{interval.low:.4f}, {interval.high:.4f}] over {interval.n_resamples} resamples "
            "of the test split. The baseline is a dummy model (majority class or mean).",
        ]
    if metrics.slices:
        rates = [r for r in ("selection_rate", "fpr", "fnr") if r in metrics.slices[0].metrics]
        lines += [
            "",
            "### By slice",
            "",
            "Slices under `evaluate.min_slice_size` rows, or (binary) with fewer than "
            "`evaluate.min_slice_class_size` rows of one class, are marked *small*: their "
            "numbers are mostly noise and no gate uses them."
            + (
                " Selection rate: share labelled positive; FPR / FNR: false positive / "
                "negative rate, the rates fairness reviews compare across groups."
                if rates
                else ""
            ),
            "",
            f"| slice | rows | {primary} | {' | '.join(rates)}{' | ' if rates else ''}",
            "|---|---|---|" + "---|" * len(rates),
        ]
        lines += [
            f"| {s.column} = {s.value} | {s.n_rows:,}"
            + (
                f" (small: {s.smallness(min_slice_size, min_class)})"
                if s.is_small(min_slice_size, min_class)
                else ""
            )
            + f" | {_shown(s.metrics.get(primary))} | "
            + "".join(f"{_shown(s.metrics.get(r))} | " for r in rates)
            for s in metrics.slices
        ]
    return [*lines, ""]


def _limitations(params: Params, inputs: CardInputs) -> list[str]:
    primary = inputs.metrics.primary_metric
    measured = [
        f"{gap.metric} differs by {gap.gap:.4f} across `{gap.column}` "
        f"(best `{gap.best}`, worst `{gap.worst}`)."
        for gap in inputs.metrics.slice_gaps
    ]
    min_rows, min_class = params.evaluate.min_slice_size, params.evaluate.min_slice_class_size
    small = [s for s in inputs.metrics.slices if s.is_small(min_rows, min_class)]
    if small:
        shown = ", ".join(
            f"{s.column} = {s.value} ({s.smallness(min_rows, min_class)})" for s in small
        )
        measured.append(
            f"Slices too small to judge (under {min_rows} rows or {min_class} of a class): {shown}."
        )
    gap = inputs.metrics.train_test_gap()
    measured.append(
        f"Test {primary} is {abs(gap):.4f} {'worse' if gap > 0 else 'better'} than on the "
        "training split (a large shortfall on test means overfitting)."
    )
    return [f"- {item}" for item in (*params.report.model_card.limitations, *measured)]


def _importance_section(metrics: MetricsReport, shown: int = 10) -> list[str]:
    """The features the model relies on most: permutation importance on the test split."""
    if not metrics.importance:
        return []
    primary = metrics.primary_metric
    lines = [
        "## What the model relies on",
        "",
        f"Permutation importance on the test split: how much {primary} worsens when one "
        "feature's values are shuffled (mean and standard deviation over the shuffles). "
        "It measures reliance, not causation; correlated features share their importance.",
        "",
        "| feature | importance | spread (std) |",
        "|---|---|---|",
        *(
            f"| {item.feature} | {item.mean:.4f} | {item.std:.4f} |"
            for item in metrics.importance[:shown]
        ),
    ]
    if len(metrics.importance) > shown:
        lines.append(f"\n{len(metrics.importance) - shown} more in reports/metrics.json.")
    return [*lines, ""]


def _leakage_section(leakage: LeakageCheck | None) -> list[str]:
    """Each feature scored alone on the validation split (train's leakage check)."""
    if leakage is None:
        return ["## Leakage check", "", "Not run for this model.", ""]
    lines = ["## Leakage check", "", leakage.describe() + ".", ""]
    if leakage.top_features:
        lines += [
            f"| feature | {leakage.metric} alone (validation) |",
            "|---|---|",
            *(f"| {item.feature} | {item.score:.4f} |" for item in leakage.top_features),
            "",
        ]
    return lines


def render_model_card(params: Params, inputs: CardInputs) -> str:
    """The model card as Markdown, from declared intent and the pipeline's own outputs."""
    card = params.report.model_card
    model, gates, drift = inputs.model, inputs.gates, inputs.drift
    verdict = "passed" if gates.passed else "FAILED" + ("" if gates.enforced else " (not enforced)")
    hyper = ", ".join(f"{k}={v}" for k, v in params.train.model.model_dump().items() if k != "kind")
    lines = [
        f"# Model card: {params.mlflow.registered_model_name}",
        "",
        "Written by the report stage from the pipeline's outputs; edit `report.model_card` in "
        "params.yaml, not this file. It holds nothing that depends on one machine's MLflow "
        "store, so the same data, params and code give the same card.",
        "",
        "## Model",
        "",
        f"- {_task_line(params)}",
        f"- scikit-learn `{model.model_kind}` in a Pipeline with schema-driven "
        f"preprocessing; {hyper}"
        + (f"; {model.n_iter} boosting iterations kept" if model.n_iter else "")
        + (
            f" (validation loss {min(model.learning_curve['val_loss']):.4f} at its lowest; "
            "the curve per iteration is `reports/plots/learning_curve.json`)"
            if model.learning_curve.get("val_loss")
            else ""
        )
        + ".",
        f"- Model file sha256 `{model.model_sha256}` ({len(model.features)} features); "
        f"MLflow experiment `{params.mlflow.experiment_name}`.",
        f"- {_registry_line(params)}",
        *_threshold_line(params, model),
        "",
        "## Intended use",
        "",
        card.intended_use,
        "",
        "**Out of scope:** " + card.out_of_scope,
        "",
        *_data_section(inputs),
        *_metrics_section(
            inputs.metrics, params.evaluate.min_slice_size, params.evaluate.min_slice_class_size
        ),
        *_importance_section(inputs.metrics),
        f"## Quality gates: {verdict}",
        "",
        *gates_table(gates),
        "",
        "The comparison with the champion (`max_drop_vs_champion`) is made at promotion "
        "time against the registry; the promote run in MLflow records it.",
        "",
        *_leakage_section(model.leakage),
        "## Drift",
        "",
        drift.verdict() + f" (reference `{drift.reference}`, current `{drift.current}`)."
        if drift
        else "No drift report for this run.",
        "",
        "## Limitations",
        "",
        *_limitations(params, inputs),
    ]
    return "\n".join(lines) + "\n"
