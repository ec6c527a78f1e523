"""What train, evaluate and promote hand to each other and to reports: metrics, gates, runs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tabpipe.models.base import FrozenModel


class TrainingRun(FrozenModel):
    """Links the DVC outputs of one training to its MLflow run and logged model."""

    run_id: str
    experiment_id: str
    model_uri: str = Field(description="URI of the model logged in the run (models:/...).")
    model_kind: str
    best_params: dict[str, float | int | str | bool | None] = Field(default_factory=dict)
    n_iter: int | None = Field(None, description="Boosting iterations kept by early stopping.")


class Interval(FrozenModel):
    metric: str
    low: float
    high: float
    confidence: float = 0.95
    n_resamples: int


class SliceMetrics(FrozenModel):
    column: str
    value: str
    n_rows: int
    metrics: dict[str, float]


class SliceGap(FrozenModel):
    column: str
    metric: str
    best: str = Field(description="Slice value with the best metric.")
    worst: str
    gap: float


class MetricsReport(FrozenModel):
    """Written to reports/metrics.json: the DVC metrics file compared across commits."""

    task: Literal["classification", "regression"]
    primary_metric: str
    test: dict[str, float]
    baseline: dict[str, float] = Field(description="Dummy model (majority class / mean).")
    uplift: dict[str, float] = Field(description="test minus baseline, per metric.")
    train: dict[str, float]
    val: dict[str, float]
    interval: Interval | None = None
    slices: tuple[SliceMetrics, ...] = ()
    slice_gaps: tuple[SliceGap, ...] = ()


GateKind = Literal["min", "max", "min_uplift", "max_drop_vs_champion", "max_slice_gap"]


class GateResult(FrozenModel):
    name: str
    kind: GateKind
    metric: str
    value: float | None
    bound: float | None = Field(description="The value the metric had to reach.")
    reference: float | None = Field(
        None, description="Baseline or champion value the bound derives from."
    )
    passed: bool | None = Field(description="None when skipped (e.g. no champion yet).")
    note: str = ""

    def describe(self) -> str:
        verdict = {True: "passed", False: "FAILED", None: "skipped"}[self.passed]
        value = "n/a" if self.value is None else f"{self.value:.4f}"
        bound = "" if self.bound is None else f" (bound {self.bound:.4f})"
        note = f" - {self.note}" if self.note else ""
        return f"{self.name}: {verdict}: {value}{bound}{note}"


class GatesReport(FrozenModel):
    passed: bool
    enforced: bool
    champion_version: str | None = None
    gates: tuple[GateResult, ...]

    @property
    def failed(self) -> tuple[GateResult, ...]:
        return tuple(gate for gate in self.gates if gate.passed is False)


class PromotionResult(FrozenModel):
    promoted: bool
    model_name: str
    alias: str
    version: str | None = None
    previous_version: str | None = None
    reason: str
