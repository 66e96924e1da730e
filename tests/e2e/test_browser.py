"""The documentation pages in a real browser, with no way out to the internet.

Swagger UI and ReDoc must render from what the server sends (see
:mod:`tests.e2e.browsing`): on a machine without internet access they would otherwise be
blank pages.
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.e2e.browsing import Visit, visiting
from tests.e2e.conftest import LiveServer


@pytest.fixture
def visit(browser: Browser, shared_server: LiveServer) -> Iterator[Visit]:
    """A fresh page on the shared server, cut off from every other host."""
    with visiting(browser, shared_server.url) as seen:
        yield seen


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
    visit.wait_until_shown(operations.first)

    assert operations.count() == _operations(shared_server)
    assert visit.page.locator(".title").first.inner_text().startswith("MLAPI Template")
    assert visit.outside == []
    assert visit.errors == []


def test_redoc_renders_offline(visit: Visit, shared_server: LiveServer) -> None:
    answer = visit.page.goto("/redoc")
    assert answer is not None
    assert answer.status == 200
    visit.wait_until_shown(visit.page.locator("h1").first)
    # ReDoc lists each operation in its side menu once it has read the document.
    visit.wait_until_shown(visit.page.get_by_text("POST /predict").first, "attached")

    assert "MLAPI Template" in visit.page.locator("h1").first.inner_text()
    assert visit.outside == []
    assert visit.errors == []
