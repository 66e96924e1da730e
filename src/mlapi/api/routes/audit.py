"""``GET /v1/audit``: the audit log of model-changing requests and refused keys (admin)."""

from fastapi import APIRouter

from mlapi.api.deps import LimitQuery, OffsetQuery, ServiceDep
from mlapi.api.routes._responses import problems
from mlapi.api.routing import StrictQueryRoute
from mlapi.serving.records import AuditPage

router = APIRouter(prefix="/v1", tags=["audit"], route_class=StrictQueryRoute)


@router.get("/audit", responses=problems(422, 503))
async def audit_log(
    service: ServiceDep,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> AuditPage:
    """List audit events, newest first; needs an admin key.

    Every train, activate and delete request, and every request whose key was refused,
    with its time, key name, client address and outcome.

    \f

    Args:
        service: The service layer, which does the work.
        limit: Most events returned.
        offset: Events skipped first.

    Returns:
        A page of events and the total count.
    """
    return await service.audit.page(limit, offset)
