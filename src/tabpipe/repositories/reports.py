"""Text outputs: Markdown summaries and the model card, written whole, read when present."""

from __future__ import annotations

from pathlib import Path

from tabpipe.utils.atomic import write_text_atomic


def write_text(destination: Path, text: str) -> None:
    """Replace ``destination`` with ``text`` (UTF-8) in one rename: never half-written."""
    write_text_atomic(destination, text)


def read_text(path: Path) -> str | None:
    """The file's text, or None when it does not exist (yet)."""
    return path.read_text(encoding="utf-8") if path.is_file() else None
