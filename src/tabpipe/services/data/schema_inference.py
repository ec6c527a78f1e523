"""A first draft of a dataset's pandera schema, from pandera's own inference.

pandera infers dtypes, nullability and value ranges; it lists allowed values only
for categorical columns, so low-cardinality text columns are made categorical
first. The draft is meant to be reviewed (widen ranges that are only what this
sample happened to hold) and then committed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from pandas.api.types import is_float_dtype, is_object_dtype, is_string_dtype

from tabpipe.repositories.raw_data import format_of, read_raw
from tabpipe.repositories.schema_file import dump_schema
from tabpipe.services.data.normalise import normalise_frame


def infer_schema(frame: pd.DataFrame, *, max_categories: int = 100) -> pa.DataFrameSchema:
    """Pandera's inferred schema, with few-valued text columns as categories.

    Bounds that only describe this sample are left out.
    """
    typed = frame.copy()
    for name in typed.columns:
        column = typed[name]
        is_text = is_object_dtype(column.dtype) or is_string_dtype(column.dtype)
        if is_text and column.nunique(dropna=True) <= max_categories:
            typed[name] = column.astype("category")
    schema = pa.infer_schema(typed)
    # Identifiers are text or integers; a decimal measurement whose values happen not to
    # repeat in this file is not one, and `unique: true` would refuse its next duplicate.
    unique = {
        str(name): {"unique": True}
        for name in typed.columns
        if len(typed) > 1
        and not is_float_dtype(typed[name].dtype)
        and typed[name].notna().all()
        and typed[name].is_unique
    }
    schema = schema.update_columns(unique) if unique else schema
    return _finalise(schema)


def _finalise(schema: pa.DataFrameSchema) -> pa.DataFrameSchema:
    """No index check (it is an artefact of reading); undeclared columns are rejected."""
    return pa.DataFrameSchema(
        columns=schema.columns,
        coerce=True,
        strict=True,
        name=schema.name,
        description=schema.description,
    )


def draft_schema_yaml(
    raw: Path,
    *,
    delimiter: str,
    encoding: str,
    missing_values: tuple[str, ...],
    drop_columns: tuple[str, ...],
    max_categories: int,
) -> str:
    """Read a raw file the way ingest will, and return the inferred schema as YAML."""
    file_format = format_of(raw)
    frame = read_raw(raw, file_format=file_format, delimiter=delimiter, encoding=encoding)
    frame = normalise_frame(frame, missing_values=missing_values, drop_columns=drop_columns)
    header = (
        f"# Draft inferred by `tabpipe schema infer` from {raw.name} ({len(frame)} rows).\n"
        "# Review before committing: widen ranges that only reflect this sample,\n"
        "# check allowed categories, nullability and uniqueness.\n"
    )
    return header + dump_schema(infer_schema(frame, max_categories=max_categories))
