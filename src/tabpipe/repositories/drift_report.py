"""Evidently's HTML report on disk, byte-reproducible.

Evidently names its widgets with time-based UUIDs (version 7) and its metrics with
``metric_<random hex>``, so two reports of the same data differ in every id, and the
page's hash in ``dvc.lock`` would change on every run. The ids only tie the page's
widgets to their data; they are renamed here in order of first appearance, which
gives the same bytes for the same report. Data values are left alone: only the
``metric_`` names and version-7 UUIDs (Evidently's own, from the clock) are renamed.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from tabpipe.utils.atomic import atomic_path

_GENERATED_ID = re.compile(
    r"(?<![0-9a-fA-F-])[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}(?![0-9a-fA-F-])"
    r"|(?<=metric_)[0-9a-f]{32}(?![0-9a-fA-F])"
)


def canonical_ids(html: str) -> str:
    """The same page with Evidently's generated ids numbered in order of appearance."""
    mapping: dict[str, str] = {}

    def rename(match: re.Match[str]) -> str:
        found = match.group(0)
        key = found.replace("-", "")
        if key not in mapping:
            number = f"{len(mapping) + 1:032x}"  # shaped as a version-7 id, variant bits set
            mapping[key] = f"{number[:12]}7{number[13:16]}8{number[17:]}"
        new = mapping[key]
        return str(uuid.UUID(hex=new)) if "-" in found else new

    return _GENERATED_ID.sub(rename, html)


def write_report_html(snapshot: Any, destination: Path) -> None:
    """Write an Evidently snapshot's page atomically, with canonical ids."""
    with atomic_path(destination) as tmp:
        snapshot.save_html(str(tmp))
        tmp.write_text(canonical_ids(tmp.read_text(encoding="utf-8")), encoding="utf-8")
