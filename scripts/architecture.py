"""The layers of ``src/tabpipe``, checked against the real imports and calls.

Each package may import only the tabpipe packages its layer allows, and a service
module never touches storage itself: no file access, no MLflow, no notebook runner,
no command line. ``tests/unit/test_architecture.py`` fails on any violation and when
the module map in ``docs/architecture.md`` no longer matches the modules on disk;
``python scripts/architecture.py --write`` regenerates that map.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = ROOT / "src" / "tabpipe"
DOC = ROOT / "docs" / "architecture.md"
START, END = "<!-- module-map:start -->", "<!-- module-map:end -->"


@dataclass(frozen=True)
class Layer:
    """What a layer holds, the tabpipe packages it may import, and what it must never import."""

    holds: str
    may_import: tuple[str, ...]  # tabpipe packages, besides tabpipe.errors
    never: tuple[str, ...] = ()  # third-party or standard modules it must not import


LAYERS: dict[str, Layer] = {
    "records": Layer(
        "pydantic records: configuration and what crosses modules", ("records", "utils")
    ),
    "utils": Layer(
        "cross-cutting helpers: logging, atomic writes, hashing, processes, text",
        ("utils",),
        never=("mlflow", "pandera", "typer", "sklearn"),
    ),
    "repositories": Layer(
        "every file, MLflow, DVC and notebook-kernel access",
        ("records", "repositories", "utils"),
        never=("typer",),
    ),
    "services": Layer(
        "stage logic: data in, results out (pure, testable on in-memory frames)",
        ("records", "repositories", "services", "utils"),
        never=("typer", "mlflow", "papermill", "shutil", "tabpipe.utils.atomic"),
    ),
    "cli": Layer(
        "typer commands: parse, call one service, map errors to exit codes",
        ("cli", "records", "repositories", "services", "utils"),
    ),
}
# Methods that read or write storage (``path.write_text(...)``, ``frame.to_parquet(...)``)
# and the builtin ``open``; a service leaves them to repositories, whose own functions
# (``reports.write_text``, ``datasets.read_frame``) it calls by name.
STORAGE_METHODS = frozenset(
    {
        "read_text", "write_text", "read_bytes", "write_bytes", "to_parquet", "read_parquet",
        "read_csv", "unlink", "mkdir", "rmtree", "touch", "symlink_to",
    }
)  # fmt: skip


def modules(package: str) -> list[Path]:
    """The modules of one package and its folders, sorted."""
    return sorted((PACKAGE_DIR / package).rglob("*.py"))


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _storage_calls(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr in STORAGE_METHODS:
            yield node.lineno, node.func.attr
        elif isinstance(node.func, ast.Name) and node.func.id == "open":
            yield node.lineno, "open"


def violations() -> list[str]:
    """Every import a layer may not make, and every storage call in a service."""
    found: list[str] = []
    for package, layer in LAYERS.items():
        for path in modules(package):
            shown = path.relative_to(ROOT)
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for line, name in _imports(tree):
                parts = name.split(".")
                inner = parts[0] == "tabpipe" and len(parts) > 1 and parts[1] in LAYERS
                if inner and parts[1] not in layer.may_import:
                    found.append(f"{shown}:{line}: {package} imports tabpipe.{parts[1]}")
                if any(name == bad or name.startswith(f"{bad}.") for bad in layer.never):
                    found.append(f"{shown}:{line}: {package} imports {name}")
            if package == "services":
                found += [
                    f"{shown}:{line}: a service calls {call}(): storage belongs in repositories"
                    for line, call in _storage_calls(tree)
                ]
    return sorted(set(found))


def module_name(path: Path) -> str:
    """``src/tabpipe/a/b.py`` -> ``tabpipe.a.b`` (a package's ``__init__`` is the package)."""
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each tabpipe module -> the tabpipe modules it imports, anywhere in its body.

    Imports inside functions count: a circle through a deferred import is still two
    modules that each need the other. ``from package import name`` counts as importing
    the module ``package.name`` when there is one, else the package.
    """
    paths = sorted(PACKAGE_DIR.rglob("*.py"))
    known = {module_name(path) for path in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        current = module_name(path)
        edges: set[str] = set()
        for _, imported in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            name = imported
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name.startswith("tabpipe.") and name != current:
                edges.add(name)
        graph[current] = edges
    return graph


def import_cycles(graph: dict[str, set[str]] | None = None) -> list[list[str]]:
    """Every import circle: the strongly connected groups of more than one module (Tarjan)."""
    graph = import_graph() if graph is None else graph
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _summary(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def module_map() -> str:
    """The Markdown module map: per layer, what it holds, may import, and its modules."""
    lines = [START, "", "| package | holds | may import |", "|---|---|---|"]
    for package, layer in LAYERS.items():
        allowed = ", ".join(f"`{name}`" for name in layer.may_import if name != package)
        lines.append(
            f"| `tabpipe.{package}` | {layer.holds} | {allowed or 'itself only'}"
            + (f"; never {', '.join(f'`{n}`' for n in layer.never)}" if layer.never else "")
            + " |"
        )
    for package in LAYERS:
        lines += ["", f"**`tabpipe.{package}`**", ""]
        for path in modules(package):
            name = path.relative_to(PACKAGE_DIR / package).with_suffix("").as_posix()
            if name == "__init__":
                continue
            folder = name.removesuffix("/__init__")
            lines.append(
                f"- `{folder}/`: {_summary(path)}"
                if name.endswith("/__init__")
                else f"  - `{name.rsplit('/', 1)[-1]}`: {_summary(path)}"
                if "/" in name
                else f"- `{name}`: {_summary(path)}"
            )
    return "\n".join([*lines, "", END])


def documented_map(text: str) -> str:
    """The generated part of docs/architecture.md, between its markers."""
    start, end = text.index(START), text.index(END) + len(END)
    return text[start:end]


def layout() -> str:
    """The package's folders, one line each: modules, lines, the largest module, what it holds."""
    lines = []
    for folder in sorted(p for p in [PACKAGE_DIR, *PACKAGE_DIR.rglob("*")] if p.is_dir()):
        files = sorted(folder.glob("*.py"))
        if not files:
            continue
        sizes = {f.name: len(f.read_text(encoding="utf-8").splitlines()) for f in files}
        largest = max(sizes, key=lambda name: sizes[name])
        name = folder.relative_to(PACKAGE_DIR.parent).as_posix() + "/"
        lines.append(
            f"{name:<38} {len(files):>2} modules {sum(sizes.values()):>5} lines"
            f" (largest {largest} {sizes[largest]}): {_summary(folder / '__init__.py')}"
        )
    return "\n".join(lines)


def main() -> int:
    """Print the layout and every violation (exit 1 on one), or rewrite the map with ``--write``."""
    text = DOC.read_text(encoding="utf-8")
    if sys.argv[1:] == ["--write"]:
        DOC.write_text(text.replace(documented_map(text), module_map()), encoding="utf-8")
        return 0
    problems = [
        *violations(),
        *("import circle: " + " -> ".join([*cycle, cycle[0]]) for cycle in import_cycles()),
    ]
    print(layout())  # noqa: T201 - a developer's report
    print("\n".join(problems) or "layers respected, no import circle")  # noqa: T201
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
