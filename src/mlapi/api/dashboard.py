"""The registry dashboard at ``/ui``: a page, its script and its styles, all served here.

The page is static: it holds no data and needs no key to load. Its script
(``ui/assets/dashboard.js``, plain JavaScript modules, no build step) reads and changes
the registry through the public API, with the key the user types in where the server
asks for one, so the dashboard can do nothing the API would not let that key do, and
shows the API's own problem details when it refuses. Every file comes from this
package: the page works without internet access, and its content security policy
(:data:`mlapi.api.headers.DASHBOARD_POLICY`) lets it load nothing from anywhere else.
"""

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

#: The page.
DASHBOARD = "/ui"
#: Where its script and styles are served from.
DASHBOARD_ASSETS = "/ui/assets"

#: The folder of the page (``index.html``) and of its ``assets/``.
FOLDER = Path(str(files("mlapi.api") / "ui"))


def install_dashboard(app: FastAPI) -> None:
    """Serve the dashboard page at :data:`DASHBOARD` and its files under :data:`DASHBOARD_ASSETS`.

    The page names its files and the API's routes by relative addresses, so it works
    behind a proxy that serves the app under a prefix (``/ui/`` redirects to ``/ui``).
    """
    app.mount(DASHBOARD_ASSETS, StaticFiles(directory=FOLDER / "assets"), name="ui-assets")

    async def dashboard(request: Request) -> FileResponse:
        return FileResponse(FOLDER / "index.html", media_type="text/html; charset=utf-8")

    app.add_route(DASHBOARD, dashboard, include_in_schema=False)
