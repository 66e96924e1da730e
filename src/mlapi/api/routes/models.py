"""Model versions: list, show, activate (roll back or forward), delete; the one served."""

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from mlapi.api.cards import HTML_MEDIA_TYPE, MARKDOWN_MEDIA_TYPE, prefers_html, to_html
from mlapi.api.deps import CallerDep, LimitQuery, OffsetQuery, ServiceDep
from mlapi.api.routes._responses import problems
from mlapi.api.routing import StrictQueryRoute
from mlapi.serving.records import MAX_INTEGER, ModelVersion, ModelVersionPage

router = APIRouter(prefix="/v1", tags=["models"], route_class=StrictQueryRoute)

VersionPath = Annotated[int, Path(ge=1, le=MAX_INTEGER, description="Model version number.")]


@router.get("/model", responses=problems(503))
async def active_model_info(service: ServiceDep) -> ModelVersion:
    """Describe the model this process is serving now.

    \f

    Args:
        service: The service layer, which does the work.

    Returns:
        Its version, algorithm, hyperparameters, data set, features, classes and metrics.
    """
    return await service.served()


@router.get("/models", responses=problems(422, 503))
async def list_models(
    service: ServiceDep,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> ModelVersionPage:
    """List registered model versions, newest first.

    \f

    Args:
        service: The service layer, which does the work.
        limit: Most versions returned.
        offset: Versions skipped first.

    Returns:
        A page of versions and the total count.
    """
    return await service.versions(limit, offset)


@router.get("/models/{version}", responses=problems(404, 422, 503))
async def show_model(version: VersionPath, service: ServiceDep) -> ModelVersion:
    """Describe one model version.

    \f

    Args:
        version: The version number.
        service: The service layer, which does the work.

    Returns:
        The version.
    """
    return await service.version(version)


_CARD_RESPONSES = {
    200: {
        "description": "The card: Markdown (CommonMark with GFM tables, no raw HTML) unless "
        "the request's `Accept` prefers `text/html`, then an HTML fragment of it (no "
        "`<html>`, script or `style` attribute) for a page to insert.",
        "content": {
            MARKDOWN_MEDIA_TYPE: {"schema": {"type": "string"}},
            HTML_MEDIA_TYPE: {"schema": {"type": "string"}},
        },
    },
    **problems(404, 422, 503),
}


@router.get("/models/{version}/card", response_class=Response, responses=_CARD_RESPONSES)
async def model_card(version: VersionPath, request: Request, service: ServiceDep) -> Response:
    """Give a version's model card, written with skops when it was registered.

    It holds the data set, features and classes, hyperparameters, metrics and confusion
    matrix, training time, library versions, intended use and limits. Markdown by
    default; an HTML fragment when the request's `Accept` prefers `text/html`.

    \f

    Args:
        version: The version number.
        request: The request, whose `Accept` header picks the media type.
        service: The service layer, which does the work.

    Returns:
        The card, with `Vary: Accept`.
    """
    markdown = await service.card(version)
    headers = {"Vary": "Accept"}
    if prefers_html(request.headers.get("accept")):
        return Response(to_html(markdown), media_type=HTML_MEDIA_TYPE, headers=headers)
    return Response(markdown, media_type=MARKDOWN_MEDIA_TYPE, headers=headers)


@router.post("/models/{version}/activate", responses=problems(404, 422, 503))
async def activate_model(
    version: VersionPath, service: ServiceDep, caller: CallerDep
) -> ModelVersion:
    """Make a version the active one, for every server process (rollback or roll forward).

    This process serves it before answering; the others within a second.

    \f

    Args:
        version: The version number.
        service: The service layer, which does the work.
        caller: Who asks, recorded in the activation history.

    Returns:
        The version, now active.
    """
    return await service.activate(version, caller)


@router.delete("/models/{version}", status_code=204, responses=problems(404, 409, 422, 503))
async def delete_model(version: VersionPath, service: ServiceDep) -> Response:
    """Delete a version and its file; the active version cannot be deleted.

    \f

    Args:
        version: The version number.
        service: The service layer, which does the work.

    Returns:
        An empty 204 response.
    """
    await service.delete(version)
    return Response(status_code=204)
