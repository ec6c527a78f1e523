"""Evidently's HTML report on disk, byte-reproducible.

Evidently names its widgets with time-based UUIDs (version 7) and its metrics with
``metric_<random hex>``, so two reports of the same data differ in every id, and the
page's hash in ``dvc.lock`` would change on every run. The ids only tie the page's
widgets to their data; they are renamed here in order of first appearance, which
gives the same bytes for the same report. Only the ``metric_`` names and version-7
UUIDs (Evidently's own, from the clock) are renamed. The page's data (the script that
declares the ``metric_`` variables, not Evidently's code) has its numbers written at
the precision of every tabpipe output (``utils.numbers``): Evidently writes them at
full ``repr`` precision, whose last digits depend on the CPU.

Two more changes make the page readable on its own. A header (a small table after
``<body>``) names what was compared, the model and, where the caller gives them, the
run and date, and the page gets a ``<title>``: Evidently 0.7 renders neither its
report's name nor its metadata. And the drift table lists every column on one page:
Evidently's ``DataDriftTable`` widget hard-codes 10 rows per page
(``rich_table_data(rows_per_page=10)``, no parameter), which hid the target and the
prediction, sorted last, behind a page switch.
"""

from __future__ import annotations

import contextlib
import html
import re
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tabpipe.utils.atomic import atomic_path, write_text_atomic
from tabpipe.utils.numbers import stable_literals

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


_DATA_SCRIPT = re.compile(r"(<script>)(\s*var metric_.*?)(</script>)", re.DOTALL)


def stable_data(page: str) -> str:
    """The page with the numbers of its data script at the stated precision."""
    return _DATA_SCRIPT.sub(lambda m: m.group(1) + stable_literals(m.group(2)) + m.group(3), page)


_ROWS_PER_PAGE = re.compile(r'("params": \{"rowsPerPage": )(\d+)')
_HEADER = re.compile(r'<div class="tabpipe-header".*?</div>\n', re.DOTALL)
_STYLE = (
    "font-family: sans-serif; font-size: 14px; margin: 16px 24px; padding: 8px 12px; "
    "border: 1px solid #ddd; border-radius: 4px; background: #fafafa"
)


def header_html(title: str, header: Mapping[str, str]) -> str:
    """The block a page opens with: its title and one row per name (values escaped)."""
    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:16px'>{html.escape(name)}</th>"
        f"<td>{html.escape(value)}</td></tr>"
        for name, value in header.items()
    )
    return (
        f'<div class="tabpipe-header" style="{_STYLE}"><h2 style="margin:4px 0 8px">'
        f"{html.escape(title)}</h2><table>{rows}</table></div>\n"
    )


def with_header(page: str, title: str, header: Mapping[str, str]) -> str:
    """``page`` with its header block (replacing one already there) and ``<title>``."""
    page = _HEADER.sub("", page, count=1)
    page = re.sub(r"<title>[^<]*</title>\n?(?=</head>)", "", page, count=1)
    page = page.replace("</head>", f"<title>{html.escape(title)}</title>\n</head>", 1)
    return page.replace("<body>", "<body>\n" + header_html(title, header), 1)


def every_row_on_one_page(page: str, rows: int) -> str:
    """Evidently's tables with at least ``rows`` rows per page (the drift table: all columns)."""
    return _ROWS_PER_PAGE.sub(lambda m: f"{m.group(1)}{max(int(m.group(2)), rows)}", page)


def write_report_html(
    snapshot: Any,
    destination: Path,
    *,
    title: str = "Drift report",
    header: Mapping[str, str] | None = None,
    rows: int = 0,
) -> None:
    """Write an Evidently snapshot's page atomically: canonical ids, stated precision, header."""
    with atomic_path(destination) as tmp:
        snapshot.save_html(str(tmp))
        page = stable_data(canonical_ids(tmp.read_text(encoding="utf-8")))
        page = with_header(every_row_on_one_page(page, rows), title, header or {})
        tmp.write_text(page, encoding="utf-8")


@contextlib.contextmanager
def headed_copy(page: Path, title: str, header: Mapping[str, str]) -> Iterator[Path]:
    """A copy of a written page under another header (e.g. naming a run), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="tabpipe-drift-") as folder:
        copy = Path(folder) / page.name
        text = page.read_text(encoding="utf-8")
        write_text_atomic(copy, with_header(text, title, header))
        yield copy
