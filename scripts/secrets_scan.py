"""Secrets scan of the work tree and of the whole git history, with detect-secrets.

The committed baseline (``.secrets.baseline``, made by ``detect-secrets scan``) holds the
plugins, the filters (generated reports full of SHA-256 digests are excluded) and any
audited false positive. The tree is every file git tracks or would add; the history is
every line ever added, on every branch (each commit's patch, read by detect-secrets'
own diff scanner), so a key committed once and deleted later is still found. The
baseline itself holds only hashes of audited findings and is not scanned, as
detect-secrets does not scan it either.

Exit 0: nothing beyond the baseline. Exit 1: secrets found, each named as
``file:line (type)``, with what to do. Exit 2: no readable baseline.

Usage: python scripts/secrets_scan.py [--root PATH]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

BASELINE = ".secrets.baseline"


def main() -> int:
    """Scan the tree and the history under ``--root``; print findings; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd())
    root = parser.parse_args().root.resolve()
    from detect_secrets.core import baseline  # noqa: PLC0415
    from detect_secrets.core.scan import scan_diff  # noqa: PLC0415
    from detect_secrets.core.secrets_collection import SecretsCollection  # noqa: PLC0415
    from detect_secrets.settings import (  # noqa: PLC0415
        configure_settings_from_baseline,
        get_settings,
    )

    path = root / BASELINE
    try:
        saved = baseline.load_from_file(str(path))
    except (OSError, ValueError) as exc:
        sys.stderr.write(
            f"secrets scan: cannot read {path}: {exc}. Create it with "
            f"`detect-secrets scan --exclude-files '^reports/.*\\.json$' > {BASELINE}`.\n"
        )
        return 2
    configure_settings_from_baseline(saved, filename=str(path))
    known = baseline.load(saved, filename=str(path))
    known_hashes = {secret.secret_hash for _, secret in known}

    os.chdir(root)  # relative paths: the baseline's file filters are anchored at the root
    tree = SecretsCollection()
    tree.scan_files(*(name for name in _git(root, "ls-files", "-z", "--cached", "--others",
                                           "--exclude-standard").split("\0")
                      if name and name != BASELINE and Path(name).is_file()))  # fmt: skip
    findings = [f"{name}:{secret.line_number} ({secret.type})" for name, secret in tree - known]
    in_history: set[str] = set()
    # A file of an old commit need not exist any more: the filters that read the file on
    # disk (to skip missing or binary files) would drop exactly the deleted secrets.
    get_settings().disable_filters(
        "detect_secrets.filters.common.is_invalid_file",
        "detect_secrets.filters.heuristic.is_non_text_file",
    )
    for commit in _git(root, "rev-list", "--all").split():
        # One commit at a time, renames as delete + add: a diff the parser cannot read
        # costs that commit's lines, never the rest of the history.
        diff = _git(root, "show", "--format=", "--patch", "--no-renames", "--no-color",
                    "--no-ext-diff", commit)  # fmt: skip
        in_history.update(
            f"{secret.filename} (history, {secret.type}, commit {commit[:10]})"
            for secret in scan_diff(diff)
            if secret.secret_hash not in known_hashes and secret.filename != BASELINE
        )
    findings += sorted(in_history)
    if findings:
        sys.stderr.write(
            f"secrets scan: {len(findings)} possible secret(s) not in {BASELINE}:\n"
            + "".join(f"  {finding}\n" for finding in findings)
            + "Remove a real secret (and rotate it: it was committed), rewriting history if it "
            "was pushed; for a false positive, run `detect-secrets scan --baseline "
            f"{BASELINE}` and `detect-secrets audit {BASELINE}`, then commit the baseline.\n"
        )
        return 1
    sys.stdout.write(f"secrets scan: tree and history clean against {BASELINE}\n")
    return 0


def _git(root: Path, *args: str) -> str:
    """Output of git with fixed arguments (no shell) in ``root``."""
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout


if __name__ == "__main__":
    sys.exit(main())
