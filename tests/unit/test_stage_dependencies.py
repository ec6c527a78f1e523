"""dvc.yaml declares exactly the code each stage runs and the params keys it reads.

The truth comes from the source (``scripts/stage_deps.py``: import closure and params
reads along the call graph), so a stage whose code or params changed is never reported
up to date by DVC while its result is stale.
"""

from __future__ import annotations

import dataclasses

from scripts.stage_deps import (
    ROOT,
    DeclaredStage,
    code_deps,
    declared_stages,
    mismatches,
    module_path,
    notebook_imports,
    params_read,
)


def test_every_stage_declares_exactly_the_code_it_runs_and_the_params_it_reads() -> None:
    stages = declared_stages()
    assert {stage.name for stage in stages} == {
        "ingest", "split", "train", "evaluate", "drift", "eda", "report", "promote",
    }  # fmt: skip
    problems = [problem for stage in stages for problem in mismatches(stage)]
    assert problems == [], "fix dvc.yaml (python scripts/stage_deps.py prints the truth):\n" + (
        "\n".join(problems)
    )


def test_a_missing_dependency_or_param_is_caught() -> None:
    train = next(stage for stage in declared_stages() if stage.name == "train")
    broken = dataclasses.replace(
        train,
        code=train.code - {"src/tabpipe/services/modelling/features.py"},
        params=(train.params - {"evaluate.primary_metric"}) | {"drift.max_rows"},
        files=train.files - {"schemas/adult.yaml"},
    )
    assert mismatches(broken) == [
        "train: deps miss src/tabpipe/services/modelling/features.py",
        "train: params miss evaluate.primary_metric",
        "train: params list drift.max_rows, never read",
        "train: deps miss ${data.schema_path} (it reads the file schemas/adult.yaml)",
    ]


def test_split_no_longer_runs_ingest_code_and_train_never_reads_gates() -> None:
    """Pinned observations: a gate change re-runs evaluate, not train; split skips pandera."""
    assert "src/tabpipe/services/stages/ingest.py" not in code_deps("tabpipe split")
    assert "src/tabpipe/services/analysis/metrics.py" in code_deps("tabpipe train")
    reads = params_read("tabpipe train")
    assert not any(key.startswith(("gates", "drift", "report")) for key in reads)
    assert "evaluate.primary_metric" in reads
    assert "data.positive_class" not in params_read("tabpipe ingest")


def test_a_declared_stage_with_an_unknown_command_is_reported() -> None:
    odd = DeclaredStage(name="x", cmd="python x.py", code=frozenset(), params=frozenset())
    assert mismatches(odd) == ["x: command 'python x.py' is not one stage_deps knows"]


def test_a_notebook_stage_depends_on_what_its_notebooks_import() -> None:
    """A module only a notebook imports (the EDA's validation report record) still re-runs
    the eda stage when it changes: the kernel runs it."""
    imported = notebook_imports("tabpipe eda")
    assert "tabpipe.records.validation" in imported
    deps = code_deps("tabpipe eda")
    for module in imported:
        assert str(module_path(module).relative_to(ROOT)) in deps, module
