"""What ``tabpipe params`` reports: the schema of params.yaml, and whether a file satisfies it."""

from __future__ import annotations

import json
from pathlib import Path

from tabpipe.models.params import Params
from tabpipe.repositories.params_file import load_params


def params_json_schema() -> str:
    return json.dumps(Params.model_json_schema(), indent=2)


def check_params(path: Path) -> str:
    """Raise ParamsError naming each bad key, or say which sections were read."""
    params = load_params(path)
    sections = ", ".join(type(params).model_fields)
    return f"{path}: ok ({sections}); dataset '{params.data.name}', task {params.data.task}"
