"""``POST /v1/predict``: predictions with class names and the answering model's version."""

from fastapi import APIRouter

from mlapi.api.deps import ServiceDep
from mlapi.api.routes._responses import problems
from mlapi.api.routing import StrictQueryRoute
from mlapi.api.schemas import PredictionRequest
from mlapi.serving.records import Predictions

router = APIRouter(prefix="/v1", tags=["predict"], route_class=StrictQueryRoute)


@router.post("/predict", responses=problems(400, 404, 413, 415, 422, 503))
async def predict(body: PredictionRequest, service: ServiceDep) -> Predictions:
    """Classify observations and say which model version answered.

    \f

    Args:
        body: Rows of features, one value per feature of the model, and optionally
            the version to ask (the active one by default).
        service: The service layer, which does the work.

    Returns:
        The class, class probabilities and class name of each row, and the model version.
    """
    return await service.predict(body.data, body.model_version)
