"""The article's routes, unversioned and byte-compatible: ``POST /predict``, ``POST /train``."""

from typing import Any

from anyio import to_thread
from fastapi import APIRouter

from mlapi.api.deps import ActiveModelDep, SettingsDep, TrainingDep
from mlapi.api.routes._responses import problems
from mlapi.api.routing import StrictQueryRoute
from mlapi.api.schemas import IrisPredictionInput, IrisPredictionResponse
from mlapi.serving.jobs import TrainingFailedError, make_request

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


@router.post("/train", response_model=bool, responses=problems(422, 500, 503))
async def train(
    settings: SettingsDep, training: TrainingDep, gradient_boosting: bool = False
) -> bool:
    """FastAPI POST route '/train' endpoint to train our model.

    The training runs as a job in a separate process, like ``POST /v1/train``; this route
    waits for it. Predictions keep being answered meanwhile, and the new version is
    registered and activated atomically once it is saved.

    Args:
        settings: Configured defaults.
        training: The job rows and their runner.
        gradient_boosting: bool
            A boolean flag to switch between a DTreeClassifier or GradientBoostClassifier

    Returns:
        bool:
            A boolean value identifying if training was successful.
    """
    request = make_request(
        settings,
        algorithm="gradient_boosting" if gradient_boosting else None,
        created_by="api /train",
    )
    job = await to_thread.run_sync(training.jobs.create, request)
    training.runner.wake()
    finished = await training.runner.wait(job.id)
    if finished.error is not None:
        raise TrainingFailedError(f"training job {job.id} failed: {finished.error}")
    return True
