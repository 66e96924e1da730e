"""The settings that guard the service: keys, bounds on work, the audit log, provenance.

:class:`Safeguards` holds them, and :class:`~mlapi.settings.Settings` inherits them, so
they are read, named (``MLAPI_*``) and checked like every other setting.
"""

from limits import parse_many
from pydantic import BaseModel, Field, SecretStr, field_validator

from mlapi.keys import ApiKey
from mlapi.ml.provenance import LibraryMismatch


class Safeguards(BaseModel):
    """Who may call what, how much work a server takes on, and what it trusts."""

    dev_mode: bool = Field(
        default=False,
        description="Development mode: model-changing routes need no key while no admin key "
        "is configured. For `make run` on a workstation only; never in production.",
    )
    api_keys: list[ApiKey] = Field(
        default_factory=list,
        description='API keys, as a JSON list of `{"name", "scope", "sha256"}` (scope '
        "`predict` or `admin`; `mlapi keys new` makes one). Predict routes need a key once a "
        "predict key is configured; model-changing routes always need an admin key, "
        "except in development mode.",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="Key the CLI sends to a server (`mlapi --url ...`); only from the "
        "environment or the configuration file, never from the command line.",
    )
    max_queued_jobs: int = Field(
        default=8,
        ge=1,
        le=10_000,
        description="Most training jobs waiting to run; another request is answered 429.",
    )
    rate_limit: str | None = Field(
        default=None,
        description="Requests each key (or, without a key, each client address) may make "
        "per worker process, e.g. `100/minute` or `10/second;500/hour`; unlimited if unset.",
    )
    model_store_max_bytes: int | None = Field(
        default=None,
        ge=1,
        description="Most bytes the model files may take together; a new version that "
        "would pass it is refused (507). Unlimited if unset.",
    )
    min_free_disk_bytes: int = Field(
        default=100 * 1024 * 1024,
        ge=0,
        description="Free space a new model file must leave on a local model store's disk; "
        "a version that would leave less is refused (507).",
    )
    audit_max_events: int = Field(
        default=100_000,
        ge=100,
        description="Audit log events kept in the registry database; older ones are deleted.",
    )
    library_mismatch: LibraryMismatch = Field(
        default=LibraryMismatch.WARN,
        description="What loading a model made by other versions of scikit-learn or skops, "
        "other major versions of numpy or scipy, or with no record of them, does: `warn` "
        "logs a warning naming them and loads it; `refuse` refuses it (503 `model-file`; "
        "the last good model keeps serving).",
    )

    document_data_rows: bool = Field(
        default=True,
        description="Whether the OpenAPI document, open to anyone, shows a row recorded from "
        "the served model's training data as its predict example; `false` where that data "
        "is confidential: placeholders of each feature's type instead (rows of the bundled "
        "public data sets are shown either way).",
    )

    @field_validator("rate_limit")
    @classmethod
    def _parse_rate_limit(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_many(value)
            except ValueError as error:
                raise ValueError(
                    f"{error}; write it as a count per period, e.g. 100/minute"
                ) from error
        return value

    @field_validator("api_keys")
    @classmethod
    def _distinct_keys(cls, keys: list[ApiKey]) -> list[ApiKey]:
        for field in ("name", "sha256"):
            values = [getattr(key, field) for key in keys]
            repeated = sorted({value for value in values if values.count(value) > 1})
            if repeated:
                raise ValueError(f"two API keys have the same {field}: {', '.join(repeated)}")
        return keys
