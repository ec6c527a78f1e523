"""The model card's measured sections: data, inputs, metrics, errors, importance, caveats."""

from __future__ import annotations

from typing import Any

from tabpipe.records.evaluation import LeakageCheck, MetricsReport
from tabpipe.records.params import Params
from tabpipe.services.reporting.card_inputs import CardInputs, shown_number


def data_section(inputs: CardInputs) -> list[str]:
    """Training data: the dataset, its source digest, the split and the target."""
    dataset, split = inputs.dataset, inputs.split
    missing = [c for c in dataset.columns if c.n_missing]
    lines = [
        "## Training data",
        "",
        f"- Dataset `{dataset.name}`: `{dataset.source_path}` "
        f"(sha256 `{dataset.source_sha256}`), {dataset.n_rows:,} rows after validation "
        f"(content sha256 `{dataset.content_sha256}`), "
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
            f"- Target `{dataset.target.column}`: mean {shown_number(dataset.target.mean)}, "
            f"std {shown_number(dataset.target.std)}."
        )
    if dataset.rows_without_target:
        lines.append(
            f"- {dataset.rows_without_target:,} raw rows had no `{dataset.target.column}` and "
            "were left out of training and evaluation (`ingest.missing_target: drop`)."
        )
    if missing:
        shown = ", ".join(f"`{c.name}` {c.n_missing:,}" for c in missing)
        lines.append(f"- Missing values (handled by the model's pipeline): {shown}.")
    return [*lines, ""]


def metrics_section(metrics: MetricsReport, min_slice_size: int, min_class: int) -> list[str]:
    """Quantitative analyses: test metrics with intervals, and the slices."""
    primary = metrics.primary_metric
    lines = [
        "## Quantitative analyses (test split)",
        "",
        "| metric | test | baseline | train | validation |",
        "|---|---|---|---|---|",
    ]
    for name, value in metrics.test.items():
        label = f"**{name}**" if name == primary else name
        lines.append(
            f"| {label} | {shown_number(value)} | {shown_number(metrics.baseline.get(name))} | "
            f"{shown_number(metrics.train.get(name))} | {shown_number(metrics.val.get(name))} |"
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
            + f" | {shown_number(s.metrics.get(primary))} | "
            + "".join(f"{shown_number(s.metrics.get(r))} | " for r in rates)
            for s in metrics.slices
        ]
    return [*lines, ""]


def limitations_section(params: Params, inputs: CardInputs) -> list[str]:
    """Caveats and recommendations: declared ones, then what the outputs show."""
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


def importance_section(metrics: MetricsReport, shown: int = 10) -> list[str]:
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


def leakage_section(leakage: LeakageCheck | None) -> list[str]:
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


SHOWN_VALUES = 6  # accepted values listed per column; the schema file has them all


def accepted_values(spec: dict[str, Any]) -> str:
    """A schema column's checks, in words."""
    parts = []
    if "isin" in spec:
        values = [str(v) for v in spec["isin"]]
        shown = ", ".join(values[:SHOWN_VALUES])
        if len(values) > SHOWN_VALUES:
            shown += f", ... ({len(values)} in all)"
        parts.append(f"one of {shown}")
    low = spec.get("greater_than_or_equal_to", spec.get("greater_than"))
    high = spec.get("less_than_or_equal_to", spec.get("less_than"))
    if low is not None or high is not None:
        parts.append(f"{plain_number(low) if low is not None else '...'} to "
                     f"{plain_number(high) if high is not None else '...'}")  # fmt: skip
    known = {"dtype", "nullable", "isin", "greater_than_or_equal_to", "greater_than",
             "less_than_or_equal_to", "less_than", "coerce", "required", "title",
             "description", "unique"}  # fmt: skip
    parts += [f"`{key}`" for key in spec if key not in known]
    return "; ".join(parts) or "any"


def plain_number(value: Any) -> str:
    """A schema bound as people write it (no trailing zeros)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def inputs_section(params: Params, inputs: CardInputs) -> list[str]:
    """Every column the model reads: its type, accepted values and missing values."""
    columns = {c.name: c for c in inputs.dataset.columns}
    lines = [
        "## Inputs",
        "",
        f"A batch is validated against `{params.data.schema_path}` (pandera) before the "
        f"model sees it; the model reads these {len(inputs.model.features)} columns (missing "
        "and distinct values: counted in all validated rows).",
        "",
        "| column | type | accepted values | may be missing | missing | distinct |",
        "|---|---|---|---|---|---|",
    ]
    for name in inputs.model.features:
        spec = inputs.schema.get(name, {})
        summary = columns.get(name)
        lines.append(
            f"| {name} | {spec.get('dtype', summary.dtype if summary else 'n/a')} | "
            f"{accepted_values(spec)} | {'yes' if spec.get('nullable') else 'no'} | "
            f"{f'{summary.n_missing:,}' if summary else 'n/a'} | "
            f"{f'{summary.n_unique:,}' if summary else 'n/a'} |"
        )
    ignored = [
        n for n in inputs.schema if n not in inputs.model.features and n != params.data.target
    ]
    if ignored:
        lines.append(f"\nIn the schema but not used by the model: {', '.join(ignored)}.")
    return [*lines, ""]


def evaluation_data_section(inputs: CardInputs) -> list[str]:
    """Evaluation data: the test split the metrics come from."""
    test = next((p for p in inputs.split.parts if p.name == "test"), None)
    rows = f"{test.n_rows:,} rows" if test else "the test split"
    return [
        "## Evaluation data",
        "",
        f"The test split: {rows} held out by the split stage (seed {inputs.split.seed}), never "
        f"seen by training, early stopping or the threshold choice; content sha256 "
        f"`{inputs.metrics.test_sha256}`.",
        "",
    ]


def errors_section(metrics: MetricsReport) -> list[str]:
    """Where the loss concentrates, by decile of the model's score (no rows: they are data)."""
    errors = metrics.errors
    if errors is None or not errors.deciles:
        return []
    lines = [
        "### By decile of the score",
        "",
        f"Test rows ranked by {errors.score}, in ten groups of equal size; actual: "
        + (
            "share of the positive class."
            if errors.score.startswith("P(")
            else ("accuracy." if "confidence" in errors.score else "mean of the target.")
        )
        + " The worst single predictions are in the model report.",
        "",
        f"| decile | rows | score from | to | mean score | actual | mean {errors.loss} |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {d.decile} | {d.n_rows:,} | {d.score_low:.4g} | {d.score_high:.4g} | "
            f"{d.mean_score:.4f} | {d.actual:.4f} | {d.mean_loss:.4f} |"
            for d in errors.deciles
        ),
    ]
    return [*lines, ""]
