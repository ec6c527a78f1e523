"""What each DVC stage really depends on: the code it imports and the params keys it reads.

Computed from the source, not declared by hand, so ``dvc.yaml`` can be checked against
it (``tests/unit/test_stage_dependencies.py``) and a missing dependency can never leave
a result silently stale.

- **Code**: the import closure, inside ``src/tabpipe``, of the modules the stage's
  ``tabpipe`` command imports (for the report stage, also those the notebooks' code
  cells import), minus the CLI package itself (it parses options and prints; it writes
  no output) and package ``__init__`` files that hold only a docstring.
- **Params**: every ``params.yaml`` key read on the call graph that starts at the
  command, except inside the checks of ``CHECK_ONLY`` (they decide no output). Reads
  are followed through attribute chains (``params.data.target``),
  local names bound to a section (``paths = params.paths``), parameters annotated
  with a section's model (``gates: GatesParams``) and calls of tabpipe functions that
  receive params or a section. A section used as a whole (passed to a function that is
  not tabpipe's, dumped) counts as reading every key under it. ``paths`` is left out:
  ``dvc.yaml`` uses those keys as ``${paths.*}`` in the stage definition itself.

Run ``python scripts/stage_deps.py`` to print the deps and params each stage should
declare, and ``python scripts/stage_deps.py --write`` to put them into ``dvc.yaml``
(comments, templated deps such as ``${data.raw_path}`` and the rest of the file are kept).
"""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "tabpipe"
CLI_PREFIX = "tabpipe.cli"

# Stage command -> (CLI module, function) that implements it.
COMMANDS: dict[str, tuple[str, str]] = {
    "tabpipe ingest": ("tabpipe.cli.app", "ingest"),
    "tabpipe split": ("tabpipe.cli.app", "split"),
    "tabpipe train": ("tabpipe.cli.app", "train"),
    "tabpipe evaluate": ("tabpipe.cli.app", "evaluate"),
    "tabpipe promote": ("tabpipe.cli.app", "promote"),
    "tabpipe drift": ("tabpipe.cli.app", "drift"),
    "tabpipe eda": ("tabpipe.cli.app", "eda"),
    "tabpipe report": ("tabpipe.cli.app", "report"),
}


def _check_known_property(attr: str) -> None:
    """A Params property this script does not know would read as 'the whole file'."""
    from tabpipe.records.params import Params  # noqa: PLC0415

    if isinstance(getattr(Params, attr, None), property) and attr not in PROPERTIES:
        msg = f"Params.{attr} is a property: add it and the keys it reads to PROPERTIES"
        raise ValueError(msg)


# Derived values: a property of Params and the keys it reads.
PROPERTIES = {
    "primary_metric": ("evaluate.primary_metric", "data.task"),
    "split_method": ("split.method", "engine"),
}


def module_path(module: str) -> Path:
    """The file of a tabpipe module (its ``__init__.py`` for a package)."""
    base = SRC / Path(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def is_module(name: str) -> bool:
    """Whether ``name`` is a module of the tabpipe source tree."""
    return module_path(name).is_file()


@functools.cache
def parse(module: str) -> ast.Module:
    """The parsed source of a tabpipe module (cached)."""
    return ast.parse(module_path(module).read_text(encoding="utf-8"))


def _type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported_modules(tree: ast.AST, current: str) -> Iterator[str]:
    """tabpipe modules an AST imports (``TYPE_CHECKING`` blocks are never run)."""
    skipped = {
        id(inner)
        for node in ast.walk(tree)
        if _type_checking_block(node)
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = current.split(".")[: -node.level]
                base = ".".join([*parts, base] if base else parts)
            if base.split(".")[0] != PACKAGE:
                continue
            yield base
            for alias in node.names:
                if is_module(f"{base}.{alias.name}"):
                    yield f"{base}.{alias.name}"


def _only_docstring(module: str) -> bool:
    body = parse(module).body
    return all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) for s in body)


def import_closure(start: list[str]) -> set[str]:
    """Every tabpipe module the ``start`` modules import, directly or not."""
    seen: set[str] = set()
    todo = list(start)
    while todo:
        module = todo.pop()
        parents = [".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)]
        for name in [*parents, module]:
            if name in seen or not is_module(name):
                continue
            seen.add(name)
            todo.extend(imported_modules(parse(name), name))
    return {
        m
        for m in seen
        if not m.startswith(CLI_PREFIX)
        and not (module_path(m).name == "__init__.py" and _only_docstring(m))
    }


def command_function(command: str) -> tuple[str, ast.FunctionDef]:
    """The module and function definition of a stage's command."""
    module, name = COMMANDS[command]
    for node in parse(module).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return module, node
    msg = f"{module} has no function {name}"
    raise LookupError(msg)


# Stage commands that execute notebooks: the tabpipe modules the notebooks' code cells
# import run in the stage too (in the kernel), so they are its code deps as well.
NOTEBOOK_COMMANDS = {"tabpipe report": "notebooks", "tabpipe eda": "data_notebooks"}


def notebook_imports(command: str) -> list[str]:
    """tabpipe modules imported by the code cells of the notebooks the stage runs."""
    import json  # noqa: PLC0415

    from tabpipe.repositories.params_file import load_params  # noqa: PLC0415

    found: list[str] = []
    report = load_params(ROOT / "params.yaml").report
    for path in getattr(report, NOTEBOOK_COMMANDS[command]):
        notebook = json.loads((ROOT / path).read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                found += imported_modules(ast.parse(source), f"{PACKAGE}.notebook")
    return found


def code_deps(command: str) -> set[str]:
    """Source files (relative to the repository root) the stage's command runs."""
    module, function = command_function(command)
    start = list(imported_modules(function, module))
    if command in NOTEBOOK_COMMANDS:
        start += notebook_imports(command)
    closure = import_closure(start)
    return {str(module_path(m).relative_to(ROOT)) for m in closure}


# ---- params ---------------------------------------------------------------------------


def _model_types(model: type[BaseModel], prefix: str, out: dict[str, str]) -> None:
    """Class name -> params path, for every pydantic section reachable from Params."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        for candidate in _classes(info.annotation):
            if candidate.__name__ not in out:
                out[candidate.__name__] = path
                _model_types(candidate, f"{path}.", out)


def _classes(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in get_args(annotation):
        yield from _classes(arg)
    origin = get_origin(annotation)
    if origin is not None and isinstance(origin, type) and issubclass(origin, BaseModel):
        yield origin


@functools.cache
def section_types() -> dict[str, str]:
    """Each params model's class name mapped to its dotted path in params.yaml."""
    from tabpipe.records.params import Params  # noqa: PLC0415 - only when params are asked for

    types = {"Params": ""}
    _model_types(Params, "", types)
    return types


@functools.cache
def _leaf_fields() -> dict[str, set[str]]:
    """Params path -> names of its fields (to tell a field read from a method call)."""
    from tabpipe.records.params import Params  # noqa: PLC0415

    fields: dict[str, set[str]] = {}

    def walk(model: type[BaseModel], prefix: str) -> None:
        fields[prefix.rstrip(".")] = set(model.model_fields)
        for name, info in model.model_fields.items():
            for candidate in _classes(info.annotation):
                walk(candidate, f"{prefix}{name}.")

    walk(Params, "")
    return fields


@dataclass
class Reads:
    """The params keys read so far, and the functions already followed."""

    keys: set[str] = field(default_factory=set)
    visited: set[tuple[str, str]] = field(default_factory=set)


@dataclass(frozen=True)
class Scope:
    """Where names in one function body resolve: its module's imports and definitions."""

    module: str
    functions: dict[str, tuple[str, ast.FunctionDef]]
    modules: dict[str, str]


def _scope(module: str, tree: ast.AST) -> Scope:
    functions: dict[str, tuple[str, ast.FunctionDef]] = {}
    modules: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.col_offset == 0:
            functions[node.name] = (module, node)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
            base = node.module or ""
            for alias in node.names:
                local = alias.asname or alias.name
                if is_module(f"{base}.{alias.name}"):
                    modules[local] = f"{base}.{alias.name}"
                else:
                    target = _find_function(base, alias.name)
                    if target is not None:
                        functions[local] = target
    return Scope(module=module, functions=functions, modules=modules)


def _find_function(module: str, name: str) -> tuple[str, ast.FunctionDef] | None:
    if not is_module(module):
        return None
    for node in parse(module).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return module, node
    return None


def _chain(node: ast.expr) -> tuple[str, list[str]] | None:
    """``a.b.c`` -> ("a", ["b", "c"])."""
    attrs: list[str] = []
    while isinstance(node, ast.Attribute):
        attrs.insert(0, node.attr)
        node = node.value
    return (node.id, attrs) if isinstance(node, ast.Name) else None


class _FunctionReads(ast.NodeVisitor):
    def __init__(self, scope: Scope, bound: dict[str, str], analyser: ParamsAnalyser) -> None:
        self.scope = scope
        self.bound = dict(bound)  # local name -> params path it holds
        self.analyser = analyser

    def resolve(self, node: ast.expr) -> str | None:
        """The params path an expression evaluates to, if it is (part of) the params."""
        chain = _chain(node)
        if chain is None or chain[0] not in self.bound:
            return None
        path = self.bound[chain[0]]
        for attr in chain[1]:
            if attr in PROPERTIES and path == "":
                return None
            if attr not in self.analyser.fields.get(path, set()):
                return None
            path = f"{path}.{attr}" if path else attr
        return path

    def visit_Assign(self, node: ast.Assign) -> None:
        target, value = node.targets[0], node.value
        if (  # a, b = params.data, params.split: one binding per pair
            len(node.targets) == 1
            and isinstance(target, ast.Tuple)
            and isinstance(value, ast.Tuple)
            and len(target.elts) == len(value.elts)
        ):
            for name, part in zip(target.elts, value.elts, strict=True):
                self.visit(ast.Assign(targets=[name], value=part))
            return
        path = self.resolve(node.value)
        if path is not None and path in self.analyser.fields:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.bound[target.id] = path
            return
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        path = self.resolve(node.iter)
        if path is not None and isinstance(node.target, ast.Name):
            # Iterating a tuple of sections (gates.rules): each item is that section.
            self.bound[node.target.id] = path
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain = _chain(node)
        if (
            chain
            and chain[0] in self.bound
            and self.bound[chain[0]] == ""
            and chain[1]
            and chain[1][0] in PROPERTIES
        ):
            self.analyser.reads.keys.update(PROPERTIES[chain[1][0]])
            return
        if chain and chain[0] in self.bound and self.bound[chain[0]] == "" and chain[1]:
            _check_known_property(chain[1][0])
        path = self.resolve(node)
        if path is not None:
            self.analyser.read(path)
            return
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.bound and isinstance(node.ctx, ast.Load):
            self.analyser.read(self.bound[node.id])

    def visit_Call(self, node: ast.Call) -> None:
        target = self._callee(node.func)
        if target is None:
            self.generic_visit(node)
            return
        module, function = target
        passed: dict[str, str] = {}
        params = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
        for name, value in zip(params, node.args, strict=False):
            path = self.resolve(value)
            if path is not None:
                passed[name] = path
        for keyword in node.keywords:
            path = None if keyword.arg is None else self.resolve(keyword.value)
            if path is not None and keyword.arg is not None:
                passed[keyword.arg] = path
        for argument in (*node.args, *(k.value for k in node.keywords)):
            if self.resolve(argument) is None:
                self.visit(argument)
        self.analyser.function(module, function, passed)

    def _callee(self, func: ast.expr) -> tuple[str, ast.FunctionDef] | None:
        if isinstance(func, ast.Name):
            return self.scope.functions.get(func.id)
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in self.scope.modules
        ):
            return _find_function(self.scope.modules[func.value.id], func.attr)
        return None


# Functions that check params without deciding any output: their reads are not followed.
# ``check_against_schema`` checks every column-naming key in every stage, so that a wrong
# name stops the first stage that runs; each such key is a dependency of the stage whose
# output it decides, so a change to it re-runs a stage that checks it (params_checks.py).
CHECK_ONLY = {"tabpipe.services.params.checks.check_against_schema"}


class ParamsAnalyser:
    """Follows a command's call graph and collects every params key it reads."""

    def __init__(self) -> None:
        self.types = section_types()
        self.fields = _leaf_fields()
        self.reads = Reads()

    def read(self, path: str) -> None:
        """Record one key read (``paths`` keys are dvc.yaml's own, so left out)."""
        if path != "paths" and not path.startswith("paths."):
            self.reads.keys.add(path)

    def function(self, module: str, function: ast.FunctionDef, passed: dict[str, str]) -> None:
        """Follow one function, with the params sections bound to its parameters."""
        bound = dict(passed)
        for arg in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs):
            annotation = "" if arg.annotation is None else ast.unparse(arg.annotation)
            if arg.arg not in bound and annotation in self.types:
                bound[arg.arg] = self.types[annotation]
        if f"{module}.{function.name}" in CHECK_ONLY:
            return
        key = (f"{module}.{function.name}", repr(sorted(bound.items())))
        if key in self.reads.visited:
            return
        self.reads.visited.add(key)
        scope = _scope(module, parse(module))
        visitor = _FunctionReads(scope, bound, self)
        for statement in function.body:
            visitor.visit(statement)


def params_read(command: str) -> set[str]:
    """params.yaml keys the stage's command reads, each as declared (``data.target``)."""
    module, function = command_function(command)
    analyser = ParamsAnalyser()
    analyser.function(module, function, {})
    return normalised(analyser.reads.keys)


def normalised(keys: set[str]) -> set[str]:
    """One spelling for a set of keys.

    A section whose every field is read is named as a whole, and a key under a section
    named as a whole is dropped.
    """
    fields = _leaf_fields()
    current = set(keys)
    changed = True
    while changed:
        changed = False
        for section, names in fields.items():
            if section and names and not _covered(section, current):
                children = {f"{section}.{name}" for name in names}
                if all(_covered(child, current) for child in children):
                    current.add(section)
                    changed = True
        current = {k for k in current if not any(k.startswith(f"{other}.") for other in current)}
    return current


def _covered(key: str, keys: set[str]) -> bool:
    return key in keys or any(key.startswith(f"{other}.") for other in keys)


@dataclass(frozen=True)
class DeclaredStage:
    """What dvc.yaml says a stage needs (templated paths already resolved)."""

    name: str
    cmd: str
    code: frozenset[str]
    params: frozenset[str]
    files: frozenset[str] = frozenset()  # every other dep: data, schema, notebooks, outputs
    repeated: frozenset[str] = frozenset()  # deps listed more than once


# Params keys that name a file every stage reading the key also reads: the file's content
# is then an input of the stage, so dvc.yaml must list it (as ``${data.schema_path}``).
READ_FILE_KEYS = ("data.schema_path",)


def declared_stages(root: Path = ROOT) -> list[DeclaredStage]:
    """The stages of dvc.yaml as DVC resolves them (templated paths filled in)."""
    from dvc.repo import Repo  # noqa: PLC0415 - only when dvc.yaml is checked

    stages = []
    with Repo(str(root)) as repo:
        for stage in repo.index.stages:
            code = {str(dep.def_path) for dep in stage.deps if str(dep.def_path).startswith("src/")}
            files = {
                str(dep.def_path)
                for dep in stage.deps
                if dep.__class__.__name__ != "ParamsDependency"
            } - code
            params = {
                str(key)
                for dep in stage.deps
                if dep.__class__.__name__ == "ParamsDependency"
                for key in dep.params
            }
            listed = [str(dep.def_path) for dep in stage.deps]
            repeated = {path for path in listed if listed.count(path) > 1}
            stages.append(
                DeclaredStage(
                    name=stage.addressing,
                    cmd=str(stage.cmd),
                    code=frozenset(code),
                    params=frozenset(params),
                    files=frozenset(files),
                    repeated=frozenset(repeated),
                )
            )
    return stages


def mismatches(stage: DeclaredStage) -> list[str]:
    """Every way ``stage``'s declaration differs from what its command runs and reads."""
    if stage.cmd not in COMMANDS:
        return [f"{stage.name}: command '{stage.cmd}' is not one stage_deps knows"]
    problems = []
    runs, reads = code_deps(stage.cmd), params_read(stage.cmd)
    declared = normalised(set(stage.params))
    problems += [f"{stage.name}: deps miss {path}" for path in sorted(runs - stage.code)]
    problems += [f"{stage.name}: deps list {path}, never run" for path in sorted(stage.code - runs)]
    problems += [f"{stage.name}: deps list {path} twice" for path in sorted(stage.repeated)]
    problems += [f"{stage.name}: params miss {key}" for key in sorted(reads - declared)]
    problems += [f"{stage.name}: params list {key}, never read" for key in sorted(declared - reads)]
    problems += [
        f"{stage.name}: deps miss ${{{key}}} (it reads the file {file})"
        for key, file in _read_files().items()
        if _covered(key, reads) and file not in stage.files
    ]
    return problems


@functools.cache
def _read_files() -> dict[str, str]:
    """Each of READ_FILE_KEYS with the path params.yaml gives it."""
    from tabpipe.repositories.params_file import load_params  # noqa: PLC0415

    params = load_params(ROOT / "params.yaml").model_dump(mode="json")
    found = {}
    for key in READ_FILE_KEYS:
        value: Any = params
        for part in key.split("."):
            value = value[part]
        found[key] = str(value)
    return found


def _set_items(seq: Any, wanted: list[str]) -> None:
    """Make a ruamel sequence hold ``wanted``, in place.

    Kept items keep their comments, and the comment after the last item (often the next
    block's) stays last.
    """
    comments = seq.ca.items
    trailing = comments.pop(len(seq) - 1, None) if len(seq) else None
    for index in reversed(range(len(seq))):
        if seq[index] not in wanted:
            del seq[index]
    for index, item in enumerate(wanted):
        if index >= len(seq) or seq[index] != item:
            seq.insert(index, item)
    del seq[len(wanted) :]  # kept items that moved up were inserted again above
    if trailing is not None and len(seq):
        comments[len(seq) - 1] = trailing


def write_dvc_yaml(path: Path) -> list[str]:
    """Rewrite each stage's ``src/`` deps and params keys in ``path``; return the stages changed."""
    from ruamel.yaml import YAML  # noqa: PLC0415 - only for --write

    yaml = YAML()  # round trip: comments and order stay
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    document = yaml.load(path.read_text(encoding="utf-8"))
    changed = []
    for name, stage in document["stages"].items():
        command = str(stage.get("cmd", ""))
        if command not in COMMANDS:
            continue
        deps = [dep for dep in stage.get("deps", []) if not str(dep).startswith("src/")]
        deps += sorted(code_deps(command))
        params = sorted(params_read(command))
        changed_here = False
        for key, wanted in (("deps", deps), ("params", params)):
            if list(stage.get(key, [])) != wanted:
                _set_items(stage.setdefault(key, []), wanted)
                changed_here = True
        if changed_here:
            changed.append(str(name))
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(document, handle)
    return changed


def main() -> None:
    """Print each stage's deps and params, or rewrite dvc.yaml with ``--write``."""
    if sys.argv[1:] == ["--write"]:
        changed = write_dvc_yaml(ROOT / "dvc.yaml")
        print(f"dvc.yaml: {', '.join(changed) or 'no stage'} updated")  # noqa: T201
        return
    for command in COMMANDS:
        print(f"{command}:")  # noqa: T201 - a developer's report
        print("  deps:")  # noqa: T201
        for dep in sorted(code_deps(command)):
            print(f"    - {dep}")  # noqa: T201
        print("  params:")  # noqa: T201
        for key in sorted(params_read(command)):
            print(f"    - {key}")  # noqa: T201


if __name__ == "__main__":
    sys.path.insert(0, str(SRC))
    main()
