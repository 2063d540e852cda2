"""A service that must be up from 9 to 17 UTC on weekdays: started by the schedule, stopped at `endtime`.

`check_timeout` bounds one DAG run's watch; when it ends while the service runs, a new DAG run
takes over (the programs keep running), so no run lasts for days.
"""

from datetime import datetime, time, timedelta

from airflow.sdk import DAG

from airflow_supervisor_async import ProgramConfiguration, Supervisor, SupervisorAirflowConfiguration

cfg = SupervisorAirflowConfiguration(
    working_dir="/tmp/supervisor-example-always-on",
    endtime=time(17, 0),
    check_timeout=timedelta(hours=2),
    reference_date="start_date",
    program={"quotes": ProgramConfiguration(command="python -m http.server 8765 --bind 127.0.0.1")},
)

with DAG(
    dag_id="example-supervisor-always-on",
    schedule="0 9 * * 1-5",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["supervisor"],
) as dag:
    Supervisor(dag=dag, cfg=cfg)
