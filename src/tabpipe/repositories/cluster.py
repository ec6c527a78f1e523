"""The Dask cluster a stage submits its work to (engine: dask).

Without ``DASK_SCHEDULER_ADDRESS`` a stage starts a ``LocalCluster`` on 127.0.0.1
sized by ``params.dask`` and closes it on every exit path; with it (Dask's own
variable: a scheduler started by dask-kubernetes, dask-jobqueue, Coiled or by hand),
the stage connects, and leaves the cluster running when it is done.

Nothing here waits forever: connecting, finding workers and a lost worker are bounded
by ``dask.timeout_s`` and Dask's retry count, and each becomes a :class:`ClusterError`
(exit 10) that says what happened and what to change.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from loguru import logger

from tabpipe.errors import ClusterError, TabpipeError

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client

    from tabpipe.records.params import DaskParams

ADDRESS_VARIABLE = "DASK_SCHEDULER_ADDRESS"
RUNBOOK = "docs/scaling.md, section 'When the cluster fails'"


@contextmanager
def dask_client(settings: DaskParams, *, stage: str) -> Iterator[Client]:
    """A connected Dask client for one stage; every cluster failure leaves as ClusterError."""
    import dask  # noqa: PLC0415 - the pandas engine never imports Dask
    from distributed import Client, LocalCluster  # noqa: PLC0415

    timeout = f"{settings.timeout_s}s"
    config = {
        "distributed.comm.timeouts.connect": timeout,
        # Tasks with no worker to run on fail after this instead of waiting forever.
        "distributed.scheduler.no-workers-timeout": timeout,
        "dataframe.convert-string": False,  # keep object/category columns as pandas has them
        # A task stays where the scheduler placed it: derived from pinned partitions, it
        # runs on the worker that holds them.
        "distributed.scheduler.work-stealing": False,
    }
    address = os.environ.get(ADDRESS_VARIABLE)
    with dask.config.set(config):
        if address:
            client = _connect(address, settings.timeout_s)
            cluster = None
        else:
            try:
                cluster = LocalCluster(
                    n_workers=settings.n_workers,
                    threads_per_worker=settings.threads_per_worker,
                    memory_limit=settings.memory_limit,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",
                    silence_logs=logging.CRITICAL,  # failures are ours to word (exit 10)
                )
            except (OSError, TimeoutError) as exc:
                msg = f"{stage}: could not start a local Dask cluster ({exc}). See {RUNBOOK}."
                raise ClusterError(msg) from exc
            client = Client(cluster)
        where = address or f"a LocalCluster of {settings.n_workers} worker(s)"
        logger.info("{}: Dask on {}; dashboard {}", stage, where, client.dashboard_link)
        try:
            # Every worker of a LocalCluster: one that joins late would change where the
            # partitions live, and so the model (see pinned_partitions).
            every = 1 if address else settings.n_workers
            client.wait_for_workers(every, timeout=settings.timeout_s)
            yield client
        except TabpipeError:
            raise
        except Exception as exc:
            raise _cluster_error(exc, stage=stage, settings=settings, remote=bool(address)) from exc
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def pinned_partitions(client: Client, frame: dd.DataFrame) -> dd.DataFrame:
    """``frame`` computed with partition i held by the i-th worker (by name), modulo their count.

    XGBoost on Dask gives the same model only when every run puts the same partitions on
    the same workers (its ranks follow the workers' names; xgboost#8701). Left to the
    scheduler, the placement, and so the model's bytes, vary with the machine's load.
    """
    import dask.dataframe as dd  # noqa: PLC0415
    from distributed import wait  # noqa: PLC0415

    workers = client.scheduler_info()["workers"]
    ordered = [address for address, _ in sorted(workers.items(), key=lambda w: str(w[1]["name"]))]
    futures = [
        client.compute(part, workers=[ordered[i % len(ordered)]], allow_other_workers=False)
        for i, part in enumerate(frame.to_delayed())
    ]
    wait(futures)
    pinned: dd.DataFrame = dd.from_delayed(futures, meta=frame._meta, divisions=frame.divisions)
    return pinned


def _connect(address: str, timeout_s: int) -> Client:
    from distributed import Client  # noqa: PLC0415

    try:
        return Client(address, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError, ValueError) as exc:
        msg = (
            f"{ADDRESS_VARIABLE}={address}: no Dask scheduler answered within {timeout_s} s "
            f"({type(exc).__name__}). Start it, fix the address, or unset {ADDRESS_VARIABLE} "
            f"to run on a local cluster. See {RUNBOOK}."
        )
        raise ClusterError(msg) from exc


def _cluster_error(
    exc: Exception, *, stage: str, settings: DaskParams, remote: bool
) -> TabpipeError | Exception:
    """The ClusterError a distributed failure means, or ``exc`` itself if it is not one."""
    from distributed.client import FutureCancelledError  # noqa: PLC0415
    from distributed.comm.core import CommClosedError  # noqa: PLC0415
    from distributed.scheduler import KilledWorker  # noqa: PLC0415

    if isinstance(exc, KilledWorker):
        limit = (
            "the workers' memory limit"
            if remote
            else f"dask.memory_limit ({settings.memory_limit})"
        )
        msg = (
            f"{stage}: Dask workers died {exc.allowed_failures + 1} times running "
            f"'{exc.task}', most often from running out of memory. Raise {limit}, or "
            "make partitions smaller (dask.blocksize, dask.rows_per_partition). "
            f"See {RUNBOOK}."
        )
        return ClusterError(msg)
    if isinstance(exc, CommClosedError | FutureCancelledError | TimeoutError):
        msg = (
            f"{stage}: lost the Dask cluster ({type(exc).__name__}: {exc}). The scheduler or "
            f"its workers stopped answering within {settings.timeout_s} s. See {RUNBOOK}."
        )
        return ClusterError(msg)
    if "no-workers" in str(exc) or type(exc).__name__ == "NoValidWorkerError":
        msg = (
            f"{stage}: the Dask cluster has no worker to run on (waited "
            f"{settings.timeout_s} s). Start workers, or check the scheduler. See {RUNBOOK}."
        )
        return ClusterError(msg)
    return exc
