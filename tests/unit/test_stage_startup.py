"""Each stage command imports, before its first log line, only the heavy libraries it uses.

Start-up is what a `dvc exp run` pays once per stage process: MLflow, skops, Evidently,
XGBoost, matplotlib and the notebook stack cost seconds each to import (FACTS.md), so
they are imported where they are called. A fresh interpreter per stage imports the
command line and the stage's service module, as `tabpipe <stage>` does before it runs,
and lists which heavy libraries are loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "mlflow", "skops", "evidently", "xgboost", "matplotlib", "papermill", "nbconvert",
    "nbformat", "jupyter_client", "dask", "distributed", "statsmodels", "optuna", "sklearn",
    "scipy", "pandera",
)  # fmt: skip

# What each stage needs loaded when it starts: the libraries its first steps call.
AT_STARTUP = {
    "ingest": {"pandera"},  # validates the raw file
    "split": set(),  # scikit-learn only where a shuffled split is drawn
    "train": set(),  # scikit-learn where the features are chosen and the model fitted
    "evaluate": set(),  # scikit-learn where the model is measured
    "drift": set(),  # scikit-learn where the model scores, pandera where a batch is read
    "report": {"papermill", "nbformat", "nbconvert", "jupyter_client"},  # runs notebooks
    "promote": set(),  # registers and compares through MLflow, imported when it connects
}


def _loaded_at_startup(stage: str) -> set[str]:
    code = (
        "import json, sys\n"
        "import tabpipe.cli.app\n"
        f"import tabpipe.services.stages.{stage}\n"
        f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("stage", sorted(AT_STARTUP))
def test_a_stage_starts_without_the_heavy_libraries_it_does_not_call_yet(stage: str) -> None:
    loaded = _loaded_at_startup(stage)
    assert loaded == AT_STARTUP[stage], (
        f"tabpipe {stage} imports {sorted(loaded - AT_STARTUP[stage])} at start-up "
        f"(import them where they are called), or no longer needs "
        f"{sorted(AT_STARTUP[stage] - loaded)} (update AT_STARTUP)"
    )


def test_mlflow_is_imported_on_the_first_use_of_the_store_not_before() -> None:
    code = (
        "import sys\n"
        "from tabpipe.repositories import mlflow_store as store\n"
        "assert 'mlflow' not in sys.modules\n"
        "store.tracking_store\n"
        "print('mlflow' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"
