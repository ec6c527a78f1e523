"""MLflow: the tracking store, the pipeline's runs, the logged model and the registry.

Everything that talks to MLflow lives in this package, so services stay testable on
plain data and ``import mlflow`` (about a second) is paid only by the stages that log.
One module per concern: ``location`` (where the store is and a stamp of its state,
without MLflow), ``connection`` (reaching it, its errors), ``runs`` (a run per stage,
what it logs), ``artefacts`` (datasets, the logged model, files), ``registry`` (versions
and aliases), ``validation`` (MLflow's metric rule).
Callers use the package as one store (``from tabpipe.repositories import mlflow_store
as store``). Importing it costs nothing: the concern modules, and MLflow with them, are
imported on the first ``store.<name>`` a stage uses (``__getattr__``, PEP 562), so a
stage's first lines come before MLflow's import and a stage that never logs never pays.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tabpipe.repositories.mlflow_store.artefacts import (
        REFERENCE_ARTIFACT,
        load_reference,
        log_artifact,
        log_dataset,
        log_figure,
        log_partitioned_dataset,
        log_record,
        log_reference,
        log_sklearn_model,
        model_signature,
    )
    from tabpipe.repositories.mlflow_store.connection import (
        EXPERIMENT_TAGS,
        HTTP_RETRY_DEFAULTS,
        MODEL_SHA_TAG,
        MODEL_URI_TAG,
        OWNER_HOST,
        OWNER_PID,
        PARENT_TAG,
        STAGE_TAG,
        as_unavailable,
        bound_http_retries,
        connect,
        first_line,
        open_store,
        reaching_server,
        store_errors,
    )
    from tabpipe.repositories.mlflow_store.location import (
        DEFAULT_ARTIFACTS,
        DEFAULT_DB,
        TrackingStore,
        store_exists,
        store_stamp,
        tracking_store,
    )
    from tabpipe.repositories.mlflow_store.registry import (
        REGISTERED_MODEL_DESCRIPTION,
        RegisteredVersion,
        load_version_model,
        model_versions,
        register_version,
        registered_run_ids,
        set_alias,
        set_version_tags,
        version_by_alias,
    )
    from tabpipe.repositories.mlflow_store.runs import (
        ModelStageRun,
        TrainingRunRef,
        add_metrics_to_finished_run,
        end_run,
        find_child_run,
        find_training_run,
        flatten,
        log_child_run,
        log_metric_steps,
        log_metrics,
        log_params_flat,
        model_stage_run,
        owner_tags,
        set_tags,
        stage_run,
        start_monitoring_run,
        sweep_stale_runs,
    )
    from tabpipe.repositories.mlflow_store.validation import Threshold, meets_threshold


def __getattr__(name: str) -> object:
    """A name of the store, from the concern module that holds it (imported on first use)."""
    # The plain ``import`` form: ``from package import module`` would ask this function
    # for the module before importing it.
    import tabpipe.repositories.mlflow_store.artefacts  # noqa: PLC0415 - deferred on purpose
    import tabpipe.repositories.mlflow_store.connection  # noqa: PLC0415
    import tabpipe.repositories.mlflow_store.registry  # noqa: PLC0415
    import tabpipe.repositories.mlflow_store.runs  # noqa: PLC0415
    import tabpipe.repositories.mlflow_store.validation  # noqa: PLC0415, F401

    for concern in ("location", "connection", "runs", "artefacts", "registry", "validation"):
        found = vars(sys.modules[f"{__name__}.{concern}"])
        if name in found:
            globals()[name] = found[name]
            return found[name]
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


__all__ = [
    "DEFAULT_ARTIFACTS",
    "DEFAULT_DB",
    "EXPERIMENT_TAGS",
    "HTTP_RETRY_DEFAULTS",
    "MODEL_SHA_TAG",
    "MODEL_URI_TAG",
    "OWNER_HOST",
    "OWNER_PID",
    "PARENT_TAG",
    "REFERENCE_ARTIFACT",
    "REGISTERED_MODEL_DESCRIPTION",
    "STAGE_TAG",
    "ModelStageRun",
    "RegisteredVersion",
    "Threshold",
    "TrackingStore",
    "TrainingRunRef",
    "add_metrics_to_finished_run",
    "as_unavailable",
    "bound_http_retries",
    "connect",
    "end_run",
    "find_child_run",
    "find_training_run",
    "first_line",
    "flatten",
    "load_reference",
    "load_version_model",
    "log_artifact",
    "log_child_run",
    "log_dataset",
    "log_figure",
    "log_metric_steps",
    "log_metrics",
    "log_params_flat",
    "log_partitioned_dataset",
    "log_record",
    "log_reference",
    "log_sklearn_model",
    "meets_threshold",
    "model_signature",
    "model_stage_run",
    "model_versions",
    "open_store",
    "owner_tags",
    "reaching_server",
    "register_version",
    "registered_run_ids",
    "set_alias",
    "set_tags",
    "set_version_tags",
    "stage_run",
    "start_monitoring_run",
    "store_errors",
    "store_exists",
    "store_stamp",
    "sweep_stale_runs",
    "tracking_store",
    "version_by_alias",
]
