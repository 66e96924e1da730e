"""``POST /v1/predict``: predictions with class names and the answering model's version."""

from fastapi import APIRouter

from mlapi.api.deps import ActiveModelDep
from mlapi.api.routes._responses import problems
from mlapi.api.routing import StrictQueryRoute
from mlapi.api.schemas import IrisPredictionInput, PredictionResponse

router = APIRouter(prefix="/v1", tags=["predict"], route_class=StrictQueryRoute)


@router.post("/predict", responses=problems(400, 413, 415, 422, 503))
async def predict(iris: IrisPredictionInput, active_model: ActiveModelDep) -> PredictionResponse:
    """Classify observations and say which model answered.

    Args:
        iris: Rows of features, one value per feature of the active model.
        active_model: The model being served.

    Returns:
        The class, class probabilities and class name of each row, and the model version.
    """
    result = await active_model.predict(iris.data)
    prediction = result.prediction.tolist()
    return PredictionResponse(
        prediction=prediction,
        probability=result.probability.tolist(),
        labels=result.classifier.labels(prediction),
        model_version=result.classifier.version or "unsaved",
    )
