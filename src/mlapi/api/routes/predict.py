"""``POST /v1/predict``: predictions with class names and the answering model's version."""

from fastapi import APIRouter

from mlapi.api.deps import ActiveModelDep
from mlapi.api.routes._responses import problems
from mlapi.api.routing import StrictQueryRoute
from mlapi.api.schemas import PredictionRequest, PredictionResponse

router = APIRouter(prefix="/v1", tags=["predict"], route_class=StrictQueryRoute)


@router.post("/predict", responses=problems(400, 404, 413, 415, 422, 503))
async def predict(body: PredictionRequest, active_model: ActiveModelDep) -> PredictionResponse:
    """Classify observations and say which model version answered.

    Args:
        body: Rows of features, one value per feature of the model, and optionally
            the version to ask (the active one by default).
        active_model: The model being served.

    Returns:
        The class, class probabilities and class name of each row, and the model version.
    """
    result = await active_model.predict(body.data, body.model_version)
    prediction = result.prediction.tolist()
    return PredictionResponse(
        prediction=prediction,
        probability=result.probability.tolist(),
        labels=result.model.classifier.labels(prediction),
        model_version=result.model.version.version,
    )
