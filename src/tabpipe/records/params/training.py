"""The ``train`` section: the model spec of each learner, the search, the leakage check."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from tabpipe.records.base import FrozenModel, StrTuple
from tabpipe.records.params.data import Task

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


class SearchRange(FrozenModel):
    """A range to sample a hyperparameter from (``tpe`` and ``random`` samplers).

    Integer bounds sample integers, any float bound samples floats; ``log`` samples
    evenly on a log scale (learning rates, regularisation).
    """

    low: int | float
    high: int | float
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> SearchRange:
        if not self.low < self.high:
            msg = f"low ({self.low}) must be below high ({self.high})"
            raise ValueError(msg)
        if self.log and self.low <= 0:
            msg = f"log: true needs low > 0 (got {self.low})"
            raise ValueError(msg)
        return self


SearchSampler = Literal["grid", "tpe", "random"]


class SearchParams(FrozenModel):
    """A hyperparameter search in the train stage (Optuna), scored on the validation split.

    Each trial fits the model with its values exactly as the stage fits the final model
    (early stopping on the validation split included) and is scored on that split with
    the primary metric; the best trial's model is the stage's model. Every trial is a
    child MLflow run of the training run. Seeded by ``train.seed``: the same params give
    the same trials and the same model, unless ``timeout_s`` cuts the search short.
    """

    sampler: SearchSampler = Field(
        "grid",
        description="grid: every combination of the listed values (Optuna's GridSampler); "
        "tpe: Optuna's TPE, a model of the good and bad trials so far; random: independent "
        "draws.",
    )
    space: dict[str, list[Any] | SearchRange] = Field(
        min_length=1,
        description="Hyperparameters of train.model to search: a list of values (grid "
        "points, or choices for tpe/random), or {low, high, log} (tpe/random only), e.g. "
        "{learning_rate: {low: 0.02, high: 0.3, log: true}, max_leaf_nodes: [15, 31, 63]}.",
    )
    n_trials: int | None = Field(
        None,
        ge=1,
        le=1000,
        description="Trials to run (grid: at most every combination, the default; tpe and "
        "random need n_trials or timeout_s).",
    )
    timeout_s: float | None = Field(
        None,
        gt=0,
        description="Stop starting trials after this many seconds. The number of trials "
        "then depends on the machine, so the model (and dvc.lock) may too: prefer n_trials.",
    )
    pruner: Literal["none", "median"] = Field(
        "none",
        description="median: each trial is first fitted on a seeded quarter of the training "
        "rows and stopped there (pruned) when its validation score is below the median of "
        "earlier trials at that step (Optuna's MedianPruner); none: every trial fits fully.",
    )

    @field_validator("space", mode="before")
    @classmethod
    def _ranges(cls, space: Any) -> Any:
        """A mapping is a range, a list its values: one error naming the key, not two guesses."""
        if not isinstance(space, dict):
            return space
        parsed: dict[str, Any] = {}
        for key, value in space.items():
            if isinstance(value, dict):
                try:
                    parsed[key] = SearchRange.model_validate(value)
                except ValidationError as exc:
                    problem = exc.errors(include_url=False)[0]
                    where = ".".join(str(part) for part in problem["loc"])
                    reason = str(problem.get("ctx", {}).get("error", problem["msg"]))
                    msg = f"{key}{'.' + where if where else ''}: {reason}"
                    raise ValueError(msg) from exc
            elif isinstance(value, list | tuple):
                parsed[key] = list(value)
            else:
                msg = f"{key}: give a list of values or {{low, high, log}}, not {value!r}"
                raise ValueError(msg)  # noqa: TRY004 - pydantic reports ValueError per field
        return parsed

    @model_validator(mode="after")
    def _runs(self) -> SearchParams:
        ranges = sorted(k for k, v in self.space.items() if isinstance(v, SearchRange))
        if self.sampler == "grid" and ranges:
            msg = (
                f"space: {', '.join(ranges)} is a range, which the grid sampler cannot "
                "enumerate: list its values, or use sampler: tpe or random"
            )
            raise ValueError(msg)
        empty = sorted(k for k, v in self.space.items() if isinstance(v, list) and not v)
        if empty:
            msg = f"space: {', '.join(empty)} lists no values"
            raise ValueError(msg)
        if self.sampler != "grid" and self.n_trials is None and self.timeout_s is None:
            msg = f"sampler {self.sampler} needs n_trials or timeout_s (when to stop)"
            raise ValueError(msg)
        return self


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
    """The model to fit, its seed, the columns left out, an optional search, the leakage check."""

    model: ModelSpec = HistGradientBoostingSpec()
    seed: int = Field(42, ge=0)
    exclude_columns: StrTuple = Field(
        (), description="Columns not used as features (identifiers, group keys)."
    )
    search: SearchParams | None = Field(
        None, description="A hyperparameter search (Optuna); null fits train.model as declared."
    )
    leakage: LeakageParams = LeakageParams()
    n_threads: int = Field(
        2,
        ge=1,
        le=256,
        description="BLAS/OpenMP threads for the fit. Fixed rather than the machine's core "
        "count because HistGradientBoosting sums in parallel: the same data and params give "
        "the same model file (and dvc.lock) only with the same thread count.",
    )

    @model_validator(mode="after")
    def _searchable(self) -> TrainParams:
        """Every searched key is a hyperparameter of train.model, every value valid for it."""
        if self.search is None:
            return self
        spec = self.model
        fields = set(type(spec).model_fields) - {"kind"}
        unknown = sorted(set(self.search.space) - fields)
        if unknown:
            msg = (
                f"search.space: {', '.join(unknown)} is not a parameter of {spec.kind} "
                f"(allowed: {', '.join(sorted(fields))})"
            )
            raise ValueError(msg)
        for key, values in self.search.space.items():
            bounds = [values.low, values.high] if isinstance(values, SearchRange) else values
            for value in bounds:
                try:
                    type(spec).model_validate({**spec.model_dump(), key: value})
                except ValidationError as exc:
                    reason = exc.errors(include_url=False)[0]["msg"]
                    msg = f"search.space.{key}: {value!r} is not valid for {spec.kind}: {reason}"
                    raise ValueError(msg) from exc
        return self
