"""The Open Inference Protocol (KServe "V2", also spoken by Triton and MLServer), over REST.

As Seldon MLServer splits it: :mod:`~mlapi.api.oip.types` holds the protocol's messages
as pydantic models, :mod:`~mlapi.api.oip.codecs` turns their tensors into the rows the
service layer predicts and its answers back into tensors, and the routes
(:mod:`mlapi.api.routes.inference`) only adapt the service layer to both.

Errors on these routes are the protocol's ``{"error": "..."}``, rendered where every
error is (:mod:`mlapi.api.errors`), which asks :func:`is_inference_path`.
"""

#: Where the protocol's routes live.
PREFIX = "/v2"


def is_inference_path(path: str) -> bool:
    """Say whether a request path is one of the Open Inference Protocol's (``/v2``...)."""
    return path == PREFIX or path.startswith(f"{PREFIX}/")
