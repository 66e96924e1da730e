"""The access policy at work: :class:`AccessMiddleware`, the app's outermost layer.

It refuses a request without the key its route needs (:mod:`mlapi.api.access`) before
anything reads it, counts it against the rate limit, hands the route the key's name, and
records every model-changing request and every refused key in the audit log before the
client has the whole answer: a client that got its answer finds the event recorded.
"""

import logging
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlapi.api.access import Access, Refusal, rule_for
from mlapi.api.errors import problem_response
from mlapi.serving.records import AuditEvent, AuditOutcome
from mlapi.serving.service import Service

logger = logging.getLogger(__name__)

#: The ASGI scope entry naming the key a request was made with, for the routes.
KEY_NAME = "mlapi.key_name"


class AccessMiddleware:
    """Enforce :class:`Access` on every request, and record the audit log.

    Args:
        app: The application.
        access: The policy.
        service: Where audit events are recorded.
    """

    def __init__(self, app: ASGIApp, access: Access, service: Service) -> None:
        self.app = app
        self.access = access
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse, count or audit a request, and pass on what is allowed.

        Args:
            scope: The ASGI connection scope.
            receive: Reads request messages.
            send: Sends response messages.
        """
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        access = self.access
        rule, target = rule_for(scope["method"], scope["path"])
        limited = bool(access.limits) and rule.limited
        if rule.action is None and not limited and not access.needs_key(rule.scope):
            await self.app(scope, receive, send)  # the usual case: nothing to check
            return

        verdict = access.check(rule.scope, scope["headers"])
        client = scope.get("client")
        source = client[0] if client else None
        if isinstance(verdict, Refusal):
            headers = {"WWW-Authenticate": verdict.challenge} if verdict.challenge else None
            response = problem_response(
                verdict.status,
                verdict.kind,
                verdict.detail,
                instance=scope["path"],
                headers=headers,
            )
            await self._audit(
                scope, rule.action or "access", verdict.status, None, source, target, verdict.detail
            )
            await response(scope, receive, send)
            return
        key_name = verdict.name if verdict is not None else None
        if key_name is not None:
            scope[KEY_NAME] = key_name
        if limited:
            wait = access.retry_after(key_name or f"address {source}")
            if wait is not None:
                response = problem_response(
                    429,
                    "too-many-requests",
                    f"Over the rate limit ({self._limit_text()}); try again in {wait} s.",
                    instance=scope["path"],
                    headers={"Retry-After": str(wait)},
                )
                if rule.action is not None:
                    await self._audit(scope, rule.action, 429, key_name, source, target, None)
                await response(scope, receive, send)
                return
        action = rule.action
        if action is None:
            await self.app(scope, receive, send)
            return

        answered: dict[str, Any] = {"status": 500, "recorded": False}

        async def record() -> None:
            answered["recorded"] = True
            location = answered.get("location", "")
            job = (
                f"job {location.removeprefix('/v1/jobs/')}"
                if location.startswith("/v1/jobs/")
                else None
            )
            await self._audit(
                scope, action, answered["status"], key_name, source, job or target, None
            )

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
                for name, value in message.get("headers", ()):
                    if name.lower() == b"location":
                        answered["location"] = value.decode("latin-1")
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                await record()  # before the client has the whole answer
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            if not answered["recorded"]:  # failed before answering
                await record()

    def _limit_text(self) -> str:
        return "; ".join(str(limit) for limit in self.access.limits)

    async def _audit(
        self,
        scope: Scope,
        action: str,
        status: int,
        key_name: str | None,
        source: str | None,
        target: str | None,
        detail: str | None,
    ) -> None:
        event = AuditEvent(
            at=datetime.now(UTC),
            action=action,
            outcome=_outcome(status),
            status=status,
            method=scope["method"],
            path=scope["path"][:500],
            key_name=key_name,
            source=source,
            target=target[:200] if target else None,
            detail=detail,
        )
        try:
            await self.service.audit.record(event)
        except Exception:  # the answer is sent; the log says what could not be kept
            logger.exception("could not record an audit event: %s", event)


def _outcome(status: int) -> AuditOutcome:
    if status in (401, 403):
        return AuditOutcome.DENIED
    if status >= 500:
        return AuditOutcome.FAILED
    if status >= 400:
        return AuditOutcome.REJECTED
    return AuditOutcome.SUCCEEDED
