"""The article's routes, unversioned and byte-compatible: ``POST /predict``, ``POST /train``."""

from typing import Any

from anyio import to_thread
from fastapi import APIRouter

from mlapi.api.deps import ActiveModelDep
from mlapi.api.routes._responses import problems
from mlapi.api.routing import StrictQueryRoute
from mlapi.api.schemas import IrisPredictionInput, IrisPredictionResponse

router = APIRouter(tags=["article"], route_class=StrictQueryRoute)


@router.post(
    "/predict",
    response_model=IrisPredictionResponse,
    responses=problems(400, 413, 415, 422, 503),
)
async def predict(iris: IrisPredictionInput, active_model: ActiveModelDep) -> dict[str, Any]:
    """FastAPI POST route '/predict' endpoint to classify observations.

    Args:
        iris: IrisPredictionInput
            Rows of four measurements (sepal length and width, petal length and width).
        active_model: The model being served.

    Returns:
        IrisPredictionResponse:
            The predicted class of each row and the probability of each class.
    """
    result = await active_model.predict(iris.data)
    return {"prediction": result.prediction.tolist(), "probability": result.probability.tolist()}


@router.post("/train", response_model=bool, responses=problems(422))
async def train(active_model: ActiveModelDep, gradient_boosting: bool = False) -> bool:
    """FastAPI POST route '/train' endpoint to train our model.

    Training runs in a worker thread; predictions keep being answered meanwhile, and the
    new model replaces the old one atomically once saved.

    Args:
        active_model: The model being served.
        gradient_boosting: bool
            A boolean flag to switch between a DTreeClassifier or GradientBoostClassifier

    Returns:
        bool:
            A boolean value identifying if training was successful.
    """
    await to_thread.run_sync(lambda: active_model.retrain(gradient_boosting))
    return True
