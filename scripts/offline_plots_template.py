"""Write the HTML template that makes `dvc plots show` draw without internet access.

DVC's page loads vega, vega-lite and vega-embed from a CDN, so offline it is blank.
This template (``.dvc/plots/offline.html``, set as ``plots.html_template`` in
``.dvc/config``) inlines the same versions DVC asks the CDN for, taken from the npm
registry's tarballs (``npm pack vega@5.20.2 vega-lite@5.2.0 vega-embed@6.18.2``), and
keeps DVC's placeholders for the plots and the refresh tag. The libraries are BSD-3-Clause
(University of Washington Interactive Data Lab); their licence is copied into the page.

Usage: python scripts/offline_plots_template.py FOLDER_WITH_THE_THREE_TGZ
"""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

LIBRARIES = (
    ("vega-5.20.2.tgz", "package/build/vega.min.js"),
    ("vega-lite-5.2.0.tgz", "package/build/vega-lite.min.js"),
    ("vega-embed-6.18.2.tgz", "package/build/vega-embed.min.js"),
)
TEMPLATE = Path(".dvc/plots/offline.html")


def _member(archive: Path, name: str) -> str:
    with tarfile.open(archive) as tar:
        handle = tar.extractfile(name)
        if handle is None:
            msg = f"{archive}: no {name}"
            raise SystemExit(msg)
        return handle.read().decode("utf-8")


def main() -> int:
    """Build the template from the tarballs in the folder given as the only argument."""
    if len(sys.argv) != 2:  # noqa: PLR2004
        sys.stderr.write(__doc__.split("Usage: ")[1])
        return 2
    folder = Path(sys.argv[1])
    scripts = []
    for tarball, member in LIBRARIES:
        code = _member(folder / tarball, member)
        if "</script" in code:
            sys.stderr.write(f"{tarball}: holds '</script', cannot be inlined\n")
            return 1
        scripts.append(f"<!-- {tarball.removesuffix('.tgz')} -->\n<script>{code}</script>")
    licence = _member(folder / LIBRARIES[0][0], "package/LICENSE").replace("--", "- -")
    page = "\n".join(
        [
            "<!DOCTYPE html>",
            "<html>",
            "<head>",
            '<meta charset="utf-8">',
            "{refresh_tag}",
            "<title>DVC plots (tabpipe, offline)</title>",
            "<!-- vega, vega-lite and vega-embed inlined (built by "
            "scripts/offline_plots_template.py). Their licence:",
            licence,
            "-->",
            *scripts,
            "<style>table { border-spacing: 15px; }</style>",
            "</head>",
            "<body>",
            "{plot_divs}",
            "</body>",
            "</html>",
            "",
        ]
    )
    TEMPLATE.parent.mkdir(parents=True, exist_ok=True)
    TEMPLATE.write_text(page, encoding="utf-8")
    sys.stdout.write(f"{TEMPLATE}: {len(page):,} characters\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
