"""OpenAPI descriptions of the error responses routes share.

The ``Problem`` schema they refer to is added to the document's components by
:func:`mlapi.main.create_app`.
"""

from typing import Any

from mlapi.api.errors import PROBLEM_MEDIA_TYPE


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
        409: "The version is active; activate another first.",
        422: "A field is invalid; `errors` names each one.",
        500: "The training job failed; `detail` says why.",
        429: "Too many requests: the training queue is full, or the key or address is over "
        "the rate limit; `Retry-After` says when to try again.",
        503: "No model loaded yet, or its file is damaged.",
        507: "The model store has no room for another version.",
    }
    return {
        status: {
            "description": descriptions[status],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
