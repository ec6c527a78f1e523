"""What one `tabpipe monitor` run found about one batch."""

from __future__ import annotations

from pydantic import Field

from tabpipe.records.base import Measured
from tabpipe.records.drift import DriftReport
from tabpipe.records.evaluation import GateResult


class MonitorSummary(Measured):
    """What one ``tabpipe monitor`` run found about one batch (its summary.json)."""

    batch: str
    n_rows: int
    labelled: bool
    model_name: str
    champion_version: str
    drift: DriftReport
    metrics: dict[str, float] = Field(default_factory=dict)
    gates: tuple[GateResult, ...] = ()
    gates_passed: bool | None = None
    verdict: str
