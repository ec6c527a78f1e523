from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest

from tabpipe.errors import ParamsError
from tabpipe.records.evaluation import SliceMetrics
from tabpipe.records.params import Params
from tabpipe.services.analysis.curves import MAX_POINTS, curve_tables
from tabpipe.services.analysis.evaluation import Evaluation, evaluate_model
from tabpipe.services.modelling.features import feature_columns
from tabpipe.services.stages.train import fit_model
from tests.helpers import with_overrides

SHA = "0" * 64  # the model file's digest, as the evaluate stage passes it


@pytest.fixture(scope="module")
def evaluation(
    adult_params: Params, adult_schema: pa.DataFrameSchema, adult_splits: dict[str, pd.DataFrame]
) -> Evaluation:
    columns = feature_columns(adult_schema, target="income")
    fitted = fit_model(adult_params, columns, adult_splits["train"], adult_splits["val"])
    return evaluate_model(fitted.pipeline, adult_splits, adult_params, model_sha256=SHA)


def test_model_beats_the_dummy_baseline(evaluation: Evaluation) -> None:
    report = evaluation.report
    assert report.baseline["roc_auc"] == pytest.approx(0.5)
    assert report.uplift["roc_auc"] == pytest.approx(report.test["roc_auc"] - 0.5)
    assert report.test["accuracy"] > report.baseline["accuracy"]
    assert set(report.train) == set(report.test)


def test_interval_brackets_the_primary_metric(evaluation: Evaluation) -> None:
    interval = evaluation.report.interval
    assert interval is not None
    assert interval.metric == "roc_auc"
    assert interval.low < evaluation.report.test["roc_auc"] < interval.high


def test_slices_cover_each_value_and_report_the_largest_gap(evaluation: Evaluation) -> None:
    report = evaluation.report
    genders = [s for s in report.slices if s.column == "gender"]
    assert {s.value for s in genders} == {"Female", "Male"}
    assert sum(s.n_rows for s in genders) == sum(
        s.n_rows for s in report.slices if s.column == "race"
    )
    gap = next(g for g in report.slice_gaps if g.column == "gender" and g.metric == "roc_auc")
    by_value = {s.value: s.metrics["roc_auc"] for s in genders}
    assert gap.gap == pytest.approx(abs(by_value["Female"] - by_value["Male"]))


def test_small_slices_are_reported_but_not_gapped(
    adult_params: Params, adult_splits: dict[str, pd.DataFrame], evaluation: Evaluation
) -> None:
    race = [s for s in evaluation.report.slices if s.column == "race"]
    assert any(s.n_rows < adult_params.evaluate.min_slice_size for s in race)
    rules = adult_params.evaluate.min_slice_size, adult_params.evaluate.min_slice_class_size
    small = {s.value for s in race if s.is_small(*rules)}
    for gap in (g for g in evaluation.report.slice_gaps if g.column == "race"):
        assert gap.best not in small
        assert gap.worst not in small
    for entry in race:  # binary: each slice counts its rarer class
        assert entry.n_minority is not None
        assert 0 <= entry.n_minority <= entry.n_rows // 2


def test_a_large_slice_with_few_of_one_class_is_small() -> None:
    many_rows = SliceMetrics(column="race", value="Other", n_rows=500, metrics={}, n_minority=3)
    assert many_rows.is_small(min_rows=30, min_class_rows=10)
    assert many_rows.smallness(30, 10) == "3 of one class"
    assert not many_rows.is_small(min_rows=30, min_class_rows=3)
    few_rows = SliceMetrics(column="race", value="Other", n_rows=12, metrics={}, n_minority=6)
    assert few_rows.smallness(30, 10) == "12 rows"
    regression = SliceMetrics(column="region", value="north", n_rows=40, metrics={})
    assert not regression.is_small(min_rows=30, min_class_rows=10)


def test_curve_tables_for_dvc_plots(evaluation: Evaluation) -> None:
    tables = curve_tables(evaluation.test_predictions, task="classification")
    assert set(tables) == {"roc", "precision_recall", "calibration", "confusion"}
    assert len(tables["roc"]) <= MAX_POINTS
    assert tables["roc"][0] == {"fpr": 0.0, "tpr": 0.0}
    assert len(tables["confusion"]) == len(evaluation.test_predictions.y_true)


def test_unknown_slice_column_is_a_params_error(
    adult_params: Params, adult_schema: pa.DataFrameSchema, adult_splits: dict[str, pd.DataFrame]
) -> None:
    params = with_overrides(adult_params, evaluate={"slice_columns": ["shoe_size"]})
    columns = feature_columns(adult_schema, target="income")
    fitted = fit_model(
        with_overrides(params, train={"model": {"kind": "logistic_regression"}}),
        columns,
        adult_splits["train"],
        adult_splits["val"],
    )
    with pytest.raises(ParamsError, match=r"evaluate\.slice_columns: 'shoe_size'"):
        evaluate_model(fitted.pipeline, adult_splits, params, model_sha256=SHA)


def test_train_metrics_use_a_seeded_sample_above_max_train_rows(
    adult_params: Params, adult_schema: pa.DataFrameSchema, adult_splits: dict[str, pd.DataFrame]
) -> None:
    columns = feature_columns(adult_schema, target="income")
    fitted = fit_model(adult_params, columns, adult_splits["train"], adult_splits["val"])
    capped = with_overrides(adult_params, evaluate={"max_train_rows": 1000})
    full = evaluate_model(fitted.pipeline, adult_splits, adult_params, model_sha256=SHA).report
    sampled = evaluate_model(fitted.pipeline, adult_splits, capped, model_sha256=SHA).report
    again = evaluate_model(fitted.pipeline, adult_splits, capped, model_sha256=SHA).report

    assert len(adult_splits["train"]) > 1000
    assert sampled.train != full.train  # scored on 1,000 rows, not all of them
    assert sampled.train == again.train  # the same seeded sample every time
    assert sampled.test == full.test  # test and validation are always scored in full
    assert sampled.val == full.val


def test_the_evaluation_carries_importance_for_the_report(evaluation: Evaluation) -> None:
    importance = evaluation.report.importance
    assert importance
    assert importance[0].mean > 0
    assert evaluation.partial_dependence
