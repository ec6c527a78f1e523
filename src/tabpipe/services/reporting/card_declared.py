"""The model card's declared sections: what people state in ``report.model_card``."""

from __future__ import annotations

from tabpipe.records.evaluation import ModelSummary
from tabpipe.records.params import Params
from tabpipe.services.reporting.card_inputs import CardInputs


def registry_line(params: Params) -> str:
    """Where the registered model is found: the registered name and the champion alias."""
    registry = params.mlflow
    return (
        f"Registered as `{registry.registered_model_name}` by the promote stage, which finds "
        "the version by the sha256 above: alias "
        f"`{registry.champion_alias}` from a clean commit, `{registry.challenger_alias}` from "
        "an experiment. The registry, not this file, says which version holds an alias "
        "(`tabpipe status`, `make ui`)."
    )


def task_line(params: Params) -> str:
    """The task line: classification of which target and classes, or regression."""
    data = params.data
    if data.task == "regression":
        return f"Regression of `{data.target}`."
    positive = f" (positive class `{data.positive_class}`)" if data.positive_class else ""
    return f"Classification of `{data.target}`{positive}."


def threshold_lines(params: Params, model: ModelSummary) -> list[str]:
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


NOT_DECLARED = "not declared (set `report.model_card.{key}` in params.yaml)"


def declared(value: str | tuple[str, ...] | None, key: str) -> str:
    """A value people declared in ``report.model_card``, or how to declare it."""
    if isinstance(value, tuple):
        return ", ".join(value) if value else NOT_DECLARED.format(key=key)
    return value if value else NOT_DECLARED.format(key=key)


def details_section(params: Params, inputs: CardInputs) -> list[str]:
    """Owners, licence, where questions go, and what the card does not hold (dates)."""
    card = params.report.model_card
    registry = params.mlflow
    return [
        f"- Owners: {declared(card.owners, 'owners')}; contact: "
        f"{declared(card.contact, 'contact')}.",
        f"- Licence of the model: {declared(card.license, 'license')}; of the training "
        f"data: {declared(card.data_license, 'data_license')}.",
        f"- Version and date: the registry's (`{registry.registered_model_name}`, the version "
        f"that `{registry.champion_alias}` names). The promote stage puts the version number, "
        "its registration date, training run and commit at the top of that version's copy "
        "of this card; this file holds only what the data, params and code determine.",
        f"- Built with tabpipe {inputs.software.get('tabpipe', 'n/a')} (software versions below).",
    ]


def loading_section(params: Params, model: ModelSummary) -> list[str]:
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


def ethics_section(params: Params) -> list[str]:
    """Ethical considerations, as declared."""
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


def software_section(software: dict[str, str]) -> list[str]:
    """The packages and versions the model was built with."""
    if not software:
        return []
    shown = ", ".join(f"{name} {version}" for name, version in software.items())
    return ["## Software", "", f"{shown} (exact versions of everything: `uv.lock`).", ""]


def citation_section(params: Params) -> list[str]:
    """How to cite the model, as declared."""
    citation = params.report.model_card.citation
    if not citation:
        return ["## Citation", "", NOT_DECLARED.format(key="citation") + ".", ""]
    return ["## Citation", "", "```text", citation.strip(), "```", ""]
