"""Schemathesis against a live server, from the server's own OpenAPI document.

A real ``mlapi serve`` for each configuration in :data:`TARGETS`; schemathesis reads its
``/openapi.json`` over HTTP and sends generated requests to every operation (its
examples, boundary cases and unexpected methods, then random valid and invalid data),
running every check it has: no 5xx, status codes, content types, headers and bodies as
the document says, ``Allow`` on 405, valid data accepted and invalid data refused. The
requests sent are counted, and the count asserted, so the run cannot shrink unnoticed.

What it found, each fixed with a regression test beside the code it concerns:

1. A 405 at ``/v1/models/{version}`` said ``Allow: GET``: Starlette names only the first
   route's methods, and ``DELETE`` is another route at that path. 405 answers now name
   every method the path takes (``tests/api/test_errors.py``).
2. The document's ``discriminator`` on ``POST /v1/train``'s ``algorithm`` made the
   default request (``{}``, ``{"algorithm": null}``) invalid by OpenAPI's rules, which
   map every body by the algorithm it names; the branches' own ``algorithm`` constants
   tell them apart, so the discriminator is gone (``tests/api/test_openapi.py``).

Where the document cannot say what the server checks (a row's width is the served
model's; a data set name must be one the server has), valid-looking data may get 422:
the per-operation settings in :func:`api_schema` say so, and nothing else is relaxed.
"""

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import schemathesis
from schemathesis import Case
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.e2e.conftest import LiveServer, start_server

#: Fewest requests one configuration's run must send, over all operations.
MIN_REQUESTS = 1000

#: Generated examples per operation and generation mode in the fuzzing phase (the
#: examples and coverage phases add their own cases on top).
MAX_EXAMPLES = 30

#: What makes the model-changing routes cheap to fuzz: a decision tree by default, few
#: boosting stages when the article's ``/train?gradient_boosting=true`` asks for them,
#: and downloads that give up quickly (a fuzzed data set URL goes nowhere).
CHEAP_TRAINING = {
    "MLAPI_DEFAULT_ALGORITHM": "decision_tree",
    "MLAPI_HYPERPARAMETERS": '{"gradient_boosting": {"n_estimators": 5}}',
    "MLAPI_DATASET_CONNECT_TIMEOUT": "1",
    "MLAPI_DOWNLOAD_TIMEOUT": "2",
}


@dataclass(frozen=True)
class FuzzTarget:
    """A server configuration to fuzz, and the headers every request carries to it."""

    name: str
    env: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    #: Whether the requests carry no valid key for a server that wants one: valid data
    #: is then refused 401 on every route that declares a key.
    keyless: bool = False


#: The key the keyed configurations know; requests of the "keyed" run send it.
KEY = "mlapi_fuzzing-admin-key-0123456789"
#: A predict key besides it, so that the predict routes need a key too.
PREDICT_KEY = "mlapi_fuzzing-predict-key-0123456789"

_KEYS = json.dumps(
    [
        {"name": "fuzz", "scope": "admin", "sha256": hashlib.sha256(KEY.encode()).hexdigest()},
        {
            "name": "reader",
            "scope": "predict",
            "sha256": hashlib.sha256(PREDICT_KEY.encode()).hexdigest(),
        },
    ]
)
_KEYED = {**CHEAP_TRAINING, "MLAPI_API_KEYS": _KEYS, "MLAPI_DEV_MODE": "false"}

#: The configurations fuzzed, every test of the module run per entry: development mode
#: without keys (as ``make run``), a server with keys fuzzed with the admin key, and the
#: same server fuzzed without any key (every route but the open ones 401).
TARGETS = [
    FuzzTarget("dev-mode", env={**CHEAP_TRAINING, "MLAPI_DEV_MODE": "true"}),
    # The key in both of its headers: schemathesis would fill a missing one with a guess,
    # and a request naming two different keys is refused.
    FuzzTarget("keyed", env=_KEYED, headers={"Authorization": f"Bearer {KEY}", "X-API-Key": KEY}),
    FuzzTarget("no-key", env=_KEYED, keyless=True),
]


@dataclass
class FuzzRun:
    """What one configuration's run sent."""

    requests: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        """Requests sent, over all operations."""
        return sum(self.requests.values())


@pytest.fixture(scope="module", params=TARGETS, ids=lambda target: target.name)
def fuzz_target(request: pytest.FixtureRequest) -> FuzzTarget:
    """The configuration being fuzzed."""
    target: FuzzTarget = request.param
    return target


@pytest.fixture(scope="module")
def servers_by_settings() -> Iterator[dict[str, LiveServer]]:
    """The servers started for the module, by their settings; stopped at its end."""
    started: dict[str, LiveServer] = {}
    yield started
    for server in started.values():
        server.stop()


@pytest.fixture(scope="module")
def fuzz_server(
    fuzz_target: FuzzTarget,
    servers_by_settings: dict[str, LiveServer],
    tmp_path_factory: pytest.TempPathFactory,
) -> LiveServer:
    """A server for each configuration's settings, on a throwaway model store.

    Configurations with the same settings share one (the keyed server is fuzzed with
    the admin key, then with none). Fuzzing trains, activates and deletes versions there
    at will; the served model survives it all, since the active version cannot be
    deleted (409).
    """
    settings = json.dumps(fuzz_target.env, sort_keys=True)
    if settings not in servers_by_settings:
        folder: Path = tmp_path_factory.mktemp(f"fuzz-{fuzz_target.name}")
        servers_by_settings[settings] = start_server(folder, extra_env=fuzz_target.env)
    return servers_by_settings[settings]


@pytest.fixture(scope="module")
def fuzz_run(fuzz_target: FuzzTarget) -> FuzzRun:
    """The count of requests sent to the configuration's server."""
    return FuzzRun()


@pytest.fixture(scope="module")
def api_schema(fuzz_server: LiveServer, fuzz_target: FuzzTarget) -> OpenApiSchema:
    """The server's OpenAPI document, as schemathesis tests it."""
    refused = ["401"] if fuzz_target.keyless else []
    config = schemathesis.Config.from_dict(
        {
            "seed": 16,
            "request-timeout": 30,
            "headers": fuzz_target.headers,
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "database": "none",
                "no-shrink": True,
            },
            "checks": {"enabled": True},
            "operations": [
                {
                    # A row's width and the kinds of its values are the served model's
                    # (four numbers for Iris), which the document shows in descriptions
                    # and examples but not in its schemas, the same for every model:
                    # valid-looking rows of another width get 422.
                    "include-path": ["/predict", "/v1/predict"],
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "404", "422", *refused],
                        }
                    },
                },
                {
                    # The same for the Open Inference Protocol's tensors (their width and
                    # datatypes are the served model's), and whether a tensor's data fill
                    # its shape and are of its datatype is a relation between fields that
                    # a JSON schema cannot state: valid-looking tensors get 400. A version
                    # asked for by number may not exist (404).
                    "include-path-regex": "^/v2/models/[^/]+(/versions/[^/]+)?/infer$",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "400", "404", *refused],
                        }
                    },
                },
                {
                    # Which versions exist is the registry's, which the document does not
                    # carry: a version asked for by number may not exist (404).
                    "include-path-regex": "^/v2/models/[^/]+/versions/",
                    "checks": {
                        "positive_data_acceptance": {"expected-statuses": ["2xx", "404", *refused]},
                    },
                },
                {
                    # Whether a valid-looking request can train is this server's state
                    # and settings, which the document does not carry: a data set name
                    # must be one it has, a `file:` URL needs MLAPI_DATASET_ALLOW_FILE,
                    # and a request naming no algorithm has its hyperparameters checked
                    # against the configured default algorithm's.
                    # And a full training queue (MLAPI_MAX_QUEUED_JOBS) answers 429.
                    "include-path": "/v1/train",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "422", "429", *refused]
                        },
                    },
                },
                {
                    # The article's route queues a job as /v1/train does: 429 when full.
                    "include-path": "/train",
                    "checks": {
                        "positive_data_acceptance": {"expected-statuses": ["2xx", "429", *refused]},
                    },
                },
            ],
        }
    )
    return schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json", config=config)


# schemathesis's lazy schemas rename the running test after each operation through
# ``Node._nodeid``, which pytest 9.2 no longer has (its ``nodeid`` is built from ``_id``);
# without the rename, failures are still named by the operation's subtest label.
if pytest.version_tuple >= (9, 2):
    pytest.Function._nodeid = property(  # type: ignore[attr-defined]
        lambda item: item.nodeid, lambda item, value: None
    )

schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_server_conforms_to_its_document(case: Case, fuzz_run: FuzzRun) -> None:
    fuzz_run.requests[f"{case.method} {case.path}"] += 1
    case.call_and_validate()


def test_fuzzing_sent_enough_requests(
    fuzz_run: FuzzRun,
    fuzz_target: FuzzTarget,
    record_property: Callable[[str, object], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Counts what test_server_conforms_to_its_document sent just before, on this server.
    record_property("generated_requests", fuzz_run.total)
    with capsys.disabled():
        print(
            f"\nschemathesis ({fuzz_target.name}): {fuzz_run.total} requests "
            f"to {len(fuzz_run.requests)} method and path pairs"
        )
    assert fuzz_run.total >= MIN_REQUESTS, f"run the whole module; sent {dict(fuzz_run.requests)}"
