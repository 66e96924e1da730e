"""A real browser for the end-to-end tests: headless Chromium cut off from the internet.

Headless Chromium (Debian's package, which ``scripts/ensure-chromium.sh`` installs; make
test passes its path in ``PYTEST_CHROMIUM``) is driven by Playwright against a real
server. Every request a page makes to another host is aborted and recorded, as on a
network without internet access: the pages must work from what the server sends. The
``browser`` fixture (in ``conftest.py``) launches it once per test module.
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, Route, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

#: Set by make test: a missing browser fails the tests instead of skipping them.
REQUIRE_BROWSER = bool(os.environ.get("PYTEST_REQUIRE_BROWSER"))
#: Most milliseconds a page may take to render (a safety net, not a measure).
RENDER_MS = 30_000
#: Where the tests' screenshots go, if set (``make screenshots`` sets it to the docs').
SCREENSHOTS = os.environ.get("MLAPI_SCREENSHOTS")


def chromium() -> str:
    """The path of Chromium; skips the test (fails it under make test) if there is none."""
    path = os.environ.get("PYTEST_CHROMIUM") or shutil.which("chromium")
    if path is None:
        message = "no Chromium: run through make test, or set PYTEST_CHROMIUM"
        if REQUIRE_BROWSER:
            pytest.fail(message)
        pytest.skip(message)
    return path


@contextmanager
def launched() -> Iterator[Browser]:
    """Launch headless Chromium for as long as the block runs."""
    with sync_playwright() as playwright:
        # The sandbox needs user namespaces, which a container running as root lacks.
        browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield browser
        browser.close()


@dataclass
class Visit:
    """A page, what it wrote to the console as errors, and what it tried to fetch outside."""

    page: Page
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def wait_until_shown(
        self, locator: Locator, state: Literal["attached", "visible"] = "visible"
    ) -> None:
        """Wait for ``locator``, or fail saying what the page fetched elsewhere and logged."""
        try:
            locator.wait_for(state=state, timeout=RENDER_MS)
        except PlaywrightTimeout:
            pytest.fail(
                f"{self.page.url} did not render: requests to other hosts {self.outside}, "
                f"console errors {self.errors}"
            )

    def screenshot(
        self, name: str, folder: Path, *, full_page: bool = True, part: Locator | None = None
    ) -> Path:
        """Save the page, what the screen shows of it, or one ``part`` of it as ``name``.

        It goes to :data:`SCREENSHOTS` if set, else to ``folder``.
        """
        path = Path(SCREENSHOTS or folder) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if part is not None:
            part.screenshot(path=path, animations="disabled")
        else:
            self.page.screenshot(path=path, full_page=full_page, animations="disabled")
        return path


@contextmanager
def visiting(
    browser: Browser, url: str, viewport: tuple[int, int] = (1280, 900)
) -> Iterator[Visit]:
    """A fresh page on the server at ``url``, cut off from every other host."""
    server = urlsplit(url).netloc
    context = browser.new_context(
        base_url=url, viewport={"width": viewport[0], "height": viewport[1]}
    )
    page = context.new_page()
    page.set_default_timeout(RENDER_MS)
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
    try:
        yield seen
    finally:
        context.close()
