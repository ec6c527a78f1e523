"""The typed form of ``params.yaml``.

Every section a stage reads is a frozen, strict model, so a bad key or value
fails before any work starts, naming the key path and the allowed values.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, Strict, field_validator, model_validator

from tabpipe.records.base import FrozenModel, PathField, StrTuple

Task = Literal["classification", "regression"]
FileFormat = Literal["csv", "parquet"]


class DataParams(FrozenModel):
    """What the raw dataset is and how to read it: the only place a new dataset is described."""

    name: str = Field(min_length=1, description="Short dataset name used in summaries and runs.")
    raw_path: PathField = Field(description="Raw file, relative to the repository root.")
    format: FileFormat = Field(
        "csv", description="csv (plain or compressed, inferred from the suffix) or parquet."
    )
    delimiter: str = Field(",", min_length=1, max_length=1, description="CSV field separator.")
    encoding: str = Field("utf-8", description="CSV text encoding.")
    missing_values: StrTuple = Field(
        ("?",), description="Markers that mean 'missing', after whitespace is stripped."
    )
    drop_columns: StrTuple = Field(
        (), description="Columns removed before validation (e.g. a stored row index)."
    )
    target: str = Field(min_length=1, description="Column to predict.")
    task: Task = "classification"
    positive_class: str | None = Field(
        None,
        description="Binary classification: the class whose probability is scored "
        "(default: the last class in sorted order, scikit-learn's convention). Classes "
        "are compared as text: 1 means the class 1, true the class True.",
    )
    schema_path: PathField = Field(description="pandera schema (YAML) of the normalised data.")

    @field_validator("positive_class", mode="before")
    @classmethod
    def _class_as_text(cls, value: object) -> object:
        """An integer-coded or boolean class written unquoted (1, true) names that class."""
        return str(value) if isinstance(value, int) else value  # bool is an int: True


class IngestParams(FrozenModel):
    """Policies for the ingest stage."""

    duplicates: Literal["keep", "drop"] = Field(
        "keep", description="Duplicate rows are always counted; 'drop' also removes them."
    )
    max_failure_examples: int = Field(
        5, ge=1, le=100, description="Failure cases shown per check in the console message."
    )
    missing_target: Literal["drop", "fail"] = Field(
        "drop",
        description="Rows without a target value, when the schema declares the target "
        "nullable: 'drop' leaves them out (counted in the dataset summary and the "
        "validation report, never trained or evaluated on), 'fail' stops ingest naming "
        "them. A target the schema declares non-nullable fails validation either way. "
        "Batches (predict, monitor, compare) may always hold rows without a target.",
    )
    min_rows: int | None = Field(
        None,
        ge=1,
        description="Fewest valid rows accepted (default: enough for every split part to get "
        "10 rows, i.e. 10 / the smallest of split.train, split.val, split.test). For "
        "classification every class also needs 1 / that fraction rows, to appear in "
        "every part.",
    )
    max_missing_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Largest share of missing cells in the whole dataset (after the "
        "schema's per-column nullability), e.g. 0.5: at most half the cells missing.",
    )


class SplitParams(FrozenModel):
    """Train / validation / test fractions and how rows are assigned."""

    train: float = Field(0.7, gt=0, lt=1)
    val: float = Field(0.15, gt=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)
    seed: int = Field(42, ge=0)
    method: Literal["auto", "shuffle", "hash"] = Field(
        "auto",
        description="shuffle: scikit-learn's seeded shuffle (exactly stratified), needs the "
        "whole table in one process; hash: each row's part comes from a seeded hash of the "
        "row (of split.group_column when set), so it does not depend on row order or "
        "partitioning and is stratified in expectation; auto: shuffle on the pandas "
        "engine, hash on the dask engine.",
    )
    stratify: bool = Field(True, description="Stratify on the target (classification only).")
    group_column: str | None = Field(
        None, description="Rows sharing a value of this column stay in the same split."
    )

    @model_validator(mode="after")
    def _fractions_sum_to_one(self) -> SplitParams:
        total = self.train + self.val + self.test
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            msg = f"train + val + test must sum to 1, got {total:g}"
            raise ValueError(msg)
        return self


class PathsParams(FrozenModel):
    """Where stages write; dvc.yaml reads the same keys, so they are declared once."""

    validated: PathField = Path("data/interim/validated.parquet")
    dataset_summary: PathField = Path("reports/ingest/dataset.json")
    validation_report: PathField = Path("reports/ingest/validation.json")
    split_dir: PathField = Path("data/processed")
    split_summary: PathField = Path("reports/split/summary.json")
    model: PathField = Path("models/model.skops")
    model_summary: PathField = Path("models/model.json")
    metrics: PathField = Path("reports/metrics.json")
    plots_dir: PathField = Path("reports/plots")
    gates: PathField = Path("reports/gates.json")
    scores: PathField = Field(
        Path("reports/scores.json"),
        description="The DVC metric: primary metric, its interval and the gate verdict, "
        "the columns of `dvc exp show` (everything else is in metrics and gates).",
    )
    gates_summary: PathField = Path("reports/gates.md")
    promotion: PathField = Field(
        Path("reports/promotion.json"),
        description="This clone's record of its last promote (git-ignored, not a DVC output: "
        "it names registry versions of one store).",
    )
    drift_dir: PathField = Path("reports/drift")
    monitoring_dir: PathField = Path("reports/monitoring")
    notebooks_dir: PathField = Path("reports/notebooks")
    model_card: PathField = Path("reports/model_card.md")

    @property
    def drift_summary(self) -> Path:
        """The drift stage's record (dvc.yaml spells it ``${paths.drift_dir}/drift.json``)."""
        return self.drift_dir / DRIFT_SUMMARY

    @property
    def drift_page(self) -> Path:
        """Evidently's HTML page of the drift stage (``${paths.drift_dir}/drift.html``)."""
        return self.drift_dir / DRIFT_PAGE


DRIFT_SUMMARY, DRIFT_PAGE = "drift.json", "drift.html"  # in drift_dir and in each monitoring run


ClassWeight = Literal["balanced"] | None


class HistGradientBoostingSpec(FrozenModel):
    """scikit-learn's HistGradientBoosting{Classifier,Regressor}; native categorical support."""

    kind: Literal["hist_gradient_boosting"] = "hist_gradient_boosting"
    learning_rate: float = Field(0.1, gt=0, le=1)
    max_iter: int = Field(500, ge=1, le=10_000)
    max_leaf_nodes: int = Field(31, ge=2)
    max_depth: int | None = Field(None, ge=1)
    min_samples_leaf: int = Field(20, ge=1)
    l2_regularization: float = Field(0.0, ge=0)
    early_stopping: bool = Field(
        True, description="Stop adding trees when the validation split's loss stops improving."
    )
    n_iter_no_change: int = Field(10, ge=1)
    class_weight: ClassWeight = Field(
        None,
        description="Classification: 'balanced' weighs each class by n / (classes x its "
        "count), so a rare class counts as much as a frequent one in the fit.",
    )


class LogisticRegressionSpec(FrozenModel):
    """scikit-learn's LogisticRegression (classification) on one-hot and scaled features."""

    kind: Literal["logistic_regression"]
    C: float = Field(1.0, gt=0)
    max_iter: int = Field(1000, ge=1)
    class_weight: ClassWeight = Field(
        None,
        description="Classification: 'balanced' weighs each class by n / (classes x its "
        "count), so a rare class counts as much as a frequent one in the fit.",
    )


class RandomForestSpec(FrozenModel):
    """scikit-learn's RandomForest{Classifier,Regressor} on ordinal-coded categories."""

    kind: Literal["random_forest"]
    n_estimators: int = Field(200, ge=1, le=5000)
    max_depth: int | None = Field(None, ge=1)
    min_samples_leaf: int = Field(1, ge=1)
    max_features: float | Literal["sqrt", "log2"] | None = "sqrt"
    n_jobs: int | None = Field(None, description="Parallel trees; None uses one core.")
    class_weight: ClassWeight = Field(
        None,
        description="Classification: 'balanced' weighs each class by n / (classes x its "
        "count), so a rare class counts as much as a frequent one in the fit.",
    )


class RidgeSpec(FrozenModel):
    """scikit-learn's Ridge (regression) on one-hot and scaled features."""

    kind: Literal["ridge"]
    alpha: float = Field(1.0, ge=0)


class XGBoostSpec(FrozenModel):
    """XGBoost's XGB{Classifier,Regressor} (hist, native categories); distributed on Dask."""

    kind: Literal["xgboost"]
    learning_rate: float = Field(0.1, gt=0, le=1)
    n_estimators: int = Field(500, ge=1, le=10_000, description="Most boosting rounds.")
    max_depth: int = Field(6, ge=0, description="0: no depth limit (then set max_leaves).")
    max_leaves: int = Field(0, ge=0, description="0: no leaf limit.")
    min_child_weight: float = Field(1.0, ge=0)
    reg_lambda: float = Field(1.0, ge=0, description="L2 regularisation of leaf weights.")
    subsample: float = Field(1.0, gt=0, le=1)
    colsample_bytree: float = Field(1.0, gt=0, le=1)
    max_bin: int = Field(256, ge=2, description="Histogram bins per numeric feature.")
    early_stopping: bool = Field(
        True, description="Stop adding trees when the validation split's loss stops improving."
    )
    n_iter_no_change: int = Field(10, ge=1, description="Rounds without improvement to stop.")
    class_weight: ClassWeight = Field(
        None,
        description="Classification: 'balanced' weighs each class by n / (classes x its "
        "count), so a rare class counts as much as a frequent one in the fit.",
    )


ModelSpec = Annotated[
    HistGradientBoostingSpec | LogisticRegressionSpec | RandomForestSpec | RidgeSpec | XGBoostSpec,
    Field(discriminator="kind"),
]
MODEL_KINDS: dict[Task, frozenset[str]] = {
    "classification": frozenset(
        {"hist_gradient_boosting", "logistic_regression", "random_forest", "xgboost"}
    ),
    "regression": frozenset({"hist_gradient_boosting", "ridge", "random_forest", "xgboost"}),
}
DASK_MODEL_KINDS = frozenset({"xgboost"})  # learners that train on a partitioned table


class SearchParams(FrozenModel):
    """A small declared grid, scored on the validation split (scikit-learn GridSearchCV)."""

    grid: dict[str, list[Any]] = Field(
        description="Hyperparameters of train.model and the values to try, e.g. "
        "{learning_rate: [0.05, 0.1]}."
    )


class LeakageParams(FrozenModel):
    """Features that predict the target almost perfectly on their own (target leakage)."""

    max_single_feature_score: float = Field(
        0.99,
        gt=0.5,
        le=1,
        description="A feature whose own validation score (ROC AUC for classification, R² "
        "for regression; for regression also the numeric features together in one linear "
        "model) reaches this is a leakage suspect: train warns, the report and the model "
        "card name it, and gates.fail_on_leakage can make it a failed gate.",
    )


class TrainParams(FrozenModel):
    """The model to fit, its seed, the columns left out, an optional grid, the leakage check."""

    model: ModelSpec = HistGradientBoostingSpec()
    seed: int = Field(42, ge=0)
    exclude_columns: StrTuple = Field(
        (), description="Columns not used as features (identifiers, group keys)."
    )
    search: SearchParams | None = None
    leakage: LeakageParams = LeakageParams()
    n_threads: int = Field(
        2,
        ge=1,
        le=256,
        description="BLAS/OpenMP threads for the fit. Fixed rather than the machine's core "
        "count because HistGradientBoosting sums in parallel: the same data and params give "
        "the same model file (and dvc.lock) only with the same thread count.",
    )


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
        description="Test rows (a seeded sample above this) for importance and partial dependence.",
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


class DriftParams(FrozenModel):
    """Evidently's data drift preset; its per-type defaults apply unless overridden per column."""

    current_path: PathField | None = Field(
        None,
        description="A batch file to compare with the training split instead of the test "
        "split (same formats as ingest; not a DVC dependency: rerun with `dvc repro -f drift`).",
    )
    max_rows: int = Field(
        100_000, ge=100, description="Above this many rows a side is sampled (seeded)."
    )
    seed: int = Field(42, ge=0)
    min_rows: int = Field(
        100,
        ge=1,
        description="Fewest rows on each side to judge drift. Below it the report is "
        "written but not gated: with a handful of rows every test alarms on noise. 100 "
        "keeps a chi-square test's expected count at 5 or more for up to 20 categories.",
    )
    max_drifted_share: float = Field(
        0.2, gt=0, le=1, description="Gate: drift when at least this share of columns drifted."
    )
    enforce: bool = Field(True, description="false: drift warns instead of exiting 5.")
    per_column_method: dict[str, str] = Field(
        default_factory=dict, description="Column -> Evidently method, e.g. {age: psi}."
    )
    per_column_threshold: dict[str, float] = Field(
        default_factory=dict, description="Column -> threshold for its method."
    )


class CompareParams(FrozenModel):
    """`tabpipe compare`: when a challenger counts as better than the champion on a batch."""

    alpha: float = Field(
        0.05, gt=0, lt=0.5, description="Significance level of the test (two-sided)."
    )
    min_effect: float = Field(
        0.0,
        ge=0,
        description="Smallest improvement of the primary metric worth a promotion, in the "
        "metric's units; a significant smaller one is 'no evidence'.",
    )
    bootstrap_samples: int = Field(
        1000, ge=100, le=100_000, description="Paired bootstrap resamples of the interval."
    )
    seed: int = Field(42, ge=0)


class MlflowParams(FrozenModel):
    """Where runs are tracked and under which name and aliases the model is registered."""

    experiment_name: str = Field("tabpipe", min_length=1)
    registered_model_name: str = Field("tabpipe-model", min_length=1)
    champion_alias: str = Field(
        "champion",
        pattern=r"^[A-Za-z][A-Za-z0-9_-]*$",
        description="Production alias: moved only by a run on a clean commit or by "
        "`tabpipe promote --version N`.",
    )
    challenger_alias: str = Field(
        "challenger",
        pattern=r"^[A-Za-z][A-Za-z0-9_-]*$",
        description="Alias given to models from `dvc exp run` or an uncommitted work tree.",
    )

    @model_validator(mode="after")
    def _aliases_differ(self) -> MlflowParams:
        if self.champion_alias == self.challenger_alias:
            msg = "champion_alias and challenger_alias must differ"
            raise ValueError(msg)
        return self


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
    """The report stage: which notebooks run, how, and under which rules."""

    notebooks: Annotated[tuple[PathField, ...], Strict(False)] = Field(
        (Path("notebooks/01-eda.ipynb"), Path("notebooks/02-model-report.ipynb")),
        description="Notebooks executed in this order by `tabpipe report`.",
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


class DaskParams(FrozenModel):
    """The Dask engine: the LocalCluster a stage starts, partition size, bounded samples.

    With ``DASK_SCHEDULER_ADDRESS`` set (Dask's own variable) a stage connects to that
    scheduler instead and leaves it running; the cluster keys below then do not apply.
    """

    n_workers: int = Field(2, ge=1, le=1024, description="LocalCluster worker processes.")
    threads_per_worker: int = Field(1, ge=1, le=256, description="Threads per worker.")
    memory_limit: str = Field(
        "4GB",
        pattern=r"^(auto|\d+(\.\d+)?\s*([KMGT]i?B)?)$",
        description="Memory limit per LocalCluster worker (e.g. 4GB, 2GiB, auto); a worker "
        "above it is restarted and the stage fails with exit 10.",
    )
    blocksize: str = Field(
        "64MB",
        pattern=r"^\d+(\.\d+)?\s*([KMGT]i?B)$",
        description="Bytes of uncompressed CSV per partition (a compressed CSV is one "
        "partition per file: gzip cannot be split; write Parquet for large data).",
    )
    rows_per_partition: int = Field(
        500_000, ge=1_000, description="Rows per Parquet partition that ingest and split write."
    )
    sample_rows: int = Field(
        200_000,
        ge=1_000,
        description="Seeded sample size for what runs in one process: the leakage check, "
        "the monitoring reference, the report's notebooks.",
    )
    timeout_s: int = Field(
        30, ge=1, description="Seconds to wait for a scheduler or workers before exit 10."
    )


class Params(FrozenModel):
    """The whole of ``params.yaml``."""

    engine: Literal["pandas", "dask"] = Field(
        "pandas",
        description="pandas: each stage holds the table in one process (data that fits); "
        "dask: partitioned Parquet on a Dask cluster (docs/scaling.md).",
    )
    dask: DaskParams = DaskParams()
    data: DataParams
    ingest: IngestParams = IngestParams()
    split: SplitParams = SplitParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    gates: GatesParams = GatesParams()
    drift: DriftParams = DriftParams()
    mlflow: MlflowParams = MlflowParams()
    compare: CompareParams = CompareParams()
    report: ReportParams = ReportParams()
    paths: PathsParams = PathsParams()

    @property
    def primary_metric(self) -> MetricName:
        """``evaluate.primary_metric``, or the task's default (ROC AUC, RMSE)."""
        if self.evaluate.primary_metric is not None:
            return self.evaluate.primary_metric
        return "roc_auc" if self.data.task == "classification" else "rmse"

    @property
    def split_method(self) -> Literal["shuffle", "hash"]:
        """``split.method`` with ``auto`` resolved for the engine."""
        if self.split.method != "auto":
            return self.split.method
        return "hash" if self.engine == "dask" else "shuffle"

    def _dask_problems(self) -> list[str]:
        """What the Dask engine cannot do with these params, one ``key: problem`` each."""
        problems = []
        kind = self.train.model.kind
        if kind not in DASK_MODEL_KINDS:
            problems.append(
                f"train.model.kind: '{kind}' trains in one process; engine: dask needs a "
                f"distributed learner ({', '.join(sorted(DASK_MODEL_KINDS))})"
            )
        if self.split.method == "shuffle":
            problems.append(
                "split.method: 'shuffle' needs the whole table in one process; engine: dask "
                "splits by row hash (set hash or auto)"
            )
        if self.train.search is not None:
            problems.append(
                "train.search: a grid search is not available on engine: dask "
                "(set train.search: null and compare settings with `dvc exp run -S`)"
            )
        if self.ingest.duplicates == "drop":
            problems.append(
                "ingest.duplicates: 'drop' needs every row in one place; engine: dask counts "
                "duplicates and keeps them (set keep)"
            )
        return problems

    @model_validator(mode="after")
    def _fits_the_task(self) -> Params:
        """Cross-section rules: the model kind and every metric must suit data.task.

        Every broken rule is reported at once, one ``key: problem`` line each.
        """
        task = self.data.task
        kind = self.train.model.kind
        problems = []
        if kind not in MODEL_KINDS[task]:
            allowed = ", ".join(sorted(MODEL_KINDS[task]))
            problems.append(
                f"train.model.kind: '{kind}' does not fit task '{task}' (allowed: {allowed})"
            )
        if self.engine == "dask":
            problems += self._dask_problems()
        if task == "regression" and getattr(self.train.model, "class_weight", None) is not None:
            problems.append(
                "train.model.class_weight: class weights apply to classification, not "
                "regression (remove it)"
            )
        metrics = {
            "evaluate.primary_metric": self.primary_metric,
            **{f"gates.rules.{i}.metric": rule.metric for i, rule in enumerate(self.gates.rules)},
            **{
                f"gates.slice_gaps.{i}.metric": rule.metric
                for i, rule in enumerate(self.gates.slice_gaps)
            },
        }
        if task == "regression" and not self.evaluate.threshold.is_default:
            problems.append(
                "evaluate.threshold: a decision threshold applies to binary classification, "
                "not regression (remove it)"
            )
        if self.evaluate.bootstrap_samples == 0:
            gates = self.gates
            keyed: list[tuple[str, GatePolicy | None]] = [("gates.policy", gates.policy)]
            keyed += [(f"gates.rules.{i}.policy", r.policy) for i, r in enumerate(gates.rules)]
            keyed += [
                (f"gates.slice_gaps.{i}.policy", r.policy) for i, r in enumerate(gates.slice_gaps)
            ]
            problems += [
                f"{key}: '{policy}' judges the bootstrap interval, and "
                "evaluate.bootstrap_samples is 0 (set it, e.g. 500, or use policy point)"
                for key, policy in keyed
                if policy not in {None, "point"}
            ]
        allowed = ", ".join(sorted(TASK_METRICS[task]))
        problems += [
            f"{key}: '{metric}' is not a {task} metric (allowed: {allowed})"
            for key, metric in metrics.items()
            if metric not in TASK_METRICS[task]
        ]
        if problems:
            raise ValueError("\n".join(problems))
        return self
