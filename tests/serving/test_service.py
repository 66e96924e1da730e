"""Service: the one entry point every front calls, on a real registry (SQLite, PostgreSQL)."""

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from mlapi.logs import REQUEST_ID
from mlapi.ml import InvalidInputError, IrisClassifier
from mlapi.ml.errors import Input
from mlapi.serving.errors import (
    ModelNotReadyError,
    ModelVersionNotFoundError,
    TrainingFailedError,
    VersionInUseError,
)
from mlapi.serving.jobs.store import JobStore
from mlapi.serving.prediction import INLINE_PREDICT_ROWS
from mlapi.serving.records import JobState, TrainingJob, TrainingOrder
from mlapi.serving.registry import Registry
from mlapi.serving.service import Service, Training
from mlapi.settings import Settings
from tests.serving.conftest import Trainer

SETOSA_ROW = [5.1, 3.5, 1.4, 0.2]
VIRGINICA_ROW = [6.7, 3.0, 5.2, 2.3]

Result = TypeVar("Result")


def _run(
    settings: Settings,
    scenario: Callable[[Service], Awaitable[Result]],
    *,
    training: Training = Training.ELSEWHERE,
    **options: Any,
) -> Result:
    """Start a service, run ``scenario`` on it, stop it."""

    async def main() -> Result:
        async with Service(settings, training=training, **options) as service:
            return await scenario(service)

    return asyncio.run(main())


def _rows(count: int) -> list[list[float]]:
    iris = IrisClassifier.dataset()["X"].tolist()
    return [iris[index % len(iris)] for index in range(count)]


# Predicting


def test_predict_answers_classes_probabilities_labels_and_version(
    registry_settings: Settings,
) -> None:
    result = _run(registry_settings, lambda s: s.predict([SETOSA_ROW, VIRGINICA_ROW]))

    assert result.prediction == [0, 2]
    assert result.labels == ["setosa", "virginica"]
    assert result.probability[0] == [1.0, 0.0, 0.0]
    assert len(result.probability[1]) == 3
    assert result.model_version == 1


def test_predict_of_many_rows_off_the_event_loop_matches_the_classifier(
    registry_settings: Settings,
) -> None:
    rows = _rows(INLINE_PREDICT_ROWS + 10)

    result = _run(registry_settings, lambda s: s.predict(rows))

    expected = IrisClassifier.load().predict(rows)
    assert (result.prediction, result.probability) == (
        expected["prediction"],
        expected["probability"],
    )


def test_predict_with_a_version_uses_that_version_and_loads_it_once(
    registry_settings: Settings,
    registry: Registry,
    train: Trainer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry.bootstrap()
    stump = registry.register(train(max_depth=1), created_by="test")
    loads: list[int] = []
    load = Registry.load

    def counting(self: Registry, version: int, **options: Any) -> Any:
        loads.append(version)
        return load(self, version, **options)

    monkeypatch.setattr(Registry, "load", counting)
    rows = _rows(150)

    async def scenario(service: Service) -> tuple[Any, Any, Any]:
        first = await service.predict(rows, stump.version)
        second = await service.predict(rows, stump.version)
        return first, second, await service.predict([SETOSA_ROW])

    first, second, active = _run(registry_settings, scenario)

    assert first.model_version == second.model_version == stump.version
    assert loads.count(stump.version) == 1
    assert active.model_version == 1
    # A one-split tree cannot tell three classes apart; the bundled model can.
    assert len(set(first.prediction)) == 2


def test_predict_with_an_unknown_version_raises_not_found(registry_settings: Settings) -> None:
    with pytest.raises(ModelVersionNotFoundError):
        _run(registry_settings, lambda s: s.predict([SETOSA_ROW], 999))


def test_predict_refuses_more_rows_than_allowed_naming_the_rows(
    registry_settings: Settings,
) -> None:
    settings = registry_settings.model_copy(update={"max_rows_per_request": 3})

    async def scenario(service: Service) -> tuple[InvalidInputError, int]:
        with pytest.raises(InvalidInputError) as caught:
            await service.predict(_rows(4))
        return caught.value, len((await service.predict(_rows(3))).prediction)

    error, answered = _run(settings, scenario)

    [field] = error.errors
    assert (field.input, field.location, field.kind) == (Input.ROWS, (), "too_many_rows")
    assert answered == 3


def test_predict_refuses_a_row_of_the_wrong_width_naming_it(
    registry_settings: Settings,
) -> None:
    with pytest.raises(InvalidInputError, match="wrong width") as caught:
        _run(registry_settings, lambda s: s.predict([SETOSA_ROW, [1.0, 2.0]]))

    assert [(e.input, e.location) for e in caught.value.errors] == [(Input.ROWS, (1,))]


# Describing the served model, health


def test_ready_and_served_name_the_served_version(registry_settings: Settings) -> None:
    async def scenario(service: Service) -> tuple[Any, Any, Any]:
        return service.live(), service.ready(), await service.served()

    live, ready, served = _run(registry_settings, scenario)

    assert (live.status, live.model_version) == ("ok", None)
    assert (ready.status, ready.model_version) == ("ready", 1)
    assert (served.version, served.active) == (1, True)
    assert served.class_names == ["setosa", "versicolor", "virginica"]


def test_served_says_inactive_while_another_activation_is_not_yet_followed(
    registry_settings: Settings, registry: Registry, train: Trainer
) -> None:
    async def scenario(service: Service) -> Any:
        newer = registry.register(train(), created_by="another process")
        registry.activate(newer.version, "another process")
        return await service.served()

    served = _run(registry_settings, scenario)

    assert (served.version, served.active) == (1, False)


def test_nothing_but_liveness_answers_before_the_service_has_started(
    registry_settings: Settings,
) -> None:
    service = Service(registry_settings, training=Training.ELSEWHERE)

    async def calls() -> list[str]:
        refused = []
        operations: dict[str, Callable[[], Awaitable[object]]] = {
            "predict": lambda: service.predict([SETOSA_ROW]),
            "served": service.served,
            "train": lambda: service.train(TrainingOrder(), "test"),
            "job": lambda: service.job("x"),
            "jobs": service.jobs,
            "version": lambda: service.version(1),
            "versions": service.versions,
            "activate": lambda: service.activate(1, "test"),
            "delete": lambda: service.delete(1),
        }
        for name, operation in operations.items():
            with pytest.raises(ModelNotReadyError):
                await operation()
            refused.append(name)
        return refused

    assert len(asyncio.run(calls())) == 9
    with pytest.raises(ModelNotReadyError):
        service.ready()
    assert service.live().status == "ok"


def test_on_demand_the_model_loads_at_its_first_use(registry_settings: Settings) -> None:
    async def scenario(service: Service) -> tuple[int, int]:
        with pytest.raises(ModelNotReadyError):
            service.ready()  # started, but nothing loaded yet
        answer = await service.predict([SETOSA_ROW])
        return answer.model_version, service.ready().model_version or 0

    assert _run(registry_settings, scenario, load_on_demand=True) == (1, 1)


# Model versions


def test_versions_version_activate_and_delete(
    registry_settings: Settings, registry: Registry, train: Trainer
) -> None:
    registry.bootstrap()
    other = registry.register(train(max_depth=1), created_by="test")

    async def scenario(service: Service) -> dict[str, Any]:
        seen: dict[str, Any] = {"before": await service.versions(), "other": None}
        seen["other"] = await service.version(other.version)
        seen["activated"] = await service.activate(other.version, "alice")
        seen["answer"] = await service.predict([SETOSA_ROW])
        with pytest.raises(VersionInUseError):
            await service.delete(other.version)
        await service.delete(1)
        seen["after"] = await service.versions()
        return seen

    seen = _run(registry_settings, scenario)

    assert [(v.version, v.active) for v in seen["before"].items] == [
        (other.version, False),
        (1, True),
    ]
    assert seen["other"] == other
    assert seen["activated"] == dataclasses.replace(other, active=True)
    assert seen["answer"].model_version == other.version
    assert [(v.version, v.active) for v in seen["after"].items] == [(other.version, True)]
    assert registry.activations()[-1].activated_by == "alice"


# Training


def test_train_and_wait_run_a_job_here_activate_its_version_and_report_progress(
    registry_settings: Settings,
) -> None:
    progress: list[float] = []

    async def scenario(service: Service) -> tuple[Any, Any, Any]:
        order = TrainingOrder(algorithm="gradient_boosting", hyperparameters={"n_estimators": 5})
        job = await service.train(order, created_by="bob")
        done = await service.wait(job.id, progress.append)
        return job, done, await service.predict([SETOSA_ROW])

    queued, done, answer = _run(registry_settings, scenario, training=Training.HERE)

    assert queued.state is JobState.QUEUED
    assert (queued.hyperparameters["n_estimators"], queued.created_by) == (5, "bob")
    assert done.state is JobState.SUCCEEDED
    assert done.model_version == answer.model_version == 2
    assert progress[-1] == 1.0
    assert progress == sorted(progress)


def test_train_refuses_invalid_hyperparameters_and_queues_nothing(
    registry_settings: Settings,
) -> None:
    async def scenario(service: Service) -> int:
        with pytest.raises(InvalidInputError, match="max_depth"):
            await service.train(TrainingOrder(hyperparameters={"max_depth": 0}), "test")
        return (await service.jobs()).total

    assert _run(registry_settings, scenario, training=Training.HERE) == 0


def test_wait_for_a_job_that_fails_raises_saying_why(registry_settings: Settings) -> None:
    async def scenario(service: Service) -> tuple[TrainingFailedError, Any]:
        job = await service.train(TrainingOrder(test_size=0.99), "test")
        with pytest.raises(TrainingFailedError) as caught:
            await service.wait(job.id)
        return caught.value, await service.job(job.id)

    error, job = _run(registry_settings, scenario, training=Training.HERE)

    assert str(error).startswith(f"training job {job.id} failed: cannot train on this data")
    assert job.state is JobState.FAILED


def test_train_without_a_dispatcher_leaves_the_job_queued_for_a_server(
    registry_settings: Settings, jobs: JobStore
) -> None:
    job = _run(registry_settings, lambda s: s.train(TrainingOrder(), "cli"))

    claimed = jobs.claim("a-server")
    assert claimed is not None
    assert claimed.id == job.id
    assert claimed.state is JobState.QUEUED


def test_a_job_queued_while_serving_a_request_keeps_its_id(
    registry_settings: Settings, jobs: JobStore
) -> None:
    async def scenario(service: Service) -> TrainingJob:
        REQUEST_ID.set("req-42")  # as the HTTP layer does for the request it serves
        return await service.train(TrainingOrder(), "api")

    job = _run(registry_settings, scenario)

    assert job.request_id == "req-42"
    assert jobs.get(job.id).request_id == "req-42"


def test_jobs_and_job_list_and_show_what_was_queued(registry_settings: Settings) -> None:
    async def scenario(service: Service) -> tuple[Any, Any, Any]:
        first = await service.train(TrainingOrder(), "a")
        second = await service.train(TrainingOrder(), "b")
        return [first, second], await service.jobs(limit=1), await service.job(first.id)

    queued, page, shown = _run(registry_settings, scenario)

    assert (page.total, page.limit, [job.id for job in page.items]) == (2, 1, [queued[1].id])
    assert shown == queued[0]


def test_service_stops_cleanly_leaving_nothing_running(tmp_path: Path) -> None:
    settings = Settings(model_dir=str(tmp_path / "models"), cache_dir=tmp_path / "cache")

    async def scenario() -> int:
        service = Service(settings)  # the default: a pool of training processes
        deadline = asyncio.get_running_loop().time() + 60
        async with service.running():
            while True:
                try:
                    service.ready()
                    break
                except ModelNotReadyError:
                    assert asyncio.get_running_loop().time() < deadline, "never became ready"
                    await asyncio.sleep(0.01)
        return len(asyncio.all_tasks()) - 1  # this coroutine's own task

    assert asyncio.run(scenario()) == 0


def test_a_serving_service_predicts_on_one_openmp_thread_and_gives_the_rest_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(model_dir=str(tmp_path / "models"), cache_dir=tmp_path / "cache")

    def openmp_threads() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp"}

    seen: list[set[int]] = []
    predict_arrays = IrisClassifier.predict_arrays

    def watched(self: IrisClassifier, rows: Any) -> Any:
        seen.append(openmp_threads())  # in whichever thread predicts
        return predict_arrays(self, rows)

    monkeypatch.setattr(IrisClassifier, "predict_arrays", watched)

    async def scenario() -> None:
        service = Service(settings, training=Training.ELSEWHERE)
        async with service.running():
            deadline = asyncio.get_running_loop().time() + 60
            while not service._active.ready:
                assert asyncio.get_running_loop().time() < deadline, "never became ready"
                await asyncio.sleep(0.01)
            await service.predict([SETOSA_ROW])  # on the event loop
            await service.predict(_rows(INLINE_PREDICT_ROWS + 1))  # in a thread

    with threadpool_limits(limits=2, user_api="openmp"):
        asyncio.run(scenario())
        after = openmp_threads()

    assert seen == [{1}, {1}]
    assert after == {2}
