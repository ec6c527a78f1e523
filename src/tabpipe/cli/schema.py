"""``tabpipe schema``: draft a pandera schema for a new dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tabpipe.cli.options import command

schema_app = typer.Typer(help="Work with dataset schemas.", no_args_is_help=True)


@schema_app.command("infer")
def infer(
    ctx: typer.Context,
    raw: Annotated[Path, typer.Argument(help="Raw data file (CSV, gzip CSV or Parquet).")],
    delimiter: Annotated[str, typer.Option(help="CSV field separator.")] = ",",
    encoding: Annotated[str, typer.Option(help="CSV text encoding.")] = "utf-8",
    missing: Annotated[
        list[str] | None, typer.Option(help="Missing-value marker (repeatable).")
    ] = None,
    drop_column: Annotated[
        list[str] | None, typer.Option(help="Column to leave out (repeatable).")
    ] = None,
    max_categories: Annotated[
        int, typer.Option(help="Text columns with at most this many values become categories.")
    ] = 100,
) -> None:
    """Print a draft pandera schema (YAML) inferred from RAW; review it, then commit it."""
    with command(ctx):
        from tabpipe.services.data.schema_inference import draft_schema_yaml

        typer.echo(
            draft_schema_yaml(
                raw,
                delimiter=delimiter,
                encoding=encoding,
                missing_values=tuple(missing or ()),
                drop_columns=tuple(drop_column or ()),
                max_categories=max_categories,
            ),
            nl=False,
        )
