# syntax=docker/dockerfile:1
# Multi-stage image: the builder resolves the locked environment with uv,
# the runtime stage carries only the virtual environment and the project, as a non-root user.

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
# git: DVC needs it to run the pipeline in a repository.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git=1:2.39.* \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 tabpipe
ENV PATH="/app/.venv/bin:${PATH}" \
    DVC_NO_ANALYTICS=1 \
    PYTHONUNBUFFERED=1
WORKDIR /app
COPY --from=builder --chown=tabpipe:tabpipe /app/.venv /app/.venv
COPY --chown=tabpipe:tabpipe . /app
USER 10001:10001
CMD ["dvc", "repro"]
