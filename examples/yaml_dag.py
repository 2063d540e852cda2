"""A job configured in YAML (examples/config/feed.yaml)."""

from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG

from airflow_supervisor_async import Supervisor, SupervisorAirflowConfiguration

cfg = SupervisorAirflowConfiguration.load(Path(__file__).parent / "config" / "feed.yaml")

with DAG(
    dag_id="example-supervisor-yaml",
    schedule=timedelta(days=1),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["supervisor"],
) as dag:
    Supervisor(dag=dag, cfg=cfg)
