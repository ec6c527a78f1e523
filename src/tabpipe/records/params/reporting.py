"""The ``report`` section: which notebooks run, the rules they follow, the model card."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, Strict

from tabpipe.records.base import FrozenModel, PathField, StrTuple

DEFAULT_SECTIONS = (
    "Data Import and Validation",
    "Exploratory Data Analysis",
    "Data Processing",
    "Results and Validation",
    "Conclusions",
)


class NotebookRules(FrozenModel):
    """What every committed notebook must look like (checked by ``tabpipe notebooks lint``)."""

    required_sections: StrTuple = Field(
        DEFAULT_SECTIONS,
        description="Level-1 Markdown headings every notebook holds, in this order.",
    )
    min_documented_ratio: float = Field(
        0.8, ge=0, le=1, description="Share of code cells that must begin with a # comment."
    )


class ModelCardParams(FrozenModel):
    """What only people can say about a model; the card adds everything measured."""

    intended_use: str = Field(
        "Describe who uses the predictions, for what decision, on which population.",
        min_length=1,
    )
    out_of_scope: str = Field("Describe the uses the model must not serve.", min_length=1)
    limitations: StrTuple = Field(
        (), description="Known limits of the data or the method, one per item."
    )
    intended_users: str | None = Field(
        None, description="Who reads or acts on the predictions (a role, a team)."
    )
    owners: StrTuple = Field(
        (), description="People or team answerable for the model, e.g. 'Risk team <risk@x.org>'."
    )
    contact: str | None = Field(None, description="Where questions and problems go.")
    license: str | None = Field(None, description="Licence of the model (an SPDX id, e.g. MIT).")
    data_license: str | None = Field(None, description="Licence of the training data.")
    citation: str | None = Field(None, description="How to cite the model or its data.")
    ethical_considerations: StrTuple = Field(
        (), description="Risks and harms to weigh (sensitive features, affected people)."
    )
    recommendations: StrTuple = Field(
        (), description="What users of the model should do or check, one per item."
    )


class ReportParams(FrozenModel):
    """The eda and report stages: which notebooks run, how, and under which rules."""

    data_notebooks: Annotated[tuple[PathField, ...], Strict(False)] = Field(
        (Path("notebooks/01-eda.ipynb"),),
        description="Notebooks on the data alone (validated data, splits, ingest and split "
        "records), run by the eda stage (`tabpipe eda`) into paths.eda_dir: a model-only "
        "experiment never runs them.",
    )
    notebooks: Annotated[tuple[PathField, ...], Strict(False)] = Field(
        (Path("notebooks/02-model-report.ipynb"),),
        description="Notebooks on the model's outputs, run by `tabpipe report` into "
        "paths.notebooks_dir.",
    )
    kernel_name: str = Field(
        "python3", min_length=1, description="Jupyter kernel; python3 is this environment's."
    )
    cell_timeout_s: int = Field(600, ge=1, description="A cell running longer fails the run.")
    max_parallel: int = Field(
        2, ge=1, description="Notebooks run at once, each in its own process and kernel."
    )
    rules: NotebookRules = NotebookRules()
    model_card: ModelCardParams = ModelCardParams()
