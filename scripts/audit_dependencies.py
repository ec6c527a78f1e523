"""Known vulnerabilities in the locked dependencies: ``uv export`` then ``pip-audit -r``.

pip-audit asks PyPI's JSON API for each pinned, hashed requirement of ``uv.lock`` (every
group, the project itself left out). Where that API is out of reach, pip-audit skips
each package ("not found on PyPI") and still prints "No known vulnerabilities found"
and exits 0: a clean result that audited nothing. This script reads pip-audit's JSON
instead and says which of three things happened.

Exit 0: every dependency audited, none vulnerable. Exit 1: vulnerabilities, each with
its fix versions. Exit 75 (EX_TEMPFAIL): the vulnerability data could not be read for
some or all dependencies (named), so nothing was decided for them; run it again where
pypi.org answers (the CI workflow does). A vulnerability found wins: exit 1.

Usage: python scripts/audit_dependencies.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
UNREACHABLE = 75  # sysexits.h EX_TEMPFAIL: try again later, elsewhere


def main() -> int:
    """Export the lock, run pip-audit on it, and classify what it reports."""
    uv = shutil.which("uv")
    uv_command = [uv] if uv else [sys.executable, "-m", "uv"]
    with tempfile.TemporaryDirectory(prefix="tabpipe-audit-") as folder:
        requirements = Path(folder) / "requirements.txt"
        exported = subprocess.run(  # fixed arguments, no shell
            [*uv_command, "export", "--frozen", "--all-groups", "--no-emit-project",
             "--format", "requirements-txt", "--output-file", str(requirements), "--quiet"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        if exported.returncode != 0:
            tail = (exported.stderr.strip().splitlines() or ["no output"])[-1]
            sys.stderr.write(f"audit: `uv export` of uv.lock failed: {tail}\n")
            return 2
        audit = subprocess.run(  # fixed arguments, no shell
            [sys.executable, "-m", "pip_audit", "-r", str(requirements), "--require-hashes",
             "--disable-pip", "--format", "json", "--progress-spinner", "off"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
    try:
        report = json.loads(audit.stdout)
    except json.JSONDecodeError:
        sys.stderr.write(
            f"audit: pip-audit failed (exit {audit.returncode}): "
            f"{(audit.stderr.strip().splitlines() or ['no output'])[-1]}\n"
        )
        return UNREACHABLE if "ConnectionError" in audit.stderr else 1
    code, out, err = verdict(report)
    sys.stdout.write(out)
    sys.stderr.write(err)
    return code


def verdict(report: dict[str, Any]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr for pip-audit's JSON report (``-f json``)."""
    dependencies = report["dependencies"]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    out = "".join(
        f"{d['name']} {d['version']}: {v['id']} "
        f"(fixed in: {', '.join(v.get('fix_versions') or []) or 'no fixed release yet'})\n"
        for d in vulnerable
        for v in d["vulns"]
    )
    if vulnerable:
        more = f"; {len(skipped)} more could not be audited" if skipped else ""
        return (
            1,
            out,
            (
                f"audit: {len(vulnerable)} vulnerable dependencies; upgrade them "
                f"(`uv lock --upgrade-package NAME`) or record why not{more}.\n"
            ),
        )
    if skipped and len(skipped) == len(dependencies):
        return (
            UNREACHABLE,
            out,
            (
                f"audit: none of the {len(dependencies)} locked dependencies could be audited: "
                "PyPI's vulnerability data is not reachable from this machine "
                f"({skipped[0]['skip_reason']}). Nothing was decided; run `make "
                "audit-dependencies` where pypi.org answers (the CI workflow's audit job does).\n"
            ),
        )
    if skipped:
        names = ", ".join(f"{d['name']} ({d['skip_reason']})" for d in skipped)
        return (
            UNREACHABLE,
            out,
            (
                f"audit: {len(skipped)} of {len(dependencies)} locked dependencies could not be "
                f"audited, so nothing was decided for them: {names}.\n"
            ),
        )
    return 0, f"audit: {len(dependencies)} locked dependencies, no known vulnerability\n", ""


if __name__ == "__main__":
    sys.exit(main())
