"""Log lines: one JSON object each, or text that no client input can break into lines."""

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from mlapi import logs
from mlapi.logs import REQUEST_ID, JsonFormatter, LogFormat, TextFormatter


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("mlapi.test")
    return logger.makeRecord(
        logger.name, logging.INFO, __file__, 1, message, args, None, extra=extra
    )


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Put the root logger and the servers' loggers back as they were."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    names = ["mlapi", "uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn.error"]
    saved = {
        name: (
            list(logging.getLogger(name).handlers),
            logging.getLogger(name).propagate,
            logging.getLogger(name).disabled,
            logging.getLogger(name).level,
        )
        for name in names
    }
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, (saved_handlers, propagate, disabled, saved_level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = saved_handlers
        logger.propagate, logger.disabled = propagate, disabled
        logger.setLevel(saved_level)


def test_a_json_line_holds_the_message_its_fields_and_the_request_id() -> None:
    token = REQUEST_ID.set("req-7")
    try:
        line = JsonFormatter().format(_record("job %s done", "j1", job_id="j1", model_version=4))
    finally:
        REQUEST_ID.reset(token)

    document = json.loads(line)
    assert "\n" not in line
    assert document["message"] == "job j1 done"
    assert (document["level"], document["logger"]) == ("info", "mlapi.test")
    assert (document["job_id"], document["model_version"]) == ("j1", 4)
    assert document["request_id"] == "req-7"
    assert isinstance(document["pid"], int)
    assert document["time"].endswith("Z")
    assert list(document)[:4] == ["time", "level", "logger", "message"]


def test_a_request_id_passed_with_the_call_wins_over_the_context() -> None:
    token = REQUEST_ID.set("from-context")
    try:
        line = JsonFormatter().format(_record("failed", request_id="from-call"))
    finally:
        REQUEST_ID.reset(token)
    assert json.loads(line)["request_id"] == "from-call"


def test_a_json_line_without_a_request_has_no_request_id() -> None:
    assert "request_id" not in json.loads(JsonFormatter().format(_record("started")))


def test_a_json_line_carries_the_traceback_of_an_exception() -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    document = json.loads(JsonFormatter().format(record))
    assert "ValueError: broken" in document["exception"]


def test_text_lines_escape_what_would_forge_another_line() -> None:
    forged = "/predict\nINFO:     mlapi.access: GET /admin 200"
    text = TextFormatter().format(_record("POST %s 404", forged, path=forged, status=404))

    assert "\n" not in text
    assert text.startswith("INFO:     mlapi.test: POST /predict\\nINFO:")
    assert "path='/predict\\nINFO:" in text
    assert text.endswith("status=404")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_format_is_text_at_a_terminal_and_json_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert isinstance(logs.formatter_for(LogFormat.AUTO), TextFormatter)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert isinstance(logs.formatter_for(LogFormat.AUTO), JsonFormatter)
    assert isinstance(logs.formatter_for("text"), TextFormatter)


@pytest.mark.usefixtures("restored_logging")
def test_configure_routes_the_servers_lines_through_one_handler_and_drops_their_access_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    logging.getLogger("uvicorn.error").addHandler(logging.StreamHandler(io.StringIO()))
    logging.getLogger("uvicorn.error").propagate = False

    logs.configure("info", "json")
    logs.configure("warning", "json")  # again: still one handler
    logging.getLogger("uvicorn.error").warning("Started server process")
    logging.getLogger("uvicorn.access").warning("GET / 200")
    logging.getLogger("mlapi.anything").info("below the level")
    logging.getLogger("mlapi.anything").warning("kept")

    ours = [handler for handler in logging.getLogger().handlers if handler.name == "mlapi"]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(ours) == 1
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("uvicorn.error", "Started server process"),
        ("mlapi.anything", "kept"),
    ]
