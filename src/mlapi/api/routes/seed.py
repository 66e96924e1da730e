"""The article's routes, unversioned and byte-compatible: ``POST /predict``, ``POST /train``."""

from typing import Any

from fastapi import APIRouter

from mlapi.api.deps import CallerDep, ServiceDep
from mlapi.api.routes._responses import problems
from mlapi.api.routing import StrictQueryRoute
from mlapi.api.schemas import IrisPredictionInput, IrisPredictionResponse
from mlapi.ml.estimators import algorithm_for
from mlapi.serving.records import TrainingOrder

router = APIRouter(tags=["article"], route_class=StrictQueryRoute)


@router.post(
    "/predict",
    response_model=IrisPredictionResponse,
    responses=problems(400, 413, 415, 422, 503),
)
async def predict(iris: IrisPredictionInput, service: ServiceDep) -> dict[str, Any]:
    """FastAPI POST route '/predict' endpoint to classify observations.

    Args:
        iris: IrisPredictionInput
            Rows of four measurements (sepal length and width, petal length and width).
        service: The service layer, which does the work.

    Returns:
        IrisPredictionResponse:
            The predicted class of each row and the probability of each class.
    """
    result = await service.predict(iris.data)
    return {"prediction": result.prediction, "probability": result.probability}


@router.post("/train", response_model=bool, responses=problems(409, 422, 429, 500, 503, 507))
async def train(service: ServiceDep, caller: CallerDep, gradient_boosting: bool = False) -> bool:
    """FastAPI POST route '/train' endpoint to train our model.

    The training runs as a job in a separate process, like ``POST /v1/train``; this route
    waits for it. Predictions keep being answered meanwhile, and the new version is
    registered and activated atomically once it is saved.

    Args:
        service: The service layer, which does the work.
        caller: Who asks, recorded with the job.
        gradient_boosting: bool
            A boolean flag to switch between a DTreeClassifier or GradientBoostClassifier

    Returns:
        bool:
            A boolean value identifying if training was successful.
    """
    order = TrainingOrder(algorithm=algorithm_for(gradient_boosting))
    job = await service.train(order, created_by=f"{caller} /train")
    await service.wait(job.id)
    return True
