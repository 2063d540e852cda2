"""A supervisord job on the worker's host: two programs, watched from the triggerer."""

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_supervisor_async import ProgramConfiguration, Supervisor, SupervisorAirflowConfiguration

cfg = SupervisorAirflowConfiguration(
    working_dir="/tmp/supervisor-example-local",
    check_interval=timedelta(seconds=5),
    program={
        "ingest": ProgramConfiguration(command="python -c 'import time; time.sleep(20)'"),
        "report": ProgramConfiguration(command="bash -c 'sleep 10; echo report done'"),
    },
)

with DAG(
    dag_id="example-supervisor-local",
    schedule=timedelta(days=1),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["supervisor"],
) as dag:
    Supervisor(dag=dag, cfg=cfg)
