"""An online A/B test of two models: its definition (a YAML file), its plan and its analysis."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Literal

from pydantic import Field, Strict, model_validator

from tabpipe.records.base import FrozenModel, Measured


class AbArm(FrozenModel):
    """One arm: a name, its share of the traffic, and the registry alias that serves it."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$", min_length=1, max_length=64)
    weight: float = Field(gt=0, lt=1, description="Share of units assigned to this arm.")
    model_alias: str | None = Field(
        None, description="The registry alias that serves this arm (champion, challenger)."
    )


class AbMetric(FrozenModel):
    """An outcome logged per unit, and what the test must be able to detect in it."""

    name: str = Field(min_length=1, description="Its column in the results file.")
    kind: Literal["proportion", "mean"] = Field(
        description="proportion: 0/1 per unit (converted, clicked); mean: any number."
    )
    baseline: float = Field(
        description="Expected value in the control arm (a rate for a proportion)."
    )
    std: float | None = Field(None, gt=0, description="Standard deviation (mean metrics only).")
    minimum_detectable_effect: float = Field(
        gt=0, description="Smallest absolute difference worth detecting, in the metric's units."
    )
    greater_is_better: bool = True

    @model_validator(mode="after")
    def _fits_its_kind(self) -> AbMetric:
        if self.kind == "proportion":
            target = self.baseline + self.minimum_detectable_effect
            if not (0 < self.baseline < 1 and 0 < target < 1):
                msg = (
                    f"{self.name}: a proportion's baseline and baseline + "
                    "minimum_detectable_effect must lie strictly between 0 and 1"
                )
                raise ValueError(msg)
        elif self.std is None:
            msg = f"{self.name}: a mean metric needs std (its standard deviation per unit)"
            raise ValueError(msg)
        return self


class AbExperiment(FrozenModel):
    """The definition of an A/B test; the first arm is the control.

    The minimum sample size is not written here: it follows from ``metric``, ``alpha``,
    ``power`` and the traffic split (``tabpipe ab plan``), so it cannot disagree with them.
    """

    id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        min_length=1,
        max_length=64,
        description="Also the key of the assignment hash: a new id reshuffles every unit.",
    )
    description: str = ""
    status: Literal["draft", "running", "stopped", "concluded"] = "draft"
    start: Annotated[date, Strict(False)] = Field(description="First day (YYYY-MM-DD).")
    end: Annotated[date | None, Strict(False)] = Field(None, description="Last day, if planned.")
    unit: str = Field("unit_id", min_length=1, description="Column of the unit id.")
    arm_column: str = Field("arm", min_length=1, description="Column of the arm served.")
    arms: Annotated[tuple[AbArm, AbArm], Strict(False)] = Field(
        description="Control first, then treatment."
    )
    metric: AbMetric = Field(description="The success metric the test is sized for.")
    guardrails: Annotated[tuple[AbMetric, ...], Strict(False)] = Field(
        (), description="Metrics that must not get worse; analysed, not sized for."
    )
    alpha: float = Field(0.05, gt=0, lt=0.5, description="Two-sided significance level.")
    power: float = Field(0.8, ge=0.5, lt=1)

    @model_validator(mode="after")
    def _consistent(self) -> AbExperiment:
        problems = []
        if not math.isclose(sum(arm.weight for arm in self.arms), 1.0, abs_tol=1e-9):
            problems.append("arms: the weights must add up to 1")
        if self.arms[0].name == self.arms[1].name:
            problems.append("arms: the two arms need different names")
        if self.end is not None and self.end < self.start:
            problems.append("end: before start")
        names = [self.metric.name, *(g.name for g in self.guardrails)]
        if len(set(names)) != len(names):
            problems.append("guardrails: a metric is listed twice")
        if {self.unit, self.arm_column} & set(names) or self.unit == self.arm_column:
            problems.append("unit, arm_column and the metrics need different columns")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def control(self) -> AbArm:
        """The first arm."""
        return self.arms[0]

    @property
    def treatment(self) -> AbArm:
        """The second arm."""
        return self.arms[1]


class AbPlan(Measured):
    """How many units each arm needs to detect the minimum effect with the chosen power."""

    experiment_id: str
    metric: str
    minimum_detectable_effect: float
    alpha: float
    power: float
    per_arm: dict[str, int] = Field(description="Minimum units per arm (the traffic split).")
    total: int = Field(description="Units to enrol so that every arm reaches its minimum.")


class AbMetricResult(Measured):
    """One metric: each arm's mean, the treatment-minus-control effect, its interval and test."""

    metric: str
    kind: Literal["proportion", "mean"]
    greater_is_better: bool
    n: dict[str, int]
    mean: dict[str, float]
    effect: float = Field(description="Treatment minus control, in the metric's units.")
    relative_effect: float | None = Field(description="effect / control mean (None at 0).")
    interval_low: float
    interval_high: float
    p_value: float
    test: str


Verdict = Literal[
    "treatment better", "treatment worse", "no evidence", "not enough data yet", "invalid"
]


class AbAnalysis(Measured):
    """What ``tabpipe ab analyse`` concluded, with every number it rests on."""

    experiment_id: str
    results: str
    control: str
    treatment: str
    primary: AbMetricResult
    guardrails: tuple[AbMetricResult, ...] = ()
    minimum_sample_size: dict[str, int]
    sample_size_reached: bool
    sample_ratio_p_value: float = Field(
        description="Chi-square test of the arm counts against the traffic split."
    )
    alpha: float
    verdict: Verdict
    reason: str
    warnings: tuple[str, ...] = ()
