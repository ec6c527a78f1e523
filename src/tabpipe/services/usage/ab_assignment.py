"""Which arm of an A/B test a unit sees: the same answer in every process, on every machine.

``arm = the first arm whose cumulative weight exceeds u``, where
``u = first 8 bytes of HMAC-SHA256(key = experiment id, message = unit id), big-endian / 2**64``.

HMAC-SHA256 exists in every language and database, so the application that serves
the arms and this analysis agree without sharing code; Python's ``hash()`` would not
do (it is salted per process). A new experiment id reshuffles every unit, so two
experiments' assignments are independent.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from tabpipe.records.ab_test import AbExperiment

SCALE = float(2**64)


def unit_position(experiment_id: str, unit_id: str) -> float:
    """The unit's uniform position in [0, 1) for this experiment."""
    digest = hmac.new(
        experiment_id.encode("utf-8"), unit_id.encode("utf-8"), hashlib.sha256
    ).digest()
    return int.from_bytes(digest[:8], "big") / SCALE


def assign_arm(experiment: AbExperiment, unit_id: str) -> str:
    """The name of the arm ``unit_id`` is assigned to."""
    position = unit_position(experiment.id, unit_id)
    cumulative = 0.0
    for arm in experiment.arms:
        cumulative += arm.weight
        if position < cumulative:
            return arm.name
    return experiment.arms[-1].name  # weights summing to 1 - 1e-16


def assign_arms(experiment: AbExperiment, unit_ids: Iterable[str]) -> list[str]:
    """The arm of each unit, in order."""
    return [assign_arm(experiment, unit) for unit in unit_ids]
