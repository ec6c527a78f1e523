"""What every command shares: the ``--params`` option and the error mapping with ``--verbose``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from tabpipe.cli.errors import exit_on_error

ParamsOption = Annotated[
    Path, typer.Option("--params", "-p", help="Parameters file.", dir_okay=False)
]


def verbose(ctx: typer.Context) -> bool:
    """Whether ``tabpipe --verbose`` was given (the root command's option)."""
    return bool(getattr(ctx.find_root().obj, "verbose", False))


@contextlib.contextmanager
def command(ctx: typer.Context) -> Iterator[None]:
    """A command's body: a tabpipe error becomes one line and its exit code."""
    with exit_on_error(verbose=verbose(ctx)):
        yield
