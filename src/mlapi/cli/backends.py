"""Where CLI commands act: the local registry in-process, or a server over HTTP.

Both answer with the same JSON shapes as the REST API, so every command prints the
same thing either way.
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import httpx

from mlapi.api.routes._convert import job_response, version_response
from mlapi.ml import MlapiError
from mlapi.serving.active_model import ActiveModel
from mlapi.serving.database import make_engine, migrate
from mlapi.serving.jobs import JobStore, TrainingFailedError, execute_job, make_request
from mlapi.serving.registry import Registry
from mlapi.serving.store import ModelStore
from mlapi.settings import Settings

Json = dict[str, Any]


class CommandError(Exception):
    """A command failed; the message (or problem body) is for the user."""


class Backend(Protocol):
    """What the CLI can ask of a registry, wherever it is."""

    def train(self, body: Json) -> Json:
        """Queue a training job."""

    def job(self, job_id: str) -> Json:
        """Show a job."""

    def jobs(self, limit: int, offset: int) -> Json:
        """List jobs."""

    def models(self, limit: int, offset: int) -> Json:
        """List model versions."""

    def model(self, version: int) -> Json:
        """Show a model version."""

    def activate(self, version: int) -> Json:
        """Activate a model version."""

    def delete(self, version: int) -> None:
        """Delete a model version."""

    def predict(self, rows: list[list[float]], version: int | None) -> Json:
        """Predict rows."""


class HttpBackend:
    """A running mlapi server.

    Args:
        url: Its base address, e.g. ``https://host:8888``.
        cacert: CA bundle to verify it with; the system's if None.
    """

    def __init__(self, url: str, cacert: Path | None = None) -> None:
        self._client = httpx.Client(
            base_url=url.rstrip("/"), verify=str(cacert) if cacert else True, timeout=60
        )

    def _call(self, method: str, path: str, **options: Any) -> Any:
        try:
            response = self._client.request(method, path, **options)
        except httpx.HTTPError as error:
            raise CommandError(f"cannot reach the server: {error}") from error
        if response.is_error:
            raise CommandError(_problem_message(response))
        return response.json() if response.content else None

    def train(self, body: Json) -> Json:
        """Queue a training job.

        Args:
            body: A ``POST /v1/train`` body.

        Returns:
            The job.
        """
        result: Json = self._call("POST", "/v1/train", json=body)
        return result

    def job(self, job_id: str) -> Json:
        """Show a job.

        Args:
            job_id: Its id.

        Returns:
            The job.
        """
        result: Json = self._call("GET", f"/v1/jobs/{job_id}")
        return result

    def jobs(self, limit: int, offset: int) -> Json:
        """List jobs.

        Args:
            limit: Most returned.
            offset: Skipped first.

        Returns:
            A page of jobs.
        """
        result: Json = self._call("GET", "/v1/jobs", params={"limit": limit, "offset": offset})
        return result

    def models(self, limit: int, offset: int) -> Json:
        """List model versions.

        Args:
            limit: Most returned.
            offset: Skipped first.

        Returns:
            A page of versions.
        """
        result: Json = self._call("GET", "/v1/models", params={"limit": limit, "offset": offset})
        return result

    def model(self, version: int) -> Json:
        """Show a model version.

        Args:
            version: Its number.

        Returns:
            The version.
        """
        result: Json = self._call("GET", f"/v1/models/{version}")
        return result

    def activate(self, version: int) -> Json:
        """Activate a model version.

        Args:
            version: Its number.

        Returns:
            The version, now active.
        """
        result: Json = self._call("POST", f"/v1/models/{version}/activate")
        return result

    def delete(self, version: int) -> None:
        """Delete a model version.

        Args:
            version: Its number.
        """
        self._call("DELETE", f"/v1/models/{version}")

    def predict(self, rows: list[list[float]], version: int | None) -> Json:
        """Predict rows.

        Args:
            rows: Rows of features.
            version: A model version; the active one if None.

        Returns:
            The ``/v1/predict`` answer.
        """
        body: Json = {"data": rows}
        if version is not None:
            body["model_version"] = version
        result: Json = self._call("POST", "/v1/predict", json=body)
        return result


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


class LocalBackend:
    """The registry configured by the settings, used in this process.

    Args:
        settings: Where the registry and model store are.
        progress: Told of a waited-for training's progress, from 0 to 1.
    """

    def __init__(self, settings: Settings, progress: Callable[[float], None] | None = None) -> None:
        self._settings = settings
        self._progress = progress
        self._engine = make_engine(settings.registry_url)
        migrate(self._engine)
        self._registry = Registry(self._engine, ModelStore(settings.model_dir))
        self._registry.bootstrap()
        self._jobs = JobStore(self._engine)

    def _active(self) -> int | None:
        state = self._registry.active()
        return state.version if state else None

    def train(self, body: Json, wait: bool = False) -> Json:
        """Queue a training job, or run it here to the end when ``wait`` is set.

        Args:
            body: A ``POST /v1/train`` body.
            wait: Run the job in this process and activate its version if asked.

        Returns:
            The job.
        """
        request = make_request(self._settings, created_by="cli", **body)
        # Claimed at once when run here, so that no server picks it up as well.
        job = self._jobs.create(request, worker="cli" if wait else None)
        if not wait:
            return job_response(job).model_dump(mode="json")
        version = execute_job(job.id, self._settings.model_dump_json(), self._progress)
        if version is not None and self._progress is not None:
            self._progress(1.0)
        if version is None:
            raise TrainingFailedError(self._jobs.get(job.id).error or "training failed")
        if request.activate:
            self._registry.activate(version, f"cli (job {job.id})")
        self._jobs.succeed(job.id)
        return job_response(self._jobs.get(job.id)).model_dump(mode="json")

    def job(self, job_id: str) -> Json:
        """Show a job.

        Args:
            job_id: Its id.

        Returns:
            The job.
        """
        return job_response(self._jobs.get(job_id)).model_dump(mode="json")

    def jobs(self, limit: int, offset: int) -> Json:
        """List jobs.

        Args:
            limit: Most returned.
            offset: Skipped first.

        Returns:
            A page of jobs.
        """
        jobs, total = self._jobs.page(limit, offset)
        items = [job_response(job).model_dump(mode="json") for job in jobs]
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    def models(self, limit: int, offset: int) -> Json:
        """List model versions.

        Args:
            limit: Most returned.
            offset: Skipped first.

        Returns:
            A page of versions.
        """
        versions, total = self._registry.page(limit, offset)
        active = self._active()
        items = [version_response(v, active).model_dump(mode="json") for v in versions]
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    def model(self, version: int) -> Json:
        """Show a model version.

        Args:
            version: Its number.

        Returns:
            The version.
        """
        return version_response(self._registry.get(version), self._active()).model_dump(mode="json")

    def activate(self, version: int) -> Json:
        """Activate a model version, after checking that its file loads.

        Args:
            version: Its number.

        Returns:
            The version, now active.
        """
        record = self._registry.get(version)
        self._registry.load(record)
        self._registry.activate(version, "cli")
        return self.model(version)

    def delete(self, version: int) -> None:
        """Delete a model version.

        Args:
            version: Its number.
        """
        self._registry.delete(version)

    def predict(self, rows: list[list[float]], version: int | None) -> Json:
        """Predict rows with the active version, or another.

        Args:
            rows: Rows of features.
            version: A model version; the active one if None.

        Returns:
            The same answer as ``/v1/predict``.
        """
        active_model = ActiveModel(self._settings, self._registry)
        served = active_model.load()
        if version is not None and version != served.version.version:
            record = self._registry.get(version)
            classifier = self._registry.load(record, **self._settings.classifier_options())
        else:
            record, classifier = served.version, served.classifier
        answer = classifier.predict(rows)
        return {
            **answer,
            "labels": classifier.labels(answer["prediction"]),
            "model_version": record.version,
        }


def run(action: Callable[[], Any]) -> Any:
    """Run a backend call, turning domain and HTTP errors into :class:`CommandError`.

    Args:
        action: The call.

    Returns:
        Its result.
    """
    try:
        return action()
    except MlapiError as error:
        raise CommandError(str(error)) from error
