"""The shell blocks of the Markdown documents, run verbatim as a reader would.

A fenced ``bash`` block is a command a reader runs in their terminal. An HTML comment on
the line just before the fence (invisible once rendered) tells the docs test more:

- ``<!-- docs-test: skip: WHY -->``: not run in a test (a server that never returns, a
  Docker engine, an hour-long benchmark); the test reports it as skipped, with WHY;
- ``<!-- docs-test: exit N -->``: the block ends with exit code N on purpose (a gate
  that fails, a refused input);
- ``<!-- docs-test: merge into FILE -->`` before a ``yaml`` block: the reader is told to
  set these keys of FILE to these values; the test does that edit: each section's keys
  shown are set to the values shown (a mapping under a key, such as ``train.model``,
  replaced whole), the other keys kept.

Blocks run in order, each in a new ``bash -e -o pipefail`` process that starts in the
folder and environment the previous block left (``cd``, ``export``, ``source
.venv/bin/activate`` carry over, as they would in one terminal).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_FENCE = re.compile(r"^```(?P<lang>[A-Za-z0-9_-]*)\s*$")
_MARKER = re.compile(r"^<!--\s*docs-test:\s*(?P<what>.*?)\s*-->\s*$")
SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "console"})


@dataclass(frozen=True)
class Block:
    """One fenced block of a document: what it holds and what the test does with it."""

    document: str
    line: int
    language: str
    text: str
    skip: str | None = None  # why it is not run
    expected_exit: int = 0
    merge_into: str | None = None  # a yaml block: the file it is merged into

    @property
    def where(self) -> str:
        """``document:line``, as a reader finds the block."""
        return f"{self.document}:{self.line}"

    @property
    def runs(self) -> bool:
        """Whether the test runs (or applies) this block."""
        return self.skip is None and (
            self.language in SHELL_LANGUAGES or self.merge_into is not None
        )


def read_blocks(path: Path, root: Path) -> list[Block]:
    """Every fenced block of a Markdown file, with the marker on the line above it."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        start = index
        index += 1
        body: list[str] = []
        while index < len(lines) and not lines[index].startswith("```"):
            body.append(lines[index])
            index += 1
        index += 1  # the closing fence
        marker = _MARKER.match(lines[start - 1]) if start else None
        blocks.append(
            _block(
                document=path.relative_to(root).as_posix(),
                line=start + 1,
                language=fence["lang"].lower(),
                text="\n".join(body) + "\n",
                marker=None if marker is None else marker["what"],
            )
        )
    return blocks


def _block(*, document: str, line: int, language: str, text: str, marker: str | None) -> Block:
    block = Block(document=document, line=line, language=language, text=text)
    if marker is None:
        return block
    where = f"{document}:{line}"
    if marker.startswith("skip:"):
        return Block(**{**block.__dict__, "skip": marker.removeprefix("skip:").strip()})
    if marker.startswith("exit "):
        return Block(**{**block.__dict__, "expected_exit": int(marker.removeprefix("exit "))})
    if marker.startswith("merge into "):
        if language != "yaml":
            msg = f"{where}: 'merge into' marks a yaml block, not {language or 'plain text'}"
            raise ValueError(msg)
        return Block(**{**block.__dict__, "merge_into": marker.removeprefix("merge into ")})
    msg = f"{where}: unknown docs-test marker '{marker}' (skip: WHY, exit N, merge into FILE)"
    raise ValueError(msg)


def merged(base: Any, change: Any, depth: int = 2) -> Any:
    """``change`` laid over ``base``: mappings key by key down to ``depth``, then replaced."""
    if depth > 0 and isinstance(base, Mapping) and isinstance(change, Mapping):
        out = dict(base)
        for key, value in change.items():
            out[key] = merged(base[key], value, depth - 1) if key in base else value
        return out
    return change


@dataclass
class Terminal:
    """A reader's terminal: blocks run one after another, sharing folder and environment."""

    cwd: Path
    env: dict[str, str]
    timeout_s: int = 900

    def apply(self, block: Block) -> subprocess.CompletedProcess[str]:
        """Run a shell block, or merge a yaml block into its file; fail on a surprise exit."""
        if block.merge_into is not None:
            target = self.cwd / block.merge_into
            current = yaml.safe_load(target.read_text())
            target.write_text(
                yaml.safe_dump(merged(current, yaml.safe_load(block.text)), sort_keys=False)
            )
            return subprocess.CompletedProcess([block.where], 0, "", "")
        state = Path(tempfile.gettempdir()) / f"docs-test-state-{os.getpid()}-{id(self)}"
        # The block in `bash -e`, then the environment and folder it leaves, for the next.
        wrapper = (
            f"trap 'env -0 > {shlex.quote(str(state))}.env; pwd > {shlex.quote(str(state))}"
            ".cwd' EXIT\n"
            "set -e -o pipefail\n"
            f"{block.text}\n"
        )
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", wrapper],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=self.timeout_s,
            check=False,
        )
        self._carry_over(state)
        if done.returncode != block.expected_exit:
            msg = (
                f"{block.where}: the block exited {done.returncode}, the document expects "
                f"{block.expected_exit}:\n{block.text}\n--- stdout\n{done.stdout[-4000:]}"
                f"\n--- stderr\n{done.stderr[-4000:]}"
            )
            raise AssertionError(msg)
        return done

    def _carry_over(self, state: Path) -> None:
        saved_env, saved_cwd = Path(f"{state}.env"), Path(f"{state}.cwd")
        if saved_cwd.is_file():
            self.cwd = Path(saved_cwd.read_text().strip())
            saved_cwd.unlink()
        if saved_env.is_file():
            self.env = _exported(saved_env.read_text())
            saved_env.unlink()


def _exported(text: str) -> dict[str, str]:
    """The variables of ``env -0`` output."""
    pairs = (entry.partition("=") for entry in text.split("\0") if "=" in entry)
    return {name: value for name, _, value in pairs if not name.startswith("BASH_FUNC_")}


def clean_environment(home: Path | None = None) -> dict[str, str]:
    """A fresh shell's environment: no virtualenv active, no project tools on PATH."""
    path = os.pathsep.join(
        part
        for part in os.environ.get("PATH", "").split(os.pathsep)
        if part and not part.rstrip("/").endswith(".venv/bin")
    )
    drop = (  # a virtualenv, settings of the tools under test, and of a make around pytest
        *("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "DVC_", "MLFLOW_", "PYTEST_", "COV_"),
        *("MAKE", "MFLAGS"),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env |= {"PATH": path, "DVC_NO_ANALYTICS": "1"}
    if home is not None:
        env["HOME"] = str(home)
    return env
