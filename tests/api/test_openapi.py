"""The OpenAPI document: request and response schemas as clients generate code from them.

The document needs no started app, so one app, never started, serves the whole module.
"""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mlapi.main import create_app
from mlapi.ml import CATALOGUE
from mlapi.settings import Settings

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The OpenAPI document, as the app serves it."""
    folder: Path = tmp_path_factory.mktemp("openapi")
    settings = Settings(model_dir=str(folder / "models"), cache_dir=folder / "cache")
    client = TestClient(create_app(settings))  # not started: the document needs no model
    response = client.get("/openapi.json")
    assert response.status_code == 200
    served: dict[str, Any] = response.json()
    return served


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a ``$ref`` to the component it names (a schema without one is returned)."""
    reference = schema.get("$ref")
    if reference is None:
        return schema
    prefix = "#/components/schemas/"
    assert reference.startswith(prefix), reference
    found: dict[str, Any] = document["components"]["schemas"][reference.removeprefix(prefix)]
    return found


def component_name(schema: dict[str, Any]) -> str:
    """The name of the component a ``$ref`` schema refers to."""
    return str(schema.get("$ref", "")).rsplit("/", 1)[-1]


def train_branches(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``oneOf`` branches of the ``POST /v1/train`` request body, resolved."""
    body = document["paths"]["/v1/train"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    return [resolve(document, branch) for branch in schema["oneOf"]]


def algorithm_names(branch: dict[str, Any]) -> list[str]:
    """The algorithm names a request body branch accepts, from its const or enum."""
    algorithm = branch["properties"]["algorithm"]
    if "const" in algorithm:
        return [algorithm["const"]]
    return list(algorithm.get("enum", []))


def algorithm_branch(document: dict[str, Any], name: str) -> dict[str, Any]:
    """The request body branch that trains the named algorithm."""
    [branch] = [each for each in train_branches(document) if algorithm_names(each) == [name]]
    return branch


def hyperparameters_schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    """The schema of the named algorithm's hyperparameters, as its branch refers to it."""
    return resolve(document, algorithm_branch(document, name)["properties"]["hyperparameters"])


def success_schema(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    """The JSON schema of a route's 2xx answer."""
    responses = document["paths"][path][method]["responses"]
    [status] = [status for status in responses if status.startswith("2")]
    schema: dict[str, Any] = responses[status]["content"]["application/json"]["schema"]
    return schema


def test_train_body_is_one_of_a_branch_per_algorithm_and_the_default(
    document: dict[str, Any],
) -> None:
    branches = train_branches(document)
    named = [algorithm_names(branch) for branch in branches]
    assert sorted(name for names in named for name in names) == sorted(CATALOGUE)
    assert all(len(names) <= 1 for names in named), named
    [default] = [branch for branch, names in zip(branches, named, strict=True) if not names]
    assert default["properties"]["algorithm"]["type"] == "null"
    assert "algorithm" not in default.get("required", [])
    assert len(branches) == len(CATALOGUE) + 1


def test_train_body_has_no_discriminator_so_a_body_naming_no_algorithm_stays_valid(
    document: dict[str, Any],
) -> None:
    # Found by schemathesis: under OpenAPI's rules a discriminator on `algorithm` maps
    # every body by the algorithm it names, so tools took `{}` or `{"algorithm": null}`
    # (the configured default's request) for invalid ones. The branches' `algorithm`
    # (each a constant, or null) tells them apart without it.
    body = document["paths"]["/v1/train"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert schema["title"] == "TrainRequest"
    assert "discriminator" not in schema


def test_v1_predict_answers_the_predictions_record(document: dict[str, Any]) -> None:
    schema = success_schema(document, "/v1/predict", "post")
    assert component_name(schema) == "Predictions"
    properties = resolve(document, schema)["properties"]
    assert list(properties) == ["prediction", "probability", "labels", "model_version"]


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_algorithm_branch_names_its_algorithm_and_refers_to_its_hyperparameters(
    document: dict[str, Any], name: str
) -> None:
    branch = algorithm_branch(document, name)
    algorithm = branch["properties"]["algorithm"]
    assert algorithm["type"] == "string"
    assert "algorithm" in branch["required"]
    hyperparameters = branch["properties"]["hyperparameters"]
    model = CATALOGUE[name].hyperparameters
    assert component_name(hyperparameters) == model.__name__
    schema = resolve(document, hyperparameters)
    assert set(schema["properties"]) == set(model.model_fields)
    assert schema["additionalProperties"] is False


def test_hyperparameter_properties_carry_types_and_bounds(document: dict[str, Any]) -> None:
    boosting = hyperparameters_schema(document, "gradient_boosting")["properties"]
    assert boosting["n_estimators"]["type"] == "integer"
    assert boosting["n_estimators"]["minimum"] == 1
    assert boosting["n_estimators"]["maximum"] == 5000
    assert boosting["n_estimators"]["default"] == 100
    assert boosting["learning_rate"]["type"] == "number"
    assert boosting["learning_rate"]["exclusiveMinimum"] == 0

    tree = hyperparameters_schema(document, "decision_tree")["properties"]
    assert tree["criterion"]["enum"] == ["gini", "entropy", "log_loss"]
    assert tree["min_samples_split"]["minimum"] == 2

    histogram = hyperparameters_schema(document, "hist_gradient_boosting")["properties"]
    assert histogram["max_iter"]["type"] == "integer"
    assert (histogram["max_iter"]["minimum"], histogram["max_iter"]["maximum"]) == (1, 10_000)


def test_every_hyperparameter_has_a_type(document: dict[str, Any]) -> None:
    for name in CATALOGUE:
        for parameter, schema in hyperparameters_schema(document, name)["properties"].items():
            types = [schema.get("type")] + [each.get("type") for each in schema.get("anyOf", [])]
            assert any(types), (name, parameter, schema)


@pytest.mark.parametrize(
    ("path", "component"),
    [("/v1/models/{version}", "ModelVersion"), ("/v1/jobs/{job_id}", "TrainingJob")],
)
def test_version_and_job_answers_are_documented_components(
    document: dict[str, Any], path: str, component: str
) -> None:
    assert component_name(success_schema(document, path, "get")) == component


@pytest.mark.parametrize(
    "component",
    [
        "ModelVersion",
        "TrainingJob",
        "ModelVersionPage",
        "JobPage",
        "Evaluation",
        "ClassMetrics",
        "Predictions",
        "Health",
    ],
)
def test_every_field_of_a_record_is_described_inherited_ones_too(
    document: dict[str, Any], component: str
) -> None:
    properties = document["components"]["schemas"][component]["properties"]
    undescribed = [name for name, schema in properties.items() if not schema.get("description")]
    assert undescribed == []


def test_model_version_fields_are_described(document: dict[str, Any]) -> None:
    properties = document["components"]["schemas"]["ModelVersion"]["properties"]
    assert properties["accuracy"]["description"] == "Accuracy on the held-out split."
    assert properties["accuracy"]["readOnly"] is True


def test_model_version_names_the_library_versions_that_made_it(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["ModelVersion"]
    libraries = schema["properties"]["libraries"]
    assert "libraries" in schema["required"]
    assert {"type": "object", "additionalProperties": {"type": "string"}} in libraries["anyOf"]
    assert "scikit-learn" in libraries["description"]


def test_training_job_fields_are_described(document: dict[str, Any]) -> None:
    properties = document["components"]["schemas"]["TrainingJob"]["properties"]
    assert "from 0 to 1" in properties["progress"]["description"]
    assert properties["test_size"]["description"] == "Share of rows held out for evaluation."
    state = resolve(document, properties["state"])
    assert state["enum"] == ["queued", "running", "succeeded", "failed", "cancelled"]


def test_articles_predict_schemas_keep_their_names(document: dict[str, Any]) -> None:
    operation = document["paths"]["/predict"]["post"]
    request = operation["requestBody"]["content"]["application/json"]["schema"]
    assert component_name(request) == "IrisPredictionInput"
    assert component_name(success_schema(document, "/predict", "post")) == "IrisPredictionResponse"


def error_schemas(document: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """The media type and schema component of every error answer, by operation and status."""
    found = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    [(media_type, content)] = response.get("content", {"none": {}}).items()
                    schema = component_name(content.get("schema", {}))
                    found[f"{method.upper()} {path} {status}"] = (media_type, schema)
    return found


def test_every_error_answer_is_documented_as_a_problem(document: dict[str, Any]) -> None:
    wrong = [
        operation
        for operation, described in error_schemas(document).items()
        if " /v2" not in operation and described != ("application/problem+json", "Problem")
    ]
    assert wrong == []


def test_open_inference_protocol_errors_are_documented_as_its_error_object(
    document: dict[str, Any],
) -> None:
    inference = {
        operation: described
        for operation, described in error_schemas(document).items()
        if " /v2" in operation
    }
    assert "POST /v2/models/{model_name}/infer 400" in inference
    assert set(inference.values()) == {("application/json", "InferenceErrorResponse")}
    error = document["components"]["schemas"]["InferenceErrorResponse"]
    assert error["required"] == ["error"]


def test_open_inference_protocol_routes_name_the_one_model(document: dict[str, Any]) -> None:
    operation = document["paths"]["/v2/models/{model_name}/infer"]["post"]
    [name] = [each for each in operation["parameters"] if each["name"] == "model_name"]
    assert name["schema"]["enum"] == ["mlapi"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert component_name(body) == "InferenceRequest"
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert component_name(answer) == "InferenceResponse"
