"""The train stage: fit the declared scikit-learn pipeline on the train split.

The validation split does the model-selection work: boosting stops adding trees when
the validation loss stops improving, and an optional search (``train.search``, Optuna)
scores each trial on it (evaluate logs each trial as a child MLflow run of the training
run). The test split is not touched here, and neither is MLflow.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from loguru import logger
from threadpoolctl import threadpool_limits

from tabpipe.errors import ParamsError
from tabpipe.records.dataset import SplitPart, SplitSummary
from tabpipe.records.evaluation import LeakageCheck, ModelSummary
from tabpipe.records.params import Params
from tabpipe.repositories.datasets import read_record, read_split, write_record
from tabpipe.repositories.model_file import model_digest, save_model
from tabpipe.repositories.reports import check_writable
from tabpipe.repositories.schema_file import load_schema
from tabpipe.services.params.checks import check_against_schema
from tabpipe.utils.hashing import frame_sha256

# scikit-learn (about a second with SciPy) comes with the modelling modules, imported
# where they are called, so the stage says what it reads before it pays for them.
if TYPE_CHECKING:
    from tabpipe.services.analysis.thresholds import ThresholdChoice
    from tabpipe.services.modelling.features import FeatureColumns
    from tabpipe.services.modelling.fitting import FittedModel
    from tabpipe.services.modelling.search import TrialLogger


def fit_model(
    params: Params,
    columns: FeatureColumns,
    train: pd.DataFrame,
    val: pd.DataFrame,
    on_trial: TrialLogger | None = None,
) -> FittedModel:
    """Fit the declared spec on train, early-stopped on validation.

    With ``train.search``: the best of the search's trials, each scored on the
    validation split (``on_trial`` is called with each trial as it ends).
    """
    if params.train.search is not None:
        from tabpipe.services.modelling.search import search_hyperparameters  # noqa: PLC0415

        return search_hyperparameters(params, columns, train, val, on_trial=on_trial)
    from tabpipe.services.modelling.fitting import fit_spec  # noqa: PLC0415 - scikit-learn

    return fit_spec(params.train.model, params, columns, train, val)


def decision_threshold(
    params: Params, pipeline: Any, val: pd.DataFrame, columns: FeatureColumns
) -> tuple[Any, ThresholdChoice | None]:
    """A binary classifier wrapped with its decision threshold, chosen on ``val``.

    Every other model comes back as it is (multiclass: the most probable class); a
    threshold policy set for a multiclass target is a ParamsError.
    """
    if params.data.task != "classification":
        return pipeline, None
    from tabpipe.services.analysis.metrics import resolve_positive_class  # noqa: PLC0415
    from tabpipe.services.analysis.thresholds import (  # noqa: PLC0415 - scikit-learn
        choose_threshold,
        with_threshold,
    )

    classes = tuple(str(label) for label in pipeline.classes_)
    settings, target = params.evaluate.threshold, params.data.target
    if len(classes) != 2:  # noqa: PLR2004
        if not settings.is_default:
            msg = (
                f"evaluate.threshold: '{target}' has {len(classes)} classes; a decision "
                "threshold applies to two (remove it: the label is the most probable class)"
            )
            raise ParamsError(msg)
        return pipeline, None
    positive = resolve_positive_class(classes, params.data.positive_class)
    rows, labels = val[columns.all], val[target].astype(str)
    scores = np.asarray(pipeline.predict_proba(rows), dtype=float)[:, classes.index(positive)]
    choice = choose_threshold(labels.to_numpy() == positive, scores, settings)
    logger.info(
        "train: decision threshold {:.4f} ({}; validation precision {:.4f}, recall {:.4f})",
        choice.value,
        choice.policy,
        choice.precision,
        choice.recall,
    )
    return with_threshold(pipeline, choice.value, positive, rows, labels), choice


def _training_data(
    params: Params, root: Path
) -> tuple[dict[str, pd.DataFrame], dict[str, SplitPart]]:
    """The train and validation splits, and (Dask) their parts' records.

    On Dask the learner reads the partitioned splits on the cluster; what runs here (the
    leakage check, the monitoring reference, the signature) takes a seeded sample, and
    the lineage takes the row counts and digests the split stage recorded.
    """
    folder = root / params.paths.split_dir
    if params.engine == "dask":
        summary = read_record(root / params.paths.split_summary, SplitSummary)
        splits = {
            name: read_split(folder, name, max_rows=params.dask.sample_rows, seed=params.train.seed)
            for name in ("train", "val")
        }
        return splits, {part.name: part for part in summary.parts}
    return {name: read_split(folder, name) for name in ("train", "val")}, {}


def _check_features(
    params: Params, splits: dict[str, pd.DataFrame], columns: FeatureColumns
) -> LeakageCheck:
    """Leakage (each feature alone) and identifier-like features, said and tagged."""
    from tabpipe.services.analysis.leakage import check_leakage  # noqa: PLC0415 - scikit-learn
    from tabpipe.services.modelling.features import identifier_like  # noqa: PLC0415

    leakage = check_leakage(
        splits["train"],
        splits["val"],
        columns,
        target=params.data.target,
        classification=params.data.task == "classification",
        threshold=params.train.leakage.max_single_feature_score,
        seed=params.train.seed,
    )
    for name in identifier_like(splits["train"], columns):
        logger.warning(
            "train: feature '{}' has a distinct value in most rows (an identifier?): "
            "it cannot generalise to new rows; add it to train.exclude_columns",
            name,
        )
    if leakage.suspects:
        logger.warning("train: {}", leakage.describe())
    else:
        logger.info("train: leakage check: {}", leakage.describe())
    return leakage


def _fit_on_engine(
    params: Params,
    columns: FeatureColumns,
    splits: dict[str, pd.DataFrame],
    parts: dict[str, SplitPart],
    root: Path,
) -> FittedModel:
    """The model fitted in this process (pandas), or on the Dask cluster."""
    if params.engine == "dask":
        logger.info(
            "train: fitting {} on {} rows on Dask ({} features)",
            params.train.model.kind,
            parts["train"].n_rows,
            len(columns.all),
        )
        from tabpipe.services.engines.dask_train import fit_on_dask  # noqa: PLC0415
        from tabpipe.services.modelling.fitting import FittedModel  # noqa: PLC0415

        pipeline, rounds, curves = fit_on_dask(params, columns, root)
        return FittedModel(pipeline, params.train.model, {}, rounds, curves)
    logger.info(
        "train: fitting {} on {} rows ({} features, {} threads)",
        params.train.model.kind,
        len(splits["train"]),
        len(columns.all),
        params.train.n_threads,
    )
    return fit_model(params, columns, splits["train"], splits["val"])


def run_train(params: Params, root: Path = Path()) -> ModelSummary:
    """The train stage: fit the declared model and record it.

    Reads the train and validation splits and the schema; checks leakage (each feature
    alone) and fits the pipeline; writes the skops model file and models/model.json.
    Nothing here imports MLflow: the first evaluation of the model logs its training
    run from these two files (``training_run.py``).
    """
    check_against_schema(params, root)
    check_writable(root / params.paths.model, root / params.paths.model_summary)
    logger.info(
        "train: {} on the train and validation splits of {}",
        params.train.model.kind,
        params.paths.split_dir,
    )
    from tabpipe.services.modelling.features import feature_columns  # noqa: PLC0415 - sklearn

    paths = params.paths
    schema = load_schema(root / params.data.schema_path)
    columns = feature_columns(
        schema, target=params.data.target, exclude=params.train.exclude_columns
    )
    dask = params.engine == "dask"
    splits, parts = _training_data(params, root)
    # A fixed thread count, not the machine's: HistGradientBoosting sums gradients in
    # parallel, so the model's bytes (and dvc.lock) depend on how many threads there are.
    with threadpool_limits(limits=params.train.n_threads):
        leakage = _check_features(params, splits, columns)
        fitted = _fit_on_engine(params, columns, splits, parts, root)
    model, threshold = decision_threshold(params, fitted.pipeline, splits["val"], columns)
    if fitted.n_iter is not None:
        logger.info("train: early stopping kept {} iterations", fitted.n_iter)
    save_model(model, root / paths.model)
    digest = model_digest(root / paths.model)
    summary = ModelSummary(
        model_sha256=digest,
        model_kind=fitted.spec.kind,
        best_params=fitted.best_params,
        n_iter=fitted.n_iter,
        features=tuple(columns.all),
        train_sha256=parts["train"].content_sha256 if dask else frame_sha256(splits["train"]),
        val_sha256=parts["val"].content_sha256 if dask else frame_sha256(splits["val"]),
        leakage=leakage,
        decision_threshold=None if threshold is None else threshold.value,
        learning_curve=fitted.curves,
        threshold_policy=None if threshold is None else threshold.policy,
        search=fitted.search,
    )
    write_record(summary, root / paths.model_summary)
    logger.info("train: model -> {} (sha256 {})", paths.model, digest[:12])
    return summary
