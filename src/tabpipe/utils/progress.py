"""Progress lines for long loops: one log line every few seconds, none for quick ones."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from loguru import logger

PROGRESS_EVERY_S = 5.0
Item = TypeVar("Item")


def with_progress(
    items: Iterable[Item], *, total: int, label: str, every_s: float = PROGRESS_EVERY_S
) -> Iterator[Item]:
    """``items`` unchanged; logs ``label: done/total`` whenever ``every_s`` seconds have passed.

    Time-based, not count-based: a loop that ends within ``every_s`` prints nothing, a
    slow one is never silent for longer than ``every_s`` plus one item.
    """
    started = last = time.perf_counter()
    for done, item in enumerate(items):
        now = time.perf_counter()
        if now - last >= every_s:
            logger.info("{}: {:,}/{:,} ({:.0f} s)", label, done, total, now - started)
            last = now
        yield item
