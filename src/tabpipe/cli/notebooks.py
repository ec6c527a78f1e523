"""``tabpipe notebooks lint``: check the notebook rules (``tabpipe report`` runs them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tabpipe.cli.options import ParamsOption, command

notebooks_app = typer.Typer(
    help="Check the report notebooks against the notebook rules.", no_args_is_help=True
)


@notebooks_app.command("lint")
def lint(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Notebooks to check (default: all listed).")
    ] = None,
    fix: Annotated[
        bool, typer.Option("--fix", help="First strip outputs and execution counts in place.")
    ] = False,
    params_path: ParamsOption = Path("params.yaml"),
) -> None:
    """Check section order, cell comments, the parameters cell, stored outputs, kernel spec.

    Exit 6 with every violation (notebook, cell, rule) when any rule is broken.
    """
    with command(ctx):
        from tabpipe.repositories.params_file import load_params
        from tabpipe.services.reporting.notebook_rules import raise_on_violations, strip_paths

        loaded = load_params(params_path)
        listed = (*loaded.report.data_notebooks, *loaded.report.notebooks)
        targets = list(paths) if paths else [Path(p) for p in listed]
        if fix:
            for path in strip_paths(targets):
                typer.echo(f"stripped outputs: {path}")
        checked = raise_on_violations(targets, loaded.report.rules)
        typer.echo(f"notebooks ok: {checked} checked")
