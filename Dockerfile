# The crier image: one image for `crier api`, `crier worker`, `crier migrate` and the operator
# commands (`crier tenants`, `crier keys`, `crier rotate-keys`). docker-compose.yml runs it.
#
#   docker build -t crier .
#   docker run --rm crier --help

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# --- build: install crier and its dependencies into a virtualenv ---------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/crier
WORKDIR /src
# .dockerignore keeps .venv, .git, tests, local data and any .env out of this copy.
COPY . .
# The package only: no test extras (pytest, playwright, ...) in the image.
RUN /opt/crier/bin/pip install .

# --- runtime: the virtualenv, a non-root user, nothing else ---------------------------------
FROM ${PYTHON_IMAGE}

ENV PATH=/opt/crier/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# Production, said here as well as in crier's own default: a container run with no settings
# refuses to start until it has its secrets (CRIER_TOKEN_KEYS, CRIER_PAYLOAD_KEYS,
# CRIER_SESSION_SECRET, CRIER_SANDBOX_SECRET, CRIER_DATABASE_URL) instead of running as
# development. Never override it for a deployment.
ENV CRIER_ENV=production

RUN groupadd --system --gid 10001 crier \
    && useradd --system --uid 10001 --gid crier --create-home --home-dir /home/crier \
       --shell /usr/sbin/nologin crier

COPY --from=build /opt/crier /opt/crier

USER crier:crier
WORKDIR /home/crier

# 8000: `crier api`; 9464: the worker's Prometheus endpoint (CRIER_METRICS_BIND).
EXPOSE 8000 9464

ENTRYPOINT ["crier"]
CMD ["--help"]
