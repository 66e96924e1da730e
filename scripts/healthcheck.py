"""Container health check: exit 0 when the local mlapi server is ready, 1 when not.

The Dockerfile's ``HEALTHCHECK`` runs this inside the container, with the container's
environment and working folder. It asks ``/v1/health/ready`` on 127.0.0.1, which answers
200 only once a model is loaded, at the port the server listens on: ``MLAPI_PORT``, else
``port`` in the configuration file (``MLAPI_CONFIG_FILE`` or ``./mlapi.toml``), else 8888.
When a certificate is configured (``MLAPI_SSL_CERTFILE`` or ``ssl_certfile``), or the
TLS folder exists (``MLAPI_TLS_DIR`` or ``tls_dir``: the server then serves HTTPS), it uses
HTTPS without verifying the certificate: that names the service's public host, not
127.0.0.1, and this check only asks whether the server in this container answers.

Standard library only, so the image needs no curl or wget and the check starts fast;
it does not import mlapi, whose start-up costs more than a second and 150 MB.
"""

import http.client
import os
import ssl
import sys
import tomllib
import urllib.request
from pathlib import Path
from typing import Any

READY_PATH = "/v1/health/ready"
DEFAULT_PORT = 8888
#: Seconds to wait for the answer; below the HEALTHCHECK's --timeout.
TIMEOUT = 4.0


def _config_file() -> dict[str, Any]:
    named = os.environ.get("MLAPI_CONFIG_FILE")
    path = Path(named) if named else Path("mlapi.toml")
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def ready_url() -> tuple[str, ssl.SSLContext | None]:
    """Find where the local server answers, as mlapi's settings resolve it.

    Returns:
        The readiness URL and, for HTTPS, a TLS context that accepts any certificate.
    """
    config = _config_file()
    port = os.environ.get("MLAPI_PORT") or config.get("port") or DEFAULT_PORT
    certfile = os.environ.get("MLAPI_SSL_CERTFILE") or config.get("ssl_certfile")
    tls_dir = os.environ.get("MLAPI_TLS_DIR") or config.get("tls_dir")
    if not certfile and not (tls_dir and Path(tls_dir).is_dir()):
        return f"http://127.0.0.1:{port}{READY_PATH}", None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return f"https://127.0.0.1:{port}{READY_PATH}", context


def main() -> int:
    """Ask the server whether it is ready.

    Returns:
        0 if it answered 200, else 1 (Docker's "unhealthy").
    """
    url, context = ready_url()
    try:
        # The URL is built above from a fixed scheme, host and path.
        with urllib.request.urlopen(url, timeout=TIMEOUT, context=context) as response:  # noqa: S310
            status = response.status
    except (OSError, http.client.HTTPException, ValueError) as error:
        # HTTPError (a 503 while the model loads) and URLError are OSErrors.
        print(f"unhealthy: {url}: {error}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"unhealthy: {url}: HTTP {status}", file=sys.stderr)
        return 1
    print(f"ready: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
