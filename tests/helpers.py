"""What tests share besides fixtures: the repository root, project factories, params edits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tabpipe.records.params import Params
from tabpipe.repositories.params_file import parse_params

REPO_ROOT = Path(__file__).resolve().parents[1]

# The ``make_project`` fixture's factory: builds a project folder, cds into it, returns it.
ProjectFactory = Callable[..., Path]


def with_overrides(params: Params, **sections: dict[str, Any]) -> Params:
    """A copy of ``params`` with some sections replaced, validated like params.yaml."""
    raw = params.model_dump(mode="json")
    for name, values in sections.items():
        raw[name] = {**raw[name], **values}
    return parse_params(raw)
