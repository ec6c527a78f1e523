from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tabpipe.errors import ExitCode, OutputWriteError
from tabpipe.utils.atomic import atomic_dir, atomic_path, ensure_writable, write_json_atomic
from tests.fixtures.read_only import read_only_folder


def test_a_failed_write_leaves_the_previous_file_and_no_temp(tmp_path: Path) -> None:
    destination = tmp_path / "out" / "result.json"
    write_json_atomic(destination, {"version": 1})
    with pytest.raises(RuntimeError), atomic_path(destination) as tmp:
        tmp.write_text("half-writ")
        raise RuntimeError("crash mid-write")
    assert destination.read_text() == '{\n  "version": 1\n}\n'
    assert list(destination.parent.iterdir()) == [destination]


def test_a_successful_write_replaces_the_file(tmp_path: Path) -> None:
    destination = tmp_path / "result.json"
    write_json_atomic(destination, {"version": 1})
    write_json_atomic(destination, {"version": 2})
    assert '"version": 2' in destination.read_text()


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    destination = tmp_path / "result.json"
    write_json_atomic(destination, {})
    assert destination.stat().st_mode & 0o044 == 0o044  # group and others may read


def test_a_folder_that_refuses_writes_names_the_output_and_keeps_the_previous_file(
    tmp_path: Path,
) -> None:
    destination = tmp_path / "reports" / "metrics.json"
    write_json_atomic(destination, {"version": 1})
    with read_only_folder(destination.parent), pytest.raises(OutputWriteError) as raised:
        write_json_atomic(destination, {"version": 2})
    message = str(raised.value)
    assert message.startswith(f"cannot write {destination}: ")
    assert raised.value.exit_code == ExitCode.OUTPUT_NOT_WRITABLE
    assert "writable" in message
    assert ".tmp" not in message  # the real output, not the temporary file
    assert destination.read_text() == '{\n  "version": 1\n}\n'
    assert list(destination.parent.iterdir()) == [destination]


def test_a_folder_output_that_cannot_be_written_leaves_the_previous_folder(
    tmp_path: Path,
) -> None:
    destination = tmp_path / "reports" / "plots"
    with atomic_dir(destination) as fresh:
        (fresh / "roc.csv").write_text("old")
    with (
        read_only_folder(destination.parent),
        pytest.raises(OutputWriteError) as raised,
        atomic_dir(destination) as fresh,
    ):
        (fresh / "roc.csv").write_text("new")
    assert f"cannot write {destination}" in str(raised.value)
    assert (destination / "roc.csv").read_text() == "old"
    assert sorted(p.name for p in destination.parent.iterdir()) == ["plots"]


def test_a_refused_file_elsewhere_inside_a_writer_is_not_blamed_on_the_output(
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    with (
        read_only_folder(elsewhere),
        pytest.raises(PermissionError) as raised,
        atomic_path(tmp_path / "out" / "x.csv") as tmp,
    ):
        (elsewhere / "side.txt").write_text("not this output's file")
        tmp.write_text("x")
    assert not isinstance(raised.value, OutputWriteError)


def _ended_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_what_a_killed_writer_left_is_removed_by_the_next_write_and_a_live_one_is_kept(
    tmp_path: Path,
) -> None:
    destination = tmp_path / "notebooks"
    killed = tmp_path / f".notebooks.{_ended_pid()}.0123456789ab.tmp"
    killed.mkdir()
    (killed / "01-eda.html").write_text("half")
    running = tmp_path / f".notebooks.{os.getpid()}.ba9876543210.tmp"
    running.mkdir()
    unrelated = tmp_path / ".other.1.0123456789ab.tmp"
    unrelated.write_text("")

    with atomic_dir(destination) as fresh:
        (fresh / "02-model-report.html").write_text("done")

    assert not killed.exists()
    assert running.is_dir()
    assert unrelated.exists()
    assert sorted(p.name for p in destination.iterdir()) == ["02-model-report.html"]


def test_the_early_check_refuses_a_read_only_folder_output_and_leaves_no_probe(
    tmp_path: Path,
) -> None:
    folder_output = tmp_path / "reports" / "notebooks"
    folder_output.mkdir(parents=True)
    ensure_writable(folder_output, tmp_path / "reports" / "card.md")
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["notebooks"]
    assert list(folder_output.iterdir()) == []
    with read_only_folder(folder_output), pytest.raises(OutputWriteError) as raised:
        ensure_writable(folder_output)
    assert str(raised.value).startswith(f"cannot write {folder_output}: ")
    assert list(folder_output.iterdir()) == []
