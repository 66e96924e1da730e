"""The audit log: recorded in the registry database, read newest first, pruned."""

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from mlapi.serving import audit
from mlapi.serving.audit import AuditLog
from mlapi.serving.errors import ModelNotReadyError
from mlapi.serving.records import AuditEvent, AuditOutcome, AuditPage


def event(number: int) -> AuditEvent:
    return AuditEvent(
        at=datetime.now(UTC),
        action="activate",
        outcome=AuditOutcome.SUCCEEDED,
        status=200,
        method="POST",
        path=f"/v1/models/{number}/activate",
        key_name="ops",
        source="127.0.0.1",
        target=f"version {number}",
    )


def record(log: AuditLog, numbers: range) -> AuditPage:
    """Record an event per number, then read the newest page."""

    async def scenario() -> AuditPage:
        for number in numbers:
            await log.record(event(number))
        return await log.page(limit=3)

    return asyncio.run(scenario())


def test_events_are_read_back_newest_first(engine: Engine) -> None:
    log = AuditLog(engine, max_events=100)
    log.ready = True

    page = record(log, range(1, 5))

    assert page.total == 4
    assert [item.target for item in page.items] == ["version 4", "version 3", "version 2"]
    assert page.items[0].outcome is AuditOutcome.SUCCEEDED
    assert page.items[0].at.tzinfo is not None


def test_the_oldest_events_go_once_past_the_most_kept(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "PRUNE_EVERY", 5)
    log = AuditLog(engine, max_events=3)
    log.ready = True

    page = record(log, range(1, 11))

    assert page.total == 3
    assert [item.target for item in page.items] == [f"version {n}" for n in (10, 9, 8)]


def test_before_start_up_events_are_only_logged(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    log = AuditLog(engine, max_events=100)

    recorded = asyncio.run(log.record(event(1)))

    assert recorded.id is None
    assert "audit event during start-up" in caplog.text
    with pytest.raises(ModelNotReadyError):
        asyncio.run(log.page())
