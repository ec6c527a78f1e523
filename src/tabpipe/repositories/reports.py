"""Text outputs: Markdown summaries, the model card and small JSON, written whole.

Also the check a stage makes before its long work that its outputs can be written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tabpipe.utils.atomic import ensure_writable, write_json_atomic, write_text_atomic


def write_text(destination: Path, text: str) -> None:
    """Replace ``destination`` with ``text`` (UTF-8) in one rename: never half-written."""
    write_text_atomic(destination, text)


def write_json(destination: Path, payload: Any) -> None:
    """Replace ``destination`` with ``payload`` as indented JSON, floats at the stated precision."""
    write_json_atomic(destination, payload)


def check_writable(*destinations: Path) -> None:
    """Raise ``OutputWriteError`` (exit 9) now for an output the file system would refuse."""
    ensure_writable(*destinations)


def read_text(path: Path) -> str | None:
    """The file's text, or None when it does not exist (yet)."""
    return path.read_text(encoding="utf-8") if path.is_file() else None
