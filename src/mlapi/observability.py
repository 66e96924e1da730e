"""The settings of what a server tells its operators: logs, metrics, traces, the dashboard.

:class:`Observability` holds them, and :class:`~mlapi.settings.Settings` inherits them, so
they are read, named (``MLAPI_*``) and checked like every other setting.
"""

from pathlib import Path

from pydantic import BaseModel, Field

from mlapi.logs import LogFormat, LogLevel


class Observability(BaseModel):
    """How a server logs, traces, where its workers keep their metrics, and its dashboard."""

    log_level: LogLevel = Field(default=LogLevel.INFO, description="Least severe level logged.")
    opentelemetry: bool = Field(
        default=False,
        description="FastAPI's native OpenTelemetry traces, metrics and logs, through the "
        "globally configured providers (off: it costs time on every request).",
    )
    log_format: LogFormat = Field(
        default=LogFormat.AUTO,
        description="Log lines as `json` (one object a line), `text`, or `auto`: text when "
        "standard error is a terminal, else JSON.",
    )
    access_log: bool = Field(
        default=True,
        description="One log line per request, at the `info` level: method, path, route, "
        "status, duration, request id and client.",
    )
    metrics_dir: Path | None = Field(
        default=None,
        description="Folder where a server's worker processes keep their Prometheus metrics, "
        "on a local disk or tmpfs, private to one server: `mlapi serve` empties it at start. "
        "If unset, `mlapi serve` makes a fresh temporary folder and removes it at exit.",
    )
    ui: bool = Field(
        default=True,
        description="The registry dashboard at `/ui`: versions, metrics, jobs, training and "
        "activation in a browser, through the API and its keys. Off: `/ui` answers 404.",
    )
