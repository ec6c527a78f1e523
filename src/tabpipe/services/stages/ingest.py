"""The ingest stage: raw file -> normalised, validated Parquet and a DatasetSummary.

The engine (``engine``) is chosen here, once: each engine module offers the same
function, ``(params, root) -> IngestResult``, and writes the same outputs
(``services/engines/pandas_ingest.py``, ``services/engines/dask_ingest.py``).
"""

from __future__ import annotations

from pathlib import Path

from tabpipe.records.dataset import IngestResult
from tabpipe.records.params import Params
from tabpipe.services.engines.pandas_ingest import ingest_in_memory
from tabpipe.services.params.checks import check_against_schema


def run_ingest(params: Params, root: Path = Path()) -> IngestResult:
    """Read, normalise, validate and write; raise DataValidationError on any failed check."""
    check_against_schema(params, root)
    if params.engine == "dask":
        from tabpipe.services.engines.dask_ingest import ingest_on_dask  # noqa: PLC0415

        return ingest_on_dask(params, root)
    return ingest_in_memory(params, root)
