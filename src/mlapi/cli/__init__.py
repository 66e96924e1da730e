"""The ``mlapi`` command: ``serve``, ``train``, ``predict``, ``models``, ``jobs``, and more.

A front of the service layer, like the REST routes: every command but ``serve`` calls
an operation of :class:`~mlapi.serving.service.Service` in this process, on the local
registry, or the same operation on a running server with ``mlapi --url URL ...``
(:mod:`mlapi.cli.client`), and prints the record it returns (:mod:`mlapi.cli.output`).
``keys`` makes API keys and ``audit`` lists the audit log. One module per command or
command group; the options every command shares are the root
command's (:mod:`mlapi.cli.context`).

``mlapi predict 5.1,3.5,1.4,0.2`` parses the rows (``predict.py``), calls ``predict`` on
the service and prints the record as JSON. ``mlapi train --wait`` queues a job on the
service, follows it with a progress bar until it succeeds (in this process the job runs
here, as a server would run it), and prints the new version's metrics (``train.py``).
"""

import os
from pathlib import Path
from typing import Annotated

import typer

from mlapi.cli import dataset, jobs, keys, models
from mlapi.cli.audit import audit
from mlapi.cli.context import Format, Options
from mlapi.cli.predict import predict
from mlapi.cli.serve import serve
from mlapi.cli.train import train
from mlapi.settings import CONFIG_FILE_VARIABLE

cli = typer.Typer(
    help="Train, version and serve a machine-learning model as a REST service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@cli.callback()
def configure(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(help="TOML configuration file (else $MLAPI_CONFIG_FILE or ./mlapi.toml)."),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="Act on a running server, e.g. https://host:8888; else on the local "
            "registry in this process."
        ),
    ] = None,
    cacert: Annotated[
        Path | None, typer.Option(exists=True, help="CA bundle to verify that server with.")
    ] = None,
    output_format: Annotated[
        Format, typer.Option("--format", help="Print tables and sentences, or JSON.")
    ] = Format.TEXT,
) -> None:
    """Train, version and serve a machine-learning model as a REST service."""
    if config is not None:
        # Through the environment, so that server worker processes read it too.
        os.environ[CONFIG_FILE_VARIABLE] = str(config)
    ctx.obj = Options(url=url, cacert=cacert, format=output_format)


cli.command()(serve)
cli.command()(train)
cli.command()(predict)
cli.add_typer(models.app, name="models")
cli.add_typer(jobs.app, name="jobs")
cli.add_typer(dataset.app, name="dataset")
cli.add_typer(keys.app, name="keys")
cli.command()(audit)


def main() -> None:
    """Run the ``mlapi`` command."""
    cli(prog_name="mlapi")
