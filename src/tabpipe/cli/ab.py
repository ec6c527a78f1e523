"""``tabpipe ab``: size, assign and analyse an online A/B test of two models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tabpipe.cli.options import command

ab_app = typer.Typer(
    help="Online A/B tests of two models: plan, assign, analyse.", no_args_is_help=True
)

ExperimentArgument = Annotated[
    Path, typer.Argument(help="The A/B test definition (YAML, see ab/README.md).")
]


@ab_app.command("plan")
def plan(ctx: typer.Context, experiment: ExperimentArgument) -> None:
    """Print the minimum units per arm from the power calculation of the definition."""
    with command(ctx):
        from tabpipe.repositories.ab_files import load_experiment
        from tabpipe.services.usage.ab_analysis import plan as plan_test
        from tabpipe.services.usage.ab_reports import describe_plan

        typer.echo(describe_plan(plan_test(load_experiment(experiment))))


@ab_app.command("assign")
def assign(
    ctx: typer.Context,
    experiment: ExperimentArgument,
    units: Annotated[list[str], typer.Argument(help="Unit ids (user, session, account).")],
) -> None:
    """Print each unit's arm: the same in every process and machine (HMAC-SHA256)."""
    with command(ctx):
        from tabpipe.repositories.ab_files import load_experiment
        from tabpipe.services.usage.ab_assignment import assign_arms

        definition = load_experiment(experiment)
        for unit, arm in zip(units, assign_arms(definition, units), strict=True):
            typer.echo(f"{unit}\t{arm}")


@ab_app.command("analyse")
def analyse(
    ctx: typer.Context,
    results: Annotated[
        Path, typer.Argument(help="One row per unit: unit id, arm, outcomes (CSV or Parquet).")
    ],
    experiment: Annotated[
        Path, typer.Option("--experiment", "-e", help="The A/B test definition (YAML).")
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the analysis as JSON.")
    ] = None,
) -> None:
    """Effect, interval and p-value per metric, sample checks, and the verdict.

    Exit 3 when the results cannot support an analysis (a unit under the wrong arm,
    repeated units, missing outcomes); the verdict itself exits 0.
    """
    with command(ctx):
        from tabpipe.errors import ParamsError
        from tabpipe.repositories.ab_files import load_experiment, read_outcomes
        from tabpipe.repositories.datasets import write_record
        from tabpipe.services.usage.ab_analysis import analyse as analyse_test
        from tabpipe.services.usage.ab_reports import describe_analysis

        if output is not None and output.suffix.lower() != ".json":
            msg = f"--output {output}: name the analysis file .json"
            raise ParamsError(msg)
        definition = load_experiment(experiment)
        found = analyse_test(definition, read_outcomes(results, definition), str(results))
        if output is not None:
            write_record(found, output)
        typer.echo(describe_analysis(found))
