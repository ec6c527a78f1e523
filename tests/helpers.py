"""What tests share besides fixtures: the repository root, project factories, params edits."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tabpipe.records.params import Params
from tabpipe.repositories.params_file import parse_params
from tabpipe.utils.numbers import overprecise_literals

REPO_ROOT = Path(__file__).resolve().parents[1]

# The ``make_project`` fixture's factory: builds a project folder, cds into it, returns it.
ProjectFactory = Callable[..., Path]


def with_overrides(params: Params, **sections: dict[str, Any]) -> Params:
    """A copy of ``params`` with some sections replaced, validated like params.yaml."""
    raw = params.model_dump(mode="json")
    for name, values in sections.items():
        raw[name] = {**raw[name], **values}
    return parse_params(raw)


# Evidently's page: only its data script holds tabpipe's numbers (the rest is its JS bundle).
_DRIFT_DATA = re.compile(r"<script>\s*var metric_.*?</script>", re.DOTALL)
_BINARY = (".skops", ".json.gz", ".parquet", ".png", ".ubj", ".pkl", ".gz", ".zip")


def overprecise_outputs(repo: Path) -> dict[str, list[str]]:
    """Per text file DVC tracks (dvc.lock's outs), its literals beyond the stated precision."""
    lock = yaml.safe_load((repo / "dvc.lock").read_text(encoding="utf-8"))
    found: dict[str, list[str]] = {}
    for stage in lock["stages"].values():
        for out in stage.get("outs", []):
            path = repo / out["path"]
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for file in files:
                if file.name.endswith(_BINARY):
                    continue
                text = file.read_text(encoding="utf-8")
                if file.suffix == ".html" and "var metric_" in text:
                    text = "".join(_DRIFT_DATA.findall(text))
                literals = overprecise_literals(text)
                if literals:
                    found[str(file.relative_to(repo))] = literals[:5]
    return found
