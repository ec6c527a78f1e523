"""Text shown to people: values echoed in messages, reports and logs stay short."""

from __future__ import annotations

import re
from datetime import UTC, datetime

MAX_SHOWN = 80


def shorten(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` itself, or its first ``limit`` characters and how long it really was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def fmt_number(value: float | None, missing: str = "") -> str:
    """A metric as reports show it: four decimals, or ``missing`` when there is no value."""
    return missing if value is None else f"{value:.4f}"


def utc_now_text() -> str:
    """The current time as pages and descriptions show it: UTC, to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# What git writes into a file it could not merge (``<<<<<<< HEAD`` ... ``>>>>>>> branch``).
_CONFLICT_MARKER = re.compile(r"^(<{7}|={7}|>{7})(?: .*)?$", re.MULTILINE)


def conflict_marker(text: str) -> tuple[int, str] | None:
    """The line number and text of the first merge-conflict marker in ``text``, if any."""
    found = _CONFLICT_MARKER.search(text)
    if found is None:
        return None
    return text.count("\n", 0, found.start()) + 1, found.group(0)
