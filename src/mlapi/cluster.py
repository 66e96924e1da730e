"""The settings of training on a Dask cluster: where its scheduler is, how long to wait for it.

:class:`Cluster` holds them, and :class:`~mlapi.settings.Settings` inherits them, so they
are read, named (``MLAPI_*``) and checked like every other setting. Without a scheduler
address, training runs in each server's own process pool (the embedded default).
"""

from pydantic import BaseModel, Field, field_validator


class Cluster(BaseModel):
    """Where training jobs run when they run on a Dask cluster rather than beside the server."""

    dask_scheduler: str | None = Field(
        default=None,
        description="Address of a Dask scheduler, e.g. `tcp://dask-scheduler:8786`: training "
        "jobs run on its cluster (needs the `mlapi[dask]` extra). Unset: in each server's "
        "own pool of training processes.",
    )
    dask_connect_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds to wait for the Dask scheduler on each attempt to connect; "
        "while it cannot be reached, training jobs stay queued and the server retries.",
    )
    dask_jobs: int | None = Field(
        default=None,
        ge=1,
        le=1024,
        description="Most training jobs each server process has running on the Dask cluster "
        "at once; `MLAPI_TRAINING_WORKERS` if unset.",
    )

    @field_validator("dask_scheduler")
    @classmethod
    def _blank_is_unset(cls, address: str | None) -> str | None:
        # An empty MLAPI_DASK_SCHEDULER= in a manifest means "no cluster", not an address.
        return address.strip() or None if address is not None else None
