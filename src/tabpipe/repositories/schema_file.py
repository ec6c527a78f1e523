"""pandera schemas kept as reviewed YAML files beside the data they describe."""

from __future__ import annotations

from pathlib import Path

import pandera.pandas as pa
import yaml

from tabpipe.errors import ParamsError


def load_schema(path: Path) -> pa.DataFrameSchema:
    if not path.is_file():
        msg = (
            f"{path}: schema file not found. Check data.schema_path in params.yaml, "
            "or write one with `tabpipe schema infer RAW > FILE`."
        )
        raise ParamsError(msg)
    try:
        schema = pa.DataFrameSchema.from_yaml(path)
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        msg = f"{path}: not a valid pandera schema ({type(exc).__name__}: {exc})."
        raise ParamsError(msg) from exc
    return schema


def dump_schema(schema: pa.DataFrameSchema) -> str:
    text = schema.to_yaml()
    if text is None:  # pandera returns None only when given a stream to write to
        msg = "pandera did not serialise the schema"
        raise RuntimeError(msg)
    return text
