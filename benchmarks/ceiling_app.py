"""FastAPI answering a constant: the framework's ceiling on this machine."""

from fastapi import FastAPI

app = FastAPI()

ANSWER = {"prediction": [0], "probability": [[1.0, 0.0, 0.0]]}


@app.post("/predict")
async def predict() -> dict[str, list[object]]:
    return ANSWER
