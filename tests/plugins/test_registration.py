"""What the start step registers for the page: public endpoint data and program specs, never a secret."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from airflow_supervisor_async.config import ProgramConfiguration, SupervisorAirflowConfiguration
from airflow_supervisor_async.status import REGISTRATION_KEY, JobRegistration, ProgramSpec

pytestmark = [pytest.mark.airflow, pytest.mark.airflow31]


class TaskInstance:
    """Records ``xcom_push`` calls (the one method of Airflow's task instance the step uses)."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = json.loads(json.dumps(value))  # what an XCom stores: JSON


class Task:
    task_id = "feeds-start-supervisor"
    log = logging.getLogger("test.registration")


def config(tmp_path: Path, **airflow: Any) -> SupervisorAirflowConfiguration:
    return SupervisorAirflowConfiguration(
        working_dir=tmp_path,
        airflow=airflow,
        program={
            "feed": ProgramConfiguration(command="sleep 60", exitcodes=[0, 3], startsecs=0),
            "report": ProgramConfiguration(command="true", stopwaitsecs=5),
        },
    )


def test_the_registration_names_the_endpoint_and_programs_without_secrets(tmp_path: Path) -> None:
    from airflow_supervisor_async.operators.registration import register_job

    ti = TaskInstance()
    cfg = config(tmp_path, xmlrpc_conn_id="feeds_rpc", username="ops", password=SecretStr("s3cret-pw"))
    register_job(Task(), cfg, {"ti": ti})  # type: ignore[arg-type]
    stored = ti.pushed[REGISTRATION_KEY]
    assert "s3cret-pw" not in json.dumps(stored)
    registration = JobRegistration.model_validate(stored)
    assert registration.prefix == "feeds"
    endpoint = registration.endpoint
    assert (endpoint["unix_socket"], endpoint["username"], endpoint["conn_id"]) == (
        str(tmp_path / "supervisor.sock"),
        "ops",
        "feeds_rpc",
    )
    assert "password" not in endpoint
    assert registration.programs == {
        "feed": ProgramSpec(exitcodes=[0, 3], startsecs=0, stopwaitsecs=30),  # airflow.stopwaitsecs
        "report": ProgramSpec(exitcodes=[0], startsecs=1, stopwaitsecs=5),
    }


def test_a_password_written_in_the_dag_is_not_registered(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from airflow_supervisor_async.operators.registration import register_job

    ti = TaskInstance()
    register_job(Task(), config(tmp_path, username="ops", password=SecretStr("s3cret-pw")), {"ti": ti})  # type: ignore[arg-type]
    assert ti.pushed == {}
    assert "job not registered for the supervisor page: airflow.password" in caplog.text
    assert "s3cret-pw" not in caplog.text
