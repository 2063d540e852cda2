"""The real-Airflow harness itself: AirflowHome + ``airflow dags test``, and the four-process cluster.

Run with ``-p tests.fixtures.airflow`` until ``tests.fixtures.airflow`` is in conftest's ``pytest_plugins``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from tests.support.airflow import (
    REPO_ROOT,
    AirflowHome,
    WaitTimeoutError,
    deferrable_wait_dag_source,
    wait_for,
)

if TYPE_CHECKING:
    from pathlib import Path

# --------------------------------------------------------------------------------------------
# no Airflow process needed


def test_env_isolates_and_configures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    monkeypatch.setenv("AIRFLOW_CONN_SOMEONE_ELSES", "http://example.invalid")
    monkeypatch.setenv("AIRFLOW_HOME", "/nonexistent")
    home = AirflowHome(tmp_path / "home", settings={"AIRFLOW__CORE__PARALLELISM": "3"})
    home.add_connection("my_ssh", "ssh://user@127.0.0.1:2222")

    env = home.env({"EXTRA": "1"})

    assert env["AIRFLOW_HOME"] == str(home.path)
    assert "AIRFLOW__CORE__EXECUTOR" not in env
    assert "AIRFLOW_CONN_SOMEONE_ELSES" not in env
    assert env["AIRFLOW_CONN_MY_SSH"] == "ssh://user@127.0.0.1:2222"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(home.path / "dags")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{home.path}/airflow.db"
    assert env["AIRFLOW__CORE__PARALLELISM"] == "3"
    assert env["EXTRA"] == "1"
    assert env["PYTHONPATH"].split(":")[0] == str(REPO_ROOT)


def test_write_dag_dedents_into_dags_folder(tmp_path: Path) -> None:
    home = AirflowHome(tmp_path / "home")
    path = home.write_dag("one", "\n    x = 1\n    y = 2\n")
    assert path == home.dags_folder / "one.py"
    assert path.read_text() == "x = 1\ny = 2\n"


def test_wait_for_returns_value_or_times_out_with_message() -> None:
    calls = iter([0, 0, 7])
    assert wait_for(lambda: next(calls), timeout=5, interval=0.01) == 7
    with pytest.raises(WaitTimeoutError, match="never true: details"):
        wait_for(lambda: False, timeout=0.2, interval=0.05, message=lambda: "never true: details")


# --------------------------------------------------------------------------------------------
# airflow dags test

_DAG_WITH_CONF_AND_CONNECTION = """
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import BaseHook

def _report(**context):
    conn = BaseHook.get_connection("harness_conn")
    print(f"harness-report host={conn.host} port={conn.port} conf={context['dag_run'].conf['greeting']}")

report = PythonOperator(task_id="report", python_callable=_report, dag=dag)
after >> report
"""


@pytest.mark.slow
@pytest.mark.airflow
def test_dags_test_runs_a_deferred_task_inline(airflow_home: AirflowHome) -> None:
    source = deferrable_wait_dag_source("harness_deferrable", seconds=2) + _DAG_WITH_CONF_AND_CONNECTION
    airflow_home.write_dag("harness_deferrable", source)
    airflow_home.add_connection("harness_conn", "http://127.0.0.1:18080")

    result = airflow_home.dags_test("harness_deferrable", timeout=120, conf={"greeting": "hello"})

    result.assert_success({"wait": "success", "after": "success", "report": "success"})
    assert result.deferred_task_ids == ["wait"], result.describe()
    assert "harness-report host=127.0.0.1 port=18080 conf=hello" in result.output, result.describe()
    assert result.run_id is not None
    assert airflow_home.dag_runs("harness_deferrable")[-1]["conf"] == '{"greeting": "hello"}'


@pytest.mark.slow
@pytest.mark.airflow
def test_dags_test_failure_is_reported_not_raised(airflow_home: AirflowHome) -> None:
    airflow_home.write_dag(
        "harness_failing",
        """
        import pendulum
        from airflow.providers.standard.operators.python import PythonOperator
        from airflow.sdk import DAG

        def _boom():
            raise RuntimeError("harness-boom-marker")

        with DAG("harness_failing", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
            PythonOperator(task_id="boom", python_callable=_boom)
        """,
    )

    result = airflow_home.dags_test("harness_failing", timeout=120)

    assert not result.succeeded
    assert result.dag_run_state == "failed"
    assert result.task_states == {"boom": "failed"}
    with pytest.raises(AssertionError, match="harness-boom-marker"):
        result.assert_success()


@pytest.mark.slow
@pytest.mark.airflow
def test_dags_test_timeout_kills_the_run(airflow_home: AirflowHome) -> None:
    airflow_home.write_dag("harness_slow", deferrable_wait_dag_source("harness_slow", seconds=600))

    started = time.monotonic()
    result = airflow_home.dags_test("harness_slow", timeout=15)

    assert result.timed_out
    assert result.returncode is None
    assert time.monotonic() - started < 35
    assert not result.succeeded
    assert "TIMED OUT" in result.describe()
    assert airflow_home.processes() == []


@pytest.mark.slow
@pytest.mark.airflow
def test_add_connection_to_db(airflow_home: AirflowHome) -> None:
    airflow_home.add_connection("harness_db_conn", "http://127.0.0.1:18081", store="db")
    rows = airflow_home.query("SELECT conn_id, host, port FROM connection WHERE conn_id = 'harness_db_conn'")
    assert rows == [{"conn_id": "harness_db_conn", "host": "127.0.0.1", "port": 18081}]
