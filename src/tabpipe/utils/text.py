"""Text shown to people: values echoed in messages, reports and logs stay short."""

from __future__ import annotations

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
