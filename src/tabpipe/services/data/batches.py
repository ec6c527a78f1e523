"""A new batch (predict, monitoring, drift, compare) read and validated like the training data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tabpipe.records.params import Params
from tabpipe.repositories.raw_data import format_of, read_raw
from tabpipe.repositories.schema_file import load_schema
from tabpipe.services.data.preparation import ingest_frame
from tabpipe.services.data.validation import build_schema


def load_batch(path: Path, params: Params, root: Path = Path()) -> pd.DataFrame:
    """A new batch (monitoring, drift) read and validated like the training data.

    Labels are optional: monitoring data often has none yet, so a batch without the
    target column is validated against the schema without it, and a labelled batch may
    hold rows whose label has not arrived (metrics use :func:`labelled_rows`).
    """
    data = params.data
    base = load_schema(root / data.schema_path)
    raw = read_raw(
        path, file_format=format_of(path), delimiter=data.delimiter, encoding=data.encoding
    )
    labelled = data.target in {str(name).strip() for name in raw.columns}
    schema = build_schema(base, target=data.target, task=data.task, batch=True)
    if not labelled:
        schema = schema.remove_columns([data.target])
    validated, _ = ingest_frame(
        raw,
        schema,
        data=data.model_copy(update={"raw_path": path}),
        ingest=params.ingest,
        batch=True,
    )
    return validated
