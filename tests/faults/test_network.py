"""Faults between Airflow and a remote host: partitions, sshd restarts, a dead supervisord.

The remote host is a network namespace with its own address and sshd (``tests/support/netns.py``); the
job is a real ``SupervisorRemote`` DAG run by ``airflow dags test`` (the trigger runs inline, as on a
triggerer). Its program (``Ticker``) writes a numbered line every 0.2 s to a file the test reads: one
``start`` and ticks without a gap prove it was never stopped or started twice.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_supervisor_async.host.safety import MANIFEST_NAME
from tests.fixtures.jobs import short_tempdir
from tests.support.airflow import DagTestResult, job_dag_source, wait_for
from tests.support.faults import (
    Ticker,
    deferred,
    in_background,
    kill_if_alive,
    latest_task_instance,
    wait_for_task,
)
from tests.support.proc import alive

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.support.airflow import AirflowHome
    from tests.support.fault_table import FaultRow
    from tests.support.netns import RemoteHost

pytestmark = [pytest.mark.faults, pytest.mark.airflow, pytest.mark.ssh, pytest.mark.slow]

DAG_ID = "faults_remote"
CONN_ID = "faults_host"


def task(step: str) -> str:
    return f"{DAG_ID}-{step}"


class RemoteJob:
    """One remote job on ``host`` in ``home``: its DAG, folders, program and the processes it left."""

    def __init__(
        self, home: AirflowHome, host: RemoteHost, *, unreachable: float, startsecs: int = 1, child: bool = False
    ) -> None:
        self.home, self.host = home, host
        self.folder = short_tempdir("asa-flt-")  # the ticks and release files: outlive the job's cleanup
        self.working_dir = self.folder / "job"
        self.ticker = Ticker(self.folder)
        self.unreachable = unreachable
        self.runs_before = 0
        home.add_connection(CONN_ID, host.connection_uri())
        cfg = {
            "ssh": {"ssh_conn_id": CONN_ID},
            "command_prefix": f"PATH={Path(sys.executable).parent}:$PATH",
            "working_dir": str(self.working_dir),
            "check_interval": 1,
            "unreachable_timeout": unreachable,
            "program": {"feed": {"command": self.ticker.command(child=child), "startsecs": startsecs}},
        }
        home.write_dag(DAG_ID, job_dag_source(DAG_ID, cfg))

    def run(self, timeout: float = 420) -> Any:
        """``airflow dags test`` in the background; ``.result()`` is the ``DagTestResult``."""
        self.runs_before = len(self.home.dag_runs(DAG_ID))
        return in_background(self.home.dags_test, DAG_ID, timeout=timeout)

    def wait(self, step: str, predicate: Callable[[dict[str, Any]], bool], what: str, run: Any, timeout: float = 240):
        """Wait until ``step`` of the run started last satisfies ``predicate`` (never a row of an older run)."""

        def of_this_run(row: dict[str, Any]) -> bool:
            return len(self.home.dag_runs(DAG_ID)) > self.runs_before and predicate(row)

        return wait_for_task(self.home, DAG_ID, task(step), of_this_run, timeout=timeout, what=what, give_up=run)

    def supervisord_pid(self) -> int | None:
        try:
            return int((self.working_dir / "supervisord.pid").read_text())
        except (FileNotFoundError, ValueError):
            return None

    def program_processes(self) -> list[int]:
        """The program's and its child's pids, as they wrote them."""
        return [*self.ticker.starts(), *self.ticker.children()]

    def leftovers(self) -> list[int]:
        """Processes of the job still running on the host (sshd aside)."""
        return [pid for pid in self.host.pids() if pid in self.program_processes() or pid == self.supervisord_pid()]

    def cleanup(self) -> None:
        self.ticker.release()
        kill_if_alive([*self.program_processes(), *([p] if (p := self.supervisord_pid()) else [])])


@pytest.fixture
def remote_job(airflow_home: AirflowHome, remote_host: RemoteHost) -> Iterator[Callable[..., RemoteJob]]:
    jobs: list[RemoteJob] = []

    def make(**options: Any) -> RemoteJob:
        jobs.append(RemoteJob(airflow_home, remote_host, **options))
        return jobs[-1]

    yield make
    for job in jobs:
        job.cleanup()


def trigger_warnings(result: DagTestResult) -> int:
    return len(re.findall(r"did not answer \(", result.output))


def test_partition_shorter_than_unreachable_timeout(remote_job: Callable[..., RemoteJob], fault_row: Any) -> None:
    row: FaultRow = fault_row("1")
    job = remote_job(unreachable=30)
    run = job.run()
    job.wait("check-programs", deferred, "was deferred", run)
    job.ticker.wait_ticking()
    ticks_before = len(job.ticker.ticks())

    job.host.partition()
    time.sleep(8)
    ticks_during = len(job.ticker.ticks()) - ticks_before
    job.host.heal()
    time.sleep(3)  # a poll or two over the healed link
    assert job.wait("check-programs", deferred, "still watched", run, timeout=5)
    job.ticker.release()
    result: DagTestResult = run.result(timeout=420)

    result.assert_success({task("check-programs"): "success", task("unconfigure-supervisor"): "success"})
    assert task("restart-programs") not in result.task_states or result.task_states[task("restart-programs")] in (
        "skipped",
        None,
    )
    assert ticks_during >= 20, "the program did not go on running on the far side during the partition"
    assert len(job.ticker.starts()) == 1, job.ticker.summary()
    assert job.ticker.contiguous(), job.ticker.summary()
    assert job.leftovers() == []
    row.note("8 s partition during the watch (unreachable_timeout 30 s): the watch stalled and went on")
    row.note(f"{trigger_warnings(result)} poll(s) retried; no task failed, no restart; DAG run succeeded")
    row.detect = "- (not a failure)"
    row.data_lost = f"none: {job.ticker.summary()}"


def test_partition_longer_than_unreachable_timeout_cleaned_by_the_teardown(
    remote_job: Callable[..., RemoteJob], fault_row: Any
) -> None:
    row: FaultRow = fault_row("2a")
    job = remote_job(unreachable=10)
    run = job.run()
    job.wait("check-programs", deferred, "was deferred", run)
    job.ticker.wait_ticking()

    job.host.partition()
    cut = time.monotonic()
    job.wait("check-programs", lambda r: r["state"] == "failed", "failed", run, timeout=120)
    detected = time.monotonic() - cut
    ticks = len(job.ticker.ticks())
    job.wait("stop-programs", lambda r: r["state"] == "running", "started", run, timeout=60)
    # the link stays down past the kernel's neighbour resolution (~3 s): the teardown's first look at the
    # host (reading the lease) meets "No route to host" and must wait it out, as the stop itself does
    time.sleep(5)
    assert len(job.ticker.ticks()) > ticks, "the far side's program stopped while the link was down"
    job.host.heal()
    result: DagTestResult = run.result(timeout=420)

    assert result.dag_run_state == "failed", result.describe()
    states = result.task_states
    assert states[task("check-programs")] == "failed", result.describe()
    for step in ("stop-programs", "stop-supervisor", "unconfigure-supervisor"):
        assert states[task(step)] == "success", result.describe()
    message = re.search(r"supervisord unreachable at (.*)", result.output)
    assert message, result.describe()
    assert CONN_ID in message.group(1), message.group(0)
    assert "since" in message.group(1), message.group(0)
    assert job.leftovers() == [], "programs left running after the teardown"
    assert len(job.ticker.starts()) == 1, job.ticker.summary()
    assert job.ticker.contiguous(), job.ticker.summary()
    kept = sorted(p.name for p in job.working_dir.iterdir())  # a failed job: cleanup keeps only its logs
    assert kept == [MANIFEST_NAME, "feed", "supervisord.log"], kept
    row.note(f"check-programs failed after {detected:.1f} s: {message.group(0)[:160]}...")
    row.note("the program kept running during the partition")
    row.note("the teardown retried, reached the host once the link was back, stopped programs and supervisord")
    row.note("and removed the config, pid file and socket; the logs were kept (a failed job)")
    row.detect = f"{detected:.1f} s (unreachable_timeout 10 s)"
    row.data_lost = f"none: {job.ticker.summary()} until stopped by the teardown"


def test_partition_outlasting_the_teardown_next_run_adopts_the_job(
    remote_job: Callable[..., RemoteJob], fault_row: Any
) -> None:
    row: FaultRow = fault_row("2b")
    job = remote_job(unreachable=6)
    run = job.run()
    job.wait("check-programs", deferred, "was deferred", run)
    job.ticker.wait_ticking()
    supervisord = job.supervisord_pid()

    job.host.partition()
    cut = time.monotonic()
    job.wait("check-programs", lambda r: r["state"] == "failed", "failed", run, timeout=120)
    detected = time.monotonic() - cut
    first: DagTestResult = run.result(timeout=420)
    job.host.heal()

    assert first.dag_run_state == "failed", first.describe()
    for step in ("stop-programs", "stop-supervisor", "unconfigure-supervisor"):
        assert first.task_states[task(step)] == "failed", first.describe()
    # the teardown steps first read the job's lease on the host (does this run drive the job?): that fails
    assert f"cannot connect to ssh://<Airflow connection '{CONN_ID}'>: No route to host" in first.output, (
        first.describe()
    )
    assert alive(job.ticker.starts()[0]), "the program did not survive the partition"

    second_run = job.run()
    job.wait("check-programs", deferred, "was deferred again", second_run)
    assert job.supervisord_pid() == supervisord, "a second supervisord was started"
    job.ticker.release()
    second: DagTestResult = second_run.result(timeout=420)

    second.assert_success({task("start-programs"): "success", task("unconfigure-supervisor"): "success"})
    assert "'feed': 'running'" in second.output, second.describe()  # adopted, not started again
    assert len(job.ticker.starts()) == 1, job.ticker.summary()
    assert job.ticker.contiguous(), job.ticker.summary()
    assert job.leftovers() == []
    assert not job.working_dir.exists()
    row.note(f"check-programs failed after {detected:.1f} s; the teardown failed too, naming the host")
    row.note("the program ran on; the next run took the job over (same supervisord pid, program 'running')")
    row.note("it finished and cleaned up: no process or file left")
    row.detect = f"{detected:.1f} s (unreachable_timeout 6 s)"
    row.data_lost = f"none: {job.ticker.summary()}"


def test_sshd_restarted_during_the_watch(remote_job: Callable[..., RemoteJob], fault_row: Any) -> None:
    row: FaultRow = fault_row("3a")
    job = remote_job(unreachable=20)
    run = job.run()
    job.wait("check-programs", deferred, "was deferred", run)
    job.ticker.wait_ticking()

    job.host.restart_sshd()
    time.sleep(4)  # polls over a new connection
    job.ticker.release()
    result: DagTestResult = run.result(timeout=420)

    result.assert_success({task("check-programs"): "success", task("unconfigure-supervisor"): "success"})
    assert len(job.ticker.starts()) == 1, job.ticker.summary()
    assert job.ticker.contiguous(), job.ticker.summary()
    assert job.leftovers() == []
    row.note("every SSH connection dropped; the next poll reconnected")
    row.note(f"{trigger_warnings(result)} poll(s) retried; the job went on and succeeded")
    row.detect = "- (not a failure)"
    row.data_lost = f"none: {job.ticker.summary()}"


def test_sshd_restarted_during_start_programs(remote_job: Callable[..., RemoteJob], fault_row: Any) -> None:
    row: FaultRow = fault_row("3b")
    job = remote_job(unreachable=20, startsecs=6)  # startProcess(wait=True) answers after 6 s
    run = job.run()
    job.wait("start-programs", lambda r: r["state"] == "running", "started", run)
    wait_for(lambda: job.ticker.starts(), 120, 0.1, message="the program was never spawned")

    job.host.restart_sshd()  # start-programs is waiting for supervisord's answer
    job.wait("check-programs", deferred, "was deferred", run)
    job.ticker.wait_running_for(6)  # past startsecs
    job.ticker.release()
    result: DagTestResult = run.result(timeout=420)

    result.assert_success({task("start-programs"): "success", task("unconfigure-supervisor"): "success"})
    start = latest_task_instance(job.home, DAG_ID, task("start-programs"))
    assert start is not None
    assert start["try_number"] == 1, start
    assert len(job.ticker.starts()) == 1, job.ticker.summary()
    assert job.leftovers() == []
    row.note("the XML-RPC call of start-programs lost its SSH connection; the step reconnected and found the "
             "program starting")  # fmt: skip
    row.note("start-programs succeeded on its first try; one start; DAG run succeeded")
    row.detect = "- (recovered within the step)"
    row.data_lost = f"none: {job.ticker.summary()}"


def test_supervisord_killed_during_the_watch(remote_job: Callable[..., RemoteJob], fault_row: Any) -> None:
    row: FaultRow = fault_row("4")
    job = remote_job(unreachable=6, child=True)
    run = job.run()
    job.wait("check-programs", deferred, "was deferred", run)
    job.ticker.wait_ticking()
    supervisord = job.supervisord_pid()
    assert supervisord is not None
    left = job.program_processes()
    assert len(left) == 2  # the program and its child, in the program's process group

    os.kill(supervisord, signal.SIGKILL)
    killed = time.monotonic()
    job.wait("check-programs", lambda r: r["state"] == "failed", "failed", run, timeout=120)
    detected = time.monotonic() - killed
    assert all(alive(pid) for pid in left), "the programs died with supervisord: nothing left to test"
    result: DagTestResult = run.result(timeout=420)

    assert result.dag_run_state == "failed", result.describe()
    assert f"supervisord (pid {supervisord})" in result.output, result.describe()
    assert result.task_states[task("stop-supervisor")] == "success", result.describe()
    assert not any(alive(pid) for pid in left), "the programs supervisord left behind still run"
    assert f"killed the process group {left[0]}" in result.output, result.describe()
    row.note(f"check-programs failed after {detected:.1f} s naming supervisord (pid {supervisord}) as gone")
    row.note("stop-supervisor killed the process group of the program it left behind (program and child)")
    row.detect = f"{detected:.1f} s (unreachable_timeout 6 s)"
    row.data_lost = "none: the orphaned program (and its child) killed, as its supervisord was gone"
