"""The model card: what a model is for, what it was trained on, how well it does, where not.

Its sections follow Mitchell et al., "Model Cards for Model Reporting" (FAT* 2019), and
the Hugging Face model card template: model details (owners, licence, citation, how to
load it), intended use and users, inputs, training and evaluation data, quantitative
analyses with intervals and slices, ethical considerations, caveats and
recommendations, software; a YAML metadata header opens it as on the Hugging Face Hub.

People write what only they know (``report.model_card``); everything measured comes
from the pipeline's own outputs, so the card cannot drift from the model it describes.
It holds no date, run id or registry version, which would change the committed file on
every run: the promote stage puts those at the top of the registered version's copy
(:func:`registry_description`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from tabpipe.records.dataset import DatasetSummary, SplitSummary
from tabpipe.records.drift import DriftReport
from tabpipe.records.evaluation import GatesReport, LeakageCheck, MetricsReport, ModelSummary
from tabpipe.records.params import Params
from tabpipe.services.reporting.gate_tables import gates_table
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
    schema: dict[str, dict[str, Any]] = field(default_factory=dict)  # the schema file's columns
    software: dict[str, str] = field(default_factory=dict)  # package: version


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
            f"- Target `{dataset.target.column}`: mean {_shown(dataset.target.mean)}, "
            f"std {_shown(dataset.target.std)}."
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


def _metrics_section(metrics: MetricsReport, min_slice_size: int, min_class: int) -> list[str]:
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


NOT_DECLARED = "not declared (set `report.model_card.{key}` in params.yaml)"


def _declared(value: str | tuple[str, ...] | None, key: str) -> str:
    if isinstance(value, tuple):
        return ", ".join(value) if value else NOT_DECLARED.format(key=key)
    return value if value else NOT_DECLARED.format(key=key)


def metadata_header(params: Params, inputs: CardInputs) -> list[str]:
    """The YAML block a model card opens with on the Hugging Face Hub (tools read it)."""
    card, metrics = params.report.model_card, inputs.metrics
    task = "tabular-regression" if params.data.task == "regression" else "tabular-classification"
    meta: dict[str, Any] = {}
    if card.license:
        meta["license"] = card.license
    meta |= {
        "library_name": "sklearn",
        "tags": [task, "scikit-learn", "tabpipe", params.train.model.kind],
        "datasets": [params.data.name],
        "metrics": list(metrics.test),
        "model-index": [
            {
                "name": params.mlflow.registered_model_name,
                "results": [
                    {
                        "task": {"type": task},
                        "dataset": {"name": params.data.name, "type": params.data.name,
                                    "split": "test"},
                        "metrics": [
                            {"type": name, "value": round(value, 4), "name": f"test {name}"}
                            for name, value in metrics.test.items()
                        ],
                    }
                ],
            }
        ],
    }  # fmt: skip
    body = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100).strip()
    return ["---", body, "---", ""]


def _details_section(params: Params, inputs: CardInputs) -> list[str]:
    """Owners, licence, where questions go, and what the card does not hold (dates)."""
    card = params.report.model_card
    registry = params.mlflow
    return [
        f"- Owners: {_declared(card.owners, 'owners')}; contact: "
        f"{_declared(card.contact, 'contact')}.",
        f"- Licence of the model: {_declared(card.license, 'license')}; of the training "
        f"data: {_declared(card.data_license, 'data_license')}.",
        f"- Version and date: the registry's (`{registry.registered_model_name}`, the version "
        f"that `{registry.champion_alias}` names). The promote stage puts the version number, "
        "its registration date, training run and commit at the top of that version's copy "
        "of this card; this file holds only what the data, params and code determine.",
        f"- Built with tabpipe {inputs.software.get('tabpipe', 'n/a')} (software versions below).",
    ]


def _loading_section(params: Params, model: ModelSummary) -> list[str]:
    """How to load and call the model, from the registry or the DVC output."""
    name = params.mlflow.registered_model_name
    alias = params.mlflow.champion_alias
    proba = "predict_proba" if params.data.task == "classification" else "predict"
    return [
        "## How to load the model",
        "",
        "```python",
        "import mlflow",
        "",
        f'model = mlflow.pyfunc.load_model("models:/{name}@{alias}")  # MLFLOW_TRACKING_URI',
        f"predictions = model.predict(frame)  # a DataFrame of the {len(model.features)}"
        " input columns below",
        "",
        f'pipeline = mlflow.sklearn.load_model("models:/{name}@{alias}")  # scikit-learn',
        f"scores = pipeline.{proba}(frame)",
        "```",
        "",
        "MLflow's flavours build the types the version's MLmodel file lists; "
        f"`tabpipe predict BATCH.csv -o predictions.parquet` validates the batch against the "
        f"schema and loads `{alias}` trusting only tabpipe's own list of types; "
        "`make serve` starts MLflow's scoring server. The DVC output "
        f"`{params.paths.model}` is a skops file: load it with "
        "`tabpipe.repositories.model_file.load_model`, which trusts only the types tabpipe's "
        "pipelines use.",
        "",
    ]


SHOWN_VALUES = 6  # accepted values listed per column; the schema file has them all


def _accepted(spec: dict[str, Any]) -> str:
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
        parts.append(f"{_plain_number(low) if low is not None else '...'} to "
                     f"{_plain_number(high) if high is not None else '...'}")  # fmt: skip
    known = {"dtype", "nullable", "isin", "greater_than_or_equal_to", "greater_than",
             "less_than_or_equal_to", "less_than", "coerce", "required", "title",
             "description", "unique"}  # fmt: skip
    parts += [f"`{key}`" for key in spec if key not in known]
    return "; ".join(parts) or "any"


def _plain_number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _inputs_section(params: Params, inputs: CardInputs) -> list[str]:
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
            f"{_accepted(spec)} | {'yes' if spec.get('nullable') else 'no'} | "
            f"{f'{summary.n_missing:,}' if summary else 'n/a'} | "
            f"{f'{summary.n_unique:,}' if summary else 'n/a'} |"
        )
    ignored = [
        n for n in inputs.schema if n not in inputs.model.features and n != params.data.target
    ]
    if ignored:
        lines.append(f"\nIn the schema but not used by the model: {', '.join(ignored)}.")
    return [*lines, ""]


def _evaluation_data_section(inputs: CardInputs) -> list[str]:
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


def _errors_section(metrics: MetricsReport) -> list[str]:
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


def _ethics_section(params: Params) -> list[str]:
    card = params.report.model_card
    lines = ["## Ethical considerations", ""]
    lines += [f"- {item}" for item in card.ethical_considerations] or [
        f"- {NOT_DECLARED.format(key='ethical_considerations')}."
    ]
    sliced = ", ".join(f"`{c}`" for c in params.evaluate.slice_columns)
    if sliced:
        lines.append(
            f"- Measured: metrics and error rates by {sliced} are in the slice table above; "
            "gaps between groups are bounded only where `gates.slice_gaps` declares a gate."
        )
    return [*lines, ""]


def _software_section(software: dict[str, str]) -> list[str]:
    if not software:
        return []
    shown = ", ".join(f"{name} {version}" for name, version in software.items())
    return ["## Software", "", f"{shown} (exact versions of everything: `uv.lock`).", ""]


def _citation_section(params: Params) -> list[str]:
    citation = params.report.model_card.citation
    if not citation:
        return ["## Citation", "", NOT_DECLARED.format(key="citation") + ".", ""]
    return ["## Citation", "", "```text", citation.strip(), "```", ""]


def registry_description(
    card: str, *, version: str, registered_at: str, run_id: str, git: dict[str, str]
) -> str:
    """The card as a registered version's description: what the committed card cannot hold.

    The metadata header is left out (it is for tools reading the file), and the version,
    its registration date, training run and commit come first.
    """
    body = card
    if body.startswith("---\n"):
        end = body.find("\n---\n", 4)
        body = body[end + 5 :].lstrip("\n") if end >= 0 else body
    commit = git.get("git.commit")
    identity = (
        f"**Version {version}**, registered {registered_at} from training run `{run_id}`"
        + (f", commit `{commit}`" if commit else "")
        + (" with uncommitted changes" if git.get("git.dirty") == "true" else "")
        + "."
    )
    title, _, rest = body.partition("\n")
    return f"{title}\n\n{identity}\n{rest}"


def render_model_card(params: Params, inputs: CardInputs) -> str:
    """The model card as Markdown, from declared intent and the pipeline's own outputs."""
    card = params.report.model_card
    model, gates, drift = inputs.model, inputs.gates, inputs.drift
    verdict = "passed" if gates.passed else "FAILED" + ("" if gates.enforced else " (not enforced)")
    hyper = ", ".join(f"{k}={v}" for k, v in params.train.model.model_dump().items() if k != "kind")
    lines = [
        *metadata_header(params, inputs),
        f"# Model card: {params.mlflow.registered_model_name}",
        "",
        "Written by the report stage from the pipeline's outputs; edit `report.model_card` in "
        "params.yaml, not this file. It holds nothing that depends on one machine's MLflow "
        "store, so the same data, params and code give the same card.",
        "",
        "## Model details",
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
        *_details_section(params, inputs),
        "",
        *_loading_section(params, model),
        "## Intended use",
        "",
        card.intended_use,
        "",
        f"**Intended users:** {_declared(card.intended_users, 'intended_users')}",
        "",
        "**Out of scope:** " + card.out_of_scope,
        "",
        *_inputs_section(params, inputs),
        *_data_section(inputs),
        *_evaluation_data_section(inputs),
        *_metrics_section(
            inputs.metrics, params.evaluate.min_slice_size, params.evaluate.min_slice_class_size
        ),
        *_errors_section(inputs.metrics),
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
        *_ethics_section(params),
        "## Caveats and recommendations",
        "",
        *_limitations(params, inputs),
        *(f"- Recommendation: {item}" for item in card.recommendations),
        "",
        *_software_section(inputs.software),
        *_citation_section(params),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"
