"""The quick way through ``infer``, for a finite numeric matrix: what most requests are.

:class:`~mlapi.api.quick.QuickPredict` asks :class:`QuickInfer` about requests to the
``infer`` routes. It reads the body as the route would (binary tensors inlined as
:mod:`mlapi.api.oip.binary` does, orjson, then the same pydantic
model and the same codecs), predicts through the service's ``predict_numbers`` (the
route's own call, batched with every other request) and writes the same answer; for
anything else or in doubt (an error to answer, text, a model that takes text, a version
that cannot be asked) it says None, and the route answers. Framework routing,
dependency injection and the standard library's JSON parser cost three times the
prediction of a row.
"""

import re

import numpy as np
import orjson
from pydantic import ValidationError

from mlapi.api.oip import PREFIX
from mlapi.api.oip.binary import HEADER, inline_binary_tensors
from mlapi.api.oip.codecs import decode_rows, encode_response, labels_asked, requested_outputs
from mlapi.api.oip.types import InferenceRequest
from mlapi.ml.errors import InvalidInputError
from mlapi.ml.rows import in_range
from mlapi.serving.records import MAX_INTEGER
from mlapi.serving.service import Service

_VERSION = re.compile(r"[1-9][0-9]{0,9}")

_BINARY_HEADER = HEADER.encode()


class QuickInfer:
    """Answer ``infer`` requests of finite numbers without the framework in the way.

    Args:
        service: The service layer that predicts.
        model_name: The model's name in the routes' paths.
    """

    def __init__(self, service: Service, model_name: str) -> None:
        self.service = service
        self.model_name = model_name
        self._infer = f"{PREFIX}/models/{model_name}/infer"
        self._versions = f"{PREFIX}/models/{model_name}/versions/"

    def takes(self, path: str) -> bool:
        """Say whether a path is one of the model's ``infer`` routes."""
        return path == self._infer or (path.startswith(self._versions) and path.endswith("/infer"))

    async def answer(
        self, path: str, body: bytes, headers: list[tuple[bytes, bytes]]
    ) -> bytes | None:
        """Answer an ``infer`` request as its route would, if it is a quick one.

        Args:
            path: One of the model's ``infer`` paths (see :meth:`takes`).
            body: The request body: JSON, or JSON and binary tensors.
            headers: The request headers, which say whether binary tensors follow.

        Returns:
            The answer's JSON; None for anything that is not quick.
        """
        number = None
        if path != self._infer:
            version = path[len(self._versions) : -len("/infer")]
            if not _VERSION.fullmatch(version) or int(version) > MAX_INTEGER:
                return None
            number = int(version)
        try:
            for name, value in headers:
                if name == _BINARY_HEADER:
                    body = inline_binary_tensors(body, value.decode("latin-1"))
            request = InferenceRequest.model_validate(orjson.loads(body))
            outputs = requested_outputs(request)
            labels = labels_asked(request)
            rows = decode_rows(request.inputs)
        except (orjson.JSONDecodeError, ValidationError, InvalidInputError, RecursionError):
            return None  # the route says what is wrong
        if not isinstance(rows, np.ndarray) or rows.dtype != np.float64:
            return None
        if not in_range(rows).all():
            return None
        try:
            result = await self.service.predict_numbers(rows, number, labels=labels)
        except Exception:  # the route meets it again, and answers it as it should
            return None
        if result is None:
            return None
        return encode_response(
            self.model_name,
            result.model_version,
            request.id,
            outputs,
            result.prediction,
            result.probability,
            result.labels,
        )
