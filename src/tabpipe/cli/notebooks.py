"""``tabpipe notebooks``: check the notebook rules; run the notebooks on the pipeline's outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tabpipe.cli.errors import exit_on_error

notebooks_app = typer.Typer(help="Check and run the report notebooks.", no_args_is_help=True)

ParamsOption = Annotated[
    Path, typer.Option("--params", "-p", help="Parameters file.", dir_okay=False)
]


def _verbose(ctx: typer.Context) -> bool:
    return bool(getattr(ctx.find_root().obj, "verbose", False))


@notebooks_app.command("lint")
def lint(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Notebooks to check (default: report.notebooks).")
    ] = None,
    fix: Annotated[
        bool, typer.Option("--fix", help="First strip outputs and execution counts in place.")
    ] = False,
    params_path: ParamsOption = Path("params.yaml"),
) -> None:
    """Check section order, cell comments, the parameters cell, stored outputs, kernel spec.

    Exit 6 with every violation (notebook, cell, rule) when any rule is broken.
    """
    with exit_on_error(verbose=_verbose(ctx)):
        from tabpipe.repositories.params_file import load_params
        from tabpipe.services.notebook_rules import raise_on_violations, strip_paths

        loaded = load_params(params_path)
        targets = list(paths) if paths else [Path(p) for p in loaded.report.notebooks]
        if fix:
            for path in strip_paths(targets):
                typer.echo(f"stripped outputs: {path}")
        checked = raise_on_violations(targets, loaded.report.rules)
        typer.echo(f"notebooks ok: {checked} checked")


@notebooks_app.command("run")
def run(ctx: typer.Context, params_path: ParamsOption = Path("params.yaml")) -> None:
    """Lint, execute every notebook with papermill, export HTML under paths.notebooks_dir."""
    with exit_on_error(verbose=_verbose(ctx)):
        from tabpipe.repositories.params_file import load_params
        from tabpipe.services.report import run_report

        for notebook in run_report(load_params(params_path)):
            typer.echo(f"report ok: {notebook.source} -> {notebook.html} ({notebook.seconds} s)")
