"""The server's TLS: TLS 1.2 at least, AEAD ciphers with forward secrecy, and its files.

``mlapi serve`` gives uvicorn :func:`harden` as its ``ssl_context_factory``, with one
worker and in each worker of several alike: uvicorn builds the context from the key and
certificate as usual, and this then sets the floor and the cipher list explicitly rather
than leaving them to the defaults: Python's list still takes CBC suites (with SHA-256
and SHA-384), uvicorn's command-line default, ``"TLSv1"``, CBC with SHA-1 too.
"""

import ssl
from collections.abc import Callable
from pathlib import Path

from mlapi.settings import Settings

#: The oldest protocol version a client may speak.
MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2

#: TLS 1.2 suites: Mozilla's "intermediate" list without its DHE suites, that is ECDHE
#: key exchange (forward secrecy) with AES-GCM or ChaCha20-Poly1305 (AEAD). TLS 1.3 has
#: its own suites, all of them AEAD, which OpenSSL configures apart.
CIPHERS = ":".join(
    [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ]
)

#: File names in :attr:`~mlapi.settings.Settings.tls_dir`, as a Kubernetes TLS secret
#: mounted as a volume names them.
KEY_FILE_NAME = "tls.key"
CERT_FILE_NAME = "tls.crt"


class TLSRequiredError(Exception):
    """TLS is required, but there is no key and certificate to serve it with."""


def harden(config: object, default_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """Build uvicorn's TLS context, then hold it to TLS 1.2 and the modern cipher list.

    Args:
        config: uvicorn's ``Config`` (unused: the key and certificate are already in the
            context the default factory builds).
        default_factory: uvicorn's own way of building the context from its options.

    Returns:
        The context the server listens with.
    """
    context = default_factory()
    context.minimum_version = MINIMUM_VERSION
    context.set_ciphers(CIPHERS)
    return context


def tls_files(settings: Settings) -> tuple[Path, Path] | None:
    """The key and certificate to serve with, if any.

    ``ssl_keyfile`` and ``ssl_certfile`` when set; else ``tls.key`` and ``tls.crt`` in
    ``tls_dir`` when that folder exists.

    Returns:
        The key and certificate, or None for plain HTTP.

    Raises:
        TLSRequiredError: If TLS is required (``require_tls``, or ``tls_dir`` exists) and
            there are no files to serve it with; the message says what to set.
    """
    if settings.ssl_keyfile and settings.ssl_certfile:
        return settings.ssl_keyfile, settings.ssl_certfile
    folder = settings.tls_dir
    if folder is not None and folder.is_dir():
        keyfile, certfile = folder / KEY_FILE_NAME, folder / CERT_FILE_NAME
        missing = [path.name for path in (keyfile, certfile) if not path.is_file()]
        if missing:
            raise TLSRequiredError(
                f"the TLS folder {folder} lacks {' and '.join(missing)}: mount both "
                f"{KEY_FILE_NAME} and {CERT_FILE_NAME} there, or set MLAPI_SSL_KEYFILE "
                "and MLAPI_SSL_CERTFILE"
            )
        return keyfile, certfile
    if settings.require_tls:
        raise TLSRequiredError(
            "TLS is required (MLAPI_REQUIRE_TLS) but no key and certificate are configured: "
            "set MLAPI_SSL_KEYFILE and MLAPI_SSL_CERTFILE (or --ssl-keyfile and "
            "--ssl-certfile), or MLAPI_REQUIRE_TLS=false to serve plain HTTP"
        )
    return None
