"""Progress lines: time-based, silent for quick loops, never silent for long ones."""

from __future__ import annotations

import time

from loguru import logger

from tabpipe.utils.progress import with_progress


def _lines(items: list[int], every_s: float, pause_s: float) -> tuple[list[int], list[str]]:
    lines: list[str] = []
    sink = logger.add(lines.append, format="{message}")
    seen = []
    try:
        for item in with_progress(items, total=len(items), label="work", every_s=every_s):
            seen.append(item)
            time.sleep(pause_s)
    finally:
        logger.remove(sink)
    return seen, lines


def test_a_quick_loop_prints_nothing_and_keeps_its_items() -> None:
    seen, lines = _lines(list(range(50)), every_s=60.0, pause_s=0.0)
    assert seen == list(range(50))
    assert lines == []


def test_a_slow_loop_reports_how_far_it_is() -> None:
    seen, lines = _lines(list(range(6)), every_s=0.05, pause_s=0.03)
    assert seen == list(range(6))
    assert lines
    assert all(line.startswith("work: ") and "/6 (" in line for line in lines)
