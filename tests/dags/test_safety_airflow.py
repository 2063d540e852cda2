"""With a real ``airflow dags test``: credentials from a connection end to end, a password written in a DAG
refused at parse time, and the logs of a failed job kept."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.jobs import short_tempdir

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

SECRET = "p%ss;w0rd x#1"

CONN_DAG = """
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_supervisor_async import Supervisor, SupervisorAirflowConfiguration

cfg = SupervisorAirflowConfiguration(
    working_dir={working_dir!r},
    check_interval=timedelta(seconds=1),
    airflow={{"xmlrpc_conn_id": "asa_rpc", "port": "127.0.0.1:{port}", "transport": "tcp"}},
    program={{"job": {{"command": "bash -c 'sleep 2; echo done'"}}}},
    cleanup=False,  # keep the rendered file to look at it
)

with DAG(dag_id="cred_job", schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as dag:
    Supervisor(dag=dag, cfg=cfg)
"""

PASSWORD_DAG = """
from datetime import datetime

from airflow.sdk import DAG

from airflow_supervisor_async import Supervisor, SupervisorAirflowConfiguration

cfg = SupervisorAirflowConfiguration(
    airflow={{"username": "ops", "password": {secret!r}}},
    program={{"job": {{"command": "sleep 1"}}}},
)

with DAG(dag_id="password_job", schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as dag:
    Supervisor(dag=dag, cfg=cfg)
"""

FAILING_DAG = """
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_supervisor_async import Supervisor, SupervisorAirflowConfiguration

cfg = SupervisorAirflowConfiguration(
    working_dir={working_dir!r},
    check_interval=timedelta(seconds=1),
    max_restarts=0,
    program={{"bad": {{"command": "bash -c 'echo why-it-failed >&2; sleep 1; exit 3'"}}}},
)

with DAG(dag_id="failing_job", schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as dag:
    Supervisor(dag=dag, cfg=cfg)
"""


@pytest.fixture
def working_dir() -> Any:
    path = short_tempdir("asa-sa-")
    yield path / "wd"
    pid = path / "wd" / "supervisord.pid"
    if pid.exists():
        subprocess.run(["kill", "-KILL", pid.read_text().strip()], check=False)
    shutil.rmtree(path, ignore_errors=True)


def logs_text(home: Any) -> str:
    return "\n".join(p.read_text(errors="replace") for p in Path(home.logs_folder).rglob("*") if p.is_file())


@pytest.mark.airflow31
@pytest.mark.timeout(900)  # two DAG runs on a shared 2-core machine
def test_xmlrpc_conn_id_end_to_end_and_a_later_run_takes_the_job_over(airflow_home: Any, working_dir: Path) -> None:
    from tests.fixtures.supervisord import free_port

    airflow_home.add_connection("asa_rpc", json.dumps({"conn_type": "generic", "login": "ops", "password": SECRET}))
    airflow_home.write_dag("cred_job", CONN_DAG.format(working_dir=str(working_dir), port=free_port()))
    result = airflow_home.dags_test("cred_job", timeout=300)
    result.assert_success(
        {
            "cred_job-configure-supervisor": "success",
            "cred_job-check-programs": "success",  # the trigger logged in with the connection's password
            "cred_job-stop-supervisor": "success",
        }
    )
    conf = (working_dir / "supervisord.conf").read_text()
    digest = "{SHA}" + hashlib.sha1(SECRET.encode(), usedforsecurity=False).hexdigest()
    assert conf.count(f"password={digest}") == 2  # unix and TCP server
    assert SECRET not in conf
    assert (working_dir / "supervisord.conf").stat().st_mode & 0o777 == 0o600
    assert SECRET not in result.output
    assert SECRET not in logs_text(airflow_home)

    # cleanup is off, so the lease stays with the first run; the next run asks Airflow, finds it over, takes over
    again = airflow_home.dags_test("cred_job", timeout=300)
    again.assert_success({"cred_job-configure-supervisor": "success", "cred_job-check-programs": "success"})
    assert f"the job's lease is held by run '{result.run_id}' of DAG 'cred_job', which is success" in again.output
    assert f"took the job over from run '{result.run_id}'" in again.output, again.describe()


def test_a_password_in_the_dag_is_an_import_error_without_the_password(airflow_home: Any) -> None:
    airflow_home.write_dag("password_job", PASSWORD_DAG.format(secret=SECRET))
    listed = airflow_home.run_cli("dags", "list-import-errors", "--local", "-o", "json", check=False)
    assert "airflow.password: a password written in the DAG file is refused" in listed.output, listed.describe()
    assert "airflow.xmlrpc_conn_id" in listed.output
    assert SECRET not in listed.output
    assert "w0rd" not in listed.output


def test_a_failed_job_keeps_its_logs_and_says_where(airflow_home: Any, working_dir: Path) -> None:
    airflow_home.write_dag("failing_job", FAILING_DAG.format(working_dir=str(working_dir)))
    result = airflow_home.dags_test("failing_job", timeout=300)
    assert result.dag_run_state == "failed", result.describe()
    assert result.task_states["failing_job-unconfigure-supervisor"] == "success"
    log_file = working_dir / "bad" / "error.log"
    assert "why-it-failed" in log_file.read_text()  # kept
    assert not (working_dir / "supervisord.conf").exists()  # the rest of the cleanup happened
    assert f"its logs are kept for you in {working_dir}" in result.output, result.describe()
    assert str(log_file) in result.output
