"""The layers hold: services never touch storage, and the documented module map is current."""

from __future__ import annotations

import ast

from scripts.architecture import (
    DOC,
    PACKAGE_DIR,
    _imports,
    _storage_calls,
    documented_map,
    import_cycles,
    import_graph,
    layout,
    module_map,
    violations,
)


def test_no_module_imports_what_its_layer_may_not_and_no_service_touches_storage() -> None:
    assert violations() == [], "see docs/architecture.md, 'Module map'"


def test_the_checker_sees_a_file_written_or_mlflow_imported_by_a_service() -> None:
    tree = ast.parse(
        "import mlflow\nfrom tabpipe.cli.app import app\n"
        "def f(path, frame):\n    path.write_text('x')\n    frame.to_parquet(path)\n"
        "    open(path)\n    write_text(path, 'x')\n"
    )
    assert [line for line, _ in _storage_calls(tree)] == [4, 5, 6]  # not the repository call
    assert {name for _, name in _imports(tree)} >= {"mlflow", "tabpipe.cli.app"}


def test_the_documented_module_map_is_generated_from_the_code() -> None:
    assert documented_map(DOC.read_text(encoding="utf-8")) == module_map(), (
        "run: python scripts/architecture.py --write"
    )


def test_no_two_modules_import_each_other_directly_or_through_others() -> None:
    cycles = import_cycles()
    assert cycles == [], "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_circle_check_finds_a_circle_through_a_deferred_import() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    # The real graph sees imports made inside functions (the engine choice is one).
    assert (
        "tabpipe.services.engines.dask_ingest" in import_graph()["tabpipe.services.stages.ingest"]
    )


MAX_MODULE_LINES = 400  # a module a reader takes in at once; split a bigger one by concern


def test_no_module_in_the_package_is_longer_than_a_reader_takes_in_at_once() -> None:
    sizes = {
        str(path.relative_to(PACKAGE_DIR)): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE_DIR.rglob("*.py")
    }
    long = {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES}
    assert long == {}, f"split these by concern (docs/architecture.md): {long}"


def test_the_layout_shows_one_line_per_folder_of_the_package() -> None:
    shown = [line.split()[0] for line in layout().splitlines()]
    folders = sorted(
        p.relative_to(PACKAGE_DIR.parent).as_posix() + "/"
        for p in [PACKAGE_DIR, *PACKAGE_DIR.rglob("*")]
        if p.is_dir() and any(p.glob("*.py"))
    )
    assert shown == folders
    assert "tabpipe/services/stages/" in shown
