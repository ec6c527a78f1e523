"""A throwaway copy of this repository, to run the real pipeline (DVC, git) in."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient
from typer.testing import Result

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = REPO_ROOT / ".venv" / "bin"


def pipeline_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without MLflow / DVC settings, the project's tools first."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    return {
        **inherited,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        **(extra or {}),
    }


def run(
    args: list[str], cwd: Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command with the project's environment first on PATH, as `make` does."""
    result = subprocess.run(  # noqa: PLW1510 - checked below, with the output in the message
        args, cwd=cwd, env=pipeline_env(env), capture_output=True, text=True, timeout=600
    )
    if check and result.returncode != 0:
        msg = f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        raise AssertionError(msg)
    return result


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The working tree's files (tracked and new, not ignored) in a fresh git repository."""
    listed = run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO_ROOT
    ).stdout
    destination = tmp_path / "repo"
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    run(["git", "init", "-q"], cwd=destination)
    run(["git", "add", "-A"], cwd=destination)
    run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"],
        cwd=destination,
    )
    return destination


def invoke(*args: str) -> str:
    """Run a tabpipe command in process; fail the test with its output unless it exits 0.

    Returns what it printed on stdout (a drafted schema, the one-line result).
    """
    return _invoked(args).stdout


def invoke_all(*args: str) -> str:
    """Like :func:`invoke`, but returns all a user sees: stdout and the log lines."""
    return _invoked(args).output


def _invoked(args: tuple[str, ...]) -> Result:
    from typer.testing import CliRunner

    from tabpipe.cli.app import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def edit_params(repo: Path, **sections: Mapping[str, object]) -> None:
    """Merge values into sections of the copy's params.yaml (comments are not kept)."""
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for name, values in sections.items():
        params[name] = {**params[name], **values}
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def mlflow_client(repo: Path) -> MlflowClient:
    """A client on the copy's own default store, as the pipeline resolved it."""
    return MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")


def champion_version(repo: Path, name: str = "tabpipe-adult") -> str:
    return str(mlflow_client(repo).get_model_version_by_alias(name, "champion").version)


# What the stages write: git-ignored, so a project reads as a clean commit after a run.
OUTPUTS_IGNORED = (
    "data/interim/", "data/processed/", "models/", "reports/", "mlflow.db*", "mlartifacts/",
    "logs/",
)  # fmt: skip


def git(project: Path, *args: str) -> None:
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=project)


def commit_params(project: Path, section: str, **values: object) -> None:
    """Change one section of params.yaml and commit it, as a team does before a run."""
    edit_params(project, **{section: values})
    commit_project(project)


def commit_project(project: Path) -> None:
    """Make a temporary project a git repository at a clean commit (promotion needs one)."""
    (project / ".gitignore").write_text("\n".join(OUTPUTS_IGNORED) + "\n")
    if not (project / ".git").exists():
        git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "project", "--allow-empty")
