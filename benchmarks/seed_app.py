"""The article's service, as it prints it, for side-by-side benchmarks.

Only what pydantic 2 requires changed: ``conlist(..., min_length=, max_length=)``.
The classifier is mlapi's, so both serve the same model: the bundled one, or the file
named by ``BENCH_MODEL``.
"""

import os
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, conlist

from mlapi.ml import IrisClassifier

app = FastAPI(title="MLAPI Template", description="API for ml model", version="1.0")
clf = IrisClassifier.load(os.environ.get("BENCH_MODEL"))  # the bundled model by default


class IrisPredictionInput(BaseModel):
    data: list[conlist(float, min_length=4, max_length=4)]  # type: ignore[valid-type]


class IrisPredictionResponse(BaseModel):
    prediction: list[int]
    probability: list[Any]


@app.post("/predict", response_model=IrisPredictionResponse)
async def predict(iris: IrisPredictionInput) -> Any:
    return clf.predict(iris.data)
