"""An interrupted `make install` (Ctrl-C during uv sync) is never taken for a finished one."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.integration


def test_make_install_interrupted_while_syncing_is_redone_by_the_next_make(
    tmp_path: Path,
) -> None:
    for name in ("Makefile", "pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    shutil.copytree(REPO_ROOT / "src", tmp_path / "src")
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "MAKEFLAGS"}}
    make = subprocess.Popen(
        ["make", "install"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches
    )
    assert make.stdout is not None
    said = []
    for line in make.stdout:
        said.append(line)
        if line.startswith("install: syncing"):
            time.sleep(1.0)  # uv is creating .venv and installing
            os.killpg(make.pid, signal.SIGINT)
            break
    rest, _ = make.communicate(timeout=60)
    said.append(rest)
    assert make.returncode != 0, "".join(said)
    assert not (tmp_path / ".venv/.installed").exists(), "".join(said)
    # make sees the install as not done, so `make install` or any task syncs again.
    pending = subprocess.run(["make", "-q", "install"], cwd=tmp_path, env=env, check=False)
    assert pending.returncode != 0
