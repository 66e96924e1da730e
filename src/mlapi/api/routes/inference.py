"""``/v2``: the Open Inference Protocol's REST routes (KServe V2), adapted to the service.

One model, named by the ``model_name`` setting (``mlapi`` by default): a stable name,
whatever data set its versions were trained on, so that a client's URL survives a
retraining. Its versions are the registry's, by number: ``/versions/{n}`` asks version
``n`` whether or not it is active, as ``/v1/predict``'s ``model_version`` does (the
version is loaded on demand and kept among the ``cached_versions``).

``infer`` takes the way down ``/v1/predict`` takes: the service's ``predict_numbers``
for a finite numeric matrix (the quick path's own call, batched with every other
request), else its ``predict``, which checks the rows against the model and names each
cell at fault. The codecs (:mod:`mlapi.api.oip.codecs`) say what tensors mean.
"""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, HTTPException, Path, Request, Response

from mlapi import __version__
from mlapi.api.deps import ServiceDep
from mlapi.api.middleware import replay_body
from mlapi.api.oip import PREFIX
from mlapi.api.oip.binary import HEADER as BINARY_HEADER
from mlapi.api.oip.binary import inline_binary_tensors
from mlapi.api.oip.codecs import (
    FEATURE_DATATYPES,
    decode_rows,
    encode_response,
    labels_asked,
    requested_outputs,
)
from mlapi.api.oip.types import (
    Datatype,
    InferenceRequest,
    InferenceResponse,
    MetadataModelResponse,
    MetadataServerResponse,
    MetadataTensor,
    ModelReadyResponse,
    ServerLiveResponse,
    ServerReadyResponse,
)
from mlapi.api.routes._responses import inference_errors
from mlapi.api.routing import StrictQueryRoute
from mlapi.ml.rows import in_range
from mlapi.serving.errors import ModelVersionNotFoundError
from mlapi.serving.records import MAX_INTEGER, ModelVersion
from mlapi.serving.service import Service

#: The server's name in its metadata.
SERVER_NAME = "mlapi"

#: The library every model runs on, as the model metadata's ``platform``.
PLATFORM = "scikit-learn"

#: Versions read per registry page when listing them all.
_PAGE = 500

_VERSION = Path(
    pattern=r"^[1-9][0-9]{0,9}$",
    description="A registered version's number; it need not be the active one.",
)

#: The protocol extensions the server supports, as its metadata names them.
EXTENSIONS = ["binary_tensor_data"]


class BinaryTensorsRoute(StrictQueryRoute):
    """A route that also reads tensors sent in binary (Triton's extension, tritonclient's way).

    Such a body is JSON followed by raw bytes (:mod:`mlapi.api.oip.binary`); the route
    reads the plain JSON request it stands for.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap the strict handler with the reading of binary tensors.

        Returns:
            The request handler.
        """
        handler = super().get_route_handler()

        async def binary_tensors_handler(request: Request) -> Response:
            header_length = request.headers.get(BINARY_HEADER)
            if header_length is None:
                return await handler(request)
            inlined = inline_binary_tensors(await request.body(), header_length)
            return await handler(
                Request(request.scope, replay_body([inlined], False, request.receive))
            )

        return binary_tensors_handler


_INFER_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"model": InferenceResponse, "description": "The outputs asked for."}
}


def make_router(model_name: str) -> APIRouter:
    """Build the ``/v2`` routes of the model served as ``model_name``.

    The OpenAPI document names the one model name the routes take; any other is 404.
    """
    router = APIRouter(
        prefix=PREFIX,
        tags=["open inference protocol"],
        route_class=BinaryTensorsRoute,
        strict_content_type=False,  # a body without a media type is JSON (tritonclient's)
    )
    name = Path(
        description=f"The model's name: `{model_name}` (the `model_name` setting).",
        json_schema_extra={"enum": [model_name]},
    )

    def check(asked: str) -> None:
        if asked != model_name:
            raise HTTPException(404, f"unknown model '{asked}': this server serves '{model_name}'")

    @router.get("/health/live")
    async def server_live(service: ServiceDep) -> ServerLiveResponse:
        """Answer while the process serves HTTP at all (the protocol's *server live*)."""
        service.live()
        return ServerLiveResponse(live=True)

    @router.get("/health/ready", responses=inference_errors(503))
    async def server_ready(service: ServiceDep) -> ServerReadyResponse:
        """Answer 200 once the model is loaded, 503 before (the protocol's *server ready*)."""
        service.ready()
        return ServerReadyResponse(ready=True)

    @router.get("", responses=inference_errors(400))
    async def server_metadata() -> MetadataServerResponse:
        """Say what the server is: its name, version and protocol extensions."""
        return MetadataServerResponse(name=SERVER_NAME, version=__version__, extensions=EXTENSIONS)

    @router.get("/models/{model_name}", responses=inference_errors(400, 404, 503))
    async def model_metadata(
        model_name: Annotated[str, name], service: ServiceDep
    ) -> MetadataModelResponse:
        """Describe the served model: an input per feature, its outputs and versions."""
        check(model_name)
        return await _metadata(service, model_name, await service.served())

    @router.get(
        "/models/{model_name}/versions/{model_version}",
        responses=inference_errors(400, 404, 503),
    )
    async def model_version_metadata(
        model_name: Annotated[str, name],
        model_version: Annotated[str, _VERSION],
        service: ServiceDep,
    ) -> MetadataModelResponse:
        """Describe a version of the model: an input per feature, its outputs."""
        check(model_name)
        return await _metadata(service, model_name, await service.version(_number(model_version)))

    @router.get("/models/{model_name}/ready", responses=inference_errors(400, 404, 503))
    async def model_ready(
        model_name: Annotated[str, name], service: ServiceDep
    ) -> ModelReadyResponse:
        """Answer 200 once the model is loaded, 503 before."""
        check(model_name)
        service.ready()
        return ModelReadyResponse(name=model_name, ready=True)

    @router.get(
        "/models/{model_name}/versions/{model_version}/ready",
        responses=inference_errors(400, 404, 503),
    )
    async def model_version_ready(
        model_name: Annotated[str, name],
        model_version: Annotated[str, _VERSION],
        service: ServiceDep,
    ) -> ModelReadyResponse:
        """Answer 200 for a registered version (loaded when first asked), 404 for others."""
        check(model_name)
        await service.version(_number(model_version))
        return ModelReadyResponse(name=model_name, ready=True)

    @router.post(
        "/models/{model_name}/infer",
        responses={**_INFER_ANSWER, **inference_errors(400, 404, 413, 415, 503)},
    )
    async def infer(
        model_name: Annotated[str, name], body: InferenceRequest, service: ServiceDep
    ) -> Response:
        """Predict with the active version: ``predict`` and ``predict_proba`` per row.

        Send the rows as one ``[rows, features]`` tensor (``FP32``, ``FP64``, integers,
        or ``BYTES`` for text features), or one ``[rows]`` tensor per feature named after
        it. ``parameters: {"labels": true}`` answers ``predict`` with class names.
        """
        check(model_name)
        return await _infer(service, model_name, body, None)

    @router.post(
        "/models/{model_name}/versions/{model_version}/infer",
        responses={**_INFER_ANSWER, **inference_errors(400, 404, 413, 415, 503)},
    )
    async def infer_version(
        model_name: Annotated[str, name],
        model_version: Annotated[str, _VERSION],
        body: InferenceRequest,
        service: ServiceDep,
    ) -> Response:
        """Predict with a given version, active or not, as ``infer`` does."""
        check(model_name)
        return await _infer(service, model_name, body, _number(model_version))

    return router


def _number(model_version: str) -> int:
    number = int(model_version)
    if number > MAX_INTEGER:
        raise ModelVersionNotFoundError(f"model version {model_version} does not exist")
    return number


async def _metadata(
    service: Service, model_name: str, version: ModelVersion
) -> MetadataModelResponse:
    numbers: list[str] = []
    while True:
        page = await service.versions(_PAGE, len(numbers))
        numbers += [str(each.version) for each in page.items]
        if not page.items or len(numbers) >= page.total:
            break
    inputs = [
        MetadataTensor(name=feature, datatype=FEATURE_DATATYPES[kind], shape=[-1])
        for feature, kind in zip(version.feature_names, version.feature_types, strict=True)
    ]
    outputs = [
        MetadataTensor(name="predict", datatype=Datatype.INT64, shape=[-1]),
        MetadataTensor(
            name="predict_proba", datatype=Datatype.FP64, shape=[-1, len(version.class_names)]
        ),
    ]
    return MetadataModelResponse(
        name=model_name,
        versions=numbers,
        platform=PLATFORM,
        inputs=inputs,
        outputs=outputs,
        parameters={
            "model_version": str(version.version),
            "algorithm": version.algorithm,
            "dataset": version.dataset_name,
        },
    )


async def _infer(
    service: Service, model_name: str, request: InferenceRequest, number: int | None
) -> Response:
    outputs = requested_outputs(request)
    labels = labels_asked(request)
    rows = decode_rows(request.inputs)
    quick = None
    if isinstance(rows, np.ndarray) and rows.dtype == np.float64 and in_range(rows).all():
        quick = await service.predict_numbers(rows, number, labels=labels)
    if quick is not None:
        answer = encode_response(
            model_name,
            quick.model_version,
            request.id,
            outputs,
            quick.prediction,
            quick.probability,
            quick.labels,
        )
    else:
        result = await service.predict(
            rows.tolist() if isinstance(rows, np.ndarray) else rows, number
        )
        answer = encode_response(
            model_name,
            result.model_version,
            request.id,
            outputs,
            np.asarray(result.prediction),
            np.asarray(result.probability),
            result.labels if labels else None,
        )
    return Response(answer, media_type="application/json")
