"""Log lines: JSON for machines, text for people at a terminal, one format for every logger.

:func:`configure` puts one handler on the root logger, writing to standard error, and
routes uvicorn's and gunicorn's loggers through it, so that their lines (start-up,
workers booting) come out in the same format as mlapi's own. uvicorn's access log is
switched off: the access log is mlapi's (``mlapi.access``, one line per request, from
:mod:`mlapi.api.observe`).

A JSON line is one object: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
``message``, the fields the call passed as ``extra`` (``job_id``, ``model_version``,
``status``...), ``request_id`` when the line was written on behalf of a request or of
the job a request queued, ``pid``, and ``exception`` with the traceback, if any.

The standard library's :class:`logging.Formatter` and orjson, which mlapi already uses
for its answers, write it: python-json-logger would bring a dependency for what is
twenty lines here, and format each record through its own layers of configuration.

This module imports only the standard library and orjson: a training process sets up
its logging with it before it imports anything heavy.
"""

import functools
import logging
import sys
import time
from contextvars import ContextVar
from enum import StrEnum
from typing import Any, TextIO

import orjson

#: The id of the request (or of the request that queued the job) being worked on.
REQUEST_ID: ContextVar[str | None] = ContextVar("mlapi_request_id", default=None)

#: Loggers whose levels follow the ``log_level`` setting; libraries stay at warnings.
SERVER_LOGGERS = ("mlapi", "uvicorn", "gunicorn")

#: Access logs of the servers, replaced by ``mlapi.access``.
REPLACED_ACCESS_LOGS = ("uvicorn.access", "gunicorn.access")

#: Name of the handler :func:`configure` installs, to find it again.
HANDLER_NAME = "mlapi"

#: What every LogRecord has; anything else on a record came as ``extra``.
_STANDARD = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
    | {"message", "asctime", "color_message", "taskName"}
)


class LogLevel(StrEnum):
    """Log levels, as uvicorn names them."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    DEBUG = "debug"


class LogFormat(StrEnum):
    """How log lines are written."""

    JSON = "json"
    """One JSON object a line."""
    TEXT = "text"
    """Human-readable lines."""
    AUTO = "auto"
    """Text when standard error is a terminal, else JSON."""


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a log call passed as ``extra``, and the request id of its context.

    Returns:
        The fields, ``request_id`` last unless the call gave one.
    """
    extra = {name: value for name, value in record.__dict__.items() if name not in _STANDARD}
    if "request_id" not in extra:
        request_id = REQUEST_ID.get()
        if request_id is not None:
            extra["request_id"] = request_id
    return extra


@functools.lru_cache(maxsize=4)
def _utc_second(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def utc_time(created: float) -> str:
    """An ISO 8601 UTC timestamp to the millisecond, of a record's ``created`` time."""
    seconds = int(created)
    return f"{_utc_second(seconds)}.{int((created - seconds) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """Write each record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """Render a record as a JSON line (no newline: the handler adds it)."""
        line: dict[str, Any] = {
            "time": utc_time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **fields_of(record),
            "pid": record.process,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """Write each record as ``LEVEL: logger: message key=value ...``, for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        """Render a record as a line of text, and its traceback if any."""
        fields = " ".join(
            f"{name}={_printable(value)}" for name, value in fields_of(record).items()
        )
        level = f"{record.levelname}:"
        text = f"{level:<9} {record.name}: {_printable(record.getMessage(), quote=False)}"
        if fields:
            text += f"  {fields}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return text


def _printable(value: object, quote: bool = True) -> str:
    # A path or header a client sent may hold line breaks: never let it forge a line.
    text = str(value)
    if text.isprintable() and (not quote or " " not in text):
        return text
    escaped = repr(text)
    return escaped if quote else escaped[1:-1]


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler writing to whatever ``sys.stderr`` is at each record."""

    def __init__(self) -> None:
        super().__init__()
        self.set_name(HANDLER_NAME)

    @property
    def stream(self) -> TextIO:
        """Standard error, looked up at each write (tests and servers may replace it)."""
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # always sys.stderr


def formatter_for(log_format: LogFormat | str) -> logging.Formatter:
    """The formatter of a log format; ``auto`` picks text for a terminal, else JSON."""
    chosen = LogFormat(log_format)
    if chosen is LogFormat.AUTO:
        chosen = LogFormat.TEXT if sys.stderr.isatty() else LogFormat.JSON
    return TextFormatter() if chosen is LogFormat.TEXT else JsonFormatter()


def configure(level: str, log_format: LogFormat | str, *, capture_warnings: bool = False) -> None:
    """Send every log line to standard error in one format; mlapi's and the servers' at ``level``.

    Idempotent: configuring again replaces the handler installed before. Handlers others
    put on the root logger (a test runner's) are left alone.

    Args:
        level: Least severe level of mlapi's, uvicorn's and gunicorn's loggers
            (``info``, ``warning``...); other libraries log their warnings and errors.
        log_format: ``json``, ``text`` or ``auto``.
        capture_warnings: Also log Python warnings (a server's; tests keep their own).
    """
    root = logging.getLogger()
    for handler in [handler for handler in root.handlers if handler.name == HANDLER_NAME]:
        root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(formatter_for(log_format))
    root.addHandler(handler)
    for name in SERVER_LOGGERS:
        logging.getLogger(name).setLevel(level.upper())
    route_server_loggers()
    if capture_warnings:
        logging.captureWarnings(True)


def route_server_loggers() -> None:
    """Send uvicorn's and gunicorn's lines through the root handler; drop their access logs.

    uvicorn, gunicorn and uvicorn's gunicorn worker each give their loggers handlers of
    their own as they start: call again after each has.
    """
    manager = logging.Logger.manager
    for name in list(manager.loggerDict):
        if name.split(".", 1)[0] in SERVER_LOGGERS[1:] and name not in REPLACED_ACCESS_LOGS:
            server_logger = logging.getLogger(name)
            server_logger.handlers.clear()
            server_logger.propagate = True
    for name in REPLACED_ACCESS_LOGS:
        access = logging.getLogger(name)
        access.handlers.clear()
        access.propagate = False
        access.disabled = True
    mlapi_logger = logging.getLogger("mlapi")
    mlapi_logger.handlers.clear()
    mlapi_logger.propagate = True
