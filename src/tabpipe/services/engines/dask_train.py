"""Training on the Dask engine: XGBoost's distributed learner on the partitioned splits.

The tree preprocessor is the pandas engine's (categories as ordinal codes, XGBoost
told which features are categorical), fitted on every category value found in the
train split (a distinct-values pass on the cluster, not the table in one process),
so it equals the one the pandas engine would fit on the same rows. The features are
encoded partition by partition and ``xgboost.dask.DaskXGB{Classifier,Regressor}``
trains on the workers, stopping early on the validation split. The booster comes
back as a plain ``XGBClassifier``/``XGBRegressor`` in the same scikit-learn pipeline
as the pandas engine's: the model file loads and predicts without a cluster.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from loguru import logger
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from tabpipe.records.params import Params, XGBoostSpec
from tabpipe.repositories.cluster import dask_client, pinned_partitions
from tabpipe.repositories.datasets import split_path
from tabpipe.repositories.partitioned import lazy_frame
from tabpipe.services.boosting import (
    EncodedLabelClassifier,
    ValidatedRegressor,
    validation_curve,
    xgboost_params,
)
from tabpipe.services.modelling.boosting_progress import RoundLogger
from tabpipe.services.modelling.features import FeatureColumns, tree_preprocessor


def fit_on_dask(
    params: Params, columns: FeatureColumns, root: Path = Path()
) -> tuple[Pipeline, int | None, dict[str, tuple[float, ...]]]:
    """The fitted pipeline, the boosting rounds kept and the validation loss per round.

    ``class_weight: balanced`` weighs each training row by n / (classes x its class's
    count), counted on the cluster: the weights scikit-learn's ``compute_sample_weight``
    gives on one machine.
    """
    import xgboost.dask as dxgb  # noqa: PLC0415 - only runs on Dask pay for it
    from dask.base import compute  # noqa: PLC0415

    spec = params.train.model
    if not isinstance(spec, XGBoostSpec):  # params validation refuses other kinds on dask
        msg = f"train.model.kind: {spec.kind} does not train on Dask"
        raise TypeError(msg)
    target, task = params.data.target, params.data.task
    folder = root / params.paths.split_dir
    with dask_client(params.dask, stage="train") as client:
        train = lazy_frame(split_path(folder, "train"))
        val = lazy_frame(split_path(folder, "val"))
        logger.info("train: finding the category values of {} columns", len(columns.categorical))
        classification = task == "classification"
        found = compute(
            *[train[name].astype(object).drop_duplicates() for name in columns.categorical],
            train[target].value_counts() if classification else train[target].mean(),
        )
        # The classes as LabelEncoder orders them: by value, in the target's own dtype.
        # A categorical target counts every category (zeros too) in category order.
        counts = class_counts_by_value(found[-1]) if classification else None
        classes = None if counts is None else counts.index.to_numpy()
        class_weights = balanced_weights(counts) if spec.class_weight == "balanced" else None
        kwargs = xgboost_params(
            spec, columns=columns, seed=params.train.seed, n_threads=params.dask.threads_per_worker
        ) | base_score(counts, class_weights, mean=None if classification else found[-1])
        found = found[: len(columns.categorical)]
        preprocess = tree_preprocessor(columns).fit(_category_frame(columns, found))
        names = [str(name) for name in preprocess.get_feature_names_out()]

        label, weight = "__tabpipe_label__", "__tabpipe_weight__"

        def encode(part: pd.DataFrame) -> pd.DataFrame:
            """A partition's features as the preprocessor's codes, and its label as a code."""
            encoded = pd.DataFrame(
                preprocess.transform(part[columns.all]), columns=names, index=part.index
            )
            values = part[target]
            codes = (
                None
                if classes is None
                else np.searchsorted(classes, np.asarray(values.to_numpy(), dtype=classes.dtype))
            )
            encoded[label] = values.astype("float64") if codes is None else codes
            if class_weights is not None and codes is not None:
                encoded[weight] = class_weights[codes]
            return encoded

        meta = pd.DataFrame({name: pd.Series(dtype="float64") for name in names})
        meta[label] = pd.Series(dtype="float64" if classes is None else "int64")
        if class_weights is not None:
            meta[weight] = pd.Series(dtype="float64")
        # One opaque step per split, so features and labels keep the same partitions
        # (Dask's optimiser may merge partitions of a single projected column otherwise).
        # Each partition on a fixed worker, so that the same data gives the same model bytes.
        encoded_train = pinned_partitions(client, train.map_partitions(encode, meta=meta))
        x_train, y_train = encoded_train[names], encoded_train[label]
        eval_set = None
        if spec.early_stopping:
            encoded_val = pinned_partitions(client, val.map_partitions(encode, meta=meta))
            eval_set = [(encoded_val[names], encoded_val[label])]
        learner: Any = (dxgb.DaskXGBClassifier if classes is not None else dxgb.DaskXGBRegressor)(
            **kwargs, callbacks=[RoundLogger()]
        )
        learner.client = client
        logger.info(
            "train: XGBoost on Dask, {} partitions, {} features", train.npartitions, len(names)
        )
        sample_weight = encoded_train[weight] if class_weights is not None else None
        learner.fit(x_train, y_train, sample_weight=sample_weight, eval_set=eval_set, verbose=False)
        curves = validation_curve(learner)
        # The model predicts in one process (evaluate, serving): with train.n_threads
        # threads, not the workers' threads_per_worker.
        model = _local_model(learner, {**kwargs, "n_jobs": params.train.n_threads}, classes, spec)
    pipeline = Pipeline([("preprocess", preprocess), ("model", model)])
    rounds = getattr(model, "best_iteration", None)
    return pipeline, rounds, curves


def base_score(
    counts: pd.Series | None,
    class_weights: npt.NDArray[np.float64] | None,
    *,
    mean: float | None,
) -> dict[str, float]:
    """XGBoost's starting prediction, computed here from the whole train split.

    Left to XGBoost, it is estimated on the workers and summed across them in float32:
    its last bits, and so every leaf value and the model's bytes, then depend on which
    partitions each worker holds (0.2414204 in one run, 0.24142039 in the next, with the
    same data). Binary: the (weighted) share of the positive class, a probability, as
    ``binary:logistic`` expects; regression: the target's mean. Multiclass keeps
    XGBoost's own. Returns the ``base_score`` keyword, or nothing.
    """
    if counts is None:
        return {} if mean is None else {"base_score": float(mean)}
    if len(counts) != 2:  # noqa: PLR2004 - binary only
        return {}
    weights = np.ones(2) if class_weights is None else class_weights
    weighted = counts.to_numpy(dtype="float64") * weights
    return {"base_score": float(weighted[1] / weighted.sum())}


def class_counts_by_value(counts: pd.Series) -> pd.Series:
    """Class counts of the classes present, ordered by value as LabelEncoder orders them.

    ``value_counts`` of a categorical target lists every category, absent ones with 0, in
    category order; the label codes must follow the values' order instead.
    """
    present = counts[counts > 0]
    labels = present.index.to_numpy()
    order = np.argsort(labels, kind="stable")
    return pd.Series(present.to_numpy()[order], index=labels[order])


def balanced_weights(counts: pd.Series | None) -> npt.NDArray[np.float64] | None:
    """Per class (in ``counts``' order): n / (classes x count), scikit-learn's 'balanced'.

    scikit-learn's ``compute_class_weight`` needs the labels themselves; on the cluster
    only their counts are here, so its formula is applied to them (the unit test checks
    both agree).
    """
    if counts is None:
        return None
    values = counts.to_numpy(dtype="float64")
    weights: npt.NDArray[np.float64] = values.sum() / (len(values) * values)
    return weights


def _local_model(
    learner: Any, kwargs: dict[str, Any], classes: Any, spec: XGBoostSpec
) -> BaseEstimator:
    """The cluster's booster as a plain XGBoost estimator that predicts in one process."""
    import xgboost  # noqa: PLC0415

    kind = xgboost.XGBClassifier if classes is not None else xgboost.XGBRegressor
    local: Any = kind(**kwargs)
    with tempfile.TemporaryDirectory(prefix="tabpipe-xgb-") as scratch:
        saved = Path(scratch) / "model.ubj"
        learner.save_model(saved)
        local.load_model(saved)
    if classes is None:
        return ValidatedRegressor.from_fitted(local, template=kind(**kwargs))
    return EncodedLabelClassifier.from_fitted(
        local, classes, template=kind(**kwargs), class_weight=spec.class_weight
    )


def _category_frame(columns: FeatureColumns, found: tuple[pd.Series, ...]) -> pd.DataFrame:
    """Every category value of every column in one small frame, to fit the encoder on.

    Shorter columns repeat their first value (repeats do not change the categories);
    numeric columns are zeros: the preprocessor passes them through.
    """
    longest = max([len(values) for values in found] + [1])
    frame = {}
    for name, values in zip(columns.categorical, found, strict=True):
        listed = list(values)
        frame[name] = (
            (listed + listed[:1] * (longest - len(listed))) if listed else [np.nan] * longest
        )
    for name in columns.numeric:
        frame[name] = [0.0] * longest
    return pd.DataFrame(frame)[columns.all]
