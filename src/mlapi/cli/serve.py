"""``mlapi serve``: the REST API under uvicorn, over HTTPS when given a key and certificate."""

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from mlapi.cli.context import load_settings
from mlapi.cli.tls import TLSRequiredError, harden, tls_files
from mlapi.logs import LogLevel, configure
from mlapi.metrics import clear_directory
from mlapi.serving.errors import ModelStoreError
from mlapi.serving.service import check_model_store
from mlapi.settings import Settings


def serve(
    host: Annotated[str | None, typer.Option(help="Listen address [MLAPI_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port [MLAPI_PORT].")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes [MLAPI_WORKERS].")] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option(help="TLS private key, PEM [MLAPI_SSL_KEYFILE].")
    ] = None,
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="TLS certificate chain, PEM [MLAPI_SSL_CERTFILE].")
    ] = None,
    log_level: Annotated[
        LogLevel | None, typer.Option(help="Least severe level logged [MLAPI_LOG_LEVEL].")
    ] = None,
    dev: Annotated[
        bool,
        typer.Option(
            "--dev",
            help="Development mode: model-changing routes need no key while no admin key is "
            "configured. Never in production [MLAPI_DEV_MODE].",
        ),
    ] = False,
) -> None:
    """Serve the REST API (HTTPS when given a key and certificate).

    Each option overrides the setting named in brackets. One worker is uvicorn's server in
    this process; several are forked by a supervisor from a process that loaded the model
    first, so that they share it. HTTPS takes TLS 1.2 or 1.3 with modern ciphers only
    (:mod:`mlapi.cli.tls`); with ``MLAPI_REQUIRE_TLS`` it refuses to start without them.
    It does not start either if the model store cannot be reached.
    """
    import uvicorn

    if dev:
        # Through the environment, so that the app uvicorn imports reads it too.
        os.environ["MLAPI_DEV_MODE"] = "true"
    overrides = {
        "host": host,
        "port": port,
        "workers": workers,
        "ssl_keyfile": ssl_keyfile,
        "ssl_certfile": ssl_certfile,
        "log_level": log_level,
    }
    settings = load_settings(
        **{name: value for name, value in overrides.items() if value is not None}
    )
    try:
        files = tls_files(settings)
    except TLSRequiredError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    if files is not None:  # the files found in tls_dir, for the supervisor and its workers
        settings = settings.model_copy(update={"ssl_keyfile": files[0], "ssl_certfile": files[1]})
    try:
        check_model_store(settings)
    except ModelStoreError as error:  # one line, rather than a worker's traceback
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    configure(settings.log_level.value, settings.log_format, capture_warnings=True)
    with metrics_directory(settings) as folder:
        settings = settings.model_copy(update={"metrics_dir": folder})
        # Through the environment, so that the app uvicorn imports reads them too.
        os.environ["MLAPI_METRICS_DIR"] = str(folder)
        os.environ["MLAPI_LOG_LEVEL"] = settings.log_level.value
        if settings.workers > 1:
            from mlapi.cli.supervisor import Supervisor

            # Loaded once, then forked: the workers share the libraries and the model.
            Supervisor("mlapi.main:create_loaded_app", settings).run()
            return
        uvicorn.run(
            "mlapi.main:app",
            host=settings.host,
            port=settings.port,
            ssl_keyfile=settings.ssl_keyfile,
            ssl_certfile=settings.ssl_certfile,
            ssl_context_factory=harden if files else None,
            log_level=settings.log_level.value,
            log_config=None,  # configured above: one format for uvicorn's lines and mlapi's
            access_log=False,  # mlapi writes its own, with the request id
            server_header=False,
        )


@contextmanager
def metrics_directory(settings: Settings) -> Iterator[Path]:
    """The folder where this server's processes keep their metrics, empty, for its life.

    ``metrics_dir`` emptied of the metric files a server left there; else a fresh
    temporary folder, removed when the server ends.

    Yields:
        The folder.
    """
    if settings.metrics_dir is not None:
        clear_directory(settings.metrics_dir)
        yield settings.metrics_dir
        return
    folder = Path(tempfile.mkdtemp(prefix="mlapi-metrics-"))
    # uvicorn raises the SIGTERM it stopped for again once it has: with Python's default
    # handler, the process would end there and leave the folder behind. It ends by that
    # signal all the same, once the folder is gone.
    previous = signal.signal(signal.SIGTERM, _stop)
    stopped_by = None
    try:
        yield folder
    except _Stopped as stopped:
        stopped_by = stopped.signum
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(folder, ignore_errors=True)
    if stopped_by is not None:
        signal.raise_signal(stopped_by)


class _Stopped(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, frame: object) -> None:
    raise _Stopped(signum)
