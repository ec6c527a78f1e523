"""Reading ``params.yaml`` into :class:`~tabpipe.models.params.Params`.

Errors name the key path (``split.train``) and, for unknown keys, the keys that
are allowed there, so a user can fix the file without reading the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from tabpipe.errors import ParamsError
from tabpipe.models.params import Params


def load_yaml12(text: str) -> Any:
    """One YAML document read with YAML 1.2 rules, as DVC reads and writes params.yaml.

    DVC (``dvc exp run -S``) rewrites params.yaml with ruamel.yaml and YAML 1.2, where
    only true / false are booleans and ``1e-3`` is a number; it drops the quotes that
    PyYAML (YAML 1.1) would need around ``Yes``, ``No``, ``On`` or ``Off``. Reading with
    the same library and rules gives back the values DVC meant.
    """
    return YAML(typ="safe", pure=True).load(text)


def load_params(path: Path) -> Params:
    if not path.is_file():
        msg = f"{path}: parameters file not found (run from the repository root or pass --params)"
        raise ParamsError(msg)
    try:
        raw = load_yaml12(path.read_text(encoding="utf-8"))
    except (YAMLError, UnicodeDecodeError) as exc:
        msg = f"{path}: not valid YAML: {exc}"
        raise ParamsError(msg) from exc
    if not isinstance(raw, dict):
        msg = f"{path}: expected a mapping of sections (data, ingest, split, ...), got {raw!r}"
        raise ParamsError(msg)
    return parse_params(raw, source=str(path))


def parse_params(raw: dict[str, Any], source: str = "params") -> Params:
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        msg = f"{source}: invalid parameters\n{describe_errors(exc, Params)}"
        raise ParamsError(msg) from exc


def describe_errors(exc: ValidationError, root: type[BaseModel]) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        key = ".".join(str(part) for part in loc) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            allowed = _allowed_keys(root, loc[:-1])
            if allowed:
                message += f"; allowed keys here: {', '.join(allowed)}"
        lines.append(f"  - {key}: {message}")
    return "\n".join(lines)


def _allowed_keys(root: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Walk the model along ``loc`` to list the field names valid at that level."""
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return []
        annotation = model.model_fields[part].annotation
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return sorted(model.model_fields) if model is not None else []
