"""Reading ``params.yaml`` into :class:`~tabpipe.records.params.Params`.

Errors name the key path (``split.train``) and, for unknown keys, the keys that
are allowed there, so a user can fix the file without reading the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from tabpipe.errors import ParamsError
from tabpipe.records.params import Params
from tabpipe.utils.text import conflict_marker


def load_yaml12(text: str) -> Any:
    """One YAML document read with YAML 1.2 rules, as DVC reads and writes params.yaml.

    DVC (``dvc exp run -S``) rewrites params.yaml with ruamel.yaml and YAML 1.2, where
    only true / false are booleans and ``1e-3`` is a number; it drops the quotes that
    PyYAML (YAML 1.1) would need around ``Yes``, ``No``, ``On`` or ``Off``. Reading with
    the same library and rules gives back the values DVC meant.
    """
    return YAML(typ="safe", pure=True).load(text)


def _problem(exc: YAMLError) -> str:
    """YAML's complaint on one line: what is wrong and where (ruamel's own text spans five)."""
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem is None or mark is None:
        return " ".join(str(exc).split())
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"


def read_yaml_file(path: Path, missing: str, remedy: str | None = None) -> Any:
    """A YAML 1.2 file's content; a ParamsError when it is absent or not YAML.

    ``missing`` is the message for an absent file: what it is and what to do; ``remedy``
    what to do with a file that holds a merge conflict or is not YAML (cut short, edited).
    """
    if not path.is_file():
        msg = f"{path}: {missing}"
        raise ParamsError(msg)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        msg = f"{path}: not valid YAML: {exc}"
        raise ParamsError(msg) from exc
    if marker := conflict_marker(text):
        line, shown = marker
        advice = remedy or (
            f"Keep one side of each conflict (edit it, or `git checkout --ours {path}` / "
            "`--theirs`), then rerun."
        )
        msg = f"{path}: holds a merge conflict (line {line}: {shown!r}). {advice}"
        raise ParamsError(msg)
    try:
        return load_yaml12(text)
    except YAMLError as exc:
        advice = f" {remedy}" if remedy else ""
        msg = f"{path}: not valid YAML (cut short or hand-edited?): {_problem(exc)}.{advice}"
        raise ParamsError(msg) from exc


def load_params(path: Path) -> Params:
    """Read ``params.yaml`` (YAML 1.2, as DVC writes it) into validated :class:`Params`."""
    raw = read_yaml_file(
        path, "parameters file not found (run from the repository root or pass --params)"
    )
    if not isinstance(raw, dict):
        msg = f"{path}: expected a mapping of sections (data, ingest, split, ...), got {raw!r}"
        raise ParamsError(msg)
    return parse_params(raw, source=str(path))


def parse_params(raw: dict[str, Any], source: str = "params") -> Params:
    """Validate a loaded mapping; every problem is reported at once as a ParamsError."""
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        msg = f"{source}: invalid parameters\n{describe_errors(exc, Params)}"
        raise ParamsError(msg) from exc


def describe_errors(exc: ValidationError, root: type[BaseModel]) -> str:
    """One ``  - key: problem`` line per problem pydantic found, every one at once.

    Keys that do not belong to the chosen member of a tagged union (the previous model
    kind's hyperparameters after ``train.model.kind`` changed) are grouped into one line
    that names the keys the new kind takes.
    """
    lines: list[str] = []
    foreign: dict[tuple[str, str], list[str]] = {}
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        if not loc and error["type"] == "value_error":  # a cross-section rule of the root
            lines += [f"  - {line}" for line in str(error["ctx"]["error"]).splitlines()]
            continue
        member = _tagged_member(root, loc[:-1])
        if error["type"] == "extra_forbidden" and member is not None:
            parent, tag, _ = member
            foreign.setdefault((parent, tag), []).append(str(loc[-1]))
            continue
        key = ".".join(str(part) for part in loc) or "(top level)"
        message = error["msg"]
        if error["type"] == "value_error" and "error" in error.get("ctx", {}):
            message = str(error["ctx"]["error"])  # the rule's own words, without "Value error,"
        if error["type"] == "extra_forbidden":
            allowed = _allowed_keys(root, loc[:-1])
            if allowed:
                message += f"; allowed keys here: {', '.join(allowed)}"
        lines.append(f"  - {key}: {message}")
    for (parent, tag), keys in foreign.items():
        lines.append(f"  - {parent}: {_foreign_keys(root, parent, tag, keys)}")
    return "\n".join(lines)


def _foreign_keys(root: type[BaseModel], parent: str, tag: str, keys: list[str]) -> str:
    """Say which kind each stray key belongs to, and which keys ``tag`` takes."""
    members = _members(_model_at(root, tuple(parent.split("."))))
    owners = {
        key: [name for name, fields in members.items() if name != tag and key in fields]
        for key in keys
    }
    borrowed = [key for key in keys if owners[key]]
    unknown = [key for key in keys if not owners[key]]
    parts = []
    if borrowed:
        kinds = sorted({kind for key in borrowed for kind in owners[key]})
        parts.append(
            f"keys of kind {' / '.join(kinds)}, not of '{tag}': {', '.join(borrowed)} "
            "(delete them when you change the kind)"
        )
    if unknown:
        parts.append(f"not a key of any model kind: {', '.join(unknown)}")
    return "; ".join(parts) + f" ('{tag}' takes: {', '.join(members.get(tag, []))})"


def _members(union: Any) -> dict[str, list[str]]:
    """A tagged union's members by their ``kind`` tag, with each one's keys."""
    found: dict[str, list[str]] = {}
    for member in get_args(union):
        if isinstance(member, type) and issubclass(member, BaseModel):
            tag = member.model_fields.get("kind")
            for value in () if tag is None else get_args(tag.annotation):
                found[str(value)] = sorted(member.model_fields)
    return found


def _model_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> Any:
    """The annotation of the field at ``loc`` (None when the path leaves the models)."""
    model: Any = root
    for part in loc:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        if not isinstance(part, str) or part not in model.model_fields:
            return None
        model = model.model_fields[part].annotation
    return model


def _tagged_member(
    root: type[BaseModel], loc: tuple[int | str, ...]
) -> tuple[str, str, list[str]] | None:
    """For a ``loc`` ending in a tagged union's tag: (the field, the tag, its member's keys)."""
    if len(loc) < 2 or not isinstance(loc[-1], str):  # noqa: PLR2004 - a field and a tag
        return None
    members = _members(_model_at(root, loc[:-1]))
    if loc[-1] in members:
        return ".".join(map(str, loc[:-1])), loc[-1], members[loc[-1]]
    return None


def _allowed_keys(root: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Walk the model along ``loc`` to list the field names valid at that level."""
    model = _model_at(root, loc)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(model.model_fields)
    return []
