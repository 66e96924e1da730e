"""The quick way through the predict routes, for well-formed rows of numbers.

``POST /predict`` and ``POST /v1/predict`` are FastAPI routes: they own the OpenAPI
document, the validation and every error. Most requests to them, though, are a JSON
object of rows of numbers for a model of numeric features, and for those the framework's
work (routing, dependency injection, pydantic validation of each number, response
validation and serialisation) costs several times the prediction itself.
:class:`QuickPredict` answers those requests in raw ASGI: orjson parses the body,
numpy checks the rows as one array (width, numbers only, finite and in range, row
limit), the service
predicts through the same batcher, and orjson writes the answer from the arrays: the
same bytes FastAPI would send (pydantic and orjson write numbers alike, and the tests
compare the two ways byte for byte).

The Open Inference Protocol's ``infer`` routes take the same way, as
:class:`~mlapi.api.oip.quick.QuickInfer` reads their tensors (a body without a
``Content-Type`` included, as tritonclient sends it).

Anything else, or anything in doubt (a query string, an unexpected header or key, a
boolean, text, null, a number that is not finite, the wrong width, a model that takes
text, a model not ready), goes to the FastAPI route untouched, with the body replayed,
so it is answered or refused exactly as before. Nothing is refused here, but a body
that does not arrive within the time allowed (408, as the limits refuse it).
"""

from collections.abc import Callable

import numpy as np
import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from mlapi.api.middleware import BodyReader, is_json, replay_body
from mlapi.api.oip.quick import QuickInfer
from mlapi.ml.rows import in_range
from mlapi.serving.records import MAX_INTEGER, ArrayPredictions
from mlapi.serving.service import Service

#: The request body keys each quick route takes.
_KEYS = {"/predict": frozenset({"data"}), "/v1/predict": frozenset({"data", "model_version"})}

_HEADERS = [(b"content-type", b"application/json")]


def _article_answer(result: ArrayPredictions) -> bytes:
    return orjson.dumps(
        {"prediction": result.prediction, "probability": result.probability},
        option=orjson.OPT_SERIALIZE_NUMPY,
    )


def _v1_answer(result: ArrayPredictions) -> bytes:
    return orjson.dumps(
        {
            "prediction": result.prediction,
            "probability": result.probability,
            "labels": result.labels,
            "model_version": result.model_version,
        },
        option=orjson.OPT_SERIALIZE_NUMPY,
    )


_ANSWERS: dict[str, Callable[[ArrayPredictions], bytes]] = {
    "/predict": _article_answer,
    "/v1/predict": _v1_answer,
}


def parse_rows(body: bytes, keys: frozenset[str]) -> tuple[np.ndarray, int | None] | None:
    """Read a prediction body whose rows are all finite numbers, as a float matrix.

    Args:
        body: The request body.
        keys: The keys the body may have (``data`` is required).

    Returns:
        The rows as a C-contiguous float64 matrix and the ``model_version`` asked for;
        None for anything else (the FastAPI route then says what is wrong).
    """
    if b"true" in body or b"false" in body:  # numpy would take booleans as numbers
        return None
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(document) is not dict or "data" not in document or not document.keys() <= keys:
        return None
    version = document.get("model_version")
    if version is not None and (type(version) is not int or not 1 <= version <= MAX_INTEGER):
        return None
    data = document["data"]
    if type(data) is not list:
        return None
    try:
        matrix = np.asarray(data)
    except ValueError:  # ragged rows
        return None
    if matrix.ndim != 2 or matrix.dtype.kind not in "fiu" or matrix.shape[1] == 0:
        return None  # text, null, nested lists, huge integers, empty rows
    matrix = np.ascontiguousarray(matrix, dtype=np.float64)
    if not in_range(matrix).all():
        return None
    return matrix, version


class QuickPredict:
    """Answer well-formed numeric prediction requests without the framework in the way.

    Args:
        app: The application, which answers everything else.
        service: The service layer that predicts.
        reader: Reads bodies within the size and time limits; a larger body goes to the
            app to refuse.
    """

    def __init__(self, app: ASGIApp, service: Service, reader: BodyReader) -> None:
        self.app = app
        self.service = service
        self.reader = reader
        self.max_body_bytes = reader.max_bytes
        self.inference = QuickInfer(service, service.settings.model_name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a quick request, or hand it on as it came.

        Args:
            scope: The ASGI connection scope.
            receive: Reads request messages.
            send: Sends response messages.
        """
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["query_string"]
            or not (path in _KEYS or self.inference.takes(path))
            or not self._quick_headers(scope["headers"], untyped=path not in _KEYS)
        ):
            await self.app(scope, receive, send)
            return
        read = await self.reader.read(scope, receive, send)
        if read is None:
            return  # the client went away, or was too slow and is answered
        chunks, more_body = read
        body = b"".join(chunks)
        if len(body) > self.max_body_bytes:  # the app refuses it, reading the rest
            await self.app(scope, replay_body([body], more_body, receive), send)
            return
        answer = await self._answer(path, body, scope["headers"])
        if answer is None:
            await self.app(scope, replay_body([body], False, receive), send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(answer)).encode()), *_HEADERS],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    def _quick_headers(self, headers: list[tuple[bytes, bytes]], *, untyped: bool) -> bool:
        """Whether the headers are a quick request's; ``untyped``: no Content-Type is JSON."""
        json_body = untyped
        for name, value in headers:
            if name == b"content-type":
                json_body = is_json(value.decode("latin-1"))
            elif name == b"content-length" and (
                not value.isdigit() or int(value) > self.max_body_bytes
            ):
                return False
        return json_body

    async def _answer(
        self, path: str, body: bytes, headers: list[tuple[bytes, bytes]]
    ) -> bytes | None:
        if path not in _KEYS:
            return await self.inference.answer(path, body, headers)
        parsed = parse_rows(body, _KEYS[path])
        if parsed is None:
            return None
        try:
            result = await self.service.predict_numbers(*parsed, labels=path != "/predict")
        except Exception:  # the route meets it again, and answers it as it should
            return None
        return None if result is None else _ANSWERS[path](result)
