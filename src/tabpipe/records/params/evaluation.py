"""The ``evaluate`` and ``gates`` sections: metrics, the decision threshold, the gates."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, Strict, model_validator

from tabpipe.records.base import FrozenModel, StrTuple
from tabpipe.records.params.data import Task

ClassificationMetric = Literal[
    "accuracy", "balanced_accuracy", "precision", "recall", "f1",
    "roc_auc", "pr_auc", "log_loss", "brier",
]  # fmt: skip
RegressionMetric = Literal["rmse", "mae", "r2", "mape"]
MetricName = ClassificationMetric | RegressionMetric
GREATER_IS_BETTER: dict[str, bool] = {
    "accuracy": True, "balanced_accuracy": True, "precision": True, "recall": True, "f1": True,
    "roc_auc": True, "pr_auc": True, "log_loss": False, "brier": False,
    "rmse": False, "mae": False, "r2": True, "mape": False,
}  # fmt: skip
TASK_METRICS: dict[Task, frozenset[str]] = {
    "classification": frozenset(ClassificationMetric.__args__),  # type: ignore[attr-defined]
    "regression": frozenset(RegressionMetric.__args__),  # type: ignore[attr-defined]
}


class ThresholdParams(FrozenModel):
    """How a binary classifier turns the positive-class probability into a label.

    Chosen by the train stage on the validation split and shipped inside the model
    (scikit-learn's FixedThresholdClassifier), so every label metric, `tabpipe predict`
    and pyfunc's ``predict`` use the same value. Multiclass targets take the most
    probable class; regression has no threshold.
    """

    policy: Literal["fixed", "max_f_beta", "min_precision", "min_recall"] = Field(
        "fixed",
        description="fixed: `value` itself; max_f_beta: the threshold with the best F-beta; "
        "min_precision: the most recall with precision >= `value`; min_recall: the most "
        "precision with recall >= `value` (all on the validation split).",
    )
    value: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="fixed: the threshold (default 0.5); min_precision / min_recall: the floor.",
    )
    beta: float = Field(1.0, gt=0, description="max_f_beta: recall counts beta times precision.")

    @model_validator(mode="after")
    def _value_fits_the_policy(self) -> ThresholdParams:
        if self.policy in {"min_precision", "min_recall"} and self.value is None:
            msg = f"value: policy {self.policy} needs the floor to reach (e.g. value: 0.8)"
            raise ValueError(msg)
        if self.policy == "max_f_beta" and self.value is not None:
            msg = "value: policy max_f_beta chooses the threshold itself; remove value"
            raise ValueError(msg)
        return self

    @property
    def is_default(self) -> bool:
        """The conventional 0.5 (what argmax gives for two classes)."""
        return self.policy == "fixed" and self.value in {None, 0.5}


class EvaluateParams(FrozenModel):
    """How evaluate scores the model: primary metric, bootstrap, slices, sample sizes."""

    primary_metric: MetricName | None = Field(
        None,
        description="Metric for the interval, slices and search "
        "(default: roc_auc for classification, rmse for regression).",
    )
    bootstrap_samples: int = Field(
        500,
        ge=0,
        le=10_000,
        description="Resamples of the test split for the intervals of the primary metric, "
        "every gated metric and slice gap; 0 disables them (then every gate is 'point').",
    )
    confidence: float = Field(
        0.95, ge=0.5, le=0.999, description="Two-sided level of every bootstrap interval."
    )
    slice_columns: StrTuple = Field((), description="Columns to report metrics per value of.")
    min_slice_size: int = Field(30, ge=1, description="Smaller slices are listed but not gated.")
    min_slice_class_size: int = Field(
        10,
        ge=0,
        description="Binary: a slice with fewer rows of either class is listed as small, "
        "not gated (its ROC AUC or FNR rests on a handful of rows).",
    )
    threshold: ThresholdParams = Field(
        ThresholdParams(), description="Decision threshold of a binary classifier."
    )
    importance_repeats: int = Field(
        5,
        ge=0,
        le=100,
        description="Shuffles per feature for permutation importance on the test split "
        "(0 disables importance and partial dependence).",
    )
    importance_max_rows: int = Field(
        10_000,
        ge=100,
        description=(
            "Test rows (a seeded sample above this) for permutation importance; partial "
            "dependence averages over a seeded 1,000 of them."
        ),
    )
    max_train_rows: int = Field(
        100_000,
        ge=1_000,
        description="Train-split metrics (the overfitting check) use a seeded sample of at "
        "most this many rows; validation and test are always scored in full.",
    )


GatePolicy = Literal["point", "fail_when_evidence", "pass_when_evidence"]
_POLICY_HELP = (
    "How the gate weighs the test split's chance: 'point' judges the estimate alone; "
    "'fail_when_evidence' fails only when the whole bootstrap interval is beyond the bound "
    "(a guard against clear harm that tolerates noise); 'pass_when_evidence' passes only "
    "when the whole interval is within it (the model must prove it). Default: "
    "gates.policy."
)


class GateRule(FrozenModel):
    """Bounds on one metric. Every bound set here becomes one gate in reports/gates.json."""

    metric: MetricName
    min: float | None = Field(None, description="Absolute lower bound.")
    max: float | None = Field(None, description="Absolute upper bound.")
    min_uplift: float | None = Field(
        None, gt=0, description="Must beat the dummy baseline by at least this much."
    )
    max_drop_vs_champion: float | None = Field(
        None,
        ge=0,
        description="Checked at promotion: may be worse by at most this much than the current "
        "champion, re-scored on this test split, and than the best version ever promoted "
        "on this test split (so small drops cannot add up release after release).",
    )
    policy: GatePolicy | None = Field(
        None, description=_POLICY_HELP + " Applies to min, max and min_uplift."
    )

    @model_validator(mode="after")
    def _has_a_bound(self) -> GateRule:
        if all(
            bound is None
            for bound in (self.min, self.max, self.min_uplift, self.max_drop_vs_champion)
        ):
            msg = (
                f"gate on '{self.metric}' sets no bound "
                "(min, max, min_uplift, max_drop_vs_champion)"
            )
            raise ValueError(msg)
        return self


class SliceGapRule(FrozenModel):
    """A gate on the gap of one metric between the best and worst value of a column."""

    column: str
    metric: MetricName
    max_gap: float = Field(ge=0, description="Largest allowed best-minus-worst slice value.")
    policy: GatePolicy | None = Field(None, description=_POLICY_HELP)


class BehaviourCheck(FrozenModel):
    """A behavioural test of the model (Made-With-ML style) on the test split, as a gate.

    Each test row is changed in one column (set to ``value``, or ``shift`` added to a
    number) and scored again. ``invariance``: the prediction must not change (the label
    for classification; by more than ``tolerance`` for regression). ``directional``: the
    positive-class probability (binary) or the prediction (regression) must move in
    ``direction``, a move the other way within ``tolerance`` being allowed. The share of
    rows that break it must stay at or below ``max_violation_share``.
    """

    kind: Literal["invariance", "directional"]
    column: str
    value: str | float | None = Field(None, description="Set the column to this value.")
    shift: float | None = Field(None, description="Add this to a numeric column.")
    direction: Literal["up", "down"] | None = Field(
        None, description="directional: how the score must move."
    )
    tolerance: float = Field(0.0, ge=0, description="Score changes this small are no violation.")
    max_violation_share: float = Field(
        0.0, ge=0, le=1, description="Largest share of test rows allowed to break the check."
    )

    @model_validator(mode="after")
    def _one_change_and_a_direction(self) -> BehaviourCheck:
        if (self.value is None) == (self.shift is None):
            msg = f"behaviour check on '{self.column}': set exactly one of value, shift"
            raise ValueError(msg)
        if (self.kind == "directional") != (self.direction is not None):
            msg = f"behaviour check on '{self.column}': direction goes with kind directional"
            raise ValueError(msg)
        return self


class GatesParams(FrozenModel):
    """The quality gates evaluate checks, and whether a failure stops the pipeline."""

    enforce: bool = Field(
        True, description="false: failed gates warn instead of stopping (exit 4)."
    )
    policy: GatePolicy = Field(
        "point",
        description="Every rule's and slice gap's policy unless it sets its own: point, "
        "fail_when_evidence or pass_when_evidence (see gates.rules.policy). The interval is "
        "the test split's percentile bootstrap (evaluate.bootstrap_samples, "
        "evaluate.confidence).",
    )
    rules: Annotated[tuple[GateRule, ...], Strict(False)] = ()
    slice_gaps: Annotated[tuple[SliceGapRule, ...], Strict(False)] = ()
    behaviour: Annotated[tuple[BehaviourCheck, ...], Strict(False)] = Field(
        (), description="Behavioural tests (invariance, directional) on the test split."
    )
    fail_on_leakage: bool = Field(
        False,
        description="true: a leakage suspect of the train stage (train.leakage) fails the "
        "gates (exit 4 with gates.enforce); false: a warning only.",
    )

    def policy_of(self, rule: GateRule | SliceGapRule) -> GatePolicy:
        """The policy a rule or slice gap is judged by: its own, else ``gates.policy``."""
        return rule.policy or self.policy
