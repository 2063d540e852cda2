"""A supervisord job on another host, reached through the Airflow SSH connection `supervisor_host`.

The remote host needs sshd and `pip install supervisor`; XML-RPC goes through the SSH connection to
supervisord's unix socket, so nothing listens on the network there.
"""

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_supervisor_async import (
    ProgramConfiguration,
    SSHConfiguration,
    Supervisor,
    SupervisorSSHAirflowConfiguration,
)

cfg = SupervisorSSHAirflowConfiguration(
    ssh=SSHConfiguration(ssh_conn_id="supervisor_host"),
    working_dir="/tmp/supervisor-example-remote",
    program={"feed": ProgramConfiguration(command="bash -c 'for i in $(seq 30); do echo tick $i; sleep 1; done'")},
)

with DAG(
    dag_id="example-supervisor-remote",
    schedule=timedelta(days=1),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["supervisor"],
) as dag:
    Supervisor(dag=dag, cfg=cfg)
