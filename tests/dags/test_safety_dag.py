"""What ``Supervisor`` decides when the DAG is parsed: no password in a DAG file, one job per DAG (and prefix),
one DAG run at a time; and the credential path of the configure step."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

pytest.importorskip("airflow")

from airflow.sdk import DAG

from airflow_supervisor_async import (
    ConfigurationError,
    SSHConfiguration,
    Supervisor,
    SupervisorAirflowConfiguration,
    SupervisorRemote,
)
from airflow_supervisor_async.config.airflow import PRIVATE_BASE_PREFIX
from airflow_supervisor_async.operators.lifecycle import WriteSupervisorConfigOperator

pytestmark = [pytest.mark.airflow, pytest.mark.airflow31]

SECRET = "Pa%w0rd-in-dag"
PROGRAMS = {"feed": {"command": "sleep 1"}}


def dag(dag_id: str = "safety_dag") -> DAG:
    return DAG(dag_id=dag_id, schedule=None, start_date=datetime(2024, 1, 1))


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"airflow": {"username": "ops", "password": SECRET}}, "airflow.password"),
        ({"airflow": {"username": "ops", "password": SECRET, "xmlrpc_conn_id": "rpc"}}, "airflow.password"),
        ({"inet_http_server": {"port": 9001, "username": "ops", "password": SECRET}}, "inet_http_server.password"),
        ({"unix_http_server": {"username": "ops", "password": SECRET}}, "unix_http_server.password"),
        ({"supervisorctl": {"username": "ops", "password": SECRET.replace("%", "%%")}}, "supervisorctl.password"),
    ],
)
def test_a_password_in_the_dag_is_refused_when_the_dag_is_parsed(options: dict[str, Any], field: str) -> None:
    cfg = SupervisorAirflowConfiguration.model_validate({"program": PROGRAMS, **options})
    with dag() as d, pytest.raises(ConfigurationError) as info:
        Supervisor(dag=d, cfg=cfg)
    assert f"{field}: a password written in the DAG file is refused" in str(info.value)
    assert "airflow.xmlrpc_conn_id" in str(info.value)
    assert "w0rd-in-dag" not in str(info.value)
    assert d.task_dict == {}  # refused before any task was added


def test_an_ssh_password_in_the_dag_is_refused() -> None:
    cfg = SupervisorAirflowConfiguration.model_validate({"program": PROGRAMS})
    with dag() as d, pytest.raises(ConfigurationError, match=r"ssh\.password.*ssh\.ssh_conn_id") as info:
        SupervisorRemote(dag=d, cfg=cfg, ssh=SSHConfiguration(host="h", password=SECRET))
    assert SECRET not in str(info.value)


def test_each_dag_and_prefix_is_a_job_of_its_own() -> None:
    cfg = SupervisorAirflowConfiguration.model_validate({"program": PROGRAMS})  # one config, shared
    with dag("dag_one") as one:
        first = Supervisor(dag=one, cfg=cfg)
        second = Supervisor(dag=one, cfg=cfg, task_id_prefix="again")
    with dag("dag_two") as two:
        third = Supervisor(dag=two, cfg=cfg)
    assert [s.cfg.job for s in (first, second, third)] == ["dag_one", "dag_one.again", "dag_two"]
    folders = {s.cfg.resolved_working_dir for s in (first, second, third)}
    assert len(folders) == 3
    assert all(f.parent.name.startswith(PRIVATE_BASE_PREFIX) for f in folders)
    assert cfg.job is None  # the caller's object is not changed
    named = SupervisorAirflowConfiguration.model_validate({"program": PROGRAMS, "job": "feed"})
    with dag("dag_three") as three:
        assert Supervisor(dag=three, cfg=named).cfg.job == "feed"  # an explicit name is kept


def test_supervisor_makes_the_scheduler_run_one_job_run_at_a_time() -> None:
    with DAG(dag_id="many", schedule=None, start_date=datetime(2024, 1, 1), max_active_runs=5) as d:
        Supervisor(dag=d, cfg=SupervisorAirflowConfiguration.model_validate({"program": PROGRAMS}))
    assert d.max_active_runs == 1


def test_credentials_from_xmlrpc_conn_id_are_secret_and_hashed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented path: configure-supervisor reads the connection (it raised AttributeError before)."""
    monkeypatch.setenv("AIRFLOW_CONN_ASA_RPC", json.dumps({"conn_type": "generic", "login": "ops", "password": SECRET}))
    cfg = SupervisorAirflowConfiguration.model_validate(
        {"working_dir": "/tmp/asa-cred", "airflow": {"xmlrpc_conn_id": "asa_rpc"}, "program": PROGRAMS}
    )
    resolved = WriteSupervisorConfigOperator(task_id="configure", cfg=cfg).resolved_cfg()
    assert resolved.airflow.username == "ops"
    assert resolved.airflow.password is not None
    assert resolved.airflow.password.get_secret_value() == SECRET
    for shown in (repr(resolved), str(resolved), resolved.model_dump_json(), resolved.to_conf()):
        assert SECRET not in shown
    assert "password={SHA}" in resolved.to_conf()

    monkeypatch.setenv("AIRFLOW_CONN_ASA_RPC", json.dumps({"conn_type": "generic", "password": SECRET}))
    half = WriteSupervisorConfigOperator(task_id="configure", cfg=cfg).resolved_cfg()
    with pytest.raises(ValueError, match="the connection has no login") as info:
        half.to_conf()
    assert SECRET not in str(info.value)
