"""The same learning work as the pipeline, as a plain scikit-learn script.

Reads the raw Adult file, cleans it, splits it as `split` does (seeded, stratified,
70/15/15), fits a HistGradientBoostingClassifier with scikit-learn's own defaults
(native categorical support, its internal early stopping) and prints the test ROC AUC.
It is the reference the pipeline's model must not fall below, and the "bare" side of
the benchmarks.

Usage: python scripts/bare_sklearn.py [RAW_FILE]
"""

from __future__ import annotations

import sys
import time

import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

SEED = 42


def main(raw_path: str = "data/raw/adult.csv.gz") -> None:
    started = time.perf_counter()
    frame = pd.read_csv(raw_path, skipinitialspace=True, na_values=["?"])
    frame = frame.drop(columns=["Unnamed: 0"])
    for column in frame.select_dtypes("object"):
        frame[column] = frame[column].astype("category")
    rest, test = train_test_split(
        frame, test_size=0.15, random_state=SEED, stratify=frame["income"]
    )
    train, _ = train_test_split(
        rest, test_size=0.15 / 0.85, random_state=SEED, stratify=rest["income"]
    )
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=SEED)
    model.fit(train.drop(columns="income"), train["income"])
    scores = model.predict_proba(test.drop(columns="income"))[:, 1]
    auc = roc_auc_score(test["income"] == ">50K", scores)
    elapsed = time.perf_counter() - started
    print(f"bare HistGradientBoostingClassifier: test roc_auc {auc:.4f} ({elapsed:.1f} s)")  # noqa: T201


if __name__ == "__main__":
    main(*sys.argv[1:])
