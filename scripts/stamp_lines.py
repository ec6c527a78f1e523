"""Run a command and print each line it writes with the seconds since it started.

Where the time of a long command goes, line by line (docs/performance.md uses it on
``dvc exp run``). Usage: python scripts/stamp_lines.py COMMAND [ARGS ...]
"""

from __future__ import annotations

import subprocess
import sys
import time


def main() -> int:
    """Run ``sys.argv[1:]``; stamp its merged output; exit with its exit code."""
    started = time.perf_counter()
    process = subprocess.Popen(
        sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None  # noqa: S101 - piped above
    for line in process.stdout:
        sys.stdout.write(f"{time.perf_counter() - started:7.2f} {line}")
        sys.stdout.flush()
    code = process.wait()
    sys.stdout.write(f"{time.perf_counter() - started:7.2f} exit {code}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
