"""OpenAPI descriptions of the error responses routes share.

The ``Problem`` schema they refer to is added to the document's components by
:func:`mlapi.main.create_app`; the Open Inference Protocol's routes declare its
``InferenceErrorResponse`` instead (:func:`inference_errors`).
"""

import json
from typing import Any

from mlapi.api.errors import PROBLEM_MEDIA_TYPE
from mlapi.api.oip import is_inference_path
from mlapi.api.oip.types import InferenceErrorResponse

#: What each error status of the Open Inference Protocol's routes means.
_INFERENCE_ERRORS = {
    400: "Malformed JSON, an invalid field, or tensors that do not fit the model; `error` "
    "says which.",
    401: "No API key, or not a valid one (see `WWW-Authenticate`).",
    403: "The API key's scope is too small.",
    404: "No such model, or no such model version.",
    413: "Body over the size limit.",
    415: "Body sent neither as JSON nor without a `Content-Type`.",
    429: "Too many requests: the key or address is over the rate limit; `Retry-After` says "
    "when to try again.",
    503: "No model loaded yet, the version's model file is damaged, or the model store "
    "cannot be reached.",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Describe problem responses for the OpenAPI document.

    Args:
        *statuses: HTTP status codes the route may answer with a problem.

    Returns:
        A ``responses=`` mapping for a FastAPI route.
    """
    descriptions = {
        400: "Malformed JSON.",
        401: "No API key, or not a valid one (see `WWW-Authenticate`).",
        403: "The API key's scope is too small, or no admin key is configured.",
        413: "Body over the size limit.",
        415: "Body not sent as JSON.",
        404: "No such model version or job.",
        409: "The version is active (activate another first), or the job already finished "
        "(or, for `POST /train`, was cancelled).",
        422: "A field is invalid; `errors` names each one.",
        500: "The training job failed; `detail` says why.",
        429: "Too many requests: the training queue is full, or the key or address is over "
        "the rate limit; `Retry-After` says when to try again.",
        503: "No model loaded yet, its file is damaged, or the model store cannot be reached.",
        507: "The model store has no room for another version.",
    }
    return {
        status: {
            "description": descriptions[status],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def inference_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Describe the Open Inference Protocol's error responses, ``{"error": "..."}``.

    Args:
        *statuses: HTTP status codes the route may answer with an error.

    Returns:
        A ``responses=`` mapping for a FastAPI route (which adds the schema to the
        document's components).
    """
    return {
        status: {"description": _INFERENCE_ERRORS[status], "model": InferenceErrorResponse}
        for status in statuses
    }


def error_responses(path: str, *statuses: int) -> dict[int | str, dict[str, Any]]:
    """Describe the error responses of a path of the finished OpenAPI document.

    Args:
        path: The path, as the document names it.
        *statuses: HTTP status codes its operations may answer with an error.

    Returns:
        OpenAPI response objects: problems, or the Open Inference Protocol's errors
        for its routes (whose schema their own declarations put in the document).
    """
    if not is_inference_path(path):
        return problems(*statuses)
    schema = {"$ref": "#/components/schemas/InferenceErrorResponse"}
    return {
        status: {
            "description": _INFERENCE_ERRORS[status],
            "content": {"application/json": {"schema": schema}},
        }
        for status in statuses
    }


def drop_unanswered_validation_errors(document: dict[str, Any]) -> None:
    """Take out the 422 FastAPI declares on the Open Inference Protocol's routes.

    They answer an invalid request 400, as the protocol does (:mod:`mlapi.api.errors`),
    and declare it. FastAPI's schemas of that answer go too, once nothing refers to them.

    Args:
        document: The OpenAPI document, changed in place.
    """
    for path, operations in document.get("paths", {}).items():
        if is_inference_path(path):
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    if "#/components/schemas/HTTPValidationError" not in json.dumps(document["paths"]):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
