"""The same learning work as the pipeline, as a plain scikit-learn script.

Reads the raw file, cleans it, splits it as `split` does (seeded, stratified, fractions
from params.yaml), fits a HistGradientBoostingClassifier with the hyperparameters of
`train.model` in params.yaml, early-stopped on the validation split as `train` does,
and prints the test ROC AUC. No validation, tracking, gates, drift or reports: it is
the reference the pipeline's model must not fall below, and the "bare" side of the
benchmarks (`scripts/benchmark.py`). It reads params.yaml with plain YAML on purpose,
so it shares no code with the pipeline.

Usage: python scripts/bare_sklearn.py [RAW_FILE] [PARAMS_FILE]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split


def read(raw_path: Path, data: dict[str, Any]) -> pd.DataFrame:
    """The raw file as pandas reads it (CSV, compressed CSV or Parquet)."""
    frame: pd.DataFrame
    if raw_path.suffix == ".parquet":
        frame = pd.read_parquet(raw_path)
    else:
        frame = pd.read_csv(
            raw_path, skipinitialspace=True, na_values=data["missing_values"], sep=data["delimiter"]
        )
    frame = frame.drop(columns=data["drop_columns"])
    for column in frame.select_dtypes(["object", "string"]):
        frame[column] = frame[column].astype("category")
    return frame


def main(raw: str | None = None, params_file: str = "params.yaml") -> None:
    """Read, clean, split, fit and score in one process, and print the timings."""
    started = time.perf_counter()
    params = yaml.safe_load(Path(params_file).read_text())
    data, split, spec = params["data"], params["split"], params["train"]["model"]
    target, seed = data["target"], params["split"]["seed"]
    frame = read(Path(raw or data["raw_path"]), data)
    rest, test = train_test_split(
        frame, test_size=split["test"], random_state=seed, stratify=frame[target]
    )
    train, val = train_test_split(
        rest,
        test_size=split["val"] / (1 - split["test"]),
        random_state=seed,
        stratify=rest[target],
    )
    model = HistGradientBoostingClassifier(
        learning_rate=spec["learning_rate"],
        max_iter=spec["max_iter"],
        max_leaf_nodes=spec["max_leaf_nodes"],
        min_samples_leaf=spec["min_samples_leaf"],
        l2_regularization=spec["l2_regularization"],
        early_stopping=spec["early_stopping"],
        n_iter_no_change=spec["n_iter_no_change"],
        categorical_features="from_dtype",
        random_state=params["train"]["seed"],
    )
    model.fit(
        train.drop(columns=target),
        train[target],
        X_val=val.drop(columns=target),
        y_val=val[target],
    )
    scores = model.predict_proba(test.drop(columns=target))[:, 1]
    auc = roc_auc_score(test[target] == data["positive_class"], scores)
    elapsed = time.perf_counter() - started
    print(  # noqa: T201
        f"bare HistGradientBoostingClassifier: test roc_auc {auc:.4f}, "
        f"{model.n_iter_} iterations, {len(frame):,} rows ({elapsed:.1f} s)"
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
