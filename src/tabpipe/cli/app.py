"""The ``tabpipe`` command. Commands parse, delegate to one service, and map errors.

Services are imported inside each command so that ``tabpipe --help`` and every
stage pay only for the libraries they use (MLflow and Evidently cost seconds).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from tabpipe.cli.ab import ab_app
from tabpipe.cli.notebooks import notebooks_app
from tabpipe.cli.options import ParamsOption, command
from tabpipe.cli.schema import schema_app
from tabpipe.utils.logging import configure_logging

app = typer.Typer(
    name="tabpipe",
    help="A reference ML pipeline for tabular data: ingest, split, train, evaluate, drift, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(schema_app, name="schema")
app.add_typer(notebooks_app, name="notebooks")
app.add_typer(ab_app, name="ab")


@dataclass(frozen=True)
class CliState:
    """Options of the root command that every subcommand reads (``--verbose``)."""

    verbose: bool


def _print_version(value: bool) -> None:
    """``--version``: the installed package's version, then exit."""
    if value:
        from importlib.metadata import version

        typer.echo(f"tabpipe {version('tabpipe')}")
        raise typer.Exit


@app.callback()
def main_options(
    ctx: typer.Context,
    version: Annotated[  # noqa: ARG001 - handled eagerly by its callback
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Debug output and tracebacks.")
    ] = False,
    log_dir: Annotated[
        Path, typer.Option(help="Folder for JSON-lines logs.", envvar="TABPIPE_LOG_DIR")
    ] = Path("logs"),
) -> None:
    """Configure logging once (console and JSON lines) and keep ``--verbose`` for the commands."""
    configure_logging(verbose=verbose, log_dir=log_dir)
    ctx.obj = CliState(verbose=verbose)


@app.command()
def params(
    ctx: typer.Context,
    params_path: ParamsOption = Path("params.yaml"),
    schema: Annotated[bool, typer.Option("--schema", help="Print the JSON schema.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Validate the file.")] = False,
    reference: Annotated[
        bool, typer.Option("--reference", help="Print the Markdown reference of every key.")
    ] = False,
    get: Annotated[
        str | None,
        typer.Option(
            "--get", help="Print one validated value by dotted key (mlflow.champion_alias)."
        ),
    ] = None,
) -> None:
    """Print the JSON schema or the reference of params.yaml, check a file, or read one value."""
    with command(ctx):
        from tabpipe.services.params.info import (
            check_params,
            params_json_schema,
            params_reference,
            params_value,
        )

        if get is not None:
            from tabpipe.repositories.params_file import load_params

            typer.echo(params_value(load_params(params_path), get))
            return
        if schema:
            typer.echo(params_json_schema())
        if reference:
            typer.echo(params_reference(), nl=False)
        if check or not (schema or reference):
            typer.echo(check_params(params_path))


@app.command()
def ingest(ctx: typer.Context, params_path: ParamsOption = Path("params.yaml")) -> None:
    """Read, normalise and validate the raw data; write Parquet and a dataset summary."""
    with command(ctx):
        from tabpipe.repositories.params_file import load_params
        from tabpipe.services.stages.ingest import run_ingest

        result = run_ingest(load_params(params_path))
        typer.echo(
            f"ingest ok: {result.summary.n_rows} rows x {result.summary.n_columns} columns "
            f"({result.summary.duplicate_rows} duplicates)"
        )


@app.command()
def split(ctx: typer.Context, params_path: ParamsOption = Path("params.yaml")) -> None:
    """Split the validated data into train, validation and test sets."""
    with command(ctx):
        from tabpipe.repositories.params_file import load_params
        from tabpipe.services.stages.split import run_split

        loaded = load_params(params_path)
        summary = run_split(loaded)
        counts = ", ".join(f"{part.name}={part.n_rows}" for part in summary.parts)
        typer.echo(f"split ok: {counts} -> {loaded.paths.split_dir}")


@app.command()
def status(ctx: typer.Context, params_path: ParamsOption = Path("params.yaml")) -> None:
    """Say what the pipeline produced and whether its outputs form one run.

    Which model each output describes, what DVC finds out of date and who holds the
    registry's aliases.

    Exit 0: the outputs form one consistent run of the current inputs; 7: they do not.
    """
    with command(ctx):
        from tabpipe.errors import StaleOutputsError
        from tabpipe.repositories.params_file import load_params
        from tabpipe.services.reporting.outputs import describe_outputs

        report = describe_outputs(load_params(params_path))
        typer.echo(report.text())
        if not report.consistent:
            msg = "the outputs on disk do not form one consistent run (see the verdict above)"
            raise StaleOutputsError(msg)


@app.command()
def train(ctx: typer.Context, params_path: ParamsOption = Path("params.yaml")) -> None:
    """Fit the declared pipeline; write the model file and models/model.json (no MLflow)."""
    with command(ctx):
        from tabpipe.repositories.params_file import load_params
        from tabpipe.services.stages.train import run_train

        model = run_train(load_params(params_path))
        iterations = f", {model.n_iter} iterations" if model.n_iter is not None else ""
        typer.echo(f"train ok: {model.model_kind}{iterations}; sha256 {model.model_sha256[:12]}")


@app.command()
def evaluate(ctx: typer.Context, params_path: ParamsOption = Path("params.yaml")) -> None:
    """Score the model on every split, against a baseline, by slice; check the quality gates."""
    with command(ctx):
        from tabpipe.repositories.params_file import load_params
        from tabpipe.services.stages.evaluate import run_evaluate

        report, gates = run_evaluate(load_params(params_path))
        primary = report.primary_metric
        interval = (
            f" [95% CI {report.interval.low:.4f}, {report.interval.high:.4f}]"
            if report.interval
            else ""
        )
        verdict = "passed" if gates.passed else "FAILED (not enforced)"
        typer.echo(
            f"evaluate ok: test {primary} {report.test[primary]:.4f}{interval}; gates {verdict}"
        )


@app.command()
def promote(
    ctx: typer.Context,
    params_path: ParamsOption = Path("params.yaml"),
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            help="Promote this registered version to champion (a rollback, say): gates are "
            "re-checked on the current splits.",
        ),
    ] = None,
) -> None:
    """Register the model and move the champion alias, or the challenger's.

    Champion from a clean commit; challenger for an experiment or uncommitted changes.
    Exit 4 when the comparison with the champion fails.
    """
    with command(ctx):
        from tabpipe.repositories.params_file import load_params
        from tabpipe.services.stages.promote import run_promote

        outcome = run_promote(load_params(params_path), version=version)
        number = f" v{outcome.version}" if outcome.version else ""
        typer.echo(f"promote ({outcome.mode}): {outcome.model_name}{number}: {outcome.reason}")


@app.command()
def drift(ctx: typer.Context, params_path: ParamsOption = Path("params.yaml")) -> None:
    """Compare the test split (or drift.current_path) with the training data (Evidently)."""
    with command(ctx):
        from tabpipe.repositories.params_file import load_params
        from tabpipe.services.stages.drift import run_drift

        report = run_drift(load_params(params_path))
        typer.echo(f"drift: {report.verdict()}")


@app.command()
def monitor(
    ctx: typer.Context,
    batch: Annotated[Path, typer.Argument(help="New batch file (CSV, gzip CSV or Parquet).")],
    params_path: ParamsOption = Path("params.yaml"),
) -> None:
    """Check a new batch against the champion: schema, drift, and gates when labelled.

    Exit 0: no drift and the gates hold; 4: the champion fails its gates on this labelled
    batch (whatever the drift); 5: drift; 3: the batch fails the schema.
    """
    with command(ctx):
        from tabpipe.repositories.params_file import load_params
        from tabpipe.services.usage.monitor import run_monitor, verdict_error

        outcome = run_monitor(batch, load_params(params_path))
        typer.echo(f"{outcome.summary.verdict} [{outcome.folder}]")
        alarm = verdict_error(outcome.summary)
        if alarm is not None:
            raise alarm


@app.command("model-uri")
def model_uri(
    ctx: typer.Context,
    alias: Annotated[
        str | None, typer.Option(help="Registry alias (default: the champion).")
    ] = None,
    params_path: ParamsOption = Path("params.yaml"),
) -> None:
    """Print models:/NAME@ALIAS once the registry holds it (exit 8 if not): `make serve`."""
    with command(ctx):
        from tabpipe.repositories.params_file import load_params
        from tabpipe.services.usage.predict import served_model_uri

        typer.echo(served_model_uri(load_params(params_path), alias=alias))


@app.command()
def predict(
    ctx: typer.Context,
    batch: Annotated[Path, typer.Argument(help="Batch file (CSV, gzip CSV or Parquet).")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Predictions file: .parquet or .csv.")
    ],
    alias: Annotated[
        str | None, typer.Option(help="Registry alias to score with (default: the champion).")
    ] = None,
    version: Annotated[str | None, typer.Option(help="Registered version instead.")] = None,
    key: Annotated[
        list[str] | None, typer.Option(help="Batch column copied to the output (repeatable).")
    ] = None,
    params_path: ParamsOption = Path("params.yaml"),
) -> None:
    """Score a batch with a registered model version and write the predictions.

    The batch is validated like the training data (exit 3, nothing written); each row
    gets the prediction, class probabilities, and the model's name, version and run.
    """
    with command(ctx):
        from tabpipe.repositories.params_file import load_params
        from tabpipe.services.usage.predict import run_predict

        outcome = run_predict(
            batch,
            output,
            load_params(params_path),
            alias=alias,
            version=version,
            keys=tuple(key or ()),
        )
        typer.echo(
            f"predict ok: {outcome.n_rows} rows scored by {outcome.model_name} "
            f"v{outcome.version} -> {outcome.output}"
        )


@app.command()
def compare(
    ctx: typer.Context,
    batch: Annotated[Path, typer.Argument(help="Labelled batch (CSV, gzip CSV or Parquet).")],
    promote: Annotated[
        bool,
        typer.Option(
            "--promote",
            help="Move the champion alias when the challenger is better and passes its gates.",
        ),
    ] = False,
    challenger: Annotated[
        str | None,
        typer.Option(help="A registered version to compare instead of the challenger alias."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the comparison as JSON.")
    ] = None,
    params_path: ParamsOption = Path("params.yaml"),
) -> None:
    """Score champion and challenger on the same labelled rows; say which is better.

    The primary metric's difference gets a paired bootstrap interval and a test (DeLong
    for ROC AUC); the verdict follows compare.alpha and compare.min_effect. Exit 4 when
    --promote was asked and the champion stays.
    """
    with command(ctx):
        from tabpipe.errors import GateFailedError
        from tabpipe.repositories.params_file import load_params
        from tabpipe.services.usage.compare import run_compare
        from tabpipe.services.usage.compare_verdict import describe

        result = run_compare(
            batch,
            load_params(params_path),
            promote=promote,
            challenger_version=challenger,
            output=output,
        )
        typer.echo(describe(result))
        if promote and not result.promoted:
            msg = f"not promoted: {result.promotion}"
            raise GateFailedError(msg)


@app.command()
def report(ctx: typer.Context, params_path: ParamsOption = Path("params.yaml")) -> None:
    """Run the model's notebooks (report.notebooks) and write the model card.

    The notebooks are linted, executed with papermill and exported to HTML under
    paths.notebooks_dir; the card is rendered from the pipeline's outputs.

    Exit 6 naming the notebook and cell when a rule is broken or a cell raises.
    """
    with command(ctx):
        from tabpipe.repositories.params_file import load_params
        from tabpipe.services.stages.report import run_report

        for notebook in run_report(load_params(params_path)):
            typer.echo(
                f"report ok: {notebook.source} -> {notebook.html}, code hidden: "
                f"{notebook.reader_html} ({notebook.seconds} s)"
            )


@app.command()
def eda(ctx: typer.Context, params_path: ParamsOption = Path("params.yaml")) -> None:
    """Run the notebooks on the data alone (report.data_notebooks) into paths.eda_dir.

    They read the validated data and the splits, never the model, so a model-only
    experiment does not run them. Exit 6 naming the notebook and cell when a rule is
    broken or a cell raises.
    """
    with command(ctx):
        from tabpipe.repositories.params_file import load_params
        from tabpipe.services.stages.eda import run_eda

        for notebook in run_eda(load_params(params_path)):
            typer.echo(
                f"eda ok: {notebook.source} -> {notebook.html}, code hidden: "
                f"{notebook.reader_html} ({notebook.seconds} s)"
            )


def main() -> None:
    """Entry point of the ``tabpipe`` console script.

    When the command is done, every object still alive is frozen out of the garbage
    collector (``gc.freeze``): the interpreter's last collections at exit then skip the
    hundreds of thousands of objects that pandas, scikit-learn, MLflow and Evidently
    leave, which took 1 to 1.5 s per stage process after its work was done. Exit
    handlers and module teardown still run as usual.
    """
    try:
        app()
    finally:
        gc.freeze()
