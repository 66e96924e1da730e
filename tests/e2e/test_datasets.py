"""Training on data packages fetched over HTTP: real ones train, hostile ones fail cleanly.

A real ``mlapi serve`` fetches packages from an HTTP server run by the test on
127.0.0.1, which the server is told to allow. Real packages (wine, and pets with a
categorical column and gaps) are packed with ``mlapi dataset pack`` and train, become
active and serve their own width and class names. Hostile ones (path escapes, links,
bombs, slow or oversized bodies, redirects inwards, bad CSVs) each fail their job with
a clear reason, activate nothing and leave nothing behind.
"""

import hashlib
import json
import re
import shlex
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from operator import attrgetter
from pathlib import Path
from typing import Any

import httpx
import pytest
from markdown_it import MarkdownIt

from tests.e2e import packages
from tests.e2e.conftest import LiveServer, start_server, wait_for_job

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
DOWNLOAD_TIMEOUT_SECONDS = 3
IRIS_ROW = [5.1, 3.5, 1.4, 0.2]

#: Writes an answer to one request.
Respond = Callable[[BaseHTTPRequestHandler], None]


class PackageServer:
    """Serves data packages on 127.0.0.1 over HTTP, and notes each path asked for."""

    def __init__(self) -> None:
        self.routes: dict[str, Respond] = {}
        self.requested: list[str] = []
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def add(self, path: str, respond: Respond) -> str:
        """Answer requests for ``path`` with ``respond``; return the path's URL."""
        self.routes[path] = respond
        return f"http://127.0.0.1:{self._http.server_address[1]}{path}"

    def close(self) -> None:
        """Stop serving."""
        self._http.shutdown()
        self._http.server_close()


def _handler(server: PackageServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.requested.append(self.path)
            respond = server.routes.get(self.path)
            try:
                if respond is None:
                    self.send_error(404)
                else:
                    respond(self)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the download gave up on this body, as it should

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def file(body: bytes) -> Respond:
    """Answer with ``body``, its length announced."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def zeros(size: int, *, announced: bool) -> Respond:
    """Answer with ``size`` zero bytes, their length announced or not (then ended by closing)."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        if announced:
            handler.send_header("Content-Length", str(size))
        handler.end_headers()
        block = bytes(1024 * 1024)
        for _ in range(size // len(block)):
            handler.wfile.write(block)

    return respond


def drip(size: int = 100, interval: float = 0.2) -> Respond:
    """Answer with ``size`` bytes, one every ``interval`` seconds."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        for _ in range(size):
            handler.wfile.write(b"P")
            time.sleep(interval)

    return respond


def redirect(location: str) -> Respond:
    """Answer 302 Found, sending the client to ``location``."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return respond


@dataclass(frozen=True)
class Package:
    """A package file the package server serves."""

    path: Path
    url: str

    @property
    def sha256(self) -> str:
        """The SHA-256 of the file, as hexadecimal."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def package_server() -> Iterator[PackageServer]:
    """The test's own HTTP server of data packages."""
    server = PackageServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def datasets_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One mlapi server for the module, allowed to fetch from 127.0.0.1, with tight caps."""
    server = start_server(
        tmp_path_factory.mktemp("datasets-server"),
        extra_env={
            "MLAPI_DATASET_ALLOWED_NETWORKS": "127.0.0.1/32",
            "MLAPI_DOWNLOAD_MAX_BYTES": str(MAX_DOWNLOAD_BYTES),
            "MLAPI_DOWNLOAD_TIMEOUT": str(DOWNLOAD_TIMEOUT_SECONDS),
        },
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def wine(tmp_path_factory: pytest.TempPathFactory, package_server: PackageServer) -> Package:
    """Scikit-learn's wine data, packed as ``wine.zip`` by the CLI and served."""
    folder = tmp_path_factory.mktemp("wine")
    source = packages.write_wine_csv(folder / "wine.csv")
    path = packages.pack(source, "cultivar", folder / "wine.zip")
    return Package(path, package_server.add("/packages/wine.zip", file(path.read_bytes())))


@pytest.fixture(scope="module")
def pets(tmp_path_factory: pytest.TempPathFactory, package_server: PackageServer) -> Package:
    """Synthetic cats and dogs, with a categorical column and gaps, packed as ``.tar.gz``."""
    folder = tmp_path_factory.mktemp("pets")
    source = packages.write_pets_csv(folder / "pets.csv")
    path = packages.pack(source, "kind", folder / "pets.tar.gz")
    return Package(path, package_server.add("/packages/pets.tar.gz", file(path.read_bytes())))


def _train(client: httpx.Client, dataset: object) -> dict[str, Any]:
    queued = client.post("/v1/train", json={"dataset": dataset})
    assert queued.status_code == 202, queued.text
    return wait_for_job(client, queued.headers["location"])


def _trained(client: httpx.Client, dataset: object) -> dict[str, Any]:
    """Train on ``dataset`` and return the model now served, which must be the new one."""
    job = _train(client, dataset)
    assert job["state"] == "succeeded", job
    model: dict[str, Any] = client.get("/v1/model").json()
    assert model["version"] == job["model_version"]
    return model


def _pointers(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    return [error["pointer"] for error in answer.json()["errors"]]


def test_wine_package_trains_with_its_checksum_and_serves_its_width_and_classes(
    datasets_server: LiveServer, wine: Package
) -> None:
    wine_rows = [[14.23, 1.71, 2.43, 15.6, 127, 2.8, 3.06, 0.28, 2.29, 5.64, 1.04, 3.92, 1065]]
    with datasets_server.client() as client:
        model = _trained(client, {"url": wine.url, "sha256": wine.sha256})
        article = client.post("/predict", json={"data": wine_rows})
        iris_width = client.post("/predict", json={"data": [wine_rows[0], IRIS_ROW]})
        named = client.post("/v1/predict", json={"data": wine_rows})

    assert (model["dataset_name"], model["dataset_url"]) == ("wine", wine.url)
    assert model["dataset_sha256"] == wine.sha256
    assert len(model["feature_names"]) == 13
    assert model["feature_names"][0] == "alcohol"
    assert model["feature_types"] == ["number"] * 13
    assert model["class_names"] == sorted(packages.CULTIVARS)
    assert article.status_code == 200, article.text
    assert article.json().keys() == {"prediction", "probability"}
    assert article.json()["prediction"] == [model["class_names"].index("barolo")]
    assert len(article.json()["probability"][0]) == 3
    assert _pointers(iris_width) == ["#/data/1"]
    assert named.status_code == 200, named.text
    assert named.json()["labels"] == ["barolo"]
    assert named.json()["model_version"] == model["version"]


def test_data_set_fetched_before_trains_again_by_its_name(
    datasets_server: LiveServer, wine: Package
) -> None:
    with datasets_server.client() as client:
        first = _trained(client, {"url": wine.url})
        again = _trained(client, "wine")

    assert again["version"] > first["version"]
    assert (again["dataset_name"], again["dataset_url"]) == ("wine", wine.url)
    assert again["dataset_sha256"] == wine.sha256
    assert again["dataset_checksum"] == first["dataset_checksum"]


def test_pets_package_with_categories_and_gaps_takes_text_nulls_and_named_values(
    datasets_server: LiveServer, pets: Package
) -> None:
    with datasets_server.client() as client:
        model = _trained(client, {"url": pets.url})
        rows = client.post(
            "/v1/predict", json={"data": [[None, "ginger", 3], [30.5, "black", None]]}
        )
        named = client.post(
            "/v1/predict", json={"data": [{"weight": 3.5, "colour": "tabby", "age": 2}]}
        )
        number_colour = client.post("/v1/predict", json={"data": [[4.2, "ginger", 2], [4.2, 7, 2]]})
        iris_width = client.post("/predict", json={"data": [IRIS_ROW]})

    assert (model["dataset_name"], model["dataset_url"]) == ("pets", pets.url)
    assert model["dataset_sha256"] == pets.sha256
    assert model["feature_names"] == ["weight", "colour", "age"]
    assert model["feature_types"] == ["number", "string", "integer"]
    assert model["class_names"] == ["cat", "dog"]
    assert rows.status_code == 200, rows.text
    assert rows.json()["labels"][1] == "dog"
    assert set(rows.json()["labels"]) <= {"cat", "dog"}
    assert named.status_code == 200, named.text
    assert named.json()["labels"] == ["cat"]
    assert _pointers(number_colour) == ["#/data/1/1"]
    assert _pointers(iris_width) == ["#/data/0"]


def test_default_settings_refuse_a_loopback_package_without_asking_for_it(
    server_factory: Callable[..., LiveServer], package_server: PackageServer, wine: Package
) -> None:
    url = package_server.add("/loopback/wine.zip", file(wine.path.read_bytes()))
    server = server_factory()
    with server.client() as client:
        version = client.get("/v1/model").json()["version"]
        job = _train(client, {"url": url})
        after = client.get("/v1/model").json()["version"]

    assert job["state"] == "failed"
    assert "127.0.0.1 is a loopback address" in job["error"]
    assert "MLAPI_DATASET_ALLOWED_NETWORKS" in job["error"]
    assert after == version
    assert "/loopback/wine.zip" not in package_server.requested


def test_file_url_is_refused_with_422_and_queues_no_job(
    datasets_server: LiveServer, wine: Package
) -> None:
    with datasets_server.client() as client:
        jobs = client.get("/v1/jobs").json()["total"]
        answer = client.post("/v1/train", json={"dataset": {"url": wine.path.as_uri()}})
        after = client.get("/v1/jobs").json()["total"]

    assert _pointers(answer) == ["#/dataset/url"]
    assert after == jobs


@dataclass(frozen=True)
class Hostile:
    """A hostile package, or answer, and what the job's error must say about it."""

    name: str
    reason: str
    archive: Callable[[], bytes] | None = None
    """Builds the package file served; built when its case runs, once."""
    respond: Respond | None = None
    """The server's answer instead of a package file."""
    sha256: str | None = None
    """The checksum the training request gives."""

    def answer(self) -> Respond:
        """The package server's answer: the hostile one, or the package file, built now."""
        if self.respond is not None:
            return self.respond
        assert self.archive is not None
        return file(self.archive())


def _valid_pets() -> bytes:
    return packages.package_zip([["4.1", "ginger", "3", "cat"], ["25.0", "black", "4", "dog"]])


def _link_tar(kind: bytes, linkname: str) -> Callable[[], bytes]:
    # A link out of the folder, then a file written through it (or over its target).
    return lambda: packages.tar_gz_of(
        [
            (packages.tar_member("escape", kind, linkname), b""),
            (packages.tar_member("escape/evil.csv"), b"pwned"),
        ]
    )


HOSTILE = [
    Hostile(
        "zip-slip",
        "'../evil.csv' points outside the package",
        lambda: packages.zip_of({**packages.package_members([]), "../evil.csv": b"pwned"}),
    ),
    Hostile(
        "tar-gz-dot-dot",
        "'../../evil.csv' points outside the package",
        lambda: packages.tar_gz_of([(packages.tar_member("../../evil.csv"), b"pwned")]),
    ),
    Hostile("tar-symlink", "'escape' is a symbolic link", _link_tar(tarfile.SYMTYPE, "../..")),
    Hostile(
        "tar-hard-link", "'escape' is a hard link", _link_tar(tarfile.LNKTYPE, "../../evil.csv")
    ),
    Hostile("zip-bomb-1-gib", "expands to over", lambda: packages.zip_bomb(1024**3)),
    Hostile("zip-of-100k-members", "over 1000 members", lambda: packages.many_members_zip(100_000)),
    Hostile("checksum-mismatch", "checksum mismatch", _valid_pets, sha256="0" * 64),
    Hostile(
        "oversized-announced",
        f"over the {MAX_DOWNLOAD_BYTES} cap",
        respond=zeros(MAX_DOWNLOAD_BYTES + 1024**2, announced=True),
    ),
    Hostile(
        "oversized-unannounced",
        f"over the {MAX_DOWNLOAD_BYTES}-byte cap",
        respond=zeros(MAX_DOWNLOAD_BYTES + 1024**2, announced=False),
    ),
    Hostile("slow-drip", f"took over {DOWNLOAD_TIMEOUT_SECONDS}", respond=drip()),
    Hostile(
        "redirect-to-private",
        "10.255.255.1 is a private address",
        respond=redirect("http://10.255.255.1/x.zip"),
    ),
    Hostile(
        "redirect-to-cloud-metadata",
        "169.254.169.254 is a cloud metadata address",
        respond=redirect("http://169.254.169.254/latest/meta-data/"),
    ),
    Hostile(
        "csv-word-in-number-column",
        "row 3, field 'weight': 'abc' is not a finite number",
        lambda: packages.package_zip([["4.1", "ginger", "3", "cat"], ["abc", "black", "4", "dog"]]),
    ),
    Hostile(
        "csv-ragged-row",
        "row 3: has 5 values, not 4",
        lambda: packages.package_zip(
            [["4.1", "ginger", "3", "cat"], ["25.0", "black", "4", "dog", "extra"]]
        ),
    ),
    Hostile(
        "csv-missing-target",
        "row 3, field 'kind': the target is missing",
        lambda: packages.package_zip([["4.1", "ginger", "3", "cat"], ["25.0", "black", "4", ""]]),
    ),
    Hostile(
        "csv-single-class",
        "has one class; a classifier needs two",
        lambda: packages.package_zip([["4.1", "ginger", "3", "cat"], ["3.9", "white", "4", "cat"]]),
    ),
]


def _cache_files(cache: Path) -> dict[str, int]:
    return {
        str(path.relative_to(cache)): path.stat().st_size
        for path in cache.rglob("*")
        if path.is_file()
    }


@pytest.mark.parametrize("case", HOSTILE, ids=attrgetter("name"))
def test_hostile_package_fails_its_job_activates_nothing_and_leaves_nothing(
    case: Hostile,
    datasets_server: LiveServer,
    package_server: PackageServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    path = f"/hostile/{case.name}.zip"
    url = package_server.add(path, case.answer())
    cache = Path(datasets_server.env["MLAPI_CACHE_DIR"])
    with datasets_server.client() as client:
        version = client.get("/v1/model").json()["version"]
        files = _cache_files(cache)
        job = _train(client, {"url": url, "sha256": case.sha256})
        after = client.get("/v1/model").json()["version"]

    print(f"\n{case.name}: {job['error']}")
    assert job["state"] == "failed"
    assert case.reason in job["error"]
    assert path in package_server.requested
    assert after == version
    assert _cache_files(cache) == files
    assert not list(cache.rglob("dataset-*"))
    assert not list(tmp_path_factory.getbasetemp().rglob("evil.csv"))


def test_card_of_a_version_trained_on_a_package_describes_it_and_its_example_answers(
    datasets_server: LiveServer, pets: Package
) -> None:
    with datasets_server.client() as client:
        model = _trained(client, {"url": pets.url})
        card = client.get(f"/v1/models/{model['version']}/card")
        html = client.get(f"/v1/models/{model['version']}/card", headers={"Accept": "text/html"})
        fence = next(t for t in MarkdownIt().parse(card.text) if t.type == "fence")
        command = shlex.split(fence.content.replace("\\\n", " "))
        example = client.post("/v1/predict", json=json.loads(command[command.index("-d") + 1]))

    assert card.status_code == 200, card.text
    assert card.headers["content-type"] == "text/markdown; charset=utf-8"
    assert card.text.startswith(f"# Model card of version {model['version']}\n")
    assert f"- Package SHA-256: {pets.sha256}" in card.text
    assert "data set pets into one of its 2 classes (cat, dog)" in card.text
    assert re.search(r"\|\s+2\s+\|\s+colour\s+\|\s+string\s+\|", card.text)
    assert model["checksum"] in card.text
    assert html.status_code == 200, html.text
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.text.startswith(f"<h1>Model card of version {model['version']}</h1>")
    assert "<td>colour</td>" in html.text
    assert example.status_code == 200, example.text
    assert example.json()["model_version"] == model["version"]
    assert set(example.json()["labels"]) <= {"cat", "dog"}
