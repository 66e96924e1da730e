"""``GET /v1/model``: what the serving model is and how well it did."""

import dataclasses

from fastapi import APIRouter

from mlapi.api.deps import ActiveModelDep
from mlapi.api.routes._responses import problems
from mlapi.api.routing import StrictQueryRoute
from mlapi.api.schemas import ModelResponse

router = APIRouter(prefix="/v1", tags=["models"], route_class=StrictQueryRoute)


@router.get("/model", responses=problems(503))
async def active_model_info(active_model: ActiveModelDep) -> ModelResponse:
    """Describe the model serving now.

    Args:
        active_model: The model being served.

    Returns:
        Its version, algorithm, hyperparameters, features, classes and held-out metrics.
    """
    classifier = active_model.classifier
    metadata = classifier.metadata
    assert metadata is not None  # noqa: S101 - a served classifier is always trained
    return ModelResponse(
        version=classifier.version or "unsaved",
        checksum=classifier.checksum or "",
        accuracy=metadata.evaluation.accuracy,
        **{
            field.name: getattr(metadata, field.name)
            for field in dataclasses.fields(metadata)
            if field.name != "evaluation"
        },
        evaluation=dataclasses.asdict(metadata.evaluation),
    )
