"""Two overlapping DAG runs of one job never drive the same supervisord (a real scheduler and triggerer).

- With ``Supervisor``'s ``max_active_runs=1`` the scheduler queues the second run until the first is over.
- With ``max_active_runs`` raised again, the second run's configure step finds the job's lease held by the
  first run and fails, naming it; the first run's programs are never stopped or restarted by the second.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.jobs import short_tempdir
from tests.support.airflow import job_dag_source

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def job(dag_id: str, root: Path, name: str, after: str = "") -> str:
    """A job whose program runs until the test creates ``<name>.flag`` (then 2 s more: startsecs); each start
    appends its pid to ``<name>.starts``."""
    starts, flag = root / f"{name}.starts", root / f"{name}.flag"
    command = f"bash -c 'echo $$ >> {starts}; while [ ! -e {flag} ]; do sleep 0.2; done; sleep 2'"
    cfg = {"working_dir": str(root / name), "check_interval": 1, "program": {"svc": {"command": command}}}
    return job_dag_source(dag_id, cfg, after=after)


def starts(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


@pytest.mark.timeout(1500)  # a cluster, four CLI triggers (each ~1 min on a loaded 2-core machine), three job runs
def test_overlapping_runs_wait_or_fail_clearly(airflow_cluster: Any) -> None:
    root = short_tempdir("asa-ov-")
    queued_dir, leased_dir = root / "queued", root / "leased"
    cluster = airflow_cluster
    try:
        cluster.home.write_dag("ov_queued", job("ov_queued", root, "queued"))
        raised = "dag.max_active_runs = 2  # the user raised it again: the lease still holds"
        cluster.home.write_dag("ov_leased", job("ov_leased", root, "leased", after=raised))
        for dag_id in ("ov_queued", "ov_leased"):
            cluster.wait_for_dag(dag_id, timeout=120)

        def monitoring(dag_id: str, run_id: str) -> bool:
            return cluster.task_states(dag_id, run_id).get(f"{dag_id}-check-programs") == "deferred"

        def wait_monitoring(dag_id: str, run_id: str) -> None:
            cluster.wait_for(
                lambda: monitoring(dag_id, run_id),
                timeout=400,
                message=lambda: f"{dag_id} {run_id} not deferred: {cluster.task_states(dag_id, run_id)}",
            )

        leased_first = cluster.trigger("ov_leased")
        queued_first = cluster.trigger("ov_queued")
        queued_second = cluster.trigger("ov_queued")

        # the leased job: a second run fails at configure, naming the first; the first is left alone
        wait_monitoring("ov_leased", leased_first)
        pid = (leased_dir / "supervisord.pid").read_text().strip()
        leased_second = cluster.trigger("ov_leased")
        state = cluster.wait_for_dag_run("ov_leased", leased_second, timeout=400)
        second_states = cluster.task_states("ov_leased", leased_second)
        assert state == "failed", second_states
        assert second_states["ov_leased-configure-supervisor"] == "failed"
        log = cluster.task_log("ov_leased", leased_second, "ov_leased-configure-supervisor")
        assert f"is driven by run '{leased_first}' of DAG 'ov_leased', which is still active" in log, log[-3000:]
        assert (leased_dir / "supervisord.pid").read_text().strip() == pid
        assert len(starts(root / "leased.starts")) == 1
        assert monitoring("ov_leased", leased_first)

        # the queued job: its second run waits in the queue while the first one runs
        wait_monitoring("ov_queued", queued_first)
        assert cluster.dag_run_state("ov_queued", queued_second) == "queued"
        assert cluster.task_states("ov_queued", queued_second).get("ov_queued-configure-supervisor") is None

        (root / "queued.flag").touch()  # the programs finish
        (root / "leased.flag").touch()
        for dag_id, run_id in (("ov_queued", queued_first), ("ov_queued", queued_second), ("ov_leased", leased_first)):
            assert cluster.wait_for_dag_run(dag_id, run_id, timeout=400) == "success", cluster.task_states(
                dag_id, run_id
            )
        assert len(starts(root / "queued.starts")) == 2  # one after the other
        assert len(starts(root / "leased.starts")) == 1
        runs = {row["run_id"]: row for row in cluster.home.dag_runs("ov_queued")}
        assert runs[queued_second]["start_date"] >= runs[queued_first]["end_date"]
        assert not queued_dir.exists()
        assert not leased_dir.exists()
    finally:
        for folder in (queued_dir, leased_dir):
            pid_file = folder / "supervisord.pid"
            if pid_file.exists():
                subprocess.run(["kill", "-KILL", pid_file.read_text().strip()], check=False)
        shutil.rmtree(root, ignore_errors=True)
