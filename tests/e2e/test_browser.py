"""The documentation pages in a real browser, with no way out to the internet.

Headless Chromium (Debian's package, which ``scripts/ensure-chromium.sh`` installs; make
test passes its path in ``PYTEST_CHROMIUM``) is driven by Playwright against a real
server. Every request the page makes to another host is aborted and recorded, as on a
network without internet access: the pages must render from what the server sends.
"""

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    Route,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import LiveServer

#: Set by make test: a missing browser fails the tests instead of skipping them.
REQUIRE_BROWSER = bool(os.environ.get("PYTEST_REQUIRE_BROWSER"))
#: Most milliseconds a page may take to render (a safety net, not a measure).
RENDER_MS = 30_000


def _chromium() -> str:
    path = os.environ.get("PYTEST_CHROMIUM") or shutil.which("chromium")
    if path is None:
        message = "no Chromium: run through make test, or set PYTEST_CHROMIUM"
        if REQUIRE_BROWSER:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium, for the module's tests."""
    with sync_playwright() as playwright:
        # The sandbox needs user namespaces, which a container running as root lacks.
        launched = playwright.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Visit:
    """A page, what it wrote to the console as errors, and what it tried to fetch outside."""

    page: Page
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


@pytest.fixture
def visit(browser: Browser, shared_server: LiveServer) -> Iterator[Visit]:
    """A fresh page on the shared server, cut off from every other host."""
    server = urlsplit(shared_server.url).netloc
    context = browser.new_context(base_url=shared_server.url)
    page = context.new_page()
    seen = Visit(page)

    def only_the_server(route: Route) -> None:
        if urlsplit(route.request.url).netloc == server or route.request.url.startswith(
            ("data:", "blob:")
        ):
            route.continue_()
        else:
            seen.outside.append(route.request.url)
            route.abort()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.errors.append(message.text)

    page.route("**/*", only_the_server)
    page.on("console", console)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    yield seen
    context.close()


def _wait_until_shown(
    visit: Visit, locator: Locator, state: Literal["attached", "visible"] = "visible"
) -> None:
    """Wait for ``locator``, or fail saying what the page fetched elsewhere and logged."""
    try:
        locator.wait_for(state=state, timeout=RENDER_MS)
    except PlaywrightTimeout:
        pytest.fail(
            f"{visit.page.url} did not render: requests to other hosts {visit.outside}, "
            f"console errors {visit.errors}"
        )


def _operations(server: LiveServer) -> int:
    with server.client() as client:
        document = client.get("/openapi.json").json()
    methods = {"get", "post", "put", "patch", "delete", "head", "options"}
    return sum(len(methods & set(item)) for item in document["paths"].values())


def test_swagger_ui_renders_every_operation_offline(
    visit: Visit, shared_server: LiveServer
) -> None:
    answer = visit.page.goto("/docs")
    assert answer is not None
    assert answer.status == 200
    operations = visit.page.locator(".opblock")
    _wait_until_shown(visit, operations.first)

    assert operations.count() == _operations(shared_server)
    assert visit.page.locator(".title").first.inner_text().startswith("MLAPI Template")
    assert visit.outside == []
    assert visit.errors == []


def test_redoc_renders_offline(visit: Visit, shared_server: LiveServer) -> None:
    answer = visit.page.goto("/redoc")
    assert answer is not None
    assert answer.status == 200
    _wait_until_shown(visit, visit.page.locator("h1").first)
    # ReDoc lists each operation in its side menu once it has read the document.
    _wait_until_shown(visit, visit.page.get_by_text("POST /predict").first, "attached")

    assert "MLAPI Template" in visit.page.locator("h1").first.inner_text()
    assert visit.outside == []
    assert visit.errors == []
