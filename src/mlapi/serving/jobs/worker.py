"""What runs inside a training process: one job, from its row to a registered version.

The process opens its own connection to the registry, marks the job running, trains
while a heartbeat thread writes progress every :data:`HEARTBEAT_SECONDS`, and registers
the model. A job found no longer running at one of those writes (cancelled, or failed
by a sweep) stops its fit at the estimator's next progress report and registers
nothing; so does one found so just before registering. Activating it, and marking the
job succeeded, are left to the server process that dispatched the job
(:func:`mlapi.serving.jobs.finish.finish_job`), since only it can swap the model it serves.
"""

import json
import logging
import threading
import traceback
from collections.abc import Callable

from mlapi.logs import REQUEST_ID
from mlapi.ml import MlapiError, ModelFileError
from mlapi.serving.database import make_engine
from mlapi.serving.jobs.store import JobStore
from mlapi.serving.registry import Registry
from mlapi.serving.training import train_model
from mlapi.settings import ErrorDetail, Settings

logger = logging.getLogger(__name__)

#: Share of a job's progress that fitting the estimator accounts for.
FIT_SHARE = 0.9

#: Seconds between a training process's progress and heartbeat writes.
HEARTBEAT_SECONDS = 0.5


class _JobStoppedError(Exception):
    """The job stopped running while it trained: cancelled, or its lease expired."""


def execute_job(
    job_id: str,
    settings_json: str,
    progress: Callable[[float], None] | None = None,
    *,
    claimed_by: str | None = None,
    lease_held_by_dispatcher: bool = False,
) -> int | None:
    """Run one training job to the registration of its model.

    Args:
        job_id: The job, already claimed.
        settings_json: The server's settings, as JSON (they cross a process boundary).
        progress: Also told of progress, for a caller in the same process.
        claimed_by: The worker that claimed it: the job runs only if it is still that
            worker's (see :meth:`JobStore.start`), so that it never runs twice.
        lease_held_by_dispatcher: The dispatcher, not this process, keeps the job's
            heartbeat (a Dask task outlives the replica that submitted it): this process
            writes only progress. Either way, once it finds the job no longer running
            (cancelled, or failed by a sweep) it stops, registering nothing.

    Returns:
        The registered version, or None if the job failed (the failure is recorded), was
        cancelled, or was not this worker's to run any more.
    """
    settings = Settings(**json.loads(settings_json))
    engine = make_engine(settings.registry_url)
    jobs = JobStore(engine)
    registry = Registry.for_settings(engine, settings)
    done = [0.0]
    stop, lost = threading.Event(), threading.Event()

    def report(share: float) -> None:
        if lost.is_set():  # raised inside the fit, which it ends
            raise _JobStoppedError(job_id)
        # Fitting is 90 % of a job; evaluating, saving and registering bring it to 100 %.
        done[0] = FIT_SHARE * share
        if progress is not None:
            progress(done[0])

    def heartbeat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            if not jobs.report(job_id, done[0], heartbeat=not lease_held_by_dispatcher):
                lost.set()
                return

    beating = threading.Thread(target=heartbeat, name=f"heartbeat-{job_id}", daemon=True)
    try:
        job = jobs.get(job_id)
        REQUEST_ID.set(job.request_id)  # this process's lines about the job carry it
        if not jobs.start(job_id, claimed_by):
            logger.warning("training job %s not run here: no longer queued for it", job_id)
            return None
        beating.start()
        classifier = train_model(settings, job, progress=report)
        # A fit that never reports progress ends here, if it was cancelled meanwhile.
        if lost.is_set() or not jobs.report(job_id, FIT_SHARE, heartbeat=False):
            raise _JobStoppedError(job_id)
        version = registry.register(classifier, created_by=job.created_by)
        stop.set()  # a last heartbeat (progress 0.9) must not land after the version's 1.0
        beating.join()
        if not jobs.record_version(job_id, version.version):
            # Cancelled between the check and now: the version stays, never activated.
            logger.warning(
                "training job %s stopped after registering version %s: it is no longer "
                "running (cancelled, or its lease expired); the version is not activated",
                job_id,
                version.version,
            )
            return None
        return version.version
    except _JobStoppedError:
        logger.warning(
            "training job %s stopped: it is no longer running (cancelled, or its lease expired)",
            job_id,
        )
        return None
    except Exception as error:
        fields = {"job_id": job_id}
        if isinstance(error, MlapiError):  # the request or the data: its error says it all
            logger.info("training job %s failed: %s", job_id, error, extra=fields)
        else:
            logger.exception("training job %s failed", job_id, extra=fields)
        jobs.fail(job_id, describe(error, settings.error_detail))
        return None
    finally:
        stop.set()
        if beating.is_alive():
            beating.join()
        engine.dispose()


def warm_up() -> None:
    """Do nothing, in a fresh training process: importing this module is the work."""


def describe(error: BaseException, detail: ErrorDetail) -> str:
    """Say what went wrong, for a job's error field, which clients read.

    Args:
        error: The failure, already logged.
        detail: With ``safe``, a failure of the server's own (not about the request or
            its data) is only named as such: its text may hold paths or addresses.

    Returns:
        One line for domain errors; the exception's type and message otherwise.
    """
    if isinstance(error, MlapiError) and not isinstance(error, ModelFileError):
        return str(error)
    if detail is ErrorDetail.SAFE:
        return "the server failed; the error is logged"
    return "".join(traceback.format_exception_only(error)).strip()
