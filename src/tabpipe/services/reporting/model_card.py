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

from typing import Any

import yaml

from tabpipe.records.params import Params
from tabpipe.services.reporting.card_declared import (
    citation_section,
    declared,
    details_section,
    ethics_section,
    loading_section,
    registry_line,
    software_section,
    task_line,
    threshold_lines,
)
from tabpipe.services.reporting.card_inputs import CardInputs
from tabpipe.services.reporting.card_measured import (
    data_section,
    errors_section,
    evaluation_data_section,
    importance_section,
    inputs_section,
    leakage_section,
    limitations_section,
    metrics_section,
)
from tabpipe.services.reporting.gate_tables import gates_table


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
        f"- {task_line(params)}",
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
        f"- {registry_line(params)}",
        *threshold_lines(params, model),
        *details_section(params, inputs),
        "",
        *loading_section(params, model),
        "## Intended use",
        "",
        card.intended_use,
        "",
        f"**Intended users:** {declared(card.intended_users, 'intended_users')}",
        "",
        "**Out of scope:** " + card.out_of_scope,
        "",
        *inputs_section(params, inputs),
        *data_section(inputs),
        *evaluation_data_section(inputs),
        *metrics_section(
            inputs.metrics, params.evaluate.min_slice_size, params.evaluate.min_slice_class_size
        ),
        *errors_section(inputs.metrics),
        *importance_section(inputs.metrics),
        f"## Quality gates: {verdict}",
        "",
        *gates_table(gates),
        "",
        "The comparison with the champion (`max_drop_vs_champion`) is made at promotion "
        "time against the registry; the promote run in MLflow records it.",
        "",
        *leakage_section(model.leakage),
        "## Drift",
        "",
        drift.verdict() + f" (reference `{drift.reference}`, current `{drift.current}`)."
        if drift
        else "No drift report for this run.",
        "",
        *ethics_section(params),
        "## Caveats and recommendations",
        "",
        *limitations_section(params, inputs),
        *(f"- Recommendation: {item}" for item in card.recommendations),
        "",
        *software_section(inputs.software),
        *citation_section(params),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"
