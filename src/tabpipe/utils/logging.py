"""loguru, configured once per process by the CLI: readable console lines, JSON lines to a file.

Nothing is configured at import time, so library users keep control of their own logging.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path

from loguru import logger

CONSOLE_FORMAT = "<green>{time:HH:mm:ss}</green> <level>{level: <7}</level> {message}"


def quiet_third_party() -> None:
    """MLflow logs and warns through the standard library at INFO; keep the console to our lines."""
    # MLflow sets its own level when imported, from this variable.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("mlflow", "alembic", "skops"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\..*")


def configure_logging(*, verbose: bool = False, log_dir: Path | None = Path("logs")) -> None:
    """Replace loguru's default sink with a console sink and, if given, a JSON-lines file.

    The JSON file always records DEBUG so that a failed run can be read after the fact,
    whatever the console showed.
    """
    quiet_third_party()
    logger.remove()
    logger.add(
        sys.stderr,
        level="DEBUG" if verbose else "INFO",
        format=CONSOLE_FORMAT,
        colorize=None,
        backtrace=verbose,
        diagnose=False,
    )
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            logger.add(
                log_dir / "tabpipe.jsonl",
                level="DEBUG",
                serialize=True,
                rotation="10 MB",
                retention=5,
                enqueue=False,
                diagnose=False,
            )
        except OSError as exc:  # the log is a record, not a reason to stop the work
            logger.warning(
                "cannot write the JSON log in {}/ ({}); logging to the console only. "
                "Make the folder writable or set TABPIPE_LOG_DIR.",
                log_dir,
                exc.strerror or type(exc).__name__,
            )
