"""params.yaml checked against the schema of the data it describes.

pydantic checks each key on its own; these checks need the schema: every column a
parameter names must be a column the data has, and the positive class one of the
target's declared values. ``tabpipe params --check`` (and so ``make train``, before DVC
starts) and every stage, before any work, run all of them
(:func:`check_against_schema`): a wrong name stops the first stage that runs (exit 2),
under plain ``dvc repro`` too, instead of a later stage after the earlier ones ran.

The check decides no output, so a stage does not list the keys only the check reads
(``scripts/stage_deps.py`` does not follow it): every key it checks is a dependency of
the stage whose output it decides, so changing that key re-runs at least that stage,
whose check then fails on a wrong name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tabpipe.errors import ParamsError
from tabpipe.records.params import DataParams, DriftParams, EvaluateParams, GatesParams, Params
from tabpipe.repositories.params_file import load_params
from tabpipe.repositories.schema_file import schema_columns

PREDICTION_COLUMN = "prediction"  # the model's output, which drift compares as a column
Columns = Mapping[str, Mapping[str, Any]]


def _missing(
    key: str, column: str, columns: Columns, schema: Path, also: Iterable[str] = ()
) -> list[str]:
    if column in columns or column in set(also):
        return []
    return [
        f"{key}: '{column}' is not a column of the schema {schema} "
        f"(its columns: {', '.join(sorted(columns))})"
    ]


def target_problems(data: DataParams, columns: Columns) -> list[str]:
    """The target is a declared column."""
    return _missing("data.target", data.target, columns, data.schema_path)


def positive_class_problems(data: DataParams, columns: Columns) -> list[str]:
    """The positive class is one of the target's declared values (when it declares them)."""
    problems: list[str] = []
    target = columns.get(data.target, {})
    declared = target.get("isin") or (target.get("checks") or {}).get("isin")
    if data.task == "classification" and data.positive_class is not None and declared:
        values = [str(value) for value in declared]
        if data.positive_class not in values:
            problems.append(
                f"data.positive_class: '{data.positive_class}' is not a declared value of "
                f"'{data.target}' (allowed: {', '.join(values)})"
            )
    return problems


def drop_column_problems(data: DataParams, columns: Columns) -> list[str]:
    """Columns dropped before validation cannot also be declared by the schema."""
    return [
        f"data.drop_columns: '{column}' is dropped before validation, but the schema "
        f"declares it: remove it from {data.schema_path} (`tabpipe schema infer "
        f"--drop-column '{column}'` drafts a schema without it)"
        for column in data.drop_columns
        if column in columns
    ]


def feature_problems(excluded: Iterable[str], data: DataParams, columns: Columns) -> list[str]:
    """``train.exclude_columns`` names declared columns."""
    return [
        problem
        for i, column in enumerate(excluded)
        for problem in _missing(f"train.exclude_columns.{i}", column, columns, data.schema_path)
    ]


def slice_problems(
    evaluate: EvaluateParams, gates: GatesParams, data: DataParams, columns: Columns
) -> list[str]:
    """Slice columns, slice-gap gates and behaviour checks name declared columns."""
    keyed = [(f"evaluate.slice_columns.{i}", c) for i, c in enumerate(evaluate.slice_columns)]
    keyed += [(f"gates.slice_gaps.{i}.column", r.column) for i, r in enumerate(gates.slice_gaps)]
    keyed += [(f"gates.behaviour.{i}.column", b.column) for i, b in enumerate(gates.behaviour)]
    return [
        problem
        for key, column in keyed
        for problem in _missing(key, column, columns, data.schema_path)
    ]


def behaviour_problems(gates: GatesParams, data: DataParams, columns: Columns) -> list[str]:
    """Each behaviour check's change fits its column's declared type and the task.

    A shift needs a numeric column, a numeric column needs a number, and a directional
    check needs one score to follow: a regression or a binary target.
    """
    problems = []
    target = columns.get(data.target, {})
    classes = target.get("isin") or (target.get("checks") or {}).get("isin") or []
    for i, check in enumerate(gates.behaviour):
        if check.column not in columns:
            continue  # slice_problems names it
        dtype = str(columns[check.column].get("dtype", "")).lower()
        numeric = dtype.startswith(("int", "uint", "float"))
        key = f"gates.behaviour.{i}"
        if check.shift is not None and not numeric:
            problems.append(
                f"{key}.shift: '{check.column}' is not numeric (dtype {dtype or 'unset'}); "
                "set value instead"
            )
        if check.value is not None and numeric and isinstance(check.value, str):
            problems.append(f"{key}.value: '{check.column}' is numeric: give a number")
        multiclass = data.task == "classification" and len(classes) > 2  # noqa: PLR2004
        if check.kind == "directional" and multiclass:
            problems.append(
                f"{key}.kind: a directional check follows one score, and '{data.target}' has "
                f"{len(classes)} classes: use invariance, or a binary target"
            )
    return problems


def drift_problems(drift: DriftParams, data: DataParams, columns: Columns) -> list[str]:
    """Per-column drift settings name declared columns (or the prediction)."""
    keyed = [(f"drift.per_column_method.{c}", c) for c in drift.per_column_method]
    keyed += [(f"drift.per_column_threshold.{c}", c) for c in drift.per_column_threshold]
    return [
        problem
        for key, column in keyed
        for problem in _missing(key, column, columns, data.schema_path, (PREDICTION_COLUMN,))
    ]


def group_problems(group_column: str | None, data: DataParams, columns: Columns) -> list[str]:
    """``split.group_column`` names a declared column."""
    if group_column is None:
        return []
    return _missing("split.group_column", group_column, columns, data.schema_path)


def raise_on(problems: list[str], source: str) -> None:
    """Raise one ParamsError listing every problem, naming ``source``; nothing when none."""
    if problems:
        shown = "\n".join(f"  - {problem}" for problem in problems)
        msg = f"{source}: {len(problems)} parameter(s) do not match the data's schema:\n{shown}"
        raise ParamsError(msg)


def check_all(path: Path, root: Path = Path()) -> Params:
    """params.yaml, validated on its own and every column name against its schema file."""
    params = load_params(path)
    check_against_schema(params, root, source=str(path))
    return params


def check_against_schema(params: Params, root: Path = Path(), source: str = "params.yaml") -> None:
    """Every column a key names, and the positive class, against the schema; ParamsError."""
    data = params.data
    columns = schema_columns(root / data.schema_path)
    raise_on(
        [
            *target_problems(data, columns),
            *positive_class_problems(data, columns),
            *drop_column_problems(data, columns),
            *group_problems(params.split.group_column, data, columns),
            *feature_problems(params.train.exclude_columns, data, columns),
            *slice_problems(params.evaluate, params.gates, data, columns),
            *behaviour_problems(params.gates, data, columns),
            *drift_problems(params.drift, data, columns),
        ],
        source,
    )
