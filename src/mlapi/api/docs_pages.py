"""Swagger UI and ReDoc, their scripts, styles and icons served by the app itself.

FastAPI's own documentation pages load Swagger UI and ReDoc from a public CDN, so on a
machine without internet access (an air-gapped cluster, a government network) ``/docs``
is a blank page. Here the same pages, rendered by FastAPI's own functions, point at
copies served from :data:`ASSETS`: the files that the ``fastapi-standalone-docs`` package
ships (Swagger UI, ReDoc and FastAPI's icon, with their licences), pinned like every
dependency. Only its files are used, not its code, which patches FastAPI's functions for
every app in the process.
"""

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse
from starlette.staticfiles import StaticFiles

#: Where the pages' scripts, styles and icons are served from.
ASSETS = "/docs/assets"
#: The Swagger UI page, as the article shows it.
SWAGGER_UI = "/docs"
#: Where Swagger UI returns after an OAuth2 sign-in (FastAPI's default path).
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
#: The ReDoc page.
REDOC = "/redoc"
#: ReDoc's "powered by" logo, which its script loads from beside the page.
REDOC_LOGO = "/redoc/logo-mini.svg"
#: The HTML pages, whose content security policy allows their own inline script.
PAGES = (SWAGGER_UI, OAUTH2_REDIRECT, REDOC)

#: The folder of the files the package ships: ``swagger/``, ``redoc/`` and ``fastapi/``.
STATIC = Path(str(files("fastapi_standalone_docs") / "static"))


def install_docs_pages(app: FastAPI) -> None:
    """Serve the Swagger UI and ReDoc pages, and the files they load, from ``app``.

    The app must be made with ``docs_url=None`` and ``redoc_url=None`` (FastAPI's pages
    would load the files from the CDN). The pages take the request's root path into
    account, as FastAPI's do, so they work behind a proxy that serves the app under a
    prefix.
    """
    app.mount(ASSETS, StaticFiles(directory=STATIC), name="docs-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS}/swagger/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/fastapi/favicon.png",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT}",
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/fastapi/favicon.png",
            with_google_fonts=False,
        )

    async def redoc_logo(request: Request) -> FileResponse:
        return FileResponse(STATIC / "redoc" / "logo-mini.svg", media_type="image/svg+xml")

    app.add_route(SWAGGER_UI, swagger_ui, include_in_schema=False)
    app.add_route(OAUTH2_REDIRECT, oauth2_redirect, include_in_schema=False)
    app.add_route(REDOC, redoc, include_in_schema=False)
    app.add_route(REDOC_LOGO, redoc_logo, include_in_schema=False)
