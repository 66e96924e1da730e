"""The one source of configuration: :class:`Settings`, read once at start-up.

Values come, highest priority first, from arguments, ``MLAPI_*`` environment variables,
the TOML file named by ``MLAPI_CONFIG_FILE`` (or ``mlapi.toml`` in the working folder),
and the defaults below. Nothing else in mlapi reads the environment. A name that is no
setting is refused, in the file and in the environment alike: a misspelt
``MLAPI_MODEL_DIRS`` stops the start-up, saying which setting was probably meant, rather
than leaving the default in place unnoticed.
"""

import difflib
import json
import os
import re
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from mlapi.cluster import Cluster
from mlapi.ml.archives import ExtractionLimits
from mlapi.ml.estimators import CATALOGUE, DEFAULT_ALGORITHM, get_estimator
from mlapi.observability import Observability
from mlapi.safeguards import Safeguards
from mlapi.storage import ObjectStorage

#: Environment variable naming the configuration file.
CONFIG_FILE_VARIABLE = "MLAPI_CONFIG_FILE"
#: Configuration file read when the variable is not set, if it exists.
DEFAULT_CONFIG_FILE = Path("mlapi.toml")


class ErrorDetail(StrEnum):
    """How much of the server's own failures error responses tell the client."""

    SAFE = "safe"
    FULL = "full"


class Settings(Cluster, Safeguards, Observability, ObjectStorage, BaseSettings):
    """Every setting of the service, CLI and training code (the mixins' come first)."""

    model_config = SettingsConfigDict(env_prefix="MLAPI_", extra="forbid", frozen=True)

    host: str = Field(default="127.0.0.1", description="Address the server listens on.")
    port: int = Field(default=8888, ge=1, le=65535, description="TCP port of the server.")
    workers: int = Field(default=1, ge=1, le=64, description="Server worker processes.")
    model_dir: str = Field(
        default="var/models",
        description="Model store: a folder, or an fsspec URL such as `s3://bucket/models`.",
    )
    database_url: str | None = Field(
        default=None,
        description="Registry database (SQLAlchemy URL), e.g. "
        "`postgresql+psycopg://user:password@host/mlapi`; a SQLite file "
        "`registry.sqlite3` in the model folder if unset.",
    )
    training_workers: int = Field(
        default=1, ge=1, le=32, description="Training processes per server process."
    )
    training_niceness: int = Field(
        default=10,
        ge=0,
        le=19,
        description="How much lower than the server's a training process's CPU priority is "
        "(its nice value, added): training takes the CPU that serving leaves.",
    )
    cached_versions: int = Field(
        default=4,
        ge=0,
        le=64,
        description="Model versions besides the served one each worker keeps loaded: for "
        "`model_version` requests, and activated again without loading (a roll-back).",
    )
    poll_interval: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="Seconds between checks for a newly activated version.",
    )
    job_stale_seconds: float = Field(
        default=5.0,
        gt=1,
        description="A running job whose process (on a Dask cluster: whose dispatching server) "
        "has not reported for this long is failed.",
    )
    cache_dir: Path = Field(default=Path("var/cache"), description="Folder of downloads.")
    default_algorithm: str = Field(
        default=DEFAULT_ALGORITHM,
        description=f"Algorithm trained unless one is asked for: one of {sorted(CATALOGUE)}.",
    )
    hyperparameters: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Default hyperparameters per algorithm, e.g. "
        '`{"gradient_boosting": {"n_estimators": 50}}`.',
    )
    test_size: float = Field(
        default=0.2, gt=0, lt=1, description="Share of rows held out to evaluate a model."
    )
    random_state: int = Field(
        # Recorded with each training job in a 32-bit SQL INTEGER.
        default=0,
        ge=0,
        le=2**31 - 1,
        description="Seed of the held-out split.",
    )
    ssl_keyfile: Path | None = Field(default=None, description="TLS private key (PEM).")
    ssl_certfile: Path | None = Field(default=None, description="TLS certificate chain (PEM).")
    max_rows_per_request: int = Field(
        default=10_000, ge=1, description="Most rows accepted in one prediction request."
    )
    batching: bool = Field(
        default=True,
        description="Answer concurrent prediction requests to one model with one model call "
        "(adaptive: a batch is what queued while the previous one ran; nothing waits).",
    )
    batch_max_rows: int = Field(
        default=256,
        ge=1,
        le=100_000,
        description="Most rows in one batch; a request of more rows is predicted alone.",
    )
    max_body_bytes: int = Field(
        default=2 * 1024 * 1024, ge=1024, description="Largest request body accepted, in bytes."
    )
    download_max_bytes: int = Field(
        default=100 * 1024 * 1024, ge=1, description="Largest file a download accepts."
    )
    download_timeout: float = Field(
        default=60.0, gt=0, description="Seconds a download may take in all."
    )
    default_dataset: str = Field(
        default="iris",
        min_length=1,
        description="Data set a training job uses unless it names one: the name of a "
        "bundled or already fetched data set, or the URL of a data package.",
    )
    dataset_allowed_networks: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list,
        description="Networks (comma-separated CIDRs) a data set may be downloaded from "
        "although they are loopback, private, link-local or otherwise internal, e.g. "
        "`10.0.0.0/8,192.168.1.7/32`. Empty: only public addresses.",
    )
    dataset_allow_file: bool = Field(
        default=False, description="Whether a data set URL may be a `file:` URL on the server."
    )
    dataset_connect_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a download may take to connect."
    )
    dataset_max_members: int = Field(
        default=1000, ge=2, description="Most files and folders in a data package archive."
    )
    dataset_max_unpacked_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=1024,
        description="Most bytes a data package archive may expand to.",
    )
    dataset_max_ratio: float = Field(
        default=200.0,
        ge=1,
        description="Largest ratio of expanded to compressed size of a data package archive.",
    )
    dataset_max_rows: int = Field(
        default=1_000_000, ge=2, description="Most rows a data set's CSV file may have."
    )
    require_tls: bool = Field(
        default=False,
        description="Whether `mlapi serve` refuses to start without a TLS key and certificate "
        "(on in the container image when certificates are mounted at `tls_dir`).",
    )
    tls_dir: Path | None = Field(
        default=None,
        description="Folder where a key `tls.key` and certificate `tls.crt` may be mounted: "
        "when it exists, `mlapi serve` requires TLS and serves with them, unless "
        "`ssl_keyfile` and `ssl_certfile` name others.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (comma-separated, e.g. `https://app.example.org`; `*` for any) "
        "whose browser pages may call the API. Empty: no CORS headers at all.",
    )
    max_json_depth: int = Field(
        default=32,
        ge=2,
        le=1000,
        description="Deepest nesting of arrays and objects accepted in a JSON body.",
    )
    body_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a client may take to send a request body, once its headers "
        "are in; a slower one gets 408.",
    )
    model_name: str = Field(
        default="mlapi",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
        description="The model's name in the Open Inference Protocol: `/v2/models/<name>`.",
    )
    error_detail: ErrorDetail = Field(
        default=ErrorDetail.SAFE,
        description="What error responses say of the server's own failures: `safe` gives a "
        "summary and logs the rest (production); `full` adds the internal reason "
        "(file paths, addresses, exception text), for development.",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        # A browser sends its origin as scheme://host[:port], nothing more: a path or a
        # trailing slash would never match, and CORS would fail without a word.
        for origin in origins:
            if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ValueError(f"{origin!r} is not an origin such as https://app.example.org")
        return origins

    @field_validator("dataset_allowed_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        get_estimator(self.default_algorithm)
        for algorithm, values in self.hyperparameters.items():
            get_estimator(algorithm).validate(values)
        if (self.ssl_keyfile is None) != (self.ssl_certfile is None):
            raise ValueError("ssl_keyfile and ssl_certfile must be set together")
        _ = self.registry_url
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read arguments, then the environment, then the TOML configuration file.

        Args:
            settings_cls: The settings class.
            init_settings: Values passed as arguments.
            env_settings: ``MLAPI_*`` environment variables.
            dotenv_settings: Unused.
            file_secret_settings: Unused.

        Returns:
            The sources, highest priority first.
        """
        _refuse_unknown_variables(settings_cls)
        named = os.environ.get(CONFIG_FILE_VARIABLE)
        config_file = Path(named) if named else DEFAULT_CONFIG_FILE
        if named and not config_file.is_file():
            raise FileNotFoundError(f"{CONFIG_FILE_VARIABLE} names a missing file: {config_file}")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config_file.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @property
    def registry_url(self) -> str:
        """The registry database URL: :attr:`database_url`, else SQLite in the model folder.

        Raises:
            ValueError: If neither is local, so there is nowhere to put SQLite.
        """
        if self.database_url:
            return self.database_url
        if "://" in self.model_dir:
            raise ValueError("set MLAPI_DATABASE_URL when MLAPI_MODEL_DIR is a URL")
        return f"sqlite:///{Path(self.model_dir).resolve() / 'registry.sqlite3'}"

    def dump_for_workers(self) -> str:
        """The settings as JSON for this server's own processes to read back, secrets revealed.

        ``model_dump_json`` masks secrets (``**********``), which a training process would
        then sign in to the model store with. Never for a log or a client.
        """
        secrets = {name: v.get_secret_value() for name, v in self if isinstance(v, SecretStr)}
        return json.dumps(self.model_dump(mode="json") | secrets)

    def classifier_options(self) -> dict[str, Any]:
        """Constructor arguments of :class:`~mlapi.ml.IrisClassifier` from these settings.

        Returns:
            Keyword arguments for ``IrisClassifier(...)`` or ``IrisClassifier.load(...)``.
        """
        return {
            "test_size": self.test_size,
            "random_state": self.random_state,
            "cache_dir": self.cache_dir,
            "download_max_bytes": self.download_max_bytes,
            "download_timeout": self.download_timeout,
            "allowed_networks": self.allowed_networks,
        }

    def extraction_limits(self) -> ExtractionLimits:
        """The caps on a data package archive, from the ``dataset_max_*`` settings."""
        return ExtractionLimits(
            max_members=self.dataset_max_members,
            max_total_bytes=self.dataset_max_unpacked_bytes,
            max_ratio=self.dataset_max_ratio,
        )

    @property
    def allowed_networks(self) -> list[IPv4Network | IPv6Network]:
        """:attr:`dataset_allowed_networks`, as the standard library's network objects."""
        return list(self.dataset_allowed_networks)


def _refuse_unknown_variables(settings_cls: type[BaseSettings]) -> None:
    """Raise if an ``MLAPI_*`` environment variable names no setting.

    Args:
        settings_cls: The settings class, whose fields are the known names.

    Raises:
        ValueError: Naming each unknown variable and the setting it probably meant.
    """
    known = {f"MLAPI_{name.upper()}" for name in settings_cls.model_fields}
    known.add(CONFIG_FILE_VARIABLE)
    unknown = sorted(
        name
        for name in os.environ
        if name.upper().startswith("MLAPI_") and name.upper() not in known
    )
    if not unknown:
        return
    # Compared without the common prefix, which would make every name look alike.
    settings = {name.removeprefix("MLAPI_"): name for name in sorted(known)}
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name.upper().removeprefix("MLAPI_"), settings, n=1)
        hints.append(f"{name} (did you mean {settings[close[0]]}?)" if close else name)
    raise ValueError(
        f"environment variables that name no setting: {', '.join(hints)}; "
        "see the configuration reference for the settings there are"
    )
