"""The settings of the object store that may hold the model files (``s3://bucket/prefix``).

:class:`ObjectStorage` holds them, and :class:`~mlapi.settings.Settings` inherits them, so
they are read, named (``MLAPI_*``) and checked like every other setting. They matter only
when ``model_dir`` is an ``s3://`` URL; the back end, s3fs, is the ``mlapi[s3]`` extra.
"""

from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, Field, SecretStr, model_validator

#: URL schemes of the model store that :meth:`ObjectStorage.storage_options` configure.
S3_PROTOCOLS = ("s3://", "s3a://")


class ObjectStorage(BaseModel):
    """Where an S3-compatible object store is, how to sign in, and where a replica caches."""

    s3_endpoint_url: str | None = Field(
        default=None,
        description="Endpoint of an S3-compatible store (MinIO, Ceph, ...), e.g. "
        "`http://minio:9000`; AWS S3 itself if unset.",
    )
    s3_access_key_id: SecretStr | None = Field(
        default=None,
        description="Access key id for the store; if unset (with the secret), the AWS "
        "credential chain finds one (`AWS_*` variables, an IAM role on EKS, ...).",
    )
    s3_secret_access_key: SecretStr | None = Field(
        default=None, description="Secret access key for the store, with `s3_access_key_id`."
    )
    s3_region: str | None = Field(
        default=None,
        description="Region of the bucket, e.g. `eu-west-1`; the AWS configuration's if unset.",
    )
    s3_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds a connection to the store, or a wait for its answer, may take "
        "(three tries in all) before the store counts as unreachable (503 `model-store`).",
    )
    model_cache_dir: Path | None = Field(
        default=None,
        description="Folder where each replica keeps the model files it read from an object "
        "store, named by checksum and checked on every read; `models` under `cache_dir` if "
        "unset. Unused for a local model folder.",
    )

    @model_validator(mode="after")
    def _check_credentials(self) -> Self:
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            raise ValueError("s3_access_key_id and s3_secret_access_key must be set together")
        return self

    def storage_options(self, url: str) -> dict[str, Any]:
        """Keyword arguments of the fsspec file system behind ``url`` (s3fs's for ``s3://``).

        Credentials left unset are left out, so that botocore's own chain finds them.

        Args:
            url: The model store's URL or folder.

        Returns:
            The options; none for anything but an S3 URL.
        """
        if not url.startswith(S3_PROTOCOLS):
            return {}
        config = {
            "connect_timeout": self.s3_timeout,
            "read_timeout": self.s3_timeout,
            # Three tries in all: a store that is down fails a request in seconds, not minutes.
            "retries": {"mode": "standard", "total_max_attempts": 3},
        }
        # Listings are not cached: other replicas write to the same store.
        options: dict[str, Any] = {"config_kwargs": config, "use_listings_cache": False}
        if self.s3_endpoint_url:
            options["endpoint_url"] = self.s3_endpoint_url
        if self.s3_region:
            options["client_kwargs"] = {"region_name": self.s3_region}
        if self.s3_access_key_id is not None and self.s3_secret_access_key is not None:
            options["key"] = self.s3_access_key_id.get_secret_value()
            options["secret"] = self.s3_secret_access_key.get_secret_value()
        return options
