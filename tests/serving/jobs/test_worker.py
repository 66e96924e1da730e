"""What runs in a training process: one job from its row to a registered version."""

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mlapi.ml.errors import DatasetError, ModelFileError
from mlapi.serving.jobs.store import JobStore
from mlapi.serving.jobs.worker import FIT_SHARE, describe, execute_job
from mlapi.serving.records import JobState
from mlapi.serving.registry import Registry
from mlapi.serving.tables import TrainingJobRow
from mlapi.settings import ErrorDetail, Settings
from tests.serving.specs import boosting_spec, training_spec


def test_execute_job_registers_a_version_of_the_requested_model(
    jobs: JobStore, registry: Registry, registry_settings: Settings
) -> None:
    job = jobs.create(training_spec(hyperparameters={"max_depth": 2}, created_by="alice"))
    jobs.claim("worker")
    reported: list[float] = []

    number = execute_job(job.id, registry_settings.model_dump_json(), reported.append)

    assert number is not None
    version = registry.get(number)
    assert version.algorithm == "decision_tree"
    assert version.hyperparameters["max_depth"] == 2
    assert version.created_by == "alice"
    assert version.dataset_name == "iris"
    done = jobs.get(job.id)
    # Marking it succeeded is left to the caller, after activation.
    assert (done.state, done.model_version, done.progress) == (JobState.RUNNING, number, 1.0)
    # Fitting is FIT_SHARE of a job; registering the version brings it to 1.
    assert reported == [FIT_SHARE]
    assert registry.load(number)[1].metadata is not None


def test_execute_job_reports_gradient_boosting_progress_stage_by_stage(
    jobs: JobStore, registry: Registry, registry_settings: Settings
) -> None:
    job = jobs.create(
        training_spec(algorithm="gradient_boosting", hyperparameters={"n_estimators": 8})
    )
    reported: list[float] = []

    number = execute_job(job.id, registry_settings.model_dump_json(), reported.append)

    assert number is not None
    assert registry.get(number).algorithm == "gradient_boosting"
    assert reported == [FIT_SHARE * stage / 8 for stage in range(1, 9)]


def test_execute_job_fails_a_job_scikit_learn_refuses_when_fitting(
    jobs: JobStore, registry: Registry, registry_settings: Settings
) -> None:
    # Valid on its own, but it leaves one training row for three classes.
    job = jobs.create(training_spec(test_size=0.99))

    assert execute_job(job.id, registry_settings.model_dump_json()) is None

    failed = jobs.get(job.id)
    assert failed.state is JobState.FAILED
    assert failed.error is not None
    assert failed.error.startswith("cannot train on this data")
    assert "train_size" in failed.error
    assert registry.page().total == 0


def test_execute_job_fails_an_unknown_algorithm_saved_in_the_job(
    jobs: JobStore, registry_settings: Settings
) -> None:
    job = jobs.create(training_spec(algorithm="random_forest", hyperparameters={}))

    assert execute_job(job.id, registry_settings.model_dump_json()) is None

    failed = jobs.get(job.id)
    assert failed.state is JobState.FAILED
    assert failed.error is not None
    assert "unknown algorithm" in failed.error


def test_execute_job_of_unknown_job_returns_none(
    jobs: JobStore, registry_settings: Settings
) -> None:
    assert execute_job("no-such-job", registry_settings.model_dump_json()) is None
    assert jobs.page().total == 0


def test_a_job_error_names_the_server_s_own_failures_only_with_full_detail() -> None:
    internal = OSError(2, "No such file or directory", "/srv/mlapi/models/versions/x.skops")
    model_file = ModelFileError("model file /srv/mlapi/models/versions/x.skops cannot be read")
    for error in (internal, model_file):
        assert "/srv/mlapi" not in describe(error, ErrorDetail.SAFE)
        assert "/srv/mlapi" in describe(error, ErrorDetail.FULL)
    # The request's own data set: what is wrong with it is the client's to know.
    refused = DatasetError("the CSV needs at least two rows")
    assert describe(refused, ErrorDetail.SAFE) == "the CSV needs at least two rows"


def test_a_job_whose_lease_is_lost_stops_training_and_registers_nothing(
    jobs: JobStore, registry: Registry, registry_settings: Settings, engine: Engine
) -> None:
    # On a Dask cluster the dispatcher holds the lease; a sweep fails the job once its
    # replica died, and the task, still training, must then stop.
    job = jobs.create(boosting_spec(3000))
    jobs.claim("dispatcher")
    stages: list[float] = []

    def swept_at_first_stage(share: float) -> None:
        if not stages:
            jobs.fail(job.id, "interrupted: swept")
        stages.append(share)

    number = execute_job(
        job.id,
        registry_settings.model_dump_json(),
        swept_at_first_stage,
        claimed_by="dispatcher",
        lease_held_by_dispatcher=True,
    )

    assert number is None
    done = jobs.get(job.id)
    assert (done.state, done.error, done.model_version) == (
        JobState.FAILED,
        "interrupted: swept",
        None,
    )
    assert registry.page().total == 0
    assert len(stages) < 3000  # stopped mid-fit
    with Session(engine) as session:
        row = session.get(TrainingJobRow, job.id)
        assert row is not None
        assert row.heartbeat_at == row.started_at  # the heartbeat is the dispatcher's
