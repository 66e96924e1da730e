"""The audit log: model-changing requests and refused keys, kept in the registry database.

Fronts record what they were asked and what came of it (:class:`AuditEvent`); the log
keeps the newest ``max_events`` and forgets older ones, so that a flood of refused
requests cannot fill the database.
"""

import dataclasses
import logging

from anyio import to_thread
from sqlalchemy import Engine, delete

from mlapi.serving.database import read_page, session_factory
from mlapi.serving.errors import ModelNotReadyError
from mlapi.serving.records import AuditEvent, AuditPage
from mlapi.serving.tables import AuditEventRow, to_record

logger = logging.getLogger(__name__)

#: Events recorded between two prunings of the oldest.
PRUNE_EVERY = 100


class AuditLog:
    """Append-only audit events, newest first when read; the database work off the loop.

    Args:
        engine: The registry database.
        max_events: Events kept; older ones are deleted as new ones come.
    """

    def __init__(self, engine: Engine, max_events: int) -> None:
        self._sessions = session_factory(engine)
        self.max_events = max_events
        self.ready = False
        """Whether the registry is migrated (the service sets it once started)."""

    async def record(self, event: AuditEvent) -> AuditEvent:
        """Append an event; before the registry is migrated, only log it.

        Returns:
            The event, with its ``id`` in the log (None if only logged).
        """
        if not self.ready:
            logger.warning("audit event during start-up, logged only: %s", event)
            return event
        return await to_thread.run_sync(self._record, event)

    async def page(self, limit: int = 50, offset: int = 0) -> AuditPage:
        """List events, newest first: at most ``limit``, after the first ``offset``.

        Raises:
            ModelNotReadyError: While the service is starting.
        """
        if not self.ready:
            raise ModelNotReadyError("the service is still starting")
        return await to_thread.run_sync(self._page, limit, offset)

    def _record(self, event: AuditEvent) -> AuditEvent:
        values = dataclasses.asdict(event)
        del values["id"]
        row = AuditEventRow(**values)
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            if row.id % PRUNE_EVERY == 0:
                session.execute(
                    delete(AuditEventRow).where(AuditEventRow.id <= row.id - self.max_events)
                )
        return to_record(AuditEvent, row)

    def _page(self, limit: int, offset: int) -> AuditPage:
        order = [AuditEventRow.id.desc()]
        rows, total = read_page(self._sessions, AuditEventRow, order, limit, offset)
        items = [to_record(AuditEvent, row) for row in rows]
        return AuditPage(items=items, total=total, limit=limit, offset=offset)
