"""The OpenAPI document of a real server describes the model it serves, whichever it is.

Two servers share one registry and model store, as two replicas do. Versions trained on
data packages with other features (wine: 13 measurements; pets: a categorical column
and gaps) are activated through the first; each test activates the version it looks
at. The document's examples are then sent as they are, and must be answered as the
document says; its schemas, which say what is valid, never change.
"""

import csv
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sklearn.datasets import load_wine

from tests.api.test_documents import without_words
from tests.e2e import packages
from tests.e2e.conftest import LiveServer, start_server, wait_for_job

IRIS_ROW = [5.1, 3.5, 1.4, 0.2]
IRIS_FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
#: Safety net while another replica follows an activation; not a performance assertion.
FOLLOW_SECONDS = 30
PATHS = ("/predict", "/v1/predict")


@dataclass(frozen=True)
class Replicas:
    """Two servers on one registry, and the versions trained for the tests."""

    first: LiveServer
    second: LiveServer
    bundled: int
    wine: int
    pets: int


def _train(client: httpx.Client, package: Path) -> int:
    queued = client.post(
        "/v1/train", json={"dataset": {"url": package.as_uri()}, "activate": False}
    )
    assert queued.status_code == 202, queued.text
    job = wait_for_job(client, queued.headers["location"])
    assert job["state"] == "succeeded", job
    return int(job["model_version"])


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    """Two servers on one folder, the bundled model and a wine and a pets version in it."""
    data = tmp_path_factory.mktemp("packages")
    wine = packages.pack(packages.write_wine_csv(data / "wine.csv"), "cultivar", data / "wine.zip")
    pets = packages.pack(packages.write_pets_csv(data / "pets.csv"), "kind", data / "pets.zip")
    folder = tmp_path_factory.mktemp("replicas")
    env = {"MLAPI_DATASET_ALLOW_FILE": "true", "MLAPI_DEFAULT_ALGORITHM": "decision_tree"}
    servers = [start_server(folder, extra_env=env)]
    try:
        servers.append(start_server(folder, extra_env=env))
        with servers[0].client() as client:
            bundled = client.get("/v1/model").json()["version"]
            trained = _train(client, wine), _train(client, pets)
        yield Replicas(*servers, bundled, *trained)
    finally:
        for server in servers:
            server.stop()


def activate(server: LiveServer, version: int) -> None:
    with server.client() as client:
        answer = client.post(f"/v1/models/{version}/activate")
    assert answer.status_code == 200, answer.text


def document_of(server: LiveServer) -> dict[str, Any]:
    with server.client() as client:
        answer = client.get("/openapi.json")
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


def request_body(document: dict[str, Any], path: str) -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path]["post"]["requestBody"]
    return found


def examples(described: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = described["content"]["application/json"].get("examples", {})
    return {name: example["value"] for name, example in found.items()}


def answer_examples(document: dict[str, Any], path: str) -> dict[str, Any]:
    return examples(document["paths"][path]["post"]["responses"]["200"])


def features_listed(description: str) -> list[str]:
    """The feature names of a body's description table, in its order."""
    cells = [line.split(" | ") for line in description.splitlines() if line.startswith("| ")]
    return [row[1].strip("`") for row in cells[1:]]


def send_examples(server: LiveServer, document: dict[str, Any], path: str) -> None:
    """POST each request example of ``path`` and check the answer the document shows."""
    sent = examples(request_body(document, path))
    [shown] = answer_examples(document, path).values()
    assert sent, f"{path} shows no example"
    with server.client() as client:
        for name, body in sent.items():
            answer = client.post(path, json=body)
            assert answer.status_code == 200, (name, answer.text)
            assert answer.json() == shown, name


def first_complete_row(path: Path) -> list[str]:
    """The first row of a CSV with every cell filled in, its target left out."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    return next(row for row in rows if all(row))[:-1]


def test_document_shows_the_bundled_models_features_and_the_articles_row(
    replicas: Replicas,
) -> None:
    activate(replicas.first, replicas.bundled)

    document = document_of(replicas.first)

    for path in PATHS:
        description = request_body(document, path)["description"]
        assert features_listed(description) == IRIS_FEATURES
        assert f"version {replicas.bundled}" in description
        assert examples(request_body(document, path))["row"] == {"data": [IRIS_ROW]}
        answer = document["paths"][path]["post"]["responses"]["200"]["description"]
        assert "0 `setosa`, 1 `versicolor`, 2 `virginica`" in answer
        send_examples(replicas.first, document, path)
    [answer] = answer_examples(document, "/v1/predict").values()
    assert answer["labels"] == ["setosa"]


def test_document_follows_an_activation_to_wine_whose_example_is_answered(
    replicas: Replicas,
) -> None:
    activate(replicas.first, replicas.bundled)
    document_of(replicas.first)  # the bundled model's, kept
    activate(replicas.first, replicas.wine)

    document = document_of(replicas.first)

    wine = load_wine()
    row = [float(value) for value in wine.data[0]]
    for path in PATHS:
        description = request_body(document, path)["description"]
        assert features_listed(description) == list(wine.feature_names)
        assert f"version {replicas.wine}" in description
        assert examples(request_body(document, path))["row"] == {"data": [row]}
        send_examples(replicas.first, document, path)
    versioned = examples(request_body(document, "/v1/predict"))
    assert versioned["object"] == {"data": [dict(zip(wine.feature_names, row, strict=True))]}
    assert versioned["version"]["model_version"] == replicas.wine
    [answer] = answer_examples(document, "/v1/predict").values()
    assert answer["labels"] == ["barolo"]  # the first wine's cultivar
    assert answer["model_version"] == replicas.wine


def test_a_model_of_text_features_shows_its_row_to_v1_and_sends_the_article_there(
    replicas: Replicas, tmp_path: Path
) -> None:
    activate(replicas.first, replicas.pets)

    document = document_of(replicas.first)

    weight, colour, age = first_complete_row(packages.write_pets_csv(tmp_path / "pets.csv"))
    row = [float(weight), colour, int(age)]
    versioned = request_body(document, "/v1/predict")
    assert features_listed(versioned["description"]) == packages.PETS_HEADER[:-1]
    assert examples(versioned)["row"] == {"data": [row]}
    send_examples(replicas.first, document, "/v1/predict")
    article = request_body(document, "/predict")
    assert examples(article) == {}
    assert "send its rows to `POST /v1/predict`" in article["description"]


def test_another_replica_describes_the_version_activated_elsewhere(replicas: Replicas) -> None:
    activate(replicas.first, replicas.bundled)
    before = wait_for_document(replicas.second, replicas.bundled)
    activate(replicas.first, replicas.wine)

    after = wait_for_document(replicas.second, replicas.wine)

    assert features_listed(request_body(before, "/v1/predict")["description"]) == IRIS_FEATURES
    assert len(features_listed(request_body(after, "/v1/predict")["description"])) == 13
    send_examples(replicas.second, after, "/v1/predict")


def wait_for_document(server: LiveServer, version: int) -> dict[str, Any]:
    """Poll a server's document until it describes ``version``, and return it."""
    deadline = time.monotonic() + FOLLOW_SECONDS
    while True:
        document = document_of(server)
        if f"version {version}:" in request_body(document, "/v1/predict").get("description", ""):
            return document
        if time.monotonic() > deadline:
            pytest.fail(f"the document still does not describe version {version}")
        time.sleep(0.05)


def test_every_model_is_documented_with_the_same_schemas(replicas: Replicas) -> None:
    documents = []
    for version in (replicas.bundled, replicas.wine, replicas.pets):
        activate(replicas.first, version)
        documents.append(document_of(replicas.first))

    iris, wine, pets = map(without_words, documents)
    assert iris == wine == pets
    assert documents[0] != documents[1] != documents[2]


def test_a_server_told_its_data_is_confidential_shows_placeholders(
    replicas: Replicas, tmp_path: Path
) -> None:
    activate(replicas.first, replicas.wine)
    confidential = start_server(
        replicas.first.model_dir.parent,
        extra_env={"MLAPI_DOCUMENT_DATA_ROWS": "false"},
    )
    try:
        document = document_of(confidential)
        for path in PATHS:
            body = request_body(document, path)
            assert examples(body)["row"] == {"data": [[0.0] * 13]}
            assert "placeholders" in body["description"]
            send_examples(confidential, document, path)
    finally:
        confidential.stop()
