"""What ``tabpipe params`` reports: the schema of params.yaml, and whether a file satisfies it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tabpipe.errors import ParamsError
from tabpipe.records.params import Params
from tabpipe.repositories.lock_file import check_lock_file
from tabpipe.services.params.checks import check_all


def params_json_schema() -> str:
    """The JSON schema of params.yaml, from the pydantic models."""
    return json.dumps(Params.model_json_schema(), indent=2)


def params_value(params: Params, key: str) -> str:
    """One validated value of params.yaml by dotted key, for scripts (``mlflow.champion_alias``).

    Defaults included; a mapping or list is printed as JSON, null as an empty string.
    Raises ParamsError naming the unknown part and the keys it could have been.
    """
    value: Any = params.model_dump(mode="json")
    walked: list[str] = []
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            where = ".".join(walked) or "params.yaml"
            known = ", ".join(value) if isinstance(value, dict) else "none: it is a value"
            msg = f"{key}: '{part}' is not a key of {where} (keys: {known})"
            raise ParamsError(msg)
        value = value[part]
        walked.append(part)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def check_params(path: Path) -> str:
    """Raise ParamsError naming each bad key, or each column the schema lacks; or say ok."""
    params = check_all(path)
    sections = ", ".join(type(params).model_fields)
    lock = path.parent / "dvc.lock"
    locked = f"; {lock}: readable" if check_lock_file(lock) else ""
    return f"{path}: ok ({sections}); dataset '{params.data.name}', task {params.data.task}{locked}"


def params_reference() -> str:
    """docs/configuration.md: every key of params.yaml, from the same JSON schema as --schema.

    Generated so the reference cannot disagree with the code; a test compares the
    committed file with this output.
    """
    schema = Params.model_json_schema()
    definitions: dict[str, Any] = schema["$defs"]
    lines = [
        "# Configuration reference (`params.yaml`)",
        "",
        "Generated from the pydantic models by `tabpipe params --reference` (`make docs`);",
        "do not edit by hand. `tabpipe params --check` validates a file against it.",
        "",
    ]
    queue: list[tuple[str, str]] = [
        (key, ref) for key, spec in schema["properties"].items() for ref in _refs(spec)
    ]
    written: set[str] = set()
    while queue:
        title, name = queue.pop(0)
        if name in written:
            continue
        written.add(name)
        definition = definitions[name]
        lines.extend(_table(title, definition))
        for key, spec in definition["properties"].items():
            refs = _refs(spec)
            for ref in refs:
                child = f"{title}.{key}"
                if len(refs) > 1:  # a discriminated union: one table per variant
                    kind = definitions[ref]["properties"].get("kind", {}).get("const", ref)
                    child = f"{child} (kind: {kind})"
                queue.append((child, ref))
    return "\n".join(lines).rstrip() + "\n"


def _table(title: str, definition: dict[str, Any]) -> list[str]:
    lines = [f"## `{title}`", ""]
    if definition.get("description"):
        lines.extend([_one_line(definition["description"]), ""])
    lines.extend(["| key | type | default | description |", "|---|---|---|---|"])
    required = set(definition.get("required", []))
    for key, spec in definition["properties"].items():
        default = "required" if key in required else f"`{json.dumps(spec.get('default'))}`"
        if _refs(spec) and key not in required:
            default = "see below"
        described = " ".join(filter(None, [_one_line(spec.get("description", "")), _bounds(spec)]))
        lines.append(f"| `{key}` | {_type(spec)} | {default} | {described} |")
    return [*lines, ""]


def _refs(spec: dict[str, Any]) -> list[str]:
    found = [spec["$ref"]] if "$ref" in spec else []
    for option in (*spec.get("anyOf", ()), *spec.get("oneOf", ())):
        found.extend(_refs(option))
    if "items" in spec and isinstance(spec["items"], dict):
        found.extend(_refs(spec["items"]))
    return [ref.rsplit("/", 1)[-1] for ref in found]


def _type(spec: dict[str, Any]) -> str:
    if "const" in spec:
        return f"`{json.dumps(spec['const'])}`"
    if "enum" in spec:
        return " \\| ".join(f"`{json.dumps(value)}`" for value in spec["enum"])
    if "$ref" in spec:
        return str(spec["$ref"]).rsplit("/", 1)[-1]
    options = spec.get("anyOf") or spec.get("oneOf")
    if options:
        return " or ".join(_type(option) for option in options)
    return _container_type(spec)


def _container_type(spec: dict[str, Any]) -> str:
    kind = str(spec.get("type", "any"))
    if kind == "array":
        return f"list of {_type(spec.get('items', {}))}"
    if kind == "object" and isinstance(spec.get("additionalProperties"), dict):
        return f"mapping to {_type(spec['additionalProperties'])}"
    return kind


def _bounds(spec: dict[str, Any]) -> str:
    words = {
        "minimum": ">=",
        "exclusiveMinimum": ">",
        "maximum": "<=",
        "exclusiveMaximum": "<",
        "minLength": "length >=",
        "maxLength": "length <=",
        "pattern": "matches",
    }
    found = [f"{word} `{spec[key]}`" for key, word in words.items() if key in spec]
    for option in spec.get("anyOf", ()):
        found.extend(f"{word} `{option[key]}`" for key, word in words.items() if key in option)
    return f"({', '.join(found)})" if found else ""


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
