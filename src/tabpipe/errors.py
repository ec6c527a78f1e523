"""The project's exceptions and the exit code each one maps to.

Every error a user can cause derives from :class:`TabpipeError`; the CLI turns
it into one readable line and its exit code, and only an unexpected exception
(exit 1) is a bug.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tabpipe.records.validation import ValidationReport


class ExitCode:
    """Exit codes are part of the CLI contract (documented in the README)."""

    OK = 0
    UNEXPECTED = 1
    BAD_PARAMS = 2
    DATA_INVALID = 3
    GATE_FAILED = 4
    DRIFT_DETECTED = 5
    NOTEBOOK_FAILED = 6
    STALE_OUTPUTS = 7
    TRACKING_UNAVAILABLE = 8
    OUTPUT_NOT_WRITABLE = 9
    CLUSTER_FAILED = 10


class TabpipeError(Exception):
    """Base class: an error the user can act on, with its exit code.

    ``verdict`` is true when the stage did its job and its answer is "no" (a failed
    gate, drift): its MLflow run is FINISHED, not FAILED.
    """

    exit_code: int = ExitCode.UNEXPECTED
    verdict: bool = False


class ParamsError(TabpipeError):
    """params.yaml (or a command-line option) is missing, malformed or invalid."""

    exit_code = ExitCode.BAD_PARAMS


class DataValidationError(TabpipeError):
    """Input data cannot be read or does not satisfy its schema.

    ``report`` holds every failed check when schema validation ran; ``report_path``
    points at its machine-readable copy once one was written.
    """

    exit_code = ExitCode.DATA_INVALID

    def __init__(
        self,
        message: str,
        report: ValidationReport | None = None,
        report_path: Path | None = None,
    ) -> None:
        super().__init__(message)
        self.report = report
        self.report_path = report_path


class DataReadError(DataValidationError):
    """The raw file cannot be parsed at all (missing, empty, corrupt, wrong delimiter)."""


class ModelFileError(DataReadError):
    """A model file or registered model's artifact is damaged, truncated or untrusted."""


class TrackingError(TabpipeError):
    """The MLflow tracking store or registry cannot be reached, or lacks what is needed.

    A server that stops answering, a store that cannot be opened, no ``champion`` yet,
    no run that logged this model: the pipeline cannot record or read what it must.
    """

    exit_code = ExitCode.TRACKING_UNAVAILABLE


class TrackingUnavailableError(TrackingError):
    """The tracking server did not answer within the bounded retries."""


class OutputWriteError(TabpipeError):
    """An output cannot be written (permission denied, disk full, read-only file system)."""

    exit_code = ExitCode.OUTPUT_NOT_WRITABLE


class GateFailedError(TabpipeError):
    """The candidate model failed at least one enforced quality gate."""

    exit_code = ExitCode.GATE_FAILED
    verdict = True


class DriftDetectedError(TabpipeError):
    """The share of drifted columns is above ``drift.max_drifted_share``."""

    exit_code = ExitCode.DRIFT_DETECTED
    verdict = True


class NotebookError(TabpipeError):
    """A notebook breaks the notebook rules, or a cell raised while it ran."""

    exit_code = ExitCode.NOTEBOOK_FAILED


class StaleOutputsError(TabpipeError):
    """The pipeline's outputs on disk do not describe one model and one run."""

    exit_code = ExitCode.STALE_OUTPUTS


class ClusterError(TabpipeError):
    """The Dask cluster cannot be reached, lost its workers, or a worker ran out of memory."""

    exit_code = ExitCode.CLUSTER_FAILED
