"""The software a run used: Python and the installed versions of named packages."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from importlib import metadata


def package_versions(names: Iterable[str]) -> dict[str, str]:
    """Python (major.minor: the lock file pins the rest) and each installed package's version.

    A package that is not installed is left out.
    """
    versions = {"python": f"{sys.version_info.major}.{sys.version_info.minor}"}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
