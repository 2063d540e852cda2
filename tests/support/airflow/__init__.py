"""A real Apache Airflow 3 for tests and benchmarks, driven through the ``airflow`` CLI in subprocesses: a
temporary AIRFLOW_HOME and a four-process cluster. Plain helpers: nothing here imports pytest or Airflow."""

from tests.support.airflow.cluster import (
    COMPONENTS,
    TERMINAL_RUN_STATES,
    AirflowCluster,
    default_cluster_settings,
    free_port,
)
from tests.support.airflow.commands import CommandResult, airflow_executable, file_tail, output_tail, run_command
from tests.support.airflow.dags import DagTestResult, deferrable_wait_dag_source, job_dag_source
from tests.support.airflow.home import REPO_ROOT, AirflowHome
from tests.support.airflow.processes import kill_pids, processes_with_home
from tests.support.airflow.waiting import AirflowHarnessError, WaitTimeoutError, wait_for

__all__ = (
    "COMPONENTS",
    "REPO_ROOT",
    "TERMINAL_RUN_STATES",
    "AirflowCluster",
    "AirflowHarnessError",
    "AirflowHome",
    "CommandResult",
    "DagTestResult",
    "WaitTimeoutError",
    "airflow_executable",
    "default_cluster_settings",
    "deferrable_wait_dag_source",
    "file_tail",
    "free_port",
    "job_dag_source",
    "kill_pids",
    "output_tail",
    "processes_with_home",
    "run_command",
    "wait_for",
)
