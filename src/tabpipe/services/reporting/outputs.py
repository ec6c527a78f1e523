"""``tabpipe status``: what the pipeline produced and whether it is one run.

Which model each output describes, what DVC says is out of date, and what the
registry holds now.

Every output that describes a model carries the model file's sha256, so the
dashboard can say when two outputs come from different runs (a failed gate that
left the rejected candidate's metrics beside the previous run's drift report, say)
instead of printing them side by side as if they were one run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from tabpipe.errors import DataReadError
from tabpipe.records.dataset import DatasetSummary, SplitSummary
from tabpipe.records.drift import DriftReport
from tabpipe.records.evaluation import GatesReport, MetricsReport, ModelSummary, PromotionResult
from tabpipe.records.params import Params
from tabpipe.repositories.datasets import read_record
from tabpipe.repositories.dvc_state import StageChange, stale_stages
from tabpipe.repositories.model_file import model_digest
from tabpipe.repositories.reports import read_text
from tabpipe.utils.project import project_root

_MODEL_SHA_IN_CARD = "Model file sha256 `"
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass
class Status:
    """The dashboard's lines and every reason the outputs are not one consistent run."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        """Whether the outputs form one run of the current inputs (no problem found)."""
        return not self.problems

    def text(self) -> str:
        """The dashboard as printed by ``tabpipe status``, ending with the verdict."""
        verdict = (
            ["verdict: consistent: every output on disk comes from one run of the current inputs"]
            if self.consistent
            else ["verdict: NOT CONSISTENT", *(f"  - {problem}" for problem in self.problems)]
        )
        return "\n".join([*self.lines, *verdict])


def _load(path: Path, model_type: type[ModelT], status: Status) -> ModelT | None:
    """The record, or None when it is absent; an unreadable one is a problem, said once."""
    try:
        return read_record(path, model_type) if path.is_file() else None
    except DataReadError as exc:
        status.problems.append(str(exc))
        return None


def _short(digest: str | None) -> str:
    return "unknown" if not digest else digest[:12]


def describe_outputs(params: Params, root: Path = Path()) -> Status:
    """What ``tabpipe status`` shows and judges.

    Reads every record the stages wrote (summaries, model.json, metrics, gates, drift,
    the card), the model file's digest, DVC's status of the stages and the registry's
    aliases; computes, for each output, which model it describes and whether it is
    current. Writes nothing: the verdict is consistent only when every output comes from
    one run of the current inputs.
    """
    status = Status(lines=["tabpipe status (outputs in this work tree):"])
    digest = _data_and_model_lines(status, params, root)
    _report_lines(status, params, root, digest)
    _dvc_lines(status, stale_stages(project_root(root)))
    _registry_lines(status, params, root, digest)
    return status


def _data_and_model_lines(status: Status, params: Params, root: Path) -> str | None:
    """Data, splits and the model file; returns the model file's sha256 (None: no model)."""
    paths = params.paths
    lines, problems = status.lines, status.problems
    dataset = _load(root / paths.dataset_summary, DatasetSummary, status)
    if dataset is None:
        lines.append(f"  validated data   missing: run `dvc repro` ({paths.validated})")
    else:
        lines.append(
            f"  validated data   {paths.validated}  ({dataset.n_rows} rows x "
            f"{dataset.n_columns} columns, {dataset.duplicate_rows} duplicate rows)  "
            f"[data {_short(dataset.content_sha256)}]"
        )
    split = _load(root / paths.split_summary, SplitSummary, status)
    if split is not None:
        counts = ", ".join(f"{part.name}={part.n_rows}" for part in split.parts)
        lines.append(f"  splits           {paths.split_dir}/  ({counts})")

    model_file = root / paths.model
    digest = model_digest(model_file) if model_file.is_file() else None
    summary = _load(root / paths.model_summary, ModelSummary, status)
    if digest is None:
        lines.append(f"  model            missing: run `dvc repro` ({paths.model})")
    else:
        kind = "" if summary is None else f"{summary.model_kind}, "
        lines.append(f"  model            {paths.model}  ({kind}sha256 {_short(digest)})")
        if summary is not None and summary.model_sha256 != digest:
            problems.append(
                f"{paths.model_summary} describes model {_short(summary.model_sha256)}, "
                f"not the model file ({_short(digest)})"
            )
        if split is not None and summary is not None:
            parts = {part.name: part.content_sha256 for part in split.parts}
            if parts.get("train") != summary.train_sha256:
                problems.append(f"the model was not fitted on the train split in {paths.split_dir}")
    return digest


def _report_lines(status: Status, params: Params, root: Path, digest: str | None) -> None:
    """Metrics, gates, drift, card, notebooks: each checked against the model file."""
    paths = params.paths
    lines, problems = status.lines, status.problems

    def about(path: Path, described: str | None) -> str:
        """Which model the output describes: the one on disk, or another run's."""
        if described is None:
            return "  [model not recorded]"
        if digest is None or described == digest:
            return f"  [model {_short(described)}]"
        problems.append(f"{path} describes model {_short(described)}, not {_short(digest)}")
        return f"  [STALE: describes model {_short(described)}]"

    metrics = _load(root / paths.metrics, MetricsReport, status)
    if metrics is not None:
        primary = metrics.primary_metric
        interval = (
            f" (95% CI {metrics.interval.low:.4f} to {metrics.interval.high:.4f})"
            if metrics.interval
            else ""
        )
        lines.append(
            f"  metrics          {paths.metrics}  (test {primary} "
            f"{metrics.test[primary]:.4f}{interval})" + about(paths.metrics, metrics.model_sha256)
        )
    gates = _load(root / paths.gates, GatesReport, status)
    if gates is not None:
        verdict = (
            "passed"
            if gates.passed
            else f"FAILED ({len(gates.failed)} gate(s)): {paths.model} is a REJECTED candidate"
        )
        lines.append(
            f"  quality gates    {paths.gates_summary}  ({verdict})"
            + about(paths.gates, gates.model_sha256)
        )
        lines += [f"    - {gate.describe()}" for gate in gates.gates]
    drift = _load(root / paths.drift_summary, DriftReport, status)
    if drift is not None:
        lines.append(
            f"  drift            {paths.drift_page}  ({drift.verdict()})"
            + about(paths.drift_summary, drift.model_sha256)
        )
    text = read_text(root / paths.model_card)
    if text is not None:
        start = text.find(_MODEL_SHA_IN_CARD)
        described = text[start + len(_MODEL_SHA_IN_CARD) :].split("`", 1)[0] if start >= 0 else None
        lines.append(f"  model card       {paths.model_card}" + about(paths.model_card, described))
    notebooks = [
        root / folder / f"{source.stem}{kind}.html"
        for folder, sources in (
            (paths.eda_dir, params.report.data_notebooks),
            (paths.notebooks_dir, params.report.notebooks),
        )
        for source in sources
        for kind in ("", ".reader")
    ]
    shown = [str(html.relative_to(root)) for html in notebooks if html.is_file()]
    if shown:
        lines.append(f"  notebooks        {', '.join(shown)}")


def _dvc_lines(status: Status, stale: list[StageChange] | None) -> None:
    if stale is None:
        status.lines.append("DVC: not a DVC repository here")
        return
    if not stale:
        status.lines.append("DVC: every stage is up to date with its inputs (dvc status)")
        return
    status.lines.append("DVC: stages out of date with their inputs (dvc status):")
    for change in stale:
        status.lines.append(f"  {change.stage}: {'; '.join(change.changes)}")
    status.problems.append(
        f"stage(s) {', '.join(c.stage for c in stale)} out of date: run `dvc repro`"
    )


def _registry_lines(status: Status, params: Params, root: Path, digest: str | None) -> None:
    from tabpipe.services.usage.registry_view import registry_summary  # noqa: PLC0415 - MLflow: lazy

    status.lines.extend(registry_summary(params, root, digest))
    promotion = _load(root / params.paths.promotion, PromotionResult, status)
    if promotion is not None:
        model = (
            "this model"
            if promotion.model_sha256 == digest
            else f"model {_short(promotion.model_sha256)}, not the one on disk"
        )
        status.lines.append(
            f"  last promote     {params.paths.promotion}  ({promotion.decided_at}, {model}, "
            f"{promotion.mode}: {promotion.reason})"
        )
    status.lines.append("  compare runs     make ui, then open http://127.0.0.1:5000")
