from __future__ import annotations

from pathlib import Path

import pytest

from tabpipe.utils.atomic import atomic_path, write_json_atomic


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
