"""API keys: configured, made, hashed and recognised. Only a key's SHA-256 is configured.

A key is 32 random bytes, URL-safe base64, after the prefix ``mlapi_`` (so secret
scanners and people can tell one when they see one). The server keeps the SHA-256 of
each configured key and compares the digest of a presented key with every one of them
in constant time, so neither the answer nor its timing says how close a guess was.
"""

import hashlib
import hmac
import secrets
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Scope(StrEnum):
    """What an API key may do: ``admin`` may also do everything ``predict`` may."""

    PREDICT = "predict"
    ADMIN = "admin"


class ApiKey(BaseModel):
    """One configured API key (an entry of ``MLAPI_API_KEYS``): name, scope, SHA-256."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$",
        description="Who holds it; recorded in the audit log and with jobs and activations.",
    )
    scope: Scope
    sha256: str = Field(
        pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 of the key, hexadecimal."
    )

    @field_validator("sha256")
    @classmethod
    def _lower_case(cls, value: str) -> str:
        return value.lower()


#: What every key made by :func:`new_key` starts with.
KEY_PREFIX = "mlapi_"


def new_key() -> str:
    """Make a new random key (256 bits from the operating system's generator)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    """Return the SHA-256 of a key, hexadecimal: what ``MLAPI_API_KEYS`` holds."""
    return hashlib.sha256(key.encode()).hexdigest()


class Keyring:
    """The configured keys, looked up by the key a client presents.

    Args:
        keys: The ``api_keys`` setting.
    """

    def __init__(self, keys: list[ApiKey]) -> None:
        self._digests = [(bytes.fromhex(key.sha256), key) for key in keys]
        self.predict_keys = any(key.scope is Scope.PREDICT for key in keys)
        """Whether predict routes need a key: some key has the predict scope."""
        self.admin_keys = any(key.scope is Scope.ADMIN for key in keys)
        """Whether any key may change models."""

    def find(self, presented: str) -> ApiKey | None:
        """Return the configured key a client presented, or None.

        Every configured digest is compared, in constant time, whatever matches.
        """
        digest = hashlib.sha256(presented.encode()).digest()
        found = None
        for expected, key in self._digests:
            if hmac.compare_digest(digest, expected):
                found = key
        return found


def allows(key: ApiKey, scope: Scope) -> bool:
    """Whether a key's scope covers ``scope`` (an admin key may do what a predict key may)."""
    return key.scope is Scope.ADMIN or scope is Scope.PREDICT
