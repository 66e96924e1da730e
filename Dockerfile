# mlapi container image.
#
#   docker build -t mlapi .
#   docker run --rm -p 8888:8888 mlapi            # then open http://localhost:8888/docs
#
# HTTPS: mount a folder holding tls.key and tls.crt (a Kubernetes TLS secret's names) at
# /run/secrets/tls, no code change. Once that folder exists the server serves HTTPS with
# them and refuses to start without them (MLAPI_TLS_DIR; MLAPI_SSL_* name other files):
#   docker run --rm -p 8888:8888 -v "$PWD/tls:/run/secrets/tls:ro" mlapi
#
# Every other setting is an MLAPI_* variable (or /app/mlapi.toml, or MLAPI_CONFIG_FILE).
# Trained models and downloads live under /app/var: mount a volume there to keep them.
#
# Two stages: the builder installs the pinned requirements.txt and then the package into
# a virtual environment; the runtime stage copies only that environment, so pip's build
# leftovers and the source tree stay out of the shipped image.

# One place to move the base image: a pinned patch release of the official slim image.
ARG PYTHON_IMAGE=python:3.11.17-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH="/opt/venv/bin:${PATH}"

RUN python -m venv /opt/venv

WORKDIR /build

# Dependencies first, in their own layer: it is rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# Then the package itself, without dependencies: only the versions pinned above ship.
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip install --no-cache-dir --no-deps .


FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/opt/venv/bin:${PATH}" \
    MLAPI_HOST=0.0.0.0 \
    MLAPI_PORT=8888 \
    MLAPI_MODEL_DIR=/app/var/models \
    MLAPI_CACHE_DIR=/app/var/cache \
    MLAPI_TLS_DIR=/run/secrets/tls

# A fixed, unprivileged UID and GID, so that volume permissions and Kubernetes'
# runAsNonRoot/runAsUser can rely on them. Only /app/var is writable by it.
RUN groupadd --gid 10001 mlapi \
    && useradd --uid 10001 --gid 10001 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin mlapi \
    && mkdir -p /app/var/models /app/var/cache \
    && chown -R 10001:10001 /app/var

COPY --from=builder /opt/venv /opt/venv
COPY scripts/healthcheck.py /app/healthcheck.py

WORKDIR /app
USER 10001:10001

EXPOSE 8888

# Ready means a model is loaded and answering. The check is standard-library Python
# (no curl or wget in the image); it follows MLAPI_PORT, and uses HTTPS without
# verifying the certificate when MLAPI_SSL_CERTFILE is set or MLAPI_TLS_DIR exists.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/app/healthcheck.py"]

# Exec form: mlapi (uvicorn, or with several workers their supervisor) is PID 1 and gets
# docker stop's SIGTERM to shut down gracefully.
CMD ["mlapi", "serve"]
