"""Drift: how far current data (test split, a batch) is from what the model was trained on.

Evidently's data drift preset does the statistics and picks each column's method by
type and size (Kolmogorov-Smirnov / chi-square up to 1,000 rows, Wasserstein /
Jensen-Shannon distance above); `drift.per_column_method` and
`drift.per_column_threshold` override it. With a model (``tabpipe monitor``) its
prediction is added as a column on both sides, so that prediction drift is measured with
the features and the target; the drift stage compares data only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from loguru import logger

from tabpipe.errors import DriftDetectedError
from tabpipe.records.drift import ColumnDrift, DriftReport
from tabpipe.records.params import DRIFT_PAGE, DRIFT_SUMMARY, DriftParams, Params, Task
from tabpipe.repositories.datasets import read_split, split_path, write_record
from tabpipe.repositories.drift_report import write_report_html
from tabpipe.repositories.reports import check_writable
from tabpipe.repositories.schema_file import load_schema
from tabpipe.services.params.checks import check_against_schema
from tabpipe.services.reporting.page_headers import dvc_output_note

PREDICTION = "prediction"


@dataclass(frozen=True)
class DriftResult:
    """What one drift measurement produced: the record and Evidently's snapshot for the page."""

    report: DriftReport
    snapshot: Any  # evidently Snapshot: save_html() writes Evidently's own page


def with_predictions(
    model: Any, frame: pd.DataFrame, features: list[str], *, task: Task, positive_class: str | None
) -> pd.DataFrame:
    """Add the model's output: the positive-class score (binary), the label, or the value."""
    inputs = frame[features]
    if task == "classification" and positive_class is not None:
        index = [str(c) for c in model.classes_].index(positive_class)
        output = model.predict_proba(inputs)[:, index]
    else:
        output = model.predict(inputs)
    return frame.assign(**{PREDICTION: output})


@dataclass(frozen=True)
class Scorer:
    """A fitted model with what it needs to add its prediction column to any frame."""

    model: Any
    features: list[str]
    task: Task
    positive_class: str | None

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the model's prediction column added."""
        return with_predictions(
            self.model, frame, self.features, task=self.task, positive_class=self.positive_class
        )


def scorer_for(model: Any, params: Params, root: Path = Path()) -> Scorer:
    """A scorer for ``model`` with the feature columns and task that params and schema declare."""
    from tabpipe.services.modelling.features import feature_columns  # noqa: PLC0415 - sklearn

    features = feature_columns(
        load_schema(root / params.data.schema_path),
        target=params.data.target,
        exclude=params.train.exclude_columns,
    ).all
    return Scorer(
        model=model,
        features=features,
        task=params.data.task,
        positive_class=params.data.positive_class,
    )


def sample(frame: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """At most ``max_rows`` rows, sampled with ``seed`` (the frame itself when small enough)."""
    return frame if len(frame) <= max_rows else frame.sample(n=max_rows, random_state=seed)


def measure_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    params: DriftParams,
    *,
    reference_name: str,
    current_name: str,
    scorer: Scorer | None = None,
    model_sha256: str | None = None,
) -> DriftResult:
    """Compare the columns both frames share, sampling each side above ``max_rows``.

    With a ``scorer``, the prediction column is added after sampling, so a million-row
    side costs one sample's worth of predictions.
    """
    from evidently import Report  # noqa: PLC0415 - Evidently costs seconds: only here
    from evidently.presets import DataDriftPreset  # noqa: PLC0415

    ref = sample(reference, params.max_rows, params.seed)
    cur = sample(current, params.max_rows, params.seed)
    if scorer is not None:
        ref, cur = scorer.score(ref), scorer.score(cur)
    columns = [name for name in ref.columns if name in cur.columns]
    ref, cur = ref[columns], cur[columns]
    preset = DataDriftPreset(
        columns=columns,
        drift_share=params.max_drifted_share,
        per_column_method=dict(params.per_column_method) or None,
        per_column_threshold=dict(params.per_column_threshold) or None,
    )
    snapshot = Report([preset], include_tests=True).run(current_data=cur, reference_data=ref)
    per_column = _column_results(snapshot.dict())
    judged = min(len(ref), len(cur)) >= params.min_rows
    n_drifted = sum(column.drifted for column in per_column) if judged else 0
    share = n_drifted / len(per_column) if per_column else 0.0
    report = DriftReport(
        model_sha256=model_sha256,
        reference=reference_name,
        current=current_name,
        reference_rows=len(ref),
        current_rows=len(cur),
        sampled=len(ref) < len(reference) or len(cur) < len(current),
        n_columns=len(per_column),
        n_drifted=n_drifted,
        drifted_share=share,
        max_drifted_share=params.max_drifted_share,
        passed=share < params.max_drifted_share,  # Evidently's own test: "share less than"
        judged=judged,
        min_rows=params.min_rows,
        columns=tuple(per_column),
    )
    return DriftResult(report=report, snapshot=snapshot)


def _column_results(payload: dict[str, Any]) -> list[ColumnDrift]:
    """Evidently's ValueDrift metrics, with the drift verdict of the test bound to each."""
    failed = {
        test["metric_config"]["metric_id"]
        for test in payload.get("tests", [])
        if str(test.get("status")).endswith("FAIL")
    }
    results = []
    for metric in payload["metrics"]:
        config = metric["config"]
        if not str(config.get("type", "")).endswith("ValueDrift"):
            continue
        results.append(
            ColumnDrift(
                column=str(config["column"]),
                method=str(config["method"]),
                # Rounded: the last digits vary with summation order between runs, and
                # drift.json is committed: a diff should show changes, not noise.
                score=round(float(metric["value"]), 9),
                threshold=float(config["threshold"]),
                drifted=metric["id"] in failed,
            )
        )
    return results


def run_drift(params: Params, root: Path = Path()) -> DriftReport:
    """The drift stage: training split vs test split (or drift.current_path), gated.

    Data against data: no model is read, so a change of the model (``train.*``) leaves
    this stage up to date and an experiment never imports Evidently. The prediction's
    drift needs a model: ``tabpipe monitor`` measures it for a batch against the
    champion. Nothing here touches MLflow: promote logs the page to the training run.
    """
    check_against_schema(params, root)
    paths = params.paths
    check_writable(root / paths.drift_dir)
    logger.info("drift: the data of {} (no model)", paths.split_dir)
    # On Dask each side is sampled while read (drift.max_rows); the pandas engine samples
    # after reading, in measure_drift. Either way Evidently sees at most max_rows a side.
    bound = params.drift.max_rows if params.engine == "dask" else None
    seed = params.drift.seed
    reference = read_split(root / paths.split_dir, "train", max_rows=bound, seed=seed)
    if params.drift.current_path is None:
        current_name = str(split_path(paths.split_dir, "test"))
        current = read_split(root / paths.split_dir, "test", max_rows=bound, seed=seed)
    else:
        current_name = str(params.drift.current_path)
        from tabpipe.services.data.batches import load_batch  # noqa: PLC0415 - a batch file only

        current = load_batch(root / params.drift.current_path, params, root)
    logger.info("drift: {} reference rows vs {} current rows", len(reference), len(current))
    result = measure_drift(
        reference,
        current,
        params.drift,
        reference_name=str(split_path(paths.split_dir, "train")),
        current_name=current_name,
    )
    write_drift_outputs(
        result,
        root / paths.drift_dir,
        title=page_title(result.report, params.data.name),
        header=page_header(result.report, params.data.name)
        | dvc_output_note(params.mlflow.experiment_name, "drift"),
    )
    raise_on_drift(result.report, enforce=params.drift.enforce)
    return result.report


def write_drift_outputs(
    result: DriftResult, folder: Path, *, title: str, header: dict[str, str]
) -> tuple[Path, Path]:
    """Write Evidently's page and the drift record into ``folder``; return both paths.

    The page opens with ``header`` and lists every compared column on one page.
    """
    html, summary = folder / DRIFT_PAGE, folder / DRIFT_SUMMARY
    write_report_html(
        result.snapshot, html, title=title, header=header, rows=result.report.n_columns
    )
    write_record(result.report, summary)
    return html, summary


def page_title(report: DriftReport, dataset: str) -> str:
    """The drift page's title: what was compared with what."""
    return f"Drift of {dataset}: {report.current} against {report.reference}"


def page_header(report: DriftReport, dataset: str) -> dict[str, str]:
    """What the drift page compared, with which model, and the verdict (no clock, no run)."""
    sampled = " (a seeded sample: drift.max_rows)" if report.sampled else ""
    return {
        "Dataset": dataset,
        "Model": (
            f"file sha256 {report.model_sha256} (its predictions: the prediction column)"
            if report.model_sha256
            else "none: no prediction column"
        ),
        "Reference": f"{report.reference}, {report.reference_rows:,} rows{sampled}",
        "Current": f"{report.current}, {report.current_rows:,} rows{sampled}",
        "Columns": f"{report.n_columns}, every one listed in the table below",
        "Verdict": report.verdict(),
    }


def raise_on_drift(report: DriftReport, *, enforce: bool) -> None:
    """Raise DriftDetectedError when the drift gate failed and ``enforce`` is set; else warn."""
    if report.passed:
        logger.info("drift: {}", report.verdict())
        return
    if not enforce:
        logger.warning("drift: {} (drift.enforce is false: continuing)", report.verdict())
        return
    msg = f"{report.verdict()}\nSee the drift report (HTML). Set drift.enforce: false to continue."
    raise DriftDetectedError(msg)
