"""The service over HTTP: what ``mlapi --url URL ...`` calls instead of the in-process one.

:class:`HttpClient` has the operations of :class:`~mlapi.serving.service.Service` that
the CLI uses, with the same arguments and the same records, so a command cannot tell
which of the two it was given (:class:`Backend` is what both offer). Records travel as
the REST API's JSON and are read back into the service layer's dataclasses.
"""

import dataclasses
import json
import ssl
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from mlapi.ml import MlapiError
from mlapi.serving.records import (
    AuditPage,
    JobPage,
    ModelVersion,
    ModelVersionPage,
    Predictions,
    TrainingJob,
    TrainingOrder,
)
from mlapi.serving.service import follow_job

Record = TypeVar("Record")

#: Seconds between looks at a job the CLI waits for on a server.
POLL_SECONDS = 0.2


class ServerError(MlapiError):
    """A server refused a request, or could not be reached; the message says why."""


class AuditPages(Protocol):
    """Pages of the audit log."""

    async def page(self, limit: int = 50, offset: int = 0) -> AuditPage:
        """List audit events."""


class Backend(Protocol):
    """What a CLI command can ask of the service, in this process or on a server."""

    @property
    def audit(self) -> AuditPages:
        """The audit log."""

    async def train(self, order: TrainingOrder, created_by: str) -> TrainingJob:
        """Queue a training job."""

    async def wait(
        self, job_id: str, progress: Callable[[float], None] | None = None
    ) -> TrainingJob:
        """Wait until a training job succeeds."""

    async def job(self, job_id: str) -> TrainingJob:
        """Show a training job."""

    async def cancel(self, job_id: str, cancelled_by: str) -> TrainingJob:
        """Cancel a queued or running training job."""

    async def jobs(self, limit: int = 50, offset: int = 0) -> JobPage:
        """List training jobs."""

    async def version(self, number: int) -> ModelVersion:
        """Show a model version."""

    async def versions(self, limit: int = 50, offset: int = 0) -> ModelVersionPage:
        """List model versions."""

    async def card(self, number: int) -> str:
        """Give a model version's card, in Markdown."""

    async def activate(self, number: int, activated_by: str) -> ModelVersion:
        """Activate a model version."""

    async def delete(self, number: int) -> None:
        """Delete a model version."""

    async def predict(self, rows: Sequence[Any], model_version: int | None = None) -> Predictions:
        """Predict rows."""


class HttpClient:
    """A running mlapi server, through its ``/v1`` routes.

    Args:
        url: Its base address, e.g. ``https://host:8888``.
        cacert: CA bundle to verify it with; the system's if None.
        api_key: Sent as ``Authorization: Bearer`` with every request, if given.
    """

    def __init__(self, url: str, cacert: Path | None = None, api_key: str | None = None) -> None:
        verify = ssl.create_default_context(cafile=cacert) if cacert else True
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
        self._client = httpx.AsyncClient(
            base_url=url.rstrip("/"), verify=verify, timeout=60, headers=headers
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self._client.aclose()

    async def _call(self, method: str, path: str, **options: Any) -> bytes:
        try:
            response = await self._client.request(method, path, **options)
        except httpx.HTTPError as error:
            raise ServerError(f"cannot reach the server: {error}") from error
        if response.is_error:
            raise ServerError(_problem_message(response))
        return response.content

    async def _read(self, kind: type[Record], method: str, path: str, **options: Any) -> Record:
        content = await self._call(method, path, **options)
        try:
            return TypeAdapter(kind).validate_json(content)
        except ValidationError as error:  # another program on that port, or another version
            raise ServerError(f"the server's answer is not a {kind.__name__}: {error}") from error

    async def train(self, order: TrainingOrder, created_by: str = "api") -> TrainingJob:
        """Queue a training job with ``POST /v1/train``; the server names who asked.

        Returns:
            The queued job.
        """
        body = dataclasses.asdict(order)
        return await self._read(TrainingJob, "POST", "/v1/train", json=body)

    async def wait(
        self, job_id: str, progress: Callable[[float], None] | None = None
    ) -> TrainingJob:
        """Follow a job on the server until it finishes.

        Args:
            job_id: Which job.
            progress: Told its progress, from 0 to 1, at each look.

        Returns:
            The succeeded job.

        Raises:
            TrainingFailedError: If it failed.
        """
        return await follow_job(self.job, job_id, progress, poll=POLL_SECONDS)

    async def job(self, job_id: str) -> TrainingJob:
        """Show a job with ``GET /v1/jobs/{id}``."""
        return await self._read(TrainingJob, "GET", f"/v1/jobs/{job_id}")

    async def cancel(self, job_id: str, cancelled_by: str = "api") -> TrainingJob:
        """Cancel a job with ``POST /v1/jobs/{id}/cancel``; the server names who."""
        return await self._read(TrainingJob, "POST", f"/v1/jobs/{job_id}/cancel")

    async def jobs(self, limit: int = 50, offset: int = 0) -> JobPage:
        """List jobs with ``GET /v1/jobs``."""
        params = {"limit": limit, "offset": offset}
        return await self._read(JobPage, "GET", "/v1/jobs", params=params)

    async def version(self, number: int) -> ModelVersion:
        """Show a version with ``GET /v1/models/{version}``."""
        return await self._read(ModelVersion, "GET", f"/v1/models/{number}")

    async def versions(self, limit: int = 50, offset: int = 0) -> ModelVersionPage:
        """List versions with ``GET /v1/models``."""
        params = {"limit": limit, "offset": offset}
        return await self._read(ModelVersionPage, "GET", "/v1/models", params=params)

    async def card(self, number: int) -> str:
        """Read a version's card as Markdown with ``GET /v1/models/{version}/card``."""
        headers = {"Accept": "text/markdown"}
        return (await self._call("GET", f"/v1/models/{number}/card", headers=headers)).decode()

    async def activate(self, number: int, activated_by: str = "api") -> ModelVersion:
        """Activate a version with ``POST /v1/models/{version}/activate``; the server names who."""
        return await self._read(ModelVersion, "POST", f"/v1/models/{number}/activate")

    async def delete(self, number: int) -> None:
        """Delete a version with ``DELETE /v1/models/{version}``."""
        await self._call("DELETE", f"/v1/models/{number}")

    async def predict(self, rows: Sequence[Any], model_version: int | None = None) -> Predictions:
        """Predict rows with ``POST /v1/predict``."""
        body: dict[str, Any] = {"data": list(rows)}
        if model_version is not None:
            body["model_version"] = model_version
        return await self._read(Predictions, "POST", "/v1/predict", json=body)

    @property
    def audit(self) -> AuditPages:
        """The server's audit log, through ``GET /v1/audit`` (needs an admin key)."""
        return _HttpAudit(self)


class _HttpAudit:
    def __init__(self, client: HttpClient) -> None:
        self._client = client

    async def page(self, limit: int = 50, offset: int = 0) -> AuditPage:
        params = {"limit": limit, "offset": offset}
        return await self._client._read(AuditPage, "GET", "/v1/audit", params=params)


def _problem_message(response: httpx.Response) -> str:
    """Say what a server's error response means, from its problem body if it has one.

    Args:
        response: An error response.

    Returns:
        The problem's detail and each offending field, and the HTTP status.
    """
    status = f"HTTP {response.status_code} {response.reason_phrase}"
    try:
        problem = response.json()
    except ValueError:  # not JSON: a proxy's error page, say
        return status
    if not isinstance(problem, dict) or not isinstance(problem.get("detail"), str):
        return f"{status}: {json.dumps(problem)}"
    fields = [
        f"{error.get('pointer') or error.get('parameter') or error.get('header')}: "
        f"{error.get('detail')}"
        for error in problem.get("errors") or []
        if isinstance(error, dict)
    ]
    message = f"{problem['detail']} ({'; '.join(fields)})" if fields else problem["detail"]
    return f"{message} [{status}]"
