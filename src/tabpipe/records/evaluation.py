"""What train, evaluate and promote hand to each other and to reports: metrics, gates, runs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tabpipe.records.base import VERBATIM, Measured
from tabpipe.records.params import GREATER_IS_BETTER, GatePolicy


class FeatureScore(Measured):
    """How well one feature predicts the target on its own (the leakage check)."""

    feature: str
    score: float = Field(description="Validation score of a model that sees this feature alone.")


class LeakageCheck(Measured):
    """Features that predict the target almost perfectly: usually computed from it."""

    metric: Literal["roc_auc", "r2"]
    threshold: float = Field(description="train.leakage.max_single_feature_score")
    top_features: tuple[FeatureScore, ...] = Field(
        description="The highest single-feature scores, best first."
    )
    linear_score: float | None = Field(
        None, description="Regression: R² of one linear model on every numeric feature."
    )
    suspects: tuple[str, ...] = Field(
        description="Features at or above the threshold (alone, or needed by the linear fit)."
    )

    def describe(self) -> str:
        """One line for logs, the model card and the report."""
        if not self.suspects:
            head = f"no feature predicts the target alone ({self.metric} < {self.threshold:g})"
            if not self.top_features:
                return head
            best = self.top_features[0]
            return f"{head}; strongest alone: {best.feature} {best.score:.4f}"
        scores = {item.feature: item.score for item in self.top_features}
        named = ", ".join(
            f"{name} ({self.metric} {scores[name]:.4f} alone)" if name in scores else name
            for name in self.suspects
        )
        linear = (
            ""
            if self.linear_score is None or self.linear_score < self.threshold
            else f"; a linear model on the numeric features reaches R² {self.linear_score:.4f}"
        )
        return (
            f"possible target leakage: {named}{linear}. A feature this predictive is usually "
            "computed from the target or recorded after it: check how it is produced, and drop "
            "it (train.exclude_columns) unless it is known at prediction time"
        )


class SearchTrial(Measured):
    """One trial of the train stage's search: its values and its validation score."""

    number: int
    state: Literal["complete", "pruned"]
    value: float | None = Field(description="The primary metric on the validation split.")
    params: dict[str, float | int | str | bool | None]


class SearchSummary(Measured):
    """The train stage's hyperparameter search: every trial, the best, what mattered."""

    sampler: str
    pruner: str
    metric: str
    best_trial: int
    best_value: float
    trials: tuple[SearchTrial, ...]
    importances: dict[str, float] = Field(
        default_factory=dict,
        description="Optuna's fANOVA importance of each searched hyperparameter (sums to "
        "1; empty with fewer than two completed trials).",
    )


class ModelSummary(Measured):
    """What the train stage fitted, written beside the model (models/model.json).

    Only what data, params and code determine: the same inputs give the same file on
    every machine. The MLflow run that logged the model is found by ``model_sha256``
    (a tag of the run), never written here, because run ids belong to one store.
    """

    model_sha256: str = Field(description="sha256 of the skops model file.")
    model_kind: str
    best_params: dict[str, float | int | str | bool | None] = Field(default_factory=dict)
    n_iter: int | None = Field(None, description="Boosting iterations kept by early stopping.")
    features: tuple[str, ...]
    train_sha256: str = Field(description="Content digest of the train split it was fitted on.")
    val_sha256: str = Field(description="Content digest of the validation split.")
    leakage: LeakageCheck | None = Field(
        None, description="Single-feature scores on the validation split (leakage check)."
    )
    decision_threshold: float | None = Field(
        None,
        description="Binary classifier: P(positive) at or above it is labelled positive "
        "(chosen on the validation split, shipped in the model).",
    )
    threshold_policy: str | None = Field(None, description="How the threshold was chosen.")
    learning_curve: dict[str, tuple[float, ...]] = Field(
        default_factory=dict,
        description="Boosting models: loss per iteration on the train and validation splits "
        "(train_loss, val_loss), as the learner recorded it.",
    )
    search: SearchSummary | None = Field(None, description="The search, with train.search.")


class Interval(Measured):
    """A bootstrap confidence interval of one metric on the test split."""

    metric: str
    low: float
    high: float
    confidence: float = 0.95
    n_resamples: int


def is_small_slice(
    n_rows: int, n_minority: int | None, min_rows: int, min_class_rows: int = 0
) -> bool:
    """Whether a slice is too small to judge its metrics by.

    Under ``min_rows`` rows, or (binary: ``n_minority`` counts its rarer class) under
    ``min_class_rows`` rows of one class.
    """
    few_of_a_class = n_minority is not None and n_minority < min_class_rows
    return n_rows < min_rows or few_of_a_class


class SliceMetrics(Measured):
    """The metrics of the rows where ``column`` equals ``value``."""

    column: str
    value: str
    n_rows: int
    metrics: dict[str, float]
    n_minority: int | None = Field(
        None, description="Binary: rows of the slice's rarer class (positive or negative)."
    )

    def is_small(self, min_rows: int, min_class_rows: int = 0) -> bool:
        """Too few rows, or (binary) too few of one class, for its metrics to mean much."""
        return is_small_slice(self.n_rows, self.n_minority, min_rows, min_class_rows)

    def smallness(self, min_rows: int, min_class_rows: int = 0) -> str:
        """Why the slice is small ('' when it is not), for readers."""
        if self.n_rows < min_rows:
            return f"{self.n_rows} rows"
        if self.is_small(min_rows, min_class_rows):
            return f"{self.n_minority} of one class"
        return ""


class SliceGap(Measured):
    """The largest difference of one metric between the values of a slice column."""

    column: str
    metric: str
    best: str = Field(description="Slice value with the best metric.")
    worst: str
    gap: float
    low: float | None = Field(None, description="Bootstrap interval of the gap: lower end.")
    high: float | None = Field(None, description="Bootstrap interval of the gap: upper end.")


class FeatureImportance(Measured):
    """Permutation importance of one feature on the test split, over several shuffles."""

    feature: str
    mean: float = Field(
        description="Mean worsening of the primary metric when the feature is shuffled "
        "(in its units; positive: the model relies on it)."
    )
    std: float = Field(description="Spread of that worsening over the shuffles.")


FeatureValue = str | float | int | bool | None


class ScoreDecile(Measured):
    """One tenth of the test rows, ranked by the model's score (decile 1: the lowest scores)."""

    decile: int
    n_rows: int
    score_low: float
    score_high: float
    mean_score: float
    actual: float = Field(
        description="Binary: share of the positive class; multiclass: accuracy; "
        "regression: mean of the target."
    )
    mean_loss: float = Field(
        description="Mean per-row loss: log loss (classification) or absolute error."
    )


class WorstPrediction(Measured):
    """A test row the model got most wrong (largest per-row loss), with its features."""

    row: int = Field(description="Position of the row in the test split (0-based).")
    actual: Annotated[str | float, VERBATIM]
    predicted: str | float
    score: float = Field(
        description="Classification: the probability given to the actual class; "
        "regression: the predicted value."
    )
    loss: float
    features: Annotated[dict[str, FeatureValue], VERBATIM]


class ErrorAnalysis(Measured):
    """Where the model errs on the test split: metrics by score decile, and its worst rows."""

    score: str = Field(description="What the deciles rank rows by.")
    loss: str = Field(description="The per-row loss the deciles average and worst rows rank.")
    deciles: tuple[ScoreDecile, ...]
    worst: tuple[WorstPrediction, ...]


class MetricsReport(Measured):
    """Written to reports/metrics.json (a cached DVC output); scores.json holds its headline."""

    model_sha256: str = Field(description="The model these metrics describe.")
    test_sha256: str = Field(description="Content digest of the test split scored.")
    task: Literal["classification", "regression"]
    primary_metric: str
    test: dict[str, float]
    baseline: dict[str, float] = Field(description="Dummy model (majority class / mean).")
    uplift: dict[str, float] = Field(description="test minus baseline, per metric.")
    train: dict[str, float]
    val: dict[str, float]
    interval: Interval | None = None
    intervals: tuple[Interval, ...] = Field(
        (), description="Bootstrap intervals of the gated metrics on the test split."
    )
    uplift_intervals: tuple[Interval, ...] = Field(
        (),
        description="Bootstrap intervals of test minus baseline (the same resampled rows "
        "for both), per metric with a min_uplift gate.",
    )
    slices: tuple[SliceMetrics, ...] = ()
    slice_gaps: tuple[SliceGap, ...] = ()
    decision_threshold: float | None = Field(
        None, description="Binary: the threshold every label metric used (the model's own)."
    )
    importance: tuple[FeatureImportance, ...] = Field(
        (), description="Permutation importance per feature, most important first."
    )
    errors: ErrorAnalysis | None = Field(None, description="Score deciles and worst predictions.")

    def train_test_gap(self, metric: str | None = None) -> float:
        """How much worse the test score is than the train score (default: primary metric).

        In the metric's units and whichever way it improves: positive means worse on test
        (overfitting shows as a large positive gap), negative means better on test.
        """
        name = metric or self.primary_metric
        difference = self.train[name] - self.test[name]
        return difference if GREATER_IS_BETTER[name] else -difference

    def weakest_slice(
        self, min_rows: int, metric: str | None = None, min_class_rows: int = 0
    ) -> SliceMetrics | None:
        """The slice with the worst score (default: primary metric) among those not small.

        Worst follows the metric's direction: the lowest ROC AUC, the highest RMSE.
        Small slices (:meth:`SliceMetrics.is_small`) are left out: their score is noise.
        """
        name = metric or self.primary_metric
        scored = [
            s for s in self.slices if name in s.metrics and not s.is_small(min_rows, min_class_rows)
        ]
        if not scored:
            return None
        pick = min if GREATER_IS_BETTER[name] else max
        return pick(scored, key=lambda s: s.metrics[name])


GateKind = Literal[
    "min", "max", "min_uplift", "max_drop_vs_champion", "max_drop_vs_best", "max_slice_gap",
    "no_leakage", "behaviour",
]  # fmt: skip


class GateResult(Measured):
    """One gate's verdict: the metric's value, the bound it had to reach, and why."""

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
    policy: GatePolicy = Field(
        "point", description="What decided: the estimate, or the interval (gates.policy)."
    )
    low: float | None = Field(None, description="Bootstrap interval of the value: lower end.")
    high: float | None = Field(None, description="Bootstrap interval of the value: upper end.")

    @property
    def interval_text(self) -> str:
        """``[low, high]`` of the value, or empty when it has no interval."""
        if self.low is None or self.high is None:
            return ""
        return f"[{self.low:.4f}, {self.high:.4f}]"

    def describe(self) -> str:
        """One line for logs and messages: name, verdict, value, interval, bound, policy, note."""
        verdict = {True: "passed", False: "FAILED", None: "skipped"}[self.passed]
        value = "n/a" if self.value is None else f"{self.value:.4f}"
        interval = f" {self.interval_text}" if self.interval_text else ""
        bound = "" if self.bound is None else f" (bound {self.bound:.4f}"
        if bound:
            bound += ")" if self.policy == "point" else f", {self.policy})"
        note = f" - {self.note}" if self.note else ""
        return f"{self.name}: {verdict}: {value}{interval}{bound}{note}"


class GatesReport(Measured):
    """The gates that data, params and code decide (reports/gates.json, a cached DVC output).

    Comparisons with the registry's champion depend on the store, not on the
    repository, so the promote stage checks them at promotion time (PromotionResult).
    """

    model_sha256: str = Field(description="The model these verdicts are about.")
    passed: bool
    enforced: bool
    gates: tuple[GateResult, ...]

    @property
    def failed(self) -> tuple[GateResult, ...]:
        """The gates that failed (a skipped gate is not a failure)."""
        return tuple(gate for gate in self.gates if gate.passed is False)


PromotionMode = Literal["champion", "challenger", "explicit"]


class PromotionResult(Measured):
    """What one promote did (reports/promotion.json: this clone's record, not DVC-tracked)."""

    promoted: bool = Field(description="True when an alias now points at this model's version.")
    mode: PromotionMode = Field(
        description="champion: a run on a clean commit; challenger: an experiment or "
        "uncommitted work tree; explicit: `tabpipe promote --version N`."
    )
    model_name: str
    model_sha256: str
    alias: str | None = Field(None, description="The alias moved to the version, if any.")
    version: str | None = None
    champion_before: str | None = Field(None, description="Champion version when promote began.")
    champion_after: str | None = Field(None, description="Champion version when promote ended.")
    comparison: tuple[GateResult, ...] = Field(
        (), description="The champion gates, against the champion re-scored on this test split."
    )
    reason: str
    tracking_uri: str
    decided_at: str = Field(description="UTC time of the decision (ISO 8601).")
    inputs_sha256: str | None = Field(
        None,
        description="Digest of what this decision read (model, gates, metrics, test split, "
        "mode, alias, store and the store's state after it) when an alias holds the model: "
        "the next promote with the same digest has nothing to do and does not open MLflow.",
    )
