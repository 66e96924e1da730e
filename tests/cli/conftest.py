"""What the ``mlapi`` command's tests share: an in-process runner and one live server.

In-process tests run ``mlapi`` through Typer's runner on a registry private to the test.
The ``--url`` tests all talk to one ``mlapi serve`` subprocess started for the package
(starting a server takes seconds); the ``live_server`` fixture puts its active version
back after each test, so no test depends on what an earlier one activated.
"""

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from mlapi.cli import cli
from tests.e2e.conftest import LiveServer, start_server

#: A setosa row: the bundled decision tree is certain of it, gradient boosting is not.
SETOSA = "5.1,3.5,1.4,0.2"

runner = CliRunner()

Mlapi = Callable[..., Result]


@pytest.fixture
def mlapi(tmp_path: Path) -> Mlapi:
    """Run ``mlapi`` in-process on a registry private to the test.

    The returned function takes the arguments, and ``exit_code`` (0 by default) to check.
    """
    env = {"MLAPI_MODEL_DIR": str(tmp_path / "models"), "MLAPI_CACHE_DIR": str(tmp_path / "cache")}

    def invoke(*args: str, exit_code: int = 0) -> Result:
        result = runner.invoke(cli, list(args), env=env)
        assert result.exit_code == exit_code, result.output
        return result

    return invoke


def listed_versions(output: str) -> dict[int, bool]:
    """Read ``mlapi models list``'s table: each version and whether it is marked active."""
    rows = re.findall(r"^\W\s*(\d+)\s*\W\s*(\*?)\s*\W", output, flags=re.MULTILINE)
    return {int(version): marker == "*" for version, marker in rows}


def as_json(result: Result) -> Any:
    """Parse a command's standard output as JSON."""
    return json.loads(result.stdout)


def active_version(server: LiveServer) -> int:
    """The version a server's registry records as active."""
    with server.client() as client:
        response = client.get("/v1/models", params={"limit": 500})
    assert response.status_code == 200, response.text
    [version] = [item["version"] for item in response.json()["items"] if item["active"]]
    return int(version)


@pytest.fixture(scope="package")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One ``mlapi serve`` subprocess for every ``--url`` test of the package."""
    server = start_server(tmp_path_factory.mktemp("cli-server"))
    yield server
    server.stop()


@pytest.fixture
def live_server(shared_server: LiveServer) -> Iterator[LiveServer]:
    """The shared server, with the version active before the test active again after it."""
    before = active_version(shared_server)
    yield shared_server
    if active_version(shared_server) != before:
        with shared_server.client() as client:
            response = client.post(f"/v1/models/{before}/activate")
        assert response.status_code == 200, response.text
