"""`make security`'s secrets scan: clean on a clean repository, loud on a planted key."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO_ROOT

SCAN = REPO_ROOT / "scripts" / "secrets_scan.py"
# An AWS access key id of the documented shape, assembled here so that this file itself
# holds no key for the scan of the real tree to find.
FAKE_KEY = "AK" + "IA" + "Q3EGRTWX6ZK7LMNB"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def _repository(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "tests" / "fixtures").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / ".secrets.baseline", repo / ".secrets.baseline")
    (repo / "README.md").write_text("# a project\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "start")
    return repo


def _scan(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCAN), "--root", str(repo)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_key_planted_in_a_fixture_fails_the_scan_naming_file_line_and_kind(
    tmp_path: Path,
) -> None:
    repo = _repository(tmp_path)
    assert _scan(repo).returncode == 0
    (repo / "tests/fixtures/leaked.env").write_text(f"REGION=eu-west-1\nAWS_KEY_ID={FAKE_KEY}\n")
    found = _scan(repo)
    assert found.returncode == 1
    assert "tests/fixtures/leaked.env:2 (AWS Access Key)" in found.stderr
    assert "rotate it" in found.stderr


def test_a_key_deleted_after_its_commit_is_still_found_in_the_history(tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    leaked = repo / "tests/fixtures/leaked.env"
    leaked.write_text(f"AWS_KEY_ID={FAKE_KEY}\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "oops")
    leaked.unlink()
    _git(repo, "commit", "-qam", "remove it")
    found = _scan(repo)
    assert found.returncode == 1
    assert "tests/fixtures/leaked.env (history, AWS Access Key, commit " in found.stderr


def test_without_a_baseline_the_scan_says_how_to_make_one(tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    (repo / ".secrets.baseline").unlink()
    found = _scan(repo)
    assert found.returncode == 2
    assert "detect-secrets scan" in found.stderr
