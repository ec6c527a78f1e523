"""What the notebook checker and the report stage hand back."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tabpipe.records.base import FrozenModel, PathField

NotebookRule = Literal[
    "invalid-notebook",
    "missing-section",
    "section-order",
    "undocumented-code",
    "no-parameters-cell",
    "stored-outputs",
    "no-kernelspec",
]


class Violation(FrozenModel):
    """One broken rule, located well enough to fix without searching."""

    notebook: PathField
    cell: int | None = Field(description="0-based cell index; None for the notebook as a whole.")
    rule: NotebookRule
    message: str

    def __str__(self) -> str:
        where = f"cell {self.cell}" if self.cell is not None else "notebook"
        return f"{self.notebook}: {where}: [{self.rule}] {self.message}"


class ExecutedNotebook(FrozenModel):
    """A notebook run by papermill and its HTML export."""

    source: PathField
    executed: PathField
    html: PathField
    reader_html: PathField = Field(description="The HTML export for readers: code hidden.")
    parameters: tuple[str, ...] = Field(description="Names of the parameters injected.")
    seconds: float = Field(ge=0)
