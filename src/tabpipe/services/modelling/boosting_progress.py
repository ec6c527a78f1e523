"""Progress of an XGBoost fit, every few rounds: a long fit is never silent.

An XGBoost training callback. On the pandas engine it logs in the stage's process;
on Dask it runs on the workers, and only the first (rank 0) logs, to its stderr,
which a LocalCluster's workers share with the stage's console.
"""

from __future__ import annotations

import time
from typing import Any

import xgboost
from loguru import logger

EVERY_ROUNDS = 25


class RoundLogger(xgboost.callback.TrainingCallback):
    """Log the round, the validation loss and the time spent, every ``every`` rounds."""

    def __init__(self, every: int = EVERY_ROUNDS) -> None:
        super().__init__()
        self.every = every
        self.started = 0.0

    def before_training(self, model: Any) -> Any:
        """Start the clock."""
        self.started = time.monotonic()
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:  # noqa: ARG002
        """Log every ``every`` rounds (rank 0 only); never stops the fit."""
        if (epoch + 1) % self.every or xgboost.collective.get_rank() != 0:
            return False
        shown = ""
        for name, metrics in evals_log.items():
            for metric, values in metrics.items():
                shown = f", {name} {metric} {values[-1]:.4f}"
        elapsed = time.monotonic() - self.started
        logger.info("train: XGBoost round {}{} ({:.0f} s)", epoch + 1, shown, elapsed)
        return False
