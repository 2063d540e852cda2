# Airflow 3 with airflow-supervisor-async installed (api-server, scheduler, dag-processor, triggerer).
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:root pyproject.toml README.md /opt/project/
COPY --chown=airflow:root airflow_supervisor_async /opt/project/airflow_supervisor_async
RUN pip install --no-cache-dir "/opt/project[airflow]"
