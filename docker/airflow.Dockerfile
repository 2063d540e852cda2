# Airflow 3 with airflow-supervisor-async installed: the one image of the api-server, scheduler,
# dag-processor, triggerer and airflow-init services of docker-compose.yml. Build context: repo root
# (.dockerignore sends only the package sources and docker/ scripts).
ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11
FROM ${AIRFLOW_IMAGE}

COPY --chown=airflow:0 pyproject.toml README.md /opt/project/
COPY --chown=airflow:0 airflow_supervisor_async /opt/project/airflow_supervisor_async

# Pin the image's own Airflow (AIRFLOW_VERSION is set by the official image) so that pip never
# up- or downgrades it; the SSH provider version is the one this project is tested with.
RUN pip install --no-cache-dir \
        "apache-airflow==${AIRFLOW_VERSION:?}" \
        "apache-airflow-providers-ssh>=7.0" \
        "/opt/project[airflow]" \
    && python -c "import airflow_supervisor_async.provider"
