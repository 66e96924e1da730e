"""The quick way through the predict routes answers exactly what the FastAPI routes answer."""

import json
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from mlapi.api.quick import QuickPredict, _article_answer, _v1_answer, parse_rows
from mlapi.api.schemas import IrisPredictionResponse
from mlapi.main import create_app
from mlapi.serving.records import ArrayPredictions, Predictions
from mlapi.settings import Settings
from tests.api.conftest import STARTUP_SECONDS

V1 = frozenset({"data", "model_version"})


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, TestClient]]:
    """The app with its quick way, and the same app (same registry) without it."""
    folder = tmp_path_factory.mktemp("quick")
    settings = Settings(model_dir=str(folder / "models"), cache_dir=folder / "cache")
    quick, routed = create_app(settings), create_app(settings)
    routed.user_middleware = [m for m in routed.user_middleware if m.cls is not QuickPredict]
    with TestClient(quick) as quick_client, TestClient(routed) as routed_client:
        for client in (quick_client, routed_client):
            for _ in range(STARTUP_SECONDS * 100):
                if client.get("/v1/health/ready").status_code == 200:
                    break
                __import__("time").sleep(0.01)
        yield quick_client, routed_client


ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5], [6.3, 2.8, 5.1, 1.5]]

BODIES = [
    {"data": ROWS[:1]},
    {"data": ROWS},
    {"data": [[5, 3, 1, 0]]},
    {"data": [[-1e-7, 1e300, 2.5e-5, 0.0]]},
    {"data": ROWS * 50},
    {"data": ROWS, "model_version": 1},
    {"data": ROWS, "model_version": None},
    {"data": ROWS, "model_version": 99},
    {"data": ROWS, "model_version": True},
    {"data": ROWS, "extra": 1},
    {"data": [[5.1, 3.5, 1.4]]},
    {"data": [[5.1, 3.5, 1.4, 0.2, 9.9]]},
    {"data": [[5.1, 3.5, 1.4, 0.2], [1.0]]},
    {"data": [[5.1, "3.5", 1.4, 0.2]]},
    {"data": [[5.1, True, 1.4, 0.2]]},
    {"data": [[True, False, True, False]]},
    {"data": [[5.1, None, 1.4, 0.2]]},
    {"data": [[[5.1], 3.5, 1.4, 0.2]]},
    {"data": [[10**400, 3.5, 1.4, 0.2]]},
    {"data": [[2**64, 3.5, 1.4, 0.2]]},
    {"data": [{"sepal length (cm)": 5.1}]},
    {"data": []},
    {"data": [[]]},
    {"data": ROWS[0]},
    {"data": "rows"},
    [ROWS],
    {},
]

RAW_BODIES = [
    b'{"data": [[NaN, 3.5, 1.4, 0.2]]}',
    b'{"data": [[1e999, 3.5, 1.4, 0.2]]}',
    b'{"data": [[5.1, 3.5, 1.4, 0.2]]',
    b'{"data": [[5.1, 3.5, 1.4, 0.2]], "data": [[1, 2, 3]]}',
    b"",
]


def _same(
    clients: tuple[TestClient, TestClient], path: str, body: bytes, **options: object
) -> None:
    quick, routed = (
        client.post(path, content=body, headers={"content-type": "application/json"}, **options)  # type: ignore[arg-type]
        for client in clients
    )
    assert quick.status_code == routed.status_code
    assert quick.headers["content-type"] == routed.headers["content-type"]
    assert quick.content == routed.content


@pytest.mark.parametrize("path", ["/predict", "/v1/predict"])
def test_every_body_gets_the_same_bytes_both_ways(
    clients: tuple[TestClient, TestClient], path: str
) -> None:
    for body in BODIES:
        _same(clients, path, json.dumps(body).encode())
    for raw in RAW_BODIES:
        _same(clients, path, raw)


INFER_INPUT = {"name": "input-0", "shape": [4, 4], "datatype": "FP64", "data": ROWS}

FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]

INFER_BODIES = [
    {"inputs": [INFER_INPUT]},
    {"id": "7", "inputs": [{**INFER_INPUT, "datatype": "FP32"}], "parameters": {"labels": True}},
    {"inputs": [INFER_INPUT], "outputs": [{"name": "predict_proba"}, {"name": "predict"}]},
    {"inputs": [INFER_INPUT], "parameters": {"binary_data_output": True, "labels": False}},
    {"inputs": [{**INFER_INPUT, "data": [value for row in ROWS for value in row]}]},
    {"inputs": [{**INFER_INPUT, "datatype": "INT32", "data": [[5, 3, 1, 0]] * 4}]},
    {
        "inputs": [
            {"name": n, "shape": [1], "datatype": "FP64", "data": [v]}
            for n, v in zip(FEATURES, ROWS[0], strict=True)
        ]
    },
    {"inputs": [{**INFER_INPUT, "shape": [4, 3]}]},
    {"inputs": [{**INFER_INPUT, "shape": [1, 3], "data": [5.1, 3.5, 1.4]}]},
    {"inputs": [{**INFER_INPUT, "shape": [1, 4], "data": [1e300, 1, 1, 1]}]},
    {"inputs": [{**INFER_INPUT, "data": [[5.1, True, 1.4, 0.2]] * 4}]},
    {"inputs": [{**INFER_INPUT, "datatype": "BYTES", "data": [["5.1"] * 4] * 4}]},
    {"inputs": [INFER_INPUT], "outputs": [{"name": "probabilities"}]},
    {"inputs": [INFER_INPUT], "parameters": {"labels": "yes"}},
    {"inputs": [INFER_INPUT], "extra": 1},
    {"inputs": []},
    [INFER_INPUT],
]

INFER_RAW_BODIES = [
    b'{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [NaN, 1, 1, 1]}]}',
    b'{"inputs": [',
    b"",
]


@pytest.mark.parametrize(
    "path",
    [
        "/v2/models/mlapi/infer",
        "/v2/models/mlapi/versions/1/infer",
        "/v2/models/mlapi/versions/99/infer",
        "/v2/models/mlapi/versions/01/infer",
        "/v2/models/iris/infer",
    ],
)
def test_every_inference_request_gets_the_same_bytes_both_ways(
    clients: tuple[TestClient, TestClient], path: str
) -> None:
    for body in INFER_BODIES:
        _same(clients, path, json.dumps(body).encode())
    for raw in INFER_RAW_BODIES:
        _same(clients, path, raw)


def binary_request(rows: np.ndarray, datatype: str = "FP32") -> tuple[bytes, dict[str, str]]:
    """An infer body with its tensor in binary after the JSON, as tritonclient sends it."""
    raw = rows.tobytes()
    tensor = {"name": "x", "shape": list(rows.shape), "datatype": datatype}
    header = json.dumps(
        {"inputs": [{**tensor, "parameters": {"binary_data_size": len(raw)}}]}
    ).encode()
    return header + raw, {"Inference-Header-Content-Length": str(len(header))}


@pytest.fixture
def routed(clients: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The calls the quick client's requests make to the FastAPI routes' predict."""
    service = clients[0].app.state.service  # type: ignore[attr-defined]
    calls: list[object] = []
    real = service.predict

    async def spy(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return await real(*args, **kwargs)

    monkeypatch.setattr(service, "predict", spy)
    return calls


@pytest.mark.parametrize(
    "body_and_headers",
    [
        binary_request(np.array(ROWS, dtype=np.float32)),
        binary_request(np.array(ROWS, dtype=np.float64), "FP64"),
        binary_request(np.array(ROWS, dtype=np.float32)[:, :3]),
        binary_request(np.array(ROWS, dtype=np.float32), "FP64"),  # half the bytes short
        (b'{"inputs": []}', {"Inference-Header-Content-Length": "99"}),
    ],
)
def test_binary_inference_requests_get_the_same_bytes_both_ways(
    clients: tuple[TestClient, TestClient], body_and_headers: tuple[bytes, dict[str, str]]
) -> None:
    body, headers = body_and_headers
    quick, routed = (
        client.post("/v2/models/mlapi/infer", content=body, headers=headers) for client in clients
    )
    assert quick.status_code == routed.status_code
    assert quick.content == routed.content


def test_the_quick_way_answers_numeric_inference_requests_even_without_a_media_type(
    clients: tuple[TestClient, TestClient], routed: list[object]
) -> None:
    quick, _ = clients
    body = json.dumps({"inputs": [INFER_INPUT]}).encode()
    for path in ("/v2/models/mlapi/infer", "/v2/models/mlapi/versions/1/infer"):
        assert quick.post(path, content=body).status_code == 200  # no Content-Type
    body, headers = binary_request(np.array(ROWS, dtype=np.float32))
    assert quick.post("/v2/models/mlapi/infer", content=body, headers=headers).status_code == 200
    assert routed == []
    bad = {"inputs": [{**INFER_INPUT, "shape": [1, 4], "data": [1e300, 1, 1, 1]}]}
    assert quick.post("/v2/models/mlapi/infer", json=bad).status_code == 400
    assert len(routed) == 1


def test_query_strings_media_types_and_sizes_go_the_routed_way(
    clients: tuple[TestClient, TestClient],
) -> None:
    body = json.dumps({"data": ROWS}).encode()
    _same(clients, "/predict", body, params={"verbose": "1"})
    for client_pair_answer in (
        [
            client.post("/v1/predict", content=body, headers={"content-type": "text/plain"})
            for client in clients
        ],
        [client.post("/predict", content=b"[" * 3_000_000) for client in clients],
    ):
        quick, routed = client_pair_answer
        assert quick.status_code == routed.status_code in (413, 415)
        assert quick.content == routed.content


def test_the_quick_way_answers_well_formed_numeric_rows(
    clients: tuple[TestClient, TestClient], routed: list[object]
) -> None:
    quick, _ = clients
    for path in ("/predict", "/v1/predict"):
        assert quick.post(path, json={"data": ROWS}).status_code == 200
    assert routed == []  # neither went through the FastAPI route
    assert quick.post("/v1/predict", json={"data": [[5.1, 3.5, 1.4, None]]}).status_code == 422
    assert len(routed) == 1  # that one did


TRICKY = [1e-5, 1e-7, 1.5e-5, 0.0001, 0.1, 1.0, 0.0, 5e-324, 0.30000000000000004, 1 / 3]


def test_answers_are_written_as_pydantic_writes_them() -> None:
    generator = np.random.default_rng(0)
    probability = np.concatenate(
        [np.array(TRICKY).reshape(-1, 1), generator.random((len(TRICKY), 1)) ** 20], axis=1
    )
    probability = np.ascontiguousarray(np.concatenate([probability, probability[::-1]]))
    prediction = probability.argmax(axis=1)
    classes = prediction.tolist()
    labels = ['a "quoted" \\ label' if c else "é\u2028\x7f\x01 </script>" for c in classes]
    result = ArrayPredictions(prediction, probability, labels, 3)

    article = TypeAdapter(IrisPredictionResponse).dump_json(
        IrisPredictionResponse(prediction=classes, probability=probability.tolist())
    )
    v1 = TypeAdapter(Predictions).dump_json(
        Predictions(
            prediction=classes, probability=probability.tolist(), labels=labels, model_version=3
        )
    )
    assert _article_answer(result) == article
    assert _v1_answer(result) == v1


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": [[1, 2, true, 4]]}',
        b'{"data": [["1", 2, 3, 4]]}',
        b'{"data": [[null, 2, 3, 4]]}',
        b'{"data": [[1, 2], [3]]}',
        b'{"data": [[[1], 2]]}',
        b'{"data": []}',
        b'{"data": [[]]}',
        b'{"data": [[1e999, 2]]}',
        b'{"data": [[1, 2]], "model_version": 0}',
        b'{"data": [[1, 2]], "model_version": 1.0}',
        b'{"data": [[1, 2]], "extra": 0}',
        b'{"rows": [[1, 2]]}',
        b"[[1, 2]]",
        b"not json",
    ],
)
def test_anything_in_doubt_is_left_to_the_route(body: bytes) -> None:
    assert parse_rows(body, V1) is None


def test_numbers_are_read_as_a_float_matrix() -> None:
    parsed = parse_rows(b'{"data": [[1, 2.5], [-3e-2, 4]], "model_version": 2}', V1)

    assert parsed is not None
    matrix, version = parsed
    assert matrix.dtype == np.float64
    assert matrix.flags.c_contiguous
    assert matrix.tolist() == [[1.0, 2.5], [-0.03, 4.0]]
    assert version == 2


def test_a_body_over_the_limit_is_refused_even_without_content_length(
    clients: tuple[TestClient, TestClient],
) -> None:
    # Well-formed rows within the row limit, over 2 MiB: long decimals, sent chunked.
    number = "5." + "1" * 60
    body = (
        '{"data": [' + ",".join([f"[{number}, {number}, {number}, {number}]"] * 9000) + "]}"
    ).encode()
    assert len(body) > 2 * 1024 * 1024
    for client in clients:
        answer = client.post(
            "/predict", content=iter([body]), headers={"content-type": "application/json"}
        )
        assert answer.status_code == 413, answer.text[:200]
