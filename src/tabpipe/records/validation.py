"""The result of validating a frame: what failed, where, and a few examples."""

from __future__ import annotations

from pydantic import Field

from tabpipe.records.base import FrozenModel


class CheckFailure(FrozenModel):
    """One failed check on one column (``column`` is None for frame-level checks)."""

    column: str | None
    check: str
    n_failures: int = Field(ge=0)
    examples: tuple[str, ...]


class ValidationReport(FrozenModel):
    """Written to ``reports/`` whether validation passes or fails, for machines and CI."""

    source_path: str
    passed: bool
    n_rows: int = Field(ge=0)
    failures: tuple[CheckFailure, ...] = ()
    rows_without_target: int = Field(
        0, ge=0, description="Rows left out before validation: no target (ingest.missing_target)."
    )

    def describe(self, max_examples: int = 5) -> str:
        """One line per failed check, short enough for a terminal."""
        lines = []
        for failure in self.failures:
            where = f"column '{failure.column}'" if failure.column else "dataset"
            shown = ", ".join(failure.examples[:max_examples])
            unit = "rows" if failure.column else "columns"  # dataset checks count columns
            count = f" ({failure.n_failures} {unit})" if failure.n_failures > 1 else ""
            lines.append(f"  - {where}: {failure.check}{count}" + (f": {shown}" if shown else ""))
        return "\n".join(lines)
