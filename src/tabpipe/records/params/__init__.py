"""The typed form of ``params.yaml``: the root model, its sections one module each.

Every section a stage reads is a frozen, strict model, so a bad key or value
fails before any work starts, naming the key path and the allowed values.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tabpipe.records.base import FrozenModel
from tabpipe.records.params.cluster import DaskParams
from tabpipe.records.params.data import (
    DRIFT_PAGE,
    DRIFT_SUMMARY,
    DataParams,
    FileFormat,
    IngestParams,
    PathsParams,
    SplitParams,
    Task,
)
from tabpipe.records.params.evaluation import (
    GREATER_IS_BETTER,
    TASK_METRICS,
    BehaviourCheck,
    ClassificationMetric,
    EvaluateParams,
    GatePolicy,
    GateRule,
    GatesParams,
    MetricName,
    RegressionMetric,
    SliceGapRule,
    ThresholdParams,
)
from tabpipe.records.params.monitoring import CompareParams, DriftParams
from tabpipe.records.params.reporting import (
    DEFAULT_SECTIONS,
    ModelCardParams,
    NotebookRules,
    ReportParams,
)
from tabpipe.records.params.tracking import MlflowParams
from tabpipe.records.params.training import (
    DASK_MODEL_KINDS,
    MODEL_KINDS,
    ClassWeight,
    HistGradientBoostingSpec,
    LeakageParams,
    LogisticRegressionSpec,
    ModelSpec,
    RandomForestSpec,
    RidgeSpec,
    SearchParams,
    SearchRange,
    SearchSampler,
    TrainParams,
    XGBoostSpec,
)

__all__ = [
    "DASK_MODEL_KINDS",
    "DEFAULT_SECTIONS",
    "DRIFT_PAGE",
    "DRIFT_SUMMARY",
    "GREATER_IS_BETTER",
    "MODEL_KINDS",
    "TASK_METRICS",
    "BehaviourCheck",
    "ClassWeight",
    "ClassificationMetric",
    "CompareParams",
    "DaskParams",
    "DataParams",
    "DriftParams",
    "EvaluateParams",
    "FileFormat",
    "GatePolicy",
    "GateRule",
    "GatesParams",
    "HistGradientBoostingSpec",
    "IngestParams",
    "LeakageParams",
    "LogisticRegressionSpec",
    "MetricName",
    "MlflowParams",
    "ModelCardParams",
    "ModelSpec",
    "NotebookRules",
    "Params",
    "PathsParams",
    "RandomForestSpec",
    "RegressionMetric",
    "ReportParams",
    "RidgeSpec",
    "SearchParams",
    "SearchRange",
    "SearchSampler",
    "SliceGapRule",
    "SplitParams",
    "Task",
    "ThresholdParams",
    "TrainParams",
    "XGBoostSpec",
]


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
                "train.search: a hyperparameter search is not available on engine: dask "
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
