"""The REST app: :func:`create_app` wires settings, the service, routes and errors.

``app`` is the article's module-level instance, so ``uvicorn mlapi.main:app`` serves it.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import RedirectResponse
from fastapi.telemetry import TelemetryConfig

from mlapi.api.access import SECURITY_SCHEMES, Access, rule_for
from mlapi.api.dashboard import install_dashboard
from mlapi.api.docs_pages import install_docs_pages
from mlapi.api.documents import ServedDocuments
from mlapi.api.errors import install_error_handlers
from mlapi.api.guard import AccessMiddleware
from mlapi.api.headers import install_browser_layers
from mlapi.api.middleware import BodyReader, RequestLimitsMiddleware
from mlapi.api.observe import Observe
from mlapi.api.quick import QuickPredict
from mlapi.api.routes import (
    audit,
    catalogue,
    health,
    inference,
    jobs,
    metrics,
    models,
    predict,
    seed,
)
from mlapi.api.routes._responses import drop_unanswered_validation_errors, error_responses
from mlapi.api.schemas import Problem
from mlapi.keys import Scope
from mlapi.logs import configure as configure_logging
from mlapi.metrics import Metrics
from mlapi.serving.service import Service
from mlapi.settings import Settings

DESCRIPTION = """
API for ml model: classify observations with a trained model, retrain it, and see what
it is. The article's routes (`POST /predict`, `POST /train`) are unchanged; the versioned
routes under `/v1` add class names, model versions, model details and health probes.

Errors are `application/problem+json` (RFC 9457) bodies whose `errors` list names each
offending field.

Routes that change models need an API key of the `admin` scope; predict and read routes
need one of the `predict` scope once such keys are configured. Send it with *Authorize*
below, or as `Authorization: Bearer <key>` or `X-API-Key: <key>`.
"""

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application.

    Args:
        settings: Configuration; read from the environment and config file if None.

    Returns:
        The FastAPI app. Its model loads in the background once it starts, and
        ``/v1/health/ready`` answers 200 from then on.
    """
    settings = settings or Settings()
    configure_logging(settings.log_level.value, settings.log_format)
    service = Service(settings, metrics=Metrics(settings.metrics_dir))
    access = Access(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.dev_mode and not access.keyring.admin_keys:
            logger.warning(
                "development mode: anyone who reaches this server can train, activate and "
                "delete models; configure MLAPI_API_KEYS and drop MLAPI_DEV_MODE in production"
            )
        async with service.running():
            yield
        service.metrics.flush()  # the last second's counts, before the process ends

    app = FastAPI(
        title="MLAPI Template",
        description=DESCRIPTION,
        version="1.0",
        lifespan=lifespan,
        # Served by install_docs_pages with their files, not from FastAPI's CDN.
        docs_url=None,
        redoc_url=None,
        # FastAPI's native OpenTelemetry looks for configured providers on every request
        # (about 15 us, 6 % of a prediction); only when asked for.
        telemetry=TelemetryConfig(
            tracing=settings.opentelemetry,
            metrics=settings.opentelemetry,
            logs=settings.opentelemetry,
        ),
    )
    app.state.settings = settings
    app.state.service = service
    install_error_handlers(app)
    install_docs_pages(app)
    if settings.ui:
        install_dashboard(app)
    bodies = BodyReader(settings.max_body_bytes, settings.body_timeout)
    app.add_middleware(
        RequestLimitsMiddleware, reader=bodies, max_json_depth=settings.max_json_depth
    )
    # Outside the limits: it reads no more than they allow, and hands on anything in doubt.
    app.add_middleware(QuickPredict, service=service, reader=bodies)
    # Then: a request without the key it needs is refused before anything reads it.
    app.add_middleware(AccessMiddleware, access=access, service=service)
    install_browser_layers(app, settings)  # keep it after every add_middleware but the last
    # Outermost: every answer gets the request id, and is counted and logged.
    app.add_middleware(
        Observe, metrics=service.metrics, routes=app.router.routes, access_log=settings.access_log
    )
    routers = (
        seed.router,
        predict.router,
        models.router,
        jobs.router,
        catalogue.router,
        audit.router,
        health.router,
        inference.make_router(settings.model_name),
    )
    for router in routers:
        app.include_router(router)
    app.include_router(metrics.router)

    documents = ServedDocuments(service)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(problem.pop("$defs", {}))
            schemas["Problem"] = problem
            _declare_security(document, access)
            drop_unanswered_validation_errors(document)
            app.openapi_schema = document
        return documents.describe(app.openapi_schema)  # the served model's, once loaded

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app


def create_loaded_app(settings: Settings) -> FastAPI:
    """Build the application and load its model now, in a process about to fork workers.

    What ``mlapi serve --workers N`` runs once in its supervisor: the workers it forks
    share the imported libraries, the app and the model (see :mod:`mlapi.cli.supervisor`).

    Args:
        settings: Configuration, with the command line's overrides.

    Returns:
        The app, its registry migrated and its model loaded; each worker's start-up then
        starts only what is its own (connections, the training dispatcher).
    """
    app = create_app(settings)
    service: Service = app.state.service
    service.load_before_fork()
    return app


def _declare_security(document: dict[str, Any], access: Access) -> None:
    # What the access middleware enforces, so Swagger UI's Authorize button sends the key.
    document["components"]["securitySchemes"] = SECURITY_SCHEMES
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            rule, _ = rule_for(method.upper(), path)
            statuses = []
            if access.needs_key(rule.scope):
                operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
                statuses += [401, 403] if rule.scope is Scope.ADMIN else [401]
            if access.limits and rule.limited:
                statuses.append(429)
            responses = operation.setdefault("responses", {})
            for status, response in error_responses(path, *statuses).items():
                responses.setdefault(str(status), response)


app = create_app()
"""FastAPI app instance"""
