"""The pieces the Dask engine is built from, checked without a cluster.

The row-hash split, the merge of per-block validation reports and counts, the
XGBoost step with the data's own labels, and the wording of cluster failures.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loguru import logger
from sklearn.utils.class_weight import compute_class_weight

from tabpipe.errors import ClusterError, ExitCode, ParamsError
from tabpipe.records.params import DaskParams, Params, SplitParams, XGBoostSpec
from tabpipe.records.validation import CheckFailure, ValidationReport
from tabpipe.repositories.cluster import _cluster_error
from tabpipe.repositories.model_file import load_model, save_model
from tabpipe.repositories.params_file import parse_params
from tabpipe.repositories.partitioned import scratch_folder
from tabpipe.services.data.split_rows import hash_parts, split_dataset
from tabpipe.services.data.summaries import Moments
from tabpipe.services.data.validation import merge_reports
from tabpipe.services.engines.dask_batches import batch_columns
from tabpipe.services.engines.dask_train import balanced_weights, class_counts_by_value
from tabpipe.services.modelling.estimators import build_pipeline
from tabpipe.services.modelling.features import FeatureColumns
from tabpipe.services.usage.predict import run_predict

SPLIT = SplitParams(train=0.6, val=0.2, test=0.2, seed=7)


def frame_of(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "x": rng.normal(size=n),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "customer": rng.integers(0, n // 5 + 1, n),
            "y": rng.choice(["no", "yes"], n),
        }
    )


@settings(max_examples=25, deadline=None)
@given(order_seed=st.integers(0, 10_000), cuts=st.lists(st.integers(1, 299), max_size=6))
def test_a_rows_part_depends_on_the_row_alone_not_on_order_or_partitioning(
    order_seed: int, cuts: list[int]
) -> None:
    frame = frame_of(300)
    whole = pd.Series(hash_parts(frame, SPLIT), index=frame.index)
    shuffled = frame.sample(frac=1, random_state=order_seed)
    bounds = [0, *sorted(set(cuts)), len(shuffled)]
    pieces = [shuffled.iloc[a:b] for a, b in itertools.pairwise(bounds)]
    parts = pd.concat([pd.Series(hash_parts(piece, SPLIT), index=piece.index) for piece in pieces])
    pd.testing.assert_series_equal(parts.sort_index(), whole)


def test_the_hash_split_meets_the_fractions_and_class_shares_in_expectation() -> None:
    frame = frame_of(20_000)
    parts = split_dataset(frame, SPLIT, target="y", task="classification", method="hash")
    for name, share in (("train", 0.6), ("val", 0.2), ("test", 0.2)):
        assert len(parts[name]) / len(frame) == pytest.approx(share, abs=0.015)
        yes = (parts[name]["y"] == "yes").mean()
        assert yes == pytest.approx((frame["y"] == "yes").mean(), abs=0.02)
    assert sum(len(part) for part in parts.values()) == len(frame)


def test_the_hash_split_keeps_every_group_in_one_part_and_changes_with_the_seed() -> None:
    frame = frame_of(5_000)
    grouped = SPLIT.model_copy(update={"group_column": "customer"})
    parts = split_dataset(frame, grouped, target="y", task="classification", method="hash")
    owners = {name: set(part["customer"]) for name, part in parts.items()}
    assert not owners["train"] & owners["val"]
    assert not owners["train"] & owners["test"]
    assert not owners["val"] & owners["test"]
    other = SPLIT.model_copy(update={"seed": 8})
    assert (hash_parts(frame, SPLIT) != hash_parts(frame, other)).mean() > 0.3


def test_block_reports_add_up_and_column_level_failures_count_once() -> None:
    def report(*failures: CheckFailure) -> ValidationReport:
        return ValidationReport(source_path="raw.csv", passed=False, n_rows=10, failures=failures)

    missing = CheckFailure(
        column="age",
        check="column missing from the data (column_in_dataframe)",
        n_failures=1,
        examples=(),
    )
    merged = merge_reports(
        [
            report(
                CheckFailure(column="x", check="in_range(0, 1)", n_failures=2, examples=("5", "7")),
                missing,
            ),
            report(
                CheckFailure(column="x", check="in_range(0, 1)", n_failures=1, examples=("7", "9")),
                missing,
            ),
        ],
        source="raw.csv",
        n_rows=20,
    )
    by_check = {failure.check: failure for failure in merged.failures}
    assert by_check["in_range(0, 1)"].n_failures == 3
    assert by_check["in_range(0, 1)"].examples == ("5", "7", "9")
    assert by_check[missing.check].n_failures == 1
    assert not merged.passed
    assert merged.n_rows == 20


@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=80), cut=st.integers(0, 80))
def test_merged_moments_equal_those_of_the_whole_column(values: list[float], cut: int) -> None:
    series = pd.Series(values)
    merged = Moments.of(series.iloc[:cut]).merge(Moments.of(series.iloc[cut:]))
    assert merged.n == len(values)
    assert merged.mean == pytest.approx(series.mean(), rel=1e-9, abs=1e-6)
    assert np.sqrt(merged.m2 / (merged.n - 1)) == pytest.approx(series.std(), rel=1e-6, abs=1e-6)
    assert (merged.minimum, merged.maximum) == (series.min(), series.max())


COLUMNS = FeatureColumns(categorical=("colour",), numeric=("x",))


def test_the_xgboost_pipeline_answers_in_the_datas_labels_and_survives_the_model_file(
    tmp_path: Path,
) -> None:
    frame = frame_of(2_000)
    frame["y"] = np.where(frame["x"] + (frame["colour"] == "red") > 0.5, ">50K", "<=50K")
    spec = XGBoostSpec(kind="xgboost", n_estimators=30, n_iter_no_change=5)
    pipeline = build_pipeline(spec, task="classification", columns=COLUMNS, seed=0)
    preprocess, model = pipeline.named_steps["preprocess"], pipeline.named_steps["model"]
    lines: list[str] = []
    sink = logger.add(lines.append, format="{message}")
    try:
        model.fit(
            preprocess.fit_transform(frame[COLUMNS.all].iloc[:1500]),
            frame["y"].iloc[:1500],
            X_val=preprocess.transform(frame[COLUMNS.all].iloc[1500:]),
            y_val=frame["y"].iloc[1500:],
        )
    finally:
        logger.remove(sink)
    assert any(line.startswith("train: XGBoost round 25, validation_0 logloss") for line in lines)
    assert model.estimator_.get_params()["callbacks"] is None, "no callback saved in the model"
    assert list(pipeline.classes_) == ["<=50K", ">50K"]
    assert set(pipeline.predict(frame)) == {"<=50K", ">50K"}
    assert (pipeline.predict(frame) == frame["y"]).mean() > 0.9
    assert model.best_iteration is not None
    path = tmp_path / "model.skops"
    save_model(pipeline, path)
    loaded = load_model(path)
    np.testing.assert_allclose(loaded.predict_proba(frame), pipeline.predict_proba(frame))


def test_a_worker_that_keeps_dying_is_an_out_of_memory_message_with_exit_10() -> None:
    from distributed.scheduler import KilledWorker

    error = _cluster_error(
        KilledWorker("ingest_block-1", "tcp://127.0.0.1:1", 3),  # type: ignore[arg-type]
        stage="ingest",
        settings=DaskParams(memory_limit="2GB"),
        remote=False,
    )
    assert isinstance(error, ClusterError)
    assert error.exit_code == ExitCode.CLUSTER_FAILED == 10
    assert "died 4 times running 'ingest_block-1'" in str(error)
    assert "Raise dask.memory_limit (2GB)" in str(error)


def test_any_other_error_inside_a_stage_passes_through_unchanged() -> None:
    original = ValueError("a bug, not the cluster")
    assert _cluster_error(original, stage="train", settings=DaskParams(), remote=True) is original


def test_a_scratch_folder_leaves_no_empty_folder_it_created(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), scratch_folder(tmp_path / "out" / "deep") as folder:
        (folder / "part.0.parquet").write_text("x")
        raise RuntimeError
    assert not (tmp_path / "out").exists()
    with scratch_folder(tmp_path / "kept" / "deep") as folder:
        (folder.parent / "predictions.parquet").write_text("the output")
    assert (tmp_path / "kept" / "deep" / "predictions.parquet").is_file()
    assert [p.name for p in (tmp_path / "kept" / "deep").iterdir()] == ["predictions.parquet"]


def test_class_counts_follow_value_order_not_category_order() -> None:
    counts = pd.Series(
        [5, 3, 0],
        index=pd.CategoricalIndex(
            [">50K", "<=50K", "never"], categories=[">50K", "<=50K", "never"]
        ),
    )
    ordered = class_counts_by_value(counts)
    assert list(ordered.index) == ["<=50K", ">50K"]  # LabelEncoder's codes 0 and 1
    assert ordered.tolist() == [3, 5]
    integers = class_counts_by_value(pd.Series([4, 9], index=[7, 2]))
    assert integers.index.dtype.kind == "i"  # labels keep their own dtype
    assert integers.tolist() == [9, 4]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 500), min_size=2, max_size=6))
def test_balanced_weights_from_counts_equal_scikit_learns_from_labels(counts: list[int]) -> None:
    labels = np.repeat(np.arange(len(counts)), counts)
    expected = compute_class_weight("balanced", classes=np.arange(len(counts)), y=labels)
    weights = balanced_weights(pd.Series(counts))
    assert weights is not None
    np.testing.assert_allclose(weights, expected)


def test_a_wrong_key_on_dask_is_refused_from_the_header_before_any_cluster_or_store(
    adult_params: Params, tmp_path: Path
) -> None:
    batch = tmp_path / "batch.csv"
    batch.write_text("Unnamed: 0, age ,workclass\n0,39,Private\n")
    raw = adult_params.model_dump(mode="json")
    raw["train"]["model"] = {"kind": "xgboost"}
    params = parse_params(raw | {"engine": "dask"})
    assert batch_columns(batch, params) == ["age", "workclass"]  # stripped, index dropped
    with pytest.raises(ParamsError, match=r"--key: customer_id not a column of .*batch\.csv"):
        run_predict(batch, tmp_path / "out.parquet", params, keys=["customer_id"], root=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.csv"]  # no store, no output


def test_the_dask_starting_score_is_computed_from_the_whole_split_not_on_the_workers() -> None:
    """XGBoost's own estimate is summed in float32 across workers: its last bits vary."""
    from tabpipe.services.engines.dask_train import base_score

    counts = pd.Series([750, 250], index=["<=50K", ">50K"])
    assert base_score(counts, None, mean=None) == {"base_score": 0.25}
    balanced = np.array([1000 / (2 * 750), 1000 / (2 * 250)])
    assert base_score(counts, balanced, mean=None) == {"base_score": pytest.approx(0.5)}
    assert base_score(None, None, mean=3.5) == {"base_score": 3.5}
    assert base_score(pd.Series([1, 2, 3], index=["a", "b", "c"]), None, mean=None) == {}
