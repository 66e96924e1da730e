"""The one place where errors become HTTP problem responses (RFC 9457).

Every error response of the API is ``application/problem+json`` with ``type``,
``title``, ``status``, ``detail`` and ``instance``; when fields are at fault an
``errors`` list names each one by JSON Pointer (body), ``parameter`` (query or
path) or ``header``. Problem type URIs are ``urn:mlapi:problem:<kind>``; the docs list them.

The Open Inference Protocol's routes (``/v2``) answer the same errors in that protocol's
words instead, ``{"error": "..."}`` as ``application/json`` (:func:`inference_error`),
whatever layer refuses the request: its clients (tritonclient) read that member.
"""

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from mlapi.api.headers import api_headers
from mlapi.api.observe import REQUEST_ID_HEADER, REQUEST_ID_KEY
from mlapi.api.oip import is_inference_path
from mlapi.ml.errors import (
    DatasetError,
    DownloadError,
    FieldError,
    Input,
    InvalidInputError,
    ModelFileError,
)
from mlapi.serving.errors import (
    JobFinishedError,
    JobNotFoundError,
    ModelNotReadyError,
    ModelStoreError,
    ModelVersionNotFoundError,
    QueueFullError,
    StorageFullError,
    TrainingCancelledError,
    TrainingFailedError,
    VersionInUseError,
)
from mlapi.settings import ErrorDetail, Settings

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

#: ``Retry-After`` seconds when the training queue is full: about one short training job.
QUEUE_RETRY_SECONDS = 5
#: ``Retry-After`` seconds when the model store cannot be reached.
STORE_RETRY_SECONDS = 10

#: The request body field that carries each input of the lower layers.
REQUEST_FIELDS: dict[Input, str] = {
    Input.ROWS: "data",
    Input.HYPERPARAMETERS: "hyperparameters",
    Input.ALGORITHM: "algorithm",
    Input.DATASET: "dataset",
}


class ProblemResponse(JSONResponse):
    """A JSON response with the problem media type."""

    media_type = PROBLEM_MEDIA_TYPE


def problem_response(
    status: int,
    kind: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Build a problem response, or the protocol's error on an Open Inference Protocol route.

    Args:
        status: HTTP status code.
        kind: Short name of the kind of problem, the end of its type URI.
        detail: What went wrong with this request.
        instance: The request path.
        errors: Offending fields, each with ``detail``, ``type`` and a locator.
        headers: Extra response headers.

    Returns:
        The response; on a path of the Open Inference Protocol, :func:`inference_error`'s.
    """
    if instance is not None and is_inference_path(instance):
        return inference_error(status, detail, errors, headers)
    body: dict[str, Any] = {
        "type": f"urn:mlapi:problem:{kind}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    if errors:
        body["errors"] = list(errors)
    return ProblemResponse(body, status_code=status, headers=headers)


def inference_error(
    status: int,
    detail: str,
    errors: Sequence[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Build an Open Inference Protocol error response: ``{"error": "..."}``.

    Args:
        status: HTTP status code; 422 (an invalid request) is answered 400, as the
            protocol answers every request it cannot take.
        detail: What went wrong with this request.
        errors: Offending fields, as a problem lists them; appended to the message.
        headers: Extra response headers.

    Returns:
        The response.
    """
    message = detail
    if errors:
        located = (
            f"{error.get('pointer') or error.get('parameter') or error.get('header')}: "
            f"{error['detail']}"
            for error in errors
        )
        message = f"{detail} ({'; '.join(located)})"
    return JSONResponse(
        {"error": message}, status_code=400 if status == 422 else status, headers=headers
    )


def _locator(location: Iterable[Any]) -> dict[str, str]:
    parts = [str(part) for part in location]
    if parts and parts[0] in {"query", "path"}:
        return {"parameter": ".".join(parts[1:])}
    if parts and parts[0] == "header":
        return {"header": ".".join(parts[1:])}
    if parts and parts[0] == "body":
        parts = parts[1:]
    escaped = (part.replace("~", "~0").replace("/", "~1") for part in parts)
    return {"pointer": "#" + "".join(f"/{part}" for part in escaped)}


def field_errors(errors: Iterable[FieldError]) -> list[dict[str, Any]]:
    """Describe domain field errors for a problem body, pointing into the request.

    Args:
        errors: Field errors from the ml or serving layer, located in their own input.

    Returns:
        One ``errors`` entry per field, whose JSON Pointer starts at the request field
        that carried the input (``#/data/3/1`` for row 3, column 1 of the rows).
    """
    return [
        {
            "detail": error.message,
            "type": error.kind,
            **_locator((REQUEST_FIELDS[error.input], *error.location)),
        }
        for error in errors
    ]


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)  # noqa: S101 - registered for this type
    details = error.errors()
    malformed = [d for d in details if d["type"] == "json_invalid"]
    if malformed:
        reason = malformed[0].get("ctx", {}).get("error", "invalid JSON")
        position = malformed[0]["loc"][-1]
        return problem_response(
            400,
            "malformed-json",
            f"The body is not valid JSON: {reason} at character {position}.",
            instance=request.url.path,
        )
    errors = [{"detail": d["msg"], "type": d["type"], **_locator(d["loc"])} for d in details]
    return problem_response(
        422,
        "invalid-request",
        f"The request has {len(errors)} invalid field{'s' if len(errors) != 1 else ''}.",
        instance=request.url.path,
        errors=errors,
    )


async def _invalid_input(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, InvalidInputError)  # noqa: S101 - registered for this type
    if is_inference_path(request.url.path):  # rows and columns of its tensors, not of `data`
        return inference_error(400, str(error))
    return problem_response(
        422,
        "invalid-request",
        error.message,
        instance=request.url.path,
        errors=field_errors(error.errors),
    )


async def _not_ready(request: Request, error: Exception) -> JSONResponse:
    return problem_response(
        503, "not-ready", str(error), instance=request.url.path, headers={"Retry-After": "1"}
    )


async def _queue_full(request: Request, error: Exception) -> JSONResponse:
    return problem_response(
        429,
        "queue-full",
        str(error),
        instance=request.url.path,
        headers={"Retry-After": str(QUEUE_RETRY_SECONDS)},
    )


async def _storage_full(request: Request, error: Exception) -> JSONResponse:
    logger.warning("training refused: %s", error)
    return problem_response(507, "insufficient-storage", str(error), instance=request.url.path)


def _refusal(status: int, kind: str) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    """Make a handler answering an error with a problem of ``status`` and ``kind``, its text."""

    async def handler(request: Request, error: Exception) -> JSONResponse:
        return problem_response(status, kind, str(error), instance=request.url.path)

    return handler


def _full_detail(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return settings.error_detail is ErrorDetail.FULL


async def _bad_model_file(request: Request, error: Exception) -> JSONResponse:
    # The reason names files and paths of the server's: the client's business only in
    # development (error_detail "full").
    logger.error("model file refused: %s", error)
    detail = (
        str(error)
        if _full_detail(request)
        else "The model file of this version cannot be used; the error is logged."
    )
    return problem_response(503, "model-file", detail, instance=request.url.path)


async def _store_unreachable(request: Request, error: Exception) -> JSONResponse:
    logger.error("model store unusable: %s", error)  # its address: the client's only in "full"
    detail = str(error) if _full_detail(request) else "The model store cannot be reached."
    headers = {"Retry-After": str(STORE_RETRY_SECONDS)}
    return problem_response(503, "model-store", detail, instance=request.url.path, headers=headers)


#: The methods a 405's ``Allow`` may name.
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route takes at the request's path, for a 405's ``Allow``.

    Starlette's 405 names only the methods of the first route at the path; a path with
    a route per method (``GET`` and ``DELETE /v1/models/{version}``) takes them all.
    """
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    )


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)  # noqa: S101 - registered for this type
    kind = HTTPStatus(error.status_code).phrase.lower().replace(" ", "-")
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    headers = dict(error.headers) if error.headers else {}
    if error.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return problem_response(
        error.status_code,
        kind,
        detail,
        instance=request.url.path,
        headers=headers or None,
    )


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    request_id = request.scope.get(REQUEST_ID_KEY)
    logger.exception(
        "unexpected error on %s %s",
        request.method,
        request.url.path,
        extra={"request_id": request_id},  # outside the layer that names the request
    )
    detail = "The server failed; the error is logged."
    if _full_detail(request):
        detail += f" {type(error).__name__}: {error}"
    # Made outside every middleware (Starlette's ServerErrorMiddleware sends it): the
    # security headers and the request id are added here.
    headers = {
        name.decode(): value.decode()
        for name, value in api_headers(https=request.url.scheme == "https")
    }
    if request_id is not None:
        headers[REQUEST_ID_HEADER.decode()] = request_id
    return problem_response(
        500, "internal-error", detail, instance=request.url.path, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """Make every error the app raises an ``application/problem+json`` response.

    Args:
        app: The application.
    """
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(InvalidInputError, _invalid_input)
    app.add_exception_handler(ModelNotReadyError, _not_ready)
    app.add_exception_handler(QueueFullError, _queue_full)
    app.add_exception_handler(StorageFullError, _storage_full)
    app.add_exception_handler(DownloadError, _refusal(422, "download-refused"))
    app.add_exception_handler(DatasetError, _refusal(422, "dataset-invalid"))
    app.add_exception_handler(ModelVersionNotFoundError, _refusal(404, "not-found"))
    app.add_exception_handler(JobNotFoundError, _refusal(404, "not-found"))
    app.add_exception_handler(VersionInUseError, _refusal(409, "conflict"))
    app.add_exception_handler(JobFinishedError, _refusal(409, "job-finished"))
    app.add_exception_handler(TrainingFailedError, _refusal(500, "training-failed"))
    app.add_exception_handler(TrainingCancelledError, _refusal(409, "job-cancelled"))
    app.add_exception_handler(ModelFileError, _bad_model_file)
    app.add_exception_handler(ModelStoreError, _store_unreachable)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
