"""Whole supervisor DAGs through the real `airflow dags test` (deferred tasks and their trigger run inline)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.fixtures.jobs import short_tempdir
from tests.support.airflow import job_dag_source

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def write_job_dag(home: Any, dag_id: str, programs: dict[str, str], working_dir: Path, **options: Any) -> None:
    cfg = {
        "working_dir": str(working_dir),
        "check_interval": 1,
        "unreachable_timeout": 4,
        "program": {name: {"command": command} for name, command in programs.items()},
        **options,
    }
    home.write_dag(dag_id, job_dag_source(dag_id, cfg))


@pytest.fixture
def working_dir() -> Any:
    path = short_tempdir("asa-dag-")
    path.rmdir()  # the DAG creates it
    yield path
    pid_file = path / "supervisord.pid"
    if pid_file.exists():  # a failed test must not leave supervisord behind
        subprocess.run(["kill", "-KILL", pid_file.read_text().strip()], check=False)
    shutil.rmtree(path, ignore_errors=True)


def supervisord_running(working_dir: Path) -> bool:
    pid_file = working_dir / "supervisord.pid"
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


def test_programs_finish_dag_succeeds_and_cleans_up(airflow_home: Any, working_dir: Path) -> None:
    write_job_dag(airflow_home, "job_done", {"a": "sleep 2", "b": "bash -c 'sleep 3; exit 0'"}, working_dir)
    result = airflow_home.dags_test("job_done", timeout=240)
    result.assert_success(
        {
            "job_done-check-programs": "success",
            "job_done-restart-programs": "skipped",
            "job_done-stop-programs": "success",
            "job_done-unconfigure-supervisor": "success",
        }
    )
    assert "job_done-check-programs" in result.deferred_task_ids  # the watch ran on the trigger, not a worker
    assert not supervisord_running(working_dir)
    assert not working_dir.exists()


@pytest.mark.airflow31
def test_program_failing_once_is_restarted_and_dag_succeeds(airflow_home: Any, working_dir: Path) -> None:
    flaky = "bash -c 'sleep 2; if [ -e tried ]; then exit 0; fi; touch tried; echo first-try-failed >&2; exit 7'"
    write_job_dag(airflow_home, "job_flaky", {"steady": "sleep 3", "flaky": flaky}, working_dir)
    result = airflow_home.dags_test("job_flaky", timeout=300)
    result.assert_success(
        {
            "job_flaky-check-programs": "success",
            "job_flaky-restart-programs": "success",
            "job_flaky-unconfigure-supervisor": "success",
        }
    )
    assert "restarting flaky (restart 1 of 3)" in result.output, result.describe()
    assert "first-try-failed" in result.output  # the failed program's stderr tail reached the task log
    assert not working_dir.exists()


def test_supervisord_killed_mid_run_fails_with_a_clear_message(airflow_home: Any, working_dir: Path) -> None:
    marker = f"sleep 3{os.getpid() % 1000}.5"  # unique command line, to find the orphaned program afterwards
    write_job_dag(airflow_home, "job_killed", {"long": marker}, working_dir)
    killed = threading.Event()

    def kill_supervisord_when_program_runs() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (working_dir / "long" / "output.log").exists() and supervisord_running(working_dir):
                time.sleep(2)
                os.kill(int((working_dir / "supervisord.pid").read_text()), signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.2)

    killer = threading.Thread(target=kill_supervisord_when_program_runs, daemon=True)
    killer.start()
    try:
        result = airflow_home.dags_test("job_killed", timeout=240)
    finally:
        killer.join(timeout=5)
        subprocess.run(["pkill", "-f", marker], check=False)
    assert killed.is_set()
    assert result.dag_run_state == "failed", result.describe()
    assert result.task_states["job_killed-check-programs"] == "failed"
    assert "supervisord unreachable at unix://" in result.output, result.describe()
    assert "since" in result.output
    assert result.task_states["job_killed-unconfigure-supervisor"] == "success"  # teardown still cleaned up


def test_runtime_reached_stops_programs_and_succeeds(airflow_home: Any, working_dir: Path) -> None:
    write_job_dag(
        airflow_home, "job_runtime", {"service": "sleep 300"}, working_dir, runtime="PT6S", reference_date="start_date"
    )
    started = time.monotonic()
    result = airflow_home.dags_test("job_runtime", timeout=240)
    result.assert_success({"job_runtime-end-monitoring": "success", "job_runtime-stop-programs": "success"})
    assert "monitoring outcome deadline (deadline)" in result.output, result.describe()
    assert not supervisord_running(working_dir)
    assert time.monotonic() - started < 200


def test_always_on_job_continues_in_a_new_run_then_stops_at_maxretrigger(airflow_home: Any, working_dir: Path) -> None:
    marker = f"sleep 2{os.getpid() % 1000}.25"
    write_job_dag(airflow_home, "job_cont", {"svc": marker}, working_dir, check_timeout="PT4S", maxretrigger=1)
    try:
        airflow_home.dags_test("job_cont", timeout=240)
        first, continuation = airflow_home.dag_runs("job_cont")
        assert first["state"] == "success"
        assert json.loads(continuation["conf"]) == {
            "airflow_supervisor_async": {"retrigger": 1, "restarts": 0, "previous_run_id": first["run_id"]}
        }
        states = airflow_home.task_states("job_cont", first["run_id"])
        assert states["job_cont-end-monitoring"] == "success"
        assert states["job_cont-stop-programs"] == "skipped"  # the job keeps running between runs
        assert supervisord_running(working_dir)

        # the continuation run (what the scheduler would start): same daemon, then maxretrigger ends the job
        result = airflow_home.dags_test("job_cont", timeout=240, conf=json.loads(continuation["conf"]))
        result.assert_success({"job_cont-start-programs": "success", "job_cont-stop-programs": "success"})
        assert "maxretrigger (1) reached" in result.output, result.describe()
        assert not supervisord_running(working_dir)
        assert not working_dir.exists()
    finally:
        subprocess.run(["pkill", "-f", marker], check=False)
