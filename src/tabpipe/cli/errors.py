"""Mapping exceptions to one readable line and an exit code.

A :class:`TabpipeError` is the user's to fix: its message is shown as it is.
Anything else is a bug: a short line, and the traceback only with ``--verbose``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from loguru import logger

from tabpipe.errors import DataValidationError, ExitCode, TabpipeError


@contextlib.contextmanager
def exit_on_error(*, verbose: bool) -> Iterator[None]:
    """Run a command's body; turn a tabpipe error into one line and its exit code.

    Anything else is a bug: exit 1 with a short line, the traceback only with ``--verbose``.
    """
    try:
        yield
    except TabpipeError as exc:
        if verbose:
            logger.opt(exception=exc).debug("traceback")
        logger.error("{}", exc)
        if isinstance(exc, DataValidationError) and exc.report_path is not None:
            logger.error("full report: {}", exc.report_path)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        logger.error("interrupted")
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no raw traceback
        if verbose:
            logger.opt(exception=exc).error("unexpected error")
        else:
            logger.error(
                "unexpected error: {}: {} (rerun with --verbose for the traceback)",
                type(exc).__name__,
                exc,
            )
        raise typer.Exit(ExitCode.UNEXPECTED) from None
