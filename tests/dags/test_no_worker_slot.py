"""The central promise: monitored jobs hold no worker slot.

A real api-server + scheduler + dag-processor + triggerer with the LocalExecutor and
`parallelism=1` (one worker slot in all). Three supervisor DAGs started together all reach the
monitoring step and are deferred at the same time -- impossible if monitoring held a slot -- and
all three finish. It is also the cluster harness's own test (``tests/fixtures/airflow_harness.py``): no
trigger is left afterwards and stopping the cluster leaves no Airflow process.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from tests.fixtures.jobs import short_tempdir
from tests.support.airflow import job_dag_source

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DAG_IDS = ("promise_a", "promise_b", "promise_c")
PROGRAM_SECONDS = 45


def test_three_jobs_monitored_at_once_with_one_worker_slot(airflow_cluster_factory: Any) -> None:
    cluster = airflow_cluster_factory({"AIRFLOW__CORE__PARALLELISM": "1"})
    dirs = {dag_id: short_tempdir(f"asa-{dag_id}-") for dag_id in DAG_IDS}
    try:
        for dag_id in DAG_IDS:
            dirs[dag_id].rmdir()
            cfg = {
                "working_dir": str(dirs[dag_id]),
                "check_interval": 2,
                "program": {"job": {"command": f"sleep {PROGRAM_SECONDS}"}},
            }
            cluster.home.write_dag(dag_id, job_dag_source(dag_id, cfg))
        for dag_id in DAG_IDS:
            cluster.wait_for_dag(dag_id, timeout=90)
        assert len(cluster.executor_workers()) == 1, cluster.executor_workers()  # one slot, really

        runs = cluster.trigger_many(DAG_IDS)

        def all_monitoring_deferred() -> list[dict[str, Any]] | None:
            rows = [r for r in cluster.deferred_task_instances() if r["task_id"].endswith("-check-programs")]
            return rows if len(rows) == len(DAG_IDS) else None

        deferred = cluster.wait_for(
            all_monitoring_deferred,
            timeout=PROGRAM_SECONDS + 60,
            interval=0.5,
            message=lambda: f"not all deferred at once: { {d: cluster.task_states(d, r) for d, r in runs.items()} }",
        )
        assert {(row["dag_id"], row["run_id"]) for row in deferred} == set(runs.items())
        assert len(cluster.triggers()) == len(DAG_IDS)
        assert all(row["trigger_id"] is not None for row in deferred)

        for dag_id, run_id in runs.items():
            cluster.wait_for_dag_run(dag_id, run_id, timeout=PROGRAM_SECONDS + 180, states=("success", "failed"))
        for dag_id, run_id in runs.items():
            states = cluster.task_states(dag_id, run_id)
            assert cluster.dag_run_state(dag_id, run_id) == "success", (dag_id, states, cluster.logs_tail())
            assert states[f"{dag_id}-check-programs"] == "success"
            assert states[f"{dag_id}-unconfigure-supervisor"] == "success"
            assert not dirs[dag_id].exists()
        assert cluster.triggers() == []
        cluster.stop()
        assert cluster.home.processes() == [], "airflow processes left after stop()"
    finally:
        for path in dirs.values():
            pid = path / "supervisord.pid"
            if pid.exists():
                subprocess.run(["kill", "-KILL", pid.read_text().strip()], check=False)
            shutil.rmtree(path, ignore_errors=True)
