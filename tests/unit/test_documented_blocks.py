"""The docs test's reading of Markdown blocks and its terminal, and the documents' rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.documented_commands import (
    SHELL_LANGUAGES,
    Terminal,
    clean_environment,
    merged,
    read_blocks,
)
from tests.helpers import REPO_ROOT

DOCUMENTS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "doc.md"
    path.write_text(text)
    return path


def test_markers_say_skip_expected_exit_and_merge_and_plain_blocks_run(tmp_path: Path) -> None:
    doc = _write(
        tmp_path,
        "# T\n\n```bash\necho one\n```\n\n"
        "<!-- docs-test: skip: a server -->\n```bash\nmake ui\n```\n"
        "<!-- docs-test: exit 4 -->\n```bash\nexit 4\n```\n"
        "<!-- docs-test: merge into params.yaml -->\n```yaml\na: {b: 1}\n```\n"
        "```yaml\nillustration: only\n```\n",
    )
    one, skipped, failing, merge, illustration = read_blocks(doc, tmp_path)
    assert (one.where, one.text, one.runs) == ("doc.md:3", "echo one\n", True)
    assert (skipped.skip, skipped.runs) == ("a server", False)
    assert (failing.expected_exit, failing.runs) == (4, True)
    assert (merge.merge_into, merge.runs) == ("params.yaml", True)
    assert not illustration.runs


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("<!-- docs-test: skipp: typo -->\n```bash\nls\n```\n", "unknown docs-test marker"),
        ("<!-- docs-test: merge into x.yaml -->\n```bash\nls\n```\n", "marks a yaml block"),
    ],
)
def test_a_wrong_marker_is_an_error_naming_the_line(
    tmp_path: Path, marker: str, message: str
) -> None:
    with pytest.raises(ValueError, match=rf"doc.md:3: .*{message}"):
        read_blocks(_write(tmp_path, "text\n" + marker), tmp_path)


def test_a_merge_sets_the_keys_shown_and_replaces_a_mapping_under_a_key() -> None:
    base = {
        "data": {"name": "a", "format": "csv"},
        "train": {"seed": 1, "model": {"kind": "x", "lr": 0.1}},
    }
    change = {"data": {"name": "b"}, "train": {"model": {"kind": "ridge"}}, "new": [1]}
    assert merged(base, change) == {
        "data": {"name": "b", "format": "csv"},
        "train": {"seed": 1, "model": {"kind": "ridge"}},
        "new": [1],
    }


def test_the_terminal_carries_folder_and_exports_and_fails_on_a_surprise_exit(
    tmp_path: Path,
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "params.yaml").write_text("data: {name: a, format: csv}\n")
    doc = _write(
        tmp_path,
        "```bash\nexport GREETING=hello\ncd sub\n```\n"
        '```bash\necho "$GREETING from $(basename "$PWD")"\n```\n'
        "<!-- docs-test: exit 3 -->\n```bash\nfalse || exit 3\n```\n"
        "```bash\nfalse\necho never\n```\n",
    )
    blocks = read_blocks(doc, tmp_path)
    terminal = Terminal(cwd=tmp_path, env=clean_environment())
    terminal.apply(blocks[0])
    assert terminal.apply(blocks[1]).stdout == "hello from sub\n"
    terminal.apply(blocks[2])  # exits 3, as the document says
    with pytest.raises(
        AssertionError, match=r"doc.md:\d+: the block exited 1, the document expects 0"
    ):
        terminal.apply(blocks[3])  # `bash -e`: the first failing command ends the block


def test_a_yaml_block_is_merged_into_its_file(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("data: {name: a, format: csv}\n")
    doc = _write(
        tmp_path, "<!-- docs-test: merge into params.yaml -->\n```yaml\ndata: {name: b}\n```\n"
    )
    Terminal(cwd=tmp_path, env=clean_environment()).apply(read_blocks(doc, tmp_path)[0])
    assert yaml.safe_load((tmp_path / "params.yaml").read_text()) == {
        "data": {"name": "b", "format": "csv"}
    }


def test_a_fresh_terminal_has_no_project_environment_active() -> None:
    env = clean_environment()
    assert ".venv/bin" not in env["PATH"]
    assert "VIRTUAL_ENV" not in env


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_documents_run_tools_one_way_and_every_skip_says_why(document: Path) -> None:
    for block in read_blocks(document, REPO_ROOT):
        if block.language in SHELL_LANGUAGES and block.skip is None:
            assert not re.search(r"\.venv/bin/(?!activate\b)", block.text), (
                f"{block.where}: write `tabpipe ...` after `source .venv/bin/activate` "
                "(docs/decisions/0008-how-tools-are-run.md), not .venv/bin/"
            )
        if block.skip is not None:
            assert len(block.skip) > 5, f"{block.where}: say why the block is not run"
