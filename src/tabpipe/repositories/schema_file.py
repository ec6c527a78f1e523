"""pandera schemas kept as reviewed YAML files beside the data they describe.

pandera reads a schema file leniently: a key it does not know (a misspelt check such
as ``greater_than_or_equalz``) is skipped, so the check silently disappears, and a
check given a value of the wrong type (``greater_than_or_equal_to: seventeen``) only
fails later, against good data, as if the data were wrong. A schema is the contract
every row is held to, so the file is checked strictly first: every key must be one
pandera reads, every check name one pandera has, every bound of the right type.
All problems are reported at once, as parameter errors (exit 2).
"""

from __future__ import annotations

import difflib
import numbers
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tabpipe.errors import ParamsError
from tabpipe.utils.text import shorten

if TYPE_CHECKING:
    import pandera.pandas as pa

# The top-level keys pandera's deserializer reads (pandera.io.pandas_io.deserialize_schema).
SCHEMA_KEYS = frozenset(
    {
        "schema_type", "version", "api", "dataframe_library", "columns", "checks", "index",
        "multiindex", "dtype", "coerce", "strict", "name", "ordered", "unique",
        "report_duplicates", "unique_column_names", "add_missing_columns", "title",
        "description", "metadata", "drop_invalid_rows",
    }
)  # fmt: skip
# Checks that compare values with a bound: on a numeric column the bound must be a number.
COMPARISONS = frozenset(
    {
        "equal_to", "not_equal_to", "greater_than", "greater_than_or_equal_to", "less_than",
        "less_than_or_equal_to", "in_range",
    }
)  # fmt: skip
CHECK_OPTIONS = frozenset(
    {"ignore_na", "raise_warning", "n_failure_cases", "error", "name", "groupby", "groups"}
)
BOOLEAN_STATISTICS = frozenset({"include_min", "include_max"})
# Column settings of a pandas schema (pandera's reserved keys also hold xarray ones).
COLUMN_KEYS = frozenset(
    {
        "title", "description", "dtype", "nullable", "checks", "name", "unique", "coerce",
        "required", "regex", "default", "report_duplicates", "drop_invalid_rows",
    }
)  # fmt: skip


def check_names() -> frozenset[str]:
    """The checks pandera's pandas backend implements, and any registered custom check."""
    import pandera.backends.pandas.builtin_checks as pandas_checks  # noqa: PLC0415 - ~1 s
    from pandera.api.base.checks import BaseCheck  # noqa: PLC0415

    builtin = {name for name in dir(pandas_checks) if name in BaseCheck.CHECK_FUNCTION_REGISTRY}
    return frozenset(builtin | set(BaseCheck.REGISTERED_CUSTOM_CHECKS))


def read_schema_file(path: Path) -> Any:
    """The schema file's YAML, parsed but not yet checked."""
    if not path.is_file():
        msg = (
            f"{path}: schema file not found. Check data.schema_path in params.yaml, "
            "or write one with `tabpipe schema infer RAW > FILE`."
        )
        raise ParamsError(msg)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        msg = f"{path}: not valid YAML ({type(exc).__name__}: {exc})."
        raise ParamsError(msg) from exc


def schema_columns(path: Path) -> dict[str, dict[str, Any]]:
    """Column name -> its settings, from a schema file that passed the strict check."""
    raw = read_schema_file(path)
    _raise_on_problems(path, schema_file_problems(raw, checks=False))
    return {str(name): dict(settings or {}) for name, settings in raw["columns"].items()}


def _raise_on_problems(path: Path, problems: list[str]) -> None:
    if problems:
        shown = "\n".join(f"  - {problem}" for problem in problems)
        msg = (
            f"{path}: {len(problems)} problem(s) in the schema file; fix them before any "
            f"data is checked against it:\n{shown}"
        )
        raise ParamsError(msg)


def load_schema(path: Path) -> pa.DataFrameSchema:
    """The pandera schema of a reviewed YAML file, checked strictly first (exit 2 on a typo)."""
    import pandera.pandas as pa  # noqa: PLC0415 - pandera costs about a second to import

    raw = read_schema_file(path)
    _raise_on_problems(path, schema_file_problems(raw))
    try:
        schema = pa.DataFrameSchema.from_yaml(path)
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        msg = f"{path}: not a valid pandera schema ({type(exc).__name__}: {exc})."
        raise ParamsError(msg) from exc
    return schema


def schema_file_problems(raw: Any, *, checks: bool = True) -> list[str]:
    """Every way the parsed YAML departs from what pandera reads (empty when it is fine).

    ``checks=False`` looks at the layout only (a mapping with a ``columns:`` mapping),
    which is all a stage needs to know the column names, without importing pandera.
    """
    if not isinstance(raw, dict):
        kind = "empty" if raw is None else f"a {type(raw).__name__}"
        return [
            f"the file is {kind}, not a mapping: a pandera schema starts with "
            "`schema_type: dataframe` and lists its `columns:`"
        ]
    problems = [
        _unknown("top-level key", key, "", SCHEMA_KEYS) for key in raw if key not in SCHEMA_KEYS
    ]
    columns = raw.get("columns")
    if columns is None:
        problems.append("no `columns:` mapping: the schema would accept any data")
    elif not isinstance(columns, dict):
        problems.append("`columns:` must map each column name to its settings")
    elif checks:
        for name, settings in columns.items():
            problems += _column_problems(str(name), settings)
    return problems


def _column_problems(column: str, settings: Any) -> list[str]:
    where = f"columns.{column}"
    if settings is None:
        return []
    if not isinstance(settings, dict):
        return [f"{where}: must be a mapping of settings (dtype, nullable, checks ...)"]
    known = check_names()
    problems = []
    checks: dict[str, Any] = {}
    for key, value in settings.items():
        if key == "checks":
            if isinstance(value, dict):
                checks.update(value)
            elif value is not None and not isinstance(value, list):
                problems.append(f"{where}.checks: must map check names to their values")
        elif key in known:
            checks[key] = value
        elif key not in COLUMN_KEYS:
            problems.append(_unknown("key or check", key, where, COLUMN_KEYS | known))
    numeric = _is_numeric(settings.get("dtype"))
    for check, value in checks.items():
        if check not in known:
            problems.append(_unknown("check", check, where, known))
        else:
            problems += _value_problems(f"{where}.{check}", check, value, numeric=numeric)
    return problems


def _value_problems(where: str, check: str, value: Any, *, numeric: bool) -> list[str]:
    statistics = (
        {k: v for k, v in value.items() if k not in CHECK_OPTIONS}
        if isinstance(value, dict)
        else {"value": value}
    )
    if check in {"isin", "notin"}:
        listed = statistics.get("allowed_values", statistics.get("forbidden_values", value))
        if not isinstance(listed, list):
            return [f"{where}: must be a list of values, got {_show(listed)}"]
        return []
    if check in COMPARISONS and numeric:
        return [
            f"{where}: must be a number for this numeric column, got {_show(stat)}"
            for key, stat in statistics.items()
            if key not in BOOLEAN_STATISTICS
            and (isinstance(stat, bool) or not isinstance(stat, numbers.Real))
        ]
    if check == "str_length":
        return [
            f"{where}: must be a whole number of characters, got {_show(stat)}"
            for stat in statistics.values()
            if stat is not None and (isinstance(stat, bool) or not isinstance(stat, int))
        ]
    return []


def _is_numeric(dtype: Any) -> bool:
    text = str(dtype or "").lower()
    return text.startswith(("int", "uint", "float")) or text in {"number", "numeric"}


def _show(value: Any) -> str:
    return shorten(repr(value))


def _unknown(kind: str, name: Any, where: str, allowed: frozenset[str]) -> str:
    prefix = f"{where}: " if where else ""
    close = difflib.get_close_matches(str(name), sorted(allowed), n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    if kind == "check":
        names = ", ".join(sorted(allowed))
        return f"{prefix}unknown check '{name}': {hint}pandera's checks are {names}"
    return f"{prefix}unknown {kind} '{name}': {hint}allowed: {', '.join(sorted(allowed))}"


def dump_schema(schema: pa.DataFrameSchema) -> str:
    """A pandera schema as the YAML a reviewer commits."""
    text = schema.to_yaml()
    if text is None:  # pandera returns None only when given a stream to write to
        msg = "pandera did not serialise the schema"
        raise RuntimeError(msg)
    return text
