"""Behavioural tests of a model: change one column of every test row, score again.

In the spirit of Made-With-ML's behavioural testing: an invariance test says a change
must not alter the prediction, a directional test says which way the score must move.
Each declared check (``gates.behaviour``) becomes a gate whose value is the share of
rows that break it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tabpipe.records.evaluation import GateResult
from tabpipe.records.params import BehaviourCheck, Task

MAX_ROWS = 10_000  # rows of the test split scored twice per check


def behaviour_gates(
    model: Any,
    features: pd.DataFrame,
    checks: tuple[BehaviourCheck, ...],
    *,
    task: Task,
    positive_class: str | None,
    seed: int,
) -> tuple[GateResult, ...]:
    """One gate per check: the share of (at most ``MAX_ROWS``) test rows that break it."""
    if not checks:
        return ()
    rows = features if len(features) <= MAX_ROWS else features.sample(MAX_ROWS, random_state=seed)
    before = _outputs(model, rows, task=task, positive_class=positive_class)
    return tuple(
        _gate(check, before, _outputs(model, _changed(rows, check), task=task,
                                      positive_class=positive_class))
        for check in checks
    )  # fmt: skip


def _changed(rows: pd.DataFrame, check: BehaviourCheck) -> pd.DataFrame:
    column = rows[check.column]
    if check.shift is not None:
        return rows.assign(**{check.column: column.astype(float) + check.shift})
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = column.cat.categories
        if check.value not in categories:
            column = column.cat.add_categories([check.value])
        filled = pd.Categorical([check.value] * len(rows), categories=column.cat.categories)
        return rows.assign(**{check.column: pd.Series(filled, index=rows.index)})
    return rows.assign(**{check.column: check.value})


def _outputs(
    model: Any, rows: pd.DataFrame, *, task: Task, positive_class: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """The predicted labels (or values) and the score a directional check follows."""
    if task == "regression":
        values = np.asarray(model.predict(rows), dtype=float)
        return values, values
    classes = [str(label) for label in model.classes_]
    proba = np.asarray(model.predict_proba(rows), dtype=float)
    labels = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    positive = positive_class if positive_class in classes else sorted(classes)[-1]
    return labels, proba[:, classes.index(positive)]


def _gate(
    check: BehaviourCheck,
    before: tuple[np.ndarray, np.ndarray],
    after: tuple[np.ndarray, np.ndarray],
) -> GateResult:
    change = (
        f"{check.column} {check.shift:+g}"
        if check.shift is not None
        else f"{check.column} = {check.value!r}"
    )
    if check.kind == "invariance":
        if before[0].dtype == object:
            broken = before[0] != after[0]
        else:
            broken = np.abs(after[0] - before[0]) > check.tolerance
        name = f"prediction unchanged when {change}"
    else:
        moved = after[1] - before[1]
        broken = moved < -check.tolerance if check.direction == "up" else moved > check.tolerance
        name = f"score goes {check.direction} when {change}"
    share = float(np.mean(broken)) if len(broken) else 0.0
    return GateResult(
        name=name,
        kind="behaviour",
        metric=f"{check.kind}:{check.column}",
        value=share,
        bound=check.max_violation_share,
        passed=share <= check.max_violation_share,
        note=f"{int(np.sum(broken))} of {len(broken)} test rows break it",
    )
