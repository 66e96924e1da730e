"""OpenAPI descriptions of the error responses routes share."""

from typing import Any

from mlapi.api.errors import PROBLEM_MEDIA_TYPE
from mlapi.api.schemas import Problem


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Describe problem responses for the OpenAPI document.

    Args:
        *statuses: HTTP status codes the route may answer with a problem.

    Returns:
        A ``responses=`` mapping for a FastAPI route.
    """
    descriptions = {
        400: "Malformed JSON.",
        413: "Body over the size limit.",
        415: "Body not sent as JSON.",
        422: "A field is invalid; `errors` names each one.",
        503: "No model loaded yet.",
    }
    return {
        status: {
            "model": Problem,
            "description": descriptions[status],
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        for status in statuses
    }
