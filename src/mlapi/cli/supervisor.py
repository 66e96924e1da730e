"""Several server workers forked from one process that loaded the app and the model first.

uvicorn's own ``--workers`` starts each worker with ``spawn``: every worker imports the
libraries and loads the model by itself, about 150 MiB of private memory each. Here
gunicorn's arbiter loads the app once (``preload_app``), with the registry migrated and
the active model loaded and the garbage collector's view of it all frozen, then forks: the
workers share those pages copy-on-write. Each worker runs the same uvicorn server, with the
same options, as ``mlapi serve`` with one worker; the arbiter replaces a worker that dies
or stops answering, and drops its per-process gauges from the metrics folder the workers
share (:mod:`mlapi.metrics`). gunicorn's lines, and uvicorn's in the workers, go through
mlapi's log handler (:mod:`mlapi.logs`); the access log is mlapi's own.
"""

from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from uvicorn.importer import import_from_string
from uvicorn_worker import UvicornWorker

from mlapi.cli.tls import harden
from mlapi.logs import route_server_loggers
from mlapi.metrics import forget_process
from mlapi.settings import Settings

#: Seconds a worker may go without a sign of life before the arbiter replaces it as hung.
WORKER_TIMEOUT_SECONDS = 30

#: Seconds workers get to finish the requests in flight after SIGTERM (Kubernetes kills
#: after 30 by default).
GRACEFUL_SECONDS = 20

#: Seconds an idle keep-alive connection stays open: uvicorn's default, not gunicorn's 2.
KEEP_ALIVE_SECONDS = 5


class Worker(UvicornWorker):  # type: ignore[misc]
    """A gunicorn worker running uvicorn's server as ``mlapi serve`` configures it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config.server_header = False
        # gunicorn's keyfile and certfile reach uvicorn's config; the floor and the
        # ciphers are set on the context as with one worker.
        if self.config.is_ssl:
            self.config.ssl_context_factory = harden
        # uvicorn gives its sign of life once `timeout_notify` has passed since the last:
        # equal to the arbiter's timeout, the arbiter could kill a healthy worker first.
        self.config.timeout_notify = self.timeout / 3
        self.config.access_log = False  # mlapi writes its own, with the request id
        route_server_loggers()  # uvicorn's worker gave its loggers gunicorn's handlers


class ServerLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, writing through mlapi's handler (:mod:`mlapi.logs`) in its format."""

    def setup(self, cfg: Any) -> None:
        """Set gunicorn's levels, then route its lines to mlapi's handler (gunicorn calls it)."""
        super().setup(cfg)
        route_server_loggers()


class Supervisor(BaseApplication):  # type: ignore[misc]
    """gunicorn's arbiter serving the app that ``factory`` builds and loads before forking.

    Args:
        factory: Import string of a function taking the settings and returning the
            app, loaded (``mlapi.main:create_loaded_app``).
        settings: Address, workers, TLS files and log level, with the command line's
            overrides.
    """

    def __init__(self, factory: str, settings: Settings) -> None:
        self._factory = factory
        self._settings = settings
        super().__init__()

    def load_config(self) -> None:
        """Set gunicorn's options from the settings (gunicorn calls it)."""
        settings = self._settings
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        options: dict[str, Any] = {
            "bind": [f"{host}:{settings.port}"],
            "workers": settings.workers,
            "worker_class": Worker,
            "preload_app": True,
            "timeout": WORKER_TIMEOUT_SECONDS,
            "graceful_timeout": GRACEFUL_SECONDS,
            "keepalive": KEEP_ALIVE_SECONDS,
            "loglevel": settings.log_level.value,
            "logger_class": ServerLogger,
            "accesslog": None,  # mlapi writes its own
            "errorlog": "-",
            # A control socket under $HOME is one more way in, and clashes between servers.
            "control_socket_disable": True,
        }
        if settings.ssl_keyfile and settings.ssl_certfile:
            options["keyfile"] = str(settings.ssl_keyfile)
            options["certfile"] = str(settings.ssl_certfile)
        if settings.metrics_dir is not None:
            options["child_exit"] = _forget_worker(settings.metrics_dir)
        for name, value in options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        """Build the app and load its model, once, before the workers are forked."""
        return import_from_string(self._factory)(self._settings)


def _forget_worker(folder: Path) -> Any:
    def child_exit(server: Any, worker: Any) -> None:
        # A replaced worker's counts stay in the totals; its per-process gauges go.
        forget_process(worker.pid, folder)

    return child_exit
