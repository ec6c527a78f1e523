"""What DVC says about the work tree: which stages are out of date with their inputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tabpipe.utils.project import uncommitted_changes


@dataclass(frozen=True)
class StageChange:
    """A stage DVC finds out of date, with what changed (deps, params, outs)."""

    stage: str
    changes: tuple[str, ...]


def stale_stages(root: Path) -> list[StageChange] | None:
    """``dvc status`` of the pipeline; None when ``root`` is not a DVC repository.

    Stages that always run (``always_changed``: promote, whose result lives in the
    registry) are left out: being listed there says nothing about the outputs.
    """
    from dvc.exceptions import NotDvcRepoError  # noqa: PLC0415 - dvc costs a second to import
    from dvc.repo import Repo  # noqa: PLC0415

    try:
        repo = Repo(str(root))
    except NotDvcRepoError:
        return None
    with repo:
        status = repo.status()
    changed = []
    for stage, entries in status.items():
        described: list[str] = []
        for entry in entries:
            if entry == "always changed":
                continue
            if isinstance(entry, dict):
                for kind, detail in entry.items():
                    names = (
                        ", ".join(f"{k} ({v})" for k, v in detail.items())
                        if isinstance(detail, dict)
                        else str(detail)
                    )
                    described.append(f"{kind}: {names}")
            else:
                described.append(str(entry))
        if described:
            changed.append(StageChange(stage=stage.split(":")[-1], changes=tuple(described)))
    return changed


def uncommitted_inputs(root: Path) -> list[str] | None:
    """Changed or new files, relative to the last commit, that some stage reads.

    A stage's inputs are its deps, params files and ``dvc.yaml``; other stages' outputs
    (which later stages read) are the pipeline's own doing and do not count, and neither
    do files no stage reads (a scratch note). Outside a DVC repository every change
    counts; outside git, None: nothing can be said to be committed.
    """
    changed = uncommitted_changes(root)
    if not changed:  # outside git (None), or nothing changed: no need to ask DVC (1.4 s)
        return changed
    from dvc.exceptions import NotDvcRepoError  # noqa: PLC0415 - dvc costs a second to import
    from dvc.repo import Repo  # noqa: PLC0415

    try:
        repo = Repo(str(root))
    except NotDvcRepoError:
        return changed
    with repo:
        stages = list(repo.index.stages)
        inputs = {PurePosixPath("dvc.yaml")}
        outputs: set[PurePosixPath] = set()
        for stage in stages:
            inputs.update(PurePosixPath(str(dep.def_path)) for dep in stage.deps)
            outputs.update(PurePosixPath(str(out.def_path)) for out in stage.outs)

    def under(path: PurePosixPath, roots: set[PurePosixPath]) -> bool:
        return any(path == root or root in path.parents for root in roots)

    return [
        name
        for name in changed
        if under(PurePosixPath(name), inputs) and not under(PurePosixPath(name), outputs)
    ]
