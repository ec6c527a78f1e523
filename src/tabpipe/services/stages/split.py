"""The split stage: validated data -> train / validation / test, seeded and leak-free.

Reads ``paths.validated``; splits by seeded shuffling (stratified on the target, or by
group) or by row hash (``split.method``, ``services/data/split_rows.py``); writes the
three Parquet parts as one folder (``paths.split_dir``) and the summary
(``paths.split_summary``). The engine is chosen here, once: each engine module offers
``(params, root) -> SplitSummary`` with the same outputs (``split.method: hash`` gives
the same rows in each part on both).
"""

from __future__ import annotations

from pathlib import Path

from tabpipe.records.dataset import SplitSummary
from tabpipe.records.params import Params
from tabpipe.services.engines.pandas_split import split_in_memory
from tabpipe.services.params.checks import check_against_schema


def run_split(params: Params, root: Path = Path()) -> SplitSummary:
    """The split stage: split the validated data on the engine ``params.engine`` names."""
    check_against_schema(params, root)
    if params.engine == "dask":
        from tabpipe.services.engines.dask_split import split_on_dask  # noqa: PLC0415

        return split_on_dask(params, root)
    return split_in_memory(params, root)
