"""Faults of Airflow's own processes and of its users, with a real api-server + scheduler + dag-processor +
triggerer (LocalExecutor): a task process SIGKILLed, the run marked failed or the watch cleared from the UI's
API, the scheduler and the triggerer SIGKILLed and started again, two triggerers.

One cluster serves the module (starting one costs about a minute on 2 cores). Each test runs its own
local-shape job, whose program (``Ticker``) writes a numbered line every 0.2 s to a file the test reads.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("airflow")  # a real Airflow cluster: skipped where Airflow is not installed

import psutil  # installed with Airflow

from airflow_supervisor_async.host.safety import MANIFEST_NAME
from tests.fixtures.jobs import short_tempdir
from tests.support.airflow import AirflowCluster, AirflowHome, job_dag_source, wait_for
from tests.support.faults import Ticker, kill_if_alive
from tests.support.proc import alive

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.support.fault_table import FaultRow

pytestmark = [pytest.mark.faults, pytest.mark.airflow, pytest.mark.slow]

#: a triggerer whose heartbeat is older than this is dead to the others, which then adopt its triggers
HEALTH_CHECK_THRESHOLD = 10


@pytest.fixture(scope="module")
def cluster(airflow_home_template: AirflowHome, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowCluster]:
    home = AirflowHome.create(tmp_path_factory.mktemp("faults-cluster"), template=airflow_home_template)
    settings = {"AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": str(HEALTH_CHECK_THRESHOLD)}
    running = AirflowCluster(home, settings=settings)
    running.start(timeout=240)
    try:
        yield running
    finally:
        running.stop()
        leftovers = home.kill_processes(grace=5)
        assert not leftovers, f"airflow processes survived the cluster: {leftovers}"


def _ts(value: str | None) -> float:
    """Epoch seconds of a timestamp column (Airflow stores UTC)."""
    assert value is not None
    parsed = datetime.fromisoformat(value.replace(" ", "T"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


class ClusterJob:
    """One local-shape job DAG on the module's cluster; its processes are killed at teardown whatever happened."""

    def __init__(
        self,
        cluster: AirflowCluster,
        name: str,
        *,
        startsecs: int = 1,
        runtime: int | None = None,
        fail_first_after: float | None = None,
    ) -> None:
        self.cluster, self.dag_id = cluster, f"faults_{name}"
        self.folder = short_tempdir("asa-flc-")
        self.working_dir = self.folder / "job"
        self.ticker = Ticker(self.folder)
        self.run_id = ""
        cfg = {
            "working_dir": str(self.working_dir),
            "check_interval": 1,
            "unreachable_timeout": 20,
            "runtime": runtime or None,
            "reference_date": "start_date",
            "program": {
                "feed": {"command": self.ticker.command(fail_first_after=fail_first_after), "startsecs": startsecs}
            },
        }
        # a task whose process is killed is retried once: the fault tests kill task processes
        default_args = {"retries": 1, "retry_delay": 1}
        cluster.home.write_dag(self.dag_id, job_dag_source(self.dag_id, cfg, default_args=default_args))
        cluster.wait_for_dag(self.dag_id, timeout=120)

    def task(self, step: str) -> str:
        return f"{self.dag_id}-{step}"

    def trigger(self) -> str:
        self.run_id = self.cluster.trigger(self.dag_id)
        return self.run_id

    def row(self, step: str) -> dict[str, Any] | None:
        rows = [r for r in self.cluster.task_instances(self.dag_id, self.run_id) if r["task_id"] == self.task(step)]
        return rows[0] if rows else None

    def wait(self, step: str, predicate: Callable[[dict[str, Any]], bool], what: str, timeout: float = 240) -> dict:
        def reached() -> dict[str, Any] | None:
            row = self.row(step)
            return row if row is not None and predicate(row) else None

        return wait_for(reached, timeout, 0.2, message=lambda: f"{step} never {what}: {self.states()}")

    def wait_deferred(self, try_number: int = 1) -> dict[str, Any]:
        def watched(row: dict[str, Any]) -> bool:
            return row["state"] == "deferred" and row["try_number"] == try_number

        return self.wait("check-programs", watched, f"deferred (try {try_number})")

    def wait_run(self, timeout: float = 300) -> str:
        def ended() -> str | None:
            state = self.cluster.dag_run_state(self.dag_id, self.run_id)
            return state if state in ("success", "failed") else None

        return wait_for(ended, timeout, 0.5, message=lambda: f"run never ended: {self.states()}")

    def states(self) -> dict[str, str | None]:
        return {
            k.removeprefix(f"{self.dag_id}-"): v for k, v in self.cluster.task_states(self.dag_id, self.run_id).items()
        }

    def supervisord_pid(self) -> int | None:
        try:
            return int((self.working_dir / "supervisord.pid").read_text())
        except (FileNotFoundError, ValueError):
            return None

    def log(self, step: str, try_number: int = 1) -> str:
        return self.cluster.task_log(self.dag_id, self.run_id, self.task(step), try_number)

    def api(self, method: str, path: str, body: dict[str, Any]) -> Any:
        """A call to Airflow's REST API, as the UI makes it (the test cluster lets everyone in as admin)."""
        request = urllib.request.Request(
            f"{self.cluster.base_url}/api/v2/dags/{self.dag_id}{path}",
            data=json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")

    def cleanup(self) -> None:
        self.ticker.release()
        kill_if_alive([*self.ticker.starts(), *([p] if (p := self.supervisord_pid()) else [])])


@pytest.fixture
def job(cluster: AirflowCluster) -> Iterator[Callable[..., ClusterJob]]:
    made: list[ClusterJob] = []

    def make(name: str, **options: Any) -> ClusterJob:
        made.append(ClusterJob(cluster, name, **options))
        return made[-1]

    yield make
    for each in made:
        each.cleanup()


def task_process(ti_id: str) -> psutil.Process | None:
    """The process running task instance ``ti_id`` (Airflow titles it ``airflow worker -- <ti uuid>``)."""
    title = f"airflow worker -- {uuid.UUID(ti_id)}"  # the DB may hold the uuid without dashes
    for proc in psutil.process_iter(["cmdline"]):
        if " ".join(proc.info["cmdline"] or []).startswith(title):
            return proc
    return None


def test_task_process_killed_during_start_programs(job: Callable[..., ClusterJob], fault_row: Any) -> None:
    row: FaultRow = fault_row("5a")
    j = job("worker_killed", startsecs=8)  # startProcess(wait=True) answers after 8 s: time to kill the task
    j.trigger()
    start = j.wait("start-programs", lambda r: r["state"] == "running", "ran")
    wait_for(j.ticker.starts, 120, 0.1, message="the program was never spawned")
    supervisord = j.supervisord_pid()
    proc = wait_for(lambda: task_process(start["id"]), 60, 0.1, message="no task process for start-programs")
    proc.send_signal(signal.SIGKILL)
    killed = time.monotonic()

    retried = j.wait("start-programs", lambda r: r["try_number"] == 2 and r["state"] == "success", "succeeded again")
    recovered = time.monotonic() - killed
    j.wait_deferred()
    assert j.supervisord_pid() == supervisord  # one and the same supervisord
    j.ticker.wait_running_for(8)  # past startsecs
    j.ticker.release()
    assert j.wait_run() == "success", j.states()

    assert retried["try_number"] == 2
    assert "'feed': 'running'" in j.log("start-programs", 2), j.log("start-programs", 2)
    assert len(j.ticker.starts()) == 1, j.ticker.summary()
    assert j.ticker.contiguous(), j.ticker.summary()
    row.note("the task process was SIGKILLed while supervisord was starting the program")
    row.note("the retry (try 2) found the program starting and did not start it again: 'feed': 'running'")
    row.note("one supervisord, one program start; the run succeeded")
    row.detect = f"{recovered:.1f} s to a successful retry (retry_delay 1 s)"
    row.data_lost = f"none: {j.ticker.summary()}"


def test_task_process_killed_during_restart_programs(job: Callable[..., ClusterJob], fault_row: Any) -> None:
    row: FaultRow = fault_row("5b")
    # the first start fails after 10 s (past startsecs); the restart's startProcess(wait=True) takes 8 s
    j = job("restart_killed", startsecs=8, fail_first_after=10)
    j.trigger()
    restart = j.wait("restart-programs", lambda r: r["state"] == "running", "ran", timeout=300)
    wait_for(lambda: len(j.ticker.starts()) == 2, 120, 0.1, message="the program was never restarted")
    proc = wait_for(lambda: task_process(restart["id"]), 60, 0.1, message="no task process for restart-programs")
    proc.send_signal(signal.SIGKILL)
    killed = time.monotonic()

    j.wait("restart-programs", lambda r: r["try_number"] == 2 and r["state"] == "deferred", "deferred again")
    recovered = time.monotonic() - killed
    j.ticker.wait_running_for(8)  # past startsecs
    j.ticker.release()
    assert j.wait_run() == "success", j.states()

    assert len(j.ticker.starts()) == 2, j.ticker.summary()  # the failed start and one restart, not two
    assert "not restarted twice" in j.log("restart-programs", 2), j.log("restart-programs", 2)
    row.note("the task process was SIGKILLed while supervisord was restarting the failed program")
    row.note("the retry (try 2) found it running again and did not restart it twice; it watched it to the end")
    row.detect = f"{recovered:.1f} s to the retry's new watch (retry_delay 1 s)"
    row.data_lost = "none: 2 starts (the failed one and one restart)"


def test_run_marked_failed_while_the_watch_is_deferred(job: Callable[..., ClusterJob], fault_row: Any) -> None:
    row: FaultRow = fault_row("9a")
    j = job("marked_failed")
    j.trigger()
    j.wait_deferred()
    j.ticker.wait_ticking()
    program, supervisord = j.ticker.starts()[0], j.supervisord_pid()
    assert supervisord is not None

    j.api("PATCH", f"/dagRuns/{j.run_id}", {"state": "failed"})  # the UI's "Mark run as failed"
    marked = time.monotonic()
    wait_for(lambda: not alive(program), 120, 0.1, message="the program still runs")
    stopped = time.monotonic() - marked
    # Airflow leaves a run with pending teardown tasks running; once they are done it judges the run by its
    # leaves, which "mark failed" skipped: the run ends "success" while check-programs shows "failed".
    final = j.wait_run()
    assert final == "success", j.states()

    states = j.states()
    assert states["check-programs"] == "failed", states
    for step in ("stop-programs", "stop-supervisor", "unconfigure-supervisor"):
        assert states[step] == "success", states  # Airflow runs teardown tasks of a run marked failed
    assert not alive(supervisord)
    # the job never reached end-monitoring, so it failed: cleanup removes the config, pid file and socket and
    # keeps the logs (and the manifest, so that the next run's cleanup may remove them)
    kept = sorted(p.name for p in j.working_dir.iterdir())
    assert kept == [MANIFEST_NAME, "feed", "supervisord.log"], kept
    assert "the job failed: its logs are kept for you in" in j.log("unconfigure-supervisor"), j.log(
        "unconfigure-supervisor"
    )
    assert len(j.ticker.starts()) == 1, j.ticker.summary()
    row.note("check-programs was marked failed (its trigger cancelled); the teardown tasks ran")
    row.note("the programs and supervisord were stopped; cleanup kept only the logs (a failed job)")
    row.note(f"Airflow then set the run to '{final}' (it judges a run with teardowns by its skipped leaves)")
    row.detect = f"{stopped:.1f} s from the click to the program stopped"
    row.data_lost = "none: stopped as asked (stopsignal, then SIGKILL after stopwaitsecs)"


def test_watch_cleared_while_deferred(job: Callable[..., ClusterJob], fault_row: Any) -> None:
    row: FaultRow = fault_row("9b")
    j = job("cleared")
    j.trigger()
    first = j.wait_deferred()
    j.ticker.wait_ticking()
    supervisord = j.supervisord_pid()

    cleared = j.api(
        "POST",
        "/clearTaskInstances",
        {"dag_run_id": j.run_id, "task_ids": [j.task("check-programs")], "dry_run": False, "only_failed": False},
    )
    clicked = time.monotonic()
    again = j.wait_deferred(try_number=first["try_number"] + 1)
    rewatched = time.monotonic() - clicked
    assert j.supervisord_pid() == supervisord
    assert len(j.ticker.starts()) == 1, j.ticker.summary()
    j.ticker.release()
    assert j.wait_run() == "success", j.states()

    assert again["try_number"] == first["try_number"] + 1
    assert len(j.ticker.starts()) == 1, j.ticker.summary()
    assert j.ticker.contiguous(), j.ticker.summary()
    cleared_ids = sorted(ti["task_id"].removeprefix(f"{j.dag_id}-") for ti in cleared["task_instances"])
    row.note(f"cleared: {', '.join(cleared_ids)} (Airflow clears a task's setup and teardowns with it)")
    row.note("check-programs ran again and deferred to a new trigger: same supervisord, program not restarted")
    row.note("the run succeeded when the program ended")
    row.detect = f"{rewatched:.1f} s from the click to the new watch"
    row.data_lost = f"none: {j.ticker.summary()}"


def test_scheduler_killed_and_restarted_while_deferred(
    cluster: AirflowCluster, job: Callable[..., ClusterJob], fault_row: Any
) -> None:
    row: FaultRow = fault_row("8")
    j = job("scheduler_restart")
    j.trigger()
    j.wait_deferred()
    j.ticker.wait_ticking()

    cluster.kill_component("scheduler")
    time.sleep(3)
    cluster.start_component("scheduler")
    restarted = time.monotonic()
    j.ticker.release()
    assert j.wait_run() == "success", j.states()
    finished = time.monotonic() - restarted

    assert j.states()["check-programs"] == "success"
    assert len(j.ticker.starts()) == 1, j.ticker.summary()
    assert j.ticker.contiguous(), j.ticker.summary()
    row.note("the scheduler (and its LocalExecutor workers) SIGKILLed for 3 s while the watch ran on the triggerer")
    row.note(f"the new scheduler picked the run up; it succeeded {finished:.0f} s after the restart")
    row.detect = "- (not a failure)"
    row.data_lost = f"none: {j.ticker.summary()}"


def test_triggerer_killed_and_restarted_keeps_the_deadline(
    cluster: AirflowCluster, job: Callable[..., ClusterJob], fault_row: Any
) -> None:
    row: FaultRow = fault_row("6")
    runtime = 40
    j = job("triggerer_restart", runtime=runtime)
    j.trigger()
    j.wait_deferred()
    j.ticker.wait_ticking()
    run = cluster.home.dag_runs(j.dag_id)[-1]
    deadline = _ts(run["start_date"]) + runtime

    cluster.kill_component("triggerer")
    wait_for(lambda: time.time() > deadline + 2, runtime + 60, 0.5, message="deadline")  # down past the deadline
    cluster.start_component("triggerer")
    restarted = time.time()
    assert j.wait_run() == "success", j.states()
    ended = _ts(j.row("check-programs")["end_date"])

    assert j.states()["stop-programs"] == "success"
    assert not j.working_dir.exists(), sorted(p.name for p in j.working_dir.iterdir())
    assert len(j.ticker.starts()) == 1, j.ticker.summary()
    # the same deadline: the job ends right after the restart, not `runtime` after it
    assert ended - restarted < runtime / 2, f"ended {ended - restarted:.0f} s after the restart"
    row.note(f"triggerer SIGKILLed while watching; restarted {restarted - deadline:.0f} s after the runtime deadline")
    row.note(f"the trigger resumed from its kwargs and ended the job {ended - restarted:.1f} s after the restart")
    row.detect = f"{ended - restarted:.1f} s after the triggerer came back"
    row.data_lost = "none: the program ran until the deadline, then was stopped by the teardown"


def test_second_triggerer_adopts_the_watch(
    cluster: AirflowCluster, job: Callable[..., ClusterJob], fault_row: Any
) -> None:
    row: FaultRow = fault_row("7")
    j = job("two_triggerers")
    j.trigger()
    deferred = j.wait_deferred()
    j.ticker.wait_ticking()

    def holder() -> int | None:
        rows = cluster.home.query("SELECT triggerer_id FROM trigger WHERE id = ?", (deferred["trigger_id"],))
        return rows[0]["triggerer_id"] if rows else None

    first = wait_for(holder, 60, 0.2, message="the trigger was never assigned")
    second = cluster.start_component("triggerer", key="triggerer-2")
    try:
        cluster.kill_component("triggerer")  # the one holding the trigger (the only one when it was assigned)
        killed = time.time()
        wait_for(lambda: holder() == second, HEALTH_CHECK_THRESHOLD + 90, 0.2, message="never adopted")
        adopted_at = time.time()
        adopted = adopted_at - killed
        beats = cluster.home.query("SELECT latest_heartbeat FROM job WHERE id = ?", (first,))
        silent = adopted_at - _ts(beats[0]["latest_heartbeat"])  # adoption waits for this to pass the threshold
        j.ticker.release()
        assert j.wait_run() == "success", j.states()
    finally:
        cluster.start_component("triggerer")  # the module's triggerer, for the next tests
        cluster.kill_component("triggerer-2")

    assert first != second
    assert len(j.ticker.starts()) == 1, j.ticker.summary()
    assert j.ticker.contiguous(), j.ticker.summary()
    assert silent >= HEALTH_CHECK_THRESHOLD - 0.5, f"adopted {silent:.1f} s after the last heartbeat"
    assert adopted < HEALTH_CHECK_THRESHOLD + 60, f"adopted {adopted:.1f} s after the kill"
    row.note(f"the triggerer holding the watch was SIGKILLed; the second adopted it {adopted:.1f} s later")
    row.note(f"({silent:.1f} s after the dead one's last heartbeat, threshold {HEALTH_CHECK_THRESHOLD} s)")
    row.note("the job completed")
    row.detect = f"{adopted:.1f} s after the kill ({silent:.1f} s after its last heartbeat)"
    row.data_lost = f"none: {j.ticker.summary()}"
