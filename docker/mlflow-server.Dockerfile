# The MLflow tracking server of docker-compose.yml: the official image (same MLflow as
# uv.lock) plus the PostgreSQL driver, run as a non-root user.
FROM ghcr.io/mlflow/mlflow:v3.17.2
RUN pip install --no-cache-dir psycopg2-binary==2.9.10 \
    && useradd --create-home --uid 10002 mlflow \
    && mkdir -p /mlartifacts \
    && chown mlflow:mlflow /mlartifacts
USER 10002:10002
EXPOSE 5000
