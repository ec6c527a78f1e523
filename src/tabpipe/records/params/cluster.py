"""The ``dask`` section: the Dask engine's cluster and partitioning."""

from __future__ import annotations

from pydantic import Field

from tabpipe.records.base import FrozenModel


class DaskParams(FrozenModel):
    """The Dask engine: the LocalCluster a stage starts, partition size, bounded samples.

    With ``DASK_SCHEDULER_ADDRESS`` set (Dask's own variable) a stage connects to that
    scheduler instead and leaves it running; the cluster keys below then do not apply.
    """

    n_workers: int = Field(2, ge=1, le=1024, description="LocalCluster worker processes.")
    threads_per_worker: int = Field(1, ge=1, le=256, description="Threads per worker.")
    memory_limit: str = Field(
        "4GB",
        pattern=r"^(auto|\d+(\.\d+)?\s*([KMGT]i?B)?)$",
        description="Memory limit per LocalCluster worker (e.g. 4GB, 2GiB, auto); a worker "
        "above it is restarted and the stage fails with exit 10.",
    )
    blocksize: str = Field(
        "64MB",
        pattern=r"^\d+(\.\d+)?\s*([KMGT]i?B)$",
        description="Bytes of uncompressed CSV per partition (a compressed CSV is one "
        "partition per file: gzip cannot be split; write Parquet for large data).",
    )
    rows_per_partition: int = Field(
        500_000, ge=1_000, description="Rows per Parquet partition that ingest and split write."
    )
    sample_rows: int = Field(
        200_000,
        ge=1_000,
        description="Seeded sample size for what runs in one process: the leakage check, "
        "the monitoring reference, the report's notebooks.",
    )
    timeout_s: int = Field(
        30, ge=1, description="Seconds to wait for a scheduler or workers before exit 10."
    )
