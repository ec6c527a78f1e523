"""The ``train`` section: the model spec of each learner, the search, the leakage check."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

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
