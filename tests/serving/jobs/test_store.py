"""Training job rows: created, claimed, reported on, finished and swept."""

import threading

import pytest
from sqlalchemy import Engine

from mlapi.serving.errors import JobNotFoundError, QueueFullError
from mlapi.serving.jobs.store import JobStore
from mlapi.serving.records import JobState
from tests.serving.specs import age_heartbeat, training_spec

# Rows


def test_create_queues_a_job_with_what_to_train(jobs: JobStore) -> None:
    job = jobs.create(training_spec(created_by="alice"))

    stored = jobs.get(job.id)
    assert stored == job
    assert stored.state is JobState.QUEUED
    assert stored.progress == 0.0
    assert (stored.algorithm, stored.hyperparameters) == ("decision_tree", {"max_depth": 3})
    assert stored.created_by == "alice"
    assert stored.started_at is stored.finished_at is stored.model_version is None
    assert stored.finished is False


def test_a_job_keeps_the_id_of_the_request_that_queued_it(jobs: JobStore) -> None:
    job = jobs.create(training_spec(), request_id="req-" + "x" * 124)
    plain = jobs.create(training_spec())

    assert jobs.get(job.id).request_id == "req-" + "x" * 124  # the longest id accepted
    assert jobs.get(plain.id).request_id is None


def test_get_of_unknown_job_raises_not_found(jobs: JobStore) -> None:
    with pytest.raises(JobNotFoundError):
        jobs.get("no-such-job")


def test_page_lists_jobs_newest_first_with_the_total(jobs: JobStore) -> None:
    ids = [jobs.create(training_spec()).id for _ in range(5)]

    first = jobs.page(limit=3)
    rest = jobs.page(limit=3, offset=3)

    assert (first.total, first.limit, first.offset) == (5, 3, 0)
    assert [job.id for job in [*first.items, *rest.items]] == ids[::-1]


def test_claim_takes_the_oldest_unclaimed_job(jobs: JobStore) -> None:
    older = jobs.create(training_spec())
    newer = jobs.create(training_spec())

    first = jobs.claim("worker-a")
    second = jobs.claim("worker-b")

    assert first is not None
    assert second is not None
    assert (first.id, second.id) == (older.id, newer.id)
    assert jobs.claim("worker-c") is None


def test_claim_skips_jobs_claimed_at_creation(jobs: JobStore) -> None:
    jobs.create(training_spec(), worker="this-server")

    assert jobs.claim("other-server") is None


def test_concurrent_claims_never_take_the_same_job(engine: Engine) -> None:
    stores = [JobStore(engine) for _ in range(4)]
    created = {stores[0].create(training_spec()).id for _ in range(12)}
    barrier = threading.Barrier(len(stores))
    claimed: list[str] = []
    errors: list[BaseException] = []

    def run(store: JobStore, worker: str) -> None:
        barrier.wait()
        try:
            while (job := store.claim(worker)) is not None:
                claimed.append(job.id)
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(store, f"worker-{n}")) for n, store in enumerate(stores)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sorted(claimed) == sorted(created)


def test_release_puts_a_claimed_job_back_in_the_queue(jobs: JobStore) -> None:
    job = jobs.create(training_spec())
    assert jobs.claim("worker-a") is not None

    jobs.release(job.id)

    again = jobs.claim("worker-b")
    assert again is not None
    assert again.id == job.id


def test_start_report_record_and_succeed_follow_the_job(jobs: JobStore) -> None:
    job = jobs.create(training_spec())
    jobs.claim("worker")

    jobs.start(job.id)
    running = jobs.get(job.id)
    jobs.report(job.id, 0.5)
    halfway = jobs.get(job.id)
    jobs.record_version(job.id, 3)
    jobs.succeed(job.id)
    done = jobs.get(job.id)

    assert running.state is JobState.RUNNING
    assert running.started_at is not None
    assert halfway.progress == 0.5
    assert done.state is JobState.SUCCEEDED
    assert (done.progress, done.model_version, done.error) == (1.0, 3, None)
    assert done.finished_at is not None
    assert done.finished_at >= running.started_at
    assert done.finished is True


def test_report_clamps_progress_between_0_and_1(jobs: JobStore) -> None:
    job = jobs.create(training_spec())
    jobs.start(job.id)

    jobs.report(job.id, 7.0)
    high = jobs.get(job.id).progress
    jobs.report(job.id, -1.0)

    assert (high, jobs.get(job.id).progress) == (1.0, 0.0)


def test_fail_records_the_error(jobs: JobStore) -> None:
    job = jobs.create(training_spec())
    jobs.start(job.id)

    jobs.fail(job.id, "it broke")

    failed = jobs.get(job.id)
    assert (failed.state, failed.error) == (JobState.FAILED, "it broke")
    assert failed.finished_at is not None


def test_fail_does_not_overwrite_a_succeeded_job(jobs: JobStore) -> None:
    job = jobs.create(training_spec())
    jobs.start(job.id)
    jobs.succeed(job.id)

    jobs.fail(job.id, "too late")

    assert jobs.get(job.id).state is JobState.SUCCEEDED
    assert jobs.get(job.id).error is None


def test_succeed_does_not_overwrite_a_failed_job(jobs: JobStore) -> None:
    job = jobs.create(training_spec())
    jobs.start(job.id)
    jobs.fail(job.id, "interrupted")

    jobs.succeed(job.id)

    assert jobs.get(job.id).state is JobState.FAILED


def test_report_after_failure_does_not_revive_the_job(jobs: JobStore) -> None:
    job = jobs.create(training_spec())
    jobs.start(job.id)
    jobs.fail(job.id, "interrupted")

    jobs.report(job.id, 0.9)

    assert jobs.get(job.id).state is JobState.FAILED
    assert jobs.get(job.id).progress == 0.0


# Sweeping


def test_sweep_fails_a_running_job_whose_heartbeat_stopped(jobs: JobStore, engine: Engine) -> None:
    job = jobs.create(training_spec())
    jobs.claim("gone")
    jobs.start(job.id)
    age_heartbeat(engine, job.id, 60)

    assert jobs.sweep(stale_seconds=5) == 1

    swept = jobs.get(job.id)
    assert swept.state is JobState.FAILED
    assert swept.error is not None
    assert swept.error.startswith("interrupted")
    assert swept.finished_at is not None


def test_sweep_leaves_a_running_job_with_a_fresh_heartbeat(jobs: JobStore) -> None:
    job = jobs.create(training_spec())
    jobs.start(job.id)
    jobs.report(job.id, 0.2)

    assert jobs.sweep(stale_seconds=5) == 0

    assert jobs.get(job.id).state is JobState.RUNNING


def test_sweep_requeues_a_stale_claim_and_leaves_a_fresh_one(
    jobs: JobStore, engine: Engine
) -> None:
    stale = jobs.create(training_spec(), worker="gone")
    fresh = jobs.create(training_spec(), worker="alive")
    age_heartbeat(engine, stale.id, 60)

    assert jobs.sweep(stale_seconds=5) == 0

    claimed = jobs.claim("new-worker")
    assert claimed is not None
    assert claimed.id == stale.id
    assert jobs.claim("new-worker") is None
    assert jobs.get(fresh.id).state is JobState.QUEUED


def test_renew_keeps_a_workers_claims_through_a_sweep_and_touches_no_other(
    jobs: JobStore, engine: Engine
) -> None:
    mine = jobs.create(training_spec(), worker="alive")
    theirs = jobs.create(training_spec(), worker="gone")
    running = jobs.create(training_spec(), worker="alive")
    jobs.start(running.id, claimed_by="alive")
    for job in (mine, theirs, running):
        age_heartbeat(engine, job.id, 60)

    assert jobs.renew("alive") == 1
    assert jobs.sweep(stale_seconds=5) == 1  # the running job, which renew leaves alone

    assert jobs.get(running.id).state is JobState.FAILED
    assert jobs.claim("new-worker") == jobs.get(theirs.id)  # requeued, then claimed
    assert jobs.claim("new-worker") is None  # "alive" still holds its own
    assert jobs.start(mine.id, claimed_by="alive") is True


def test_sweep_leaves_finished_jobs_alone(jobs: JobStore, engine: Engine) -> None:
    job = jobs.create(training_spec())
    jobs.start(job.id)
    jobs.succeed(job.id)
    age_heartbeat(engine, job.id, 60)

    assert jobs.sweep(stale_seconds=5) == 0
    assert jobs.get(job.id).state is JobState.SUCCEEDED


def test_create_refuses_a_job_past_the_queue_bound(jobs: JobStore) -> None:
    first = jobs.create(training_spec(), max_queued=2)
    jobs.create(training_spec(), max_queued=2)

    with pytest.raises(QueueFullError, match="2 training jobs are already waiting"):
        jobs.create(training_spec(), max_queued=2)
    assert jobs.page().total == 2
    jobs.start(first.id)  # a running job no longer waits: there is room again
    jobs.create(training_spec(), max_queued=2)


def test_concurrent_creates_never_pass_the_queue_bound(engine: Engine) -> None:
    stores = [JobStore(engine) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    outcomes: list[str] = []

    def run(store: JobStore) -> None:
        barrier.wait()
        for _ in range(3):
            try:
                store.create(training_spec(), max_queued=5)
                outcomes.append("queued")
            except QueueFullError:
                outcomes.append("full")

    threads = [threading.Thread(target=run, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert outcomes.count("queued") == 5
    assert outcomes.count("full") == 7


def test_a_claim_taken_back_by_a_sweep_starts_only_for_the_worker_holding_it(
    jobs: JobStore,
) -> None:
    # Worker A's training process was slow to start: its claim went stale, a sweep put
    # the job back and worker B claimed it. Only B may start it, once.
    job = jobs.create(training_spec())
    jobs.claim("worker-a")
    jobs.sweep(stale_seconds=-1)
    assert jobs.claim("worker-b") is not None

    assert jobs.start(job.id, claimed_by="worker-a") is False
    assert jobs.get(job.id).state == "queued"
    assert jobs.start(job.id, claimed_by="worker-b") is True
    assert jobs.start(job.id, claimed_by="worker-b") is False  # running already
    assert jobs.get(job.id).state == "running"
