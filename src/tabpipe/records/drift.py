"""Drift results: what Evidently measured per column, and the verdict against the gate."""

from __future__ import annotations

from pydantic import Field

from tabpipe.records.base import Measured


class ColumnDrift(Measured):
    """One column's drift: Evidently's method, its score against the threshold, the verdict."""

    column: str
    method: str = Field(description="Evidently's test or distance for this column.")
    score: float = Field(description="p-value for statistical tests, distance otherwise.")
    threshold: float
    drifted: bool


class DriftReport(Measured):
    """Written to reports/drift/drift.json; ``drifted_share`` is the DVC metric."""

    model_sha256: str | None = Field(
        None, description="The model whose predictions were compared (None: no model)."
    )
    reference: str
    current: str
    reference_rows: int = Field(description="Rows compared after sampling.")
    current_rows: int
    sampled: bool = Field(description="True when a side was larger than drift.max_rows.")
    n_columns: int
    n_drifted: int
    drifted_share: float
    max_drifted_share: float
    passed: bool
    judged: bool = Field(
        True,
        description="False when a side had fewer rows than drift.min_rows: the tests "
        "would alarm on noise, so no verdict is given (and the gate passes).",
    )
    min_rows: int = Field(0, description="drift.min_rows when the report was made.")
    columns: tuple[ColumnDrift, ...]

    @property
    def drifted(self) -> tuple[ColumnDrift, ...]:
        """The columns whose score crossed their threshold."""
        return tuple(column for column in self.columns if column.drifted)

    def verdict(self) -> str:
        """One line for cron and CI."""
        if not self.judged:
            return (
                f"NOT JUDGED: {min(self.reference_rows, self.current_rows)} rows, fewer than "
                f"drift.min_rows ({self.min_rows}): too few rows to tell drift from noise"
            )
        state = "OK" if self.passed else "DRIFT"
        names = ", ".join(f"{c.column} ({c.method} {c.score:.3g})" for c in self.drifted)
        return (
            f"{state}: {self.n_drifted}/{self.n_columns} columns drifted "
            f"(share {self.drifted_share:.2f}, gate {self.max_drifted_share:.2f})"
            + (f": {names}" if names else "")
        )
