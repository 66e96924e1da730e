"""Activations told to every server process at once: PostgreSQL's LISTEN/NOTIFY.

Every process polls the registry's active generation every ``poll_interval`` seconds
(:meth:`~mlapi.serving.active_model.ActiveModel.watch`). On PostgreSQL an activation also
sends a notification on :data:`CHANNEL`, in the transaction that makes it, so PostgreSQL
delivers it when, and only if, it commits; each process listens on one connection of
its own and looks at the registry as soon as one arrives, instead of at its next poll.
Polling stays underneath: a notification lost with a dropped connection (a failover, a
restart of the database) delays a replica by one poll interval at most, and the
listener connects again, looking once more on each reconnection. SQLite, one machine's
registry, has no notifications; its processes poll.
"""

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy import URL, text
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

#: The notification channel of activations; the payload is the new generation.
CHANNEL = "mlapi_activation"
#: Seconds before connecting again after the listening connection failed, doubling each time.
_FIRST_RETRY, _LAST_RETRY = 1.0, 30.0


def notifies(url: URL) -> bool:
    """Whether a registry at ``url`` sends activation notifications (PostgreSQL does)."""
    return url.get_backend_name() == "postgresql"


def announce(session: Session, generation: int) -> None:
    """Notify listeners of an activation when ``session``'s transaction commits.

    Does nothing on a database without notifications.

    Args:
        session: The session, in the transaction that activates.
        generation: The new active generation, sent as the payload.
    """
    if notifies(session.get_bind().engine.url):
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": str(generation)},
        )


async def listen(url: URL, nudge: Callable[[], None]) -> None:
    """Call ``nudge`` for every activation notified, and after every (re)connection.

    Runs until cancelled, connecting again with a growing delay when the connection
    fails; a failure is logged, never raised, since polling goes on meanwhile.

    Args:
        url: The registry's PostgreSQL URL (any SQLAlchemy driver name).
        nudge: Called on the event loop; should make the process look at the registry.
    """
    import psycopg  # the postgres extra: only a PostgreSQL registry gets here

    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    delay = _FIRST_RETRY
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                conninfo, autocommit=True, application_name="mlapi-listen"
            ) as connection:
                await connection.execute(f"LISTEN {CHANNEL}")
                delay = _FIRST_RETRY
                nudge()  # whatever was activated while no one listened
                async for _ in connection.notifies():
                    nudge()
        except (psycopg.Error, OSError) as error:
            logger.warning(
                "not listening for activations (polling meanwhile), connecting again in %.0f s: %s",
                delay,
                error,
            )
        await asyncio.sleep(delay)
        delay = min(2 * delay, _LAST_RETRY)
