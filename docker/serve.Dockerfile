# syntax=docker/dockerfile:1
# The champion behind MLflow's own scoring server, as `make serve` runs it, for a tracking
# server that holds the registry (MLFLOW_TRACKING_URI). Build from the repository root:
#   docker build -f docker/serve.Dockerfile -t tabpipe-serve .
# The model is resolved when the container starts (`tabpipe model-uri`: exit 8 and one
# line while the registry has no champion), so one image serves every later champion.

FROM python:3.11-slim-bookworm AS builder
COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src ./src
RUN uv sync --frozen --no-dev

FROM python:3.11-slim-bookworm AS runtime
RUN useradd --create-home --uid 10003 serve
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    TABPIPE_SERVE_PORT=5001 \
    TABPIPE_SERVE_WORKERS=2
WORKDIR /app
COPY --from=builder --chown=serve:serve /app/.venv /app/.venv
COPY --chown=serve:serve params.yaml ./
USER 10003:10003
EXPOSE 5001
HEALTHCHECK --interval=10s --timeout=5s --retries=6 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['TABPIPE_SERVE_PORT']}/ping\", timeout=3)"]
# 0.0.0.0 inside the container; docker-compose.yml publishes it on 127.0.0.1 only.
CMD ["sh", "-c", "uri=$(tabpipe model-uri) && exec mlflow models serve --model-uri \"$uri\" --env-manager local --host 0.0.0.0 --port \"$TABPIPE_SERVE_PORT\" --workers \"$TABPIPE_SERVE_WORKERS\""]
