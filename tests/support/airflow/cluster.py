"""The four-process Airflow cluster (api-server, scheduler, dag-processor, triggerer) on one AirflowHome."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import TYPE_CHECKING, Any, TypeVar

from tests.support.airflow.commands import airflow_executable, file_tail, kill_group
from tests.support.airflow.processes import is_running, kill_pids, tree_pids
from tests.support.airflow.waiting import AirflowHarnessError, wait_for

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from pathlib import Path

    from tests.support.airflow.commands import CommandResult
    from tests.support.airflow.home import AirflowHome

COMPONENTS: tuple[str, ...] = ("api-server", "scheduler", "dag-processor", "triggerer")
TERMINAL_RUN_STATES = frozenset({"success", "failed"})

T = TypeVar("T")


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def default_cluster_settings(port: int) -> dict[str, str]:
    """LocalExecutor on loopback, fast parse / schedule / trigger loops, no log-server ports."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        # the dags folder is scanned for new files every 2 s, each file re-parsed at most every 5 s
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL": "1",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "300",
        "AIRFLOW__DAG_PROCESSOR__STALE_DAG_THRESHOLD": "50",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
        "AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL": "5",
        "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
        "AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "1",
    }


# Extra CLI flags: the scheduler's and the triggerer's log servers listen on all interfaces on
# fixed ports (8793/8794); tests read task logs from files in the home instead.
_COMPONENT_ARGS: dict[str, tuple[str, ...]] = {
    "api-server": (),
    "scheduler": ("--skip-serve-logs",),
    "dag-processor": (),
    "triggerer": ("--skip-serve-logs",),
}

# Which job_type row in the `job` table shows a component is up (the api-server is checked over HTTP).
_JOB_TYPES: dict[str, str] = {
    "scheduler": "SchedulerJob",
    "dag-processor": "DagProcessorJob",
    "triggerer": "TriggererJob",
}


class AirflowCluster:
    """``airflow api-server``, ``scheduler``, ``dag-processor`` and ``triggerer`` on one :class:`AirflowHome`.

    Each component runs in its own session (``setsid``, ``cwd=<home>``) with its log in
    ``<home>/cluster-logs/<component>.log``. :meth:`stop` SIGTERMs the scheduler, dag-processor and
    triggerer groups and every task runner / DAG parser (Airflow puts those in process groups of
    their own), SIGKILLs the task processes still running after ``task_grace`` seconds (a running
    task survives SIGTERM), then stops the api-server; whatever is left after ``grace`` seconds,
    and any process found in the home, gets SIGKILL. Use as a context manager.
    """

    def __init__(
        self,
        home: AirflowHome,
        *,
        settings: Mapping[str, str] | None = None,
        components: Sequence[str] = COMPONENTS,
        port: int | None = None,
        grace: float = 15,
        task_grace: float = 3,
    ) -> None:
        self.home = home
        self.port = port or free_port()
        self.components = tuple(components)
        self.grace = grace
        self.task_grace = task_grace
        self.settings = default_cluster_settings(self.port) | dict(settings or {})
        self.log_dir = home.path / "cluster-logs"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.start_seconds: float | None = None
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return self.home.env({**self.settings, **(extra or {})})

    def run_cli(self, *args: str, timeout: float = 120, check: bool = True) -> CommandResult:
        """``airflow ARGS...`` with the cluster's settings (same DB, same executor config)."""
        return self.home.run_cli(*args, timeout=timeout, check=check, env=self.settings)

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> AirflowCluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self, *, timeout: float = 120) -> float:
        """Start every component and wait until all are up; returns the seconds it took.

        On failure everything started is stopped before the error propagates.
        """
        started = time.monotonic()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            for component in self.components:
                self._spawn(component)
            self.wait_until_ready(timeout=timeout)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - started
        return self.start_seconds

    def _spawn(self, component: str, *, key: str | None = None) -> None:
        key = key or component
        log_path = self.log_path(key)
        with log_path.open("ab") as log:
            self.procs[key] = subprocess.Popen(
                [airflow_executable(), component, *_COMPONENT_ARGS.get(component, ())],
                env=self.env(),
                cwd=self.home.path,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill_component(self, component: str) -> int:
        """SIGKILL ``component``'s process group, as a crash would; it stays down until :meth:`start_component`.

        Returns the killed pid. Its ``job`` row stays ``running`` (nobody marks a killed job ended).
        """
        proc = self.procs.pop(component)
        kill_group(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
        return proc.pid

    def start_component(self, component: str, *, key: str | None = None, timeout: float = 120) -> int:
        """Start ``component`` (again, or a second one under ``key``, e.g. ``"triggerer-2"``) and wait for its
        new ``job`` row; returns that job's id. :meth:`stop` stops it with the others."""
        newest = self._newest_job_id(component)
        key = key or component
        self._spawn(component, key=key)

        def started() -> int | None:
            job_id = self._newest_job_id(component)
            return job_id if job_id is not None and job_id != newest else None

        return self.wait_for(started, timeout=timeout, message=f"airflow {key} did not start")

    def _newest_job_id(self, component: str) -> int | None:
        rows = self.home.query(
            "SELECT MAX(id) AS id FROM job WHERE job_type = ? AND state = 'running'", (_JOB_TYPES[component],)
        )
        return rows[0]["id"] if rows else None

    def wait_until_ready(self, *, timeout: float = 120) -> None:
        """Wait for the api-server's HTTP health endpoint and a running job row for each other component."""

        def ready() -> bool:
            self.check_alive()
            return self._api_ready() and all(self._job_running(c) for c in self.components if c in _JOB_TYPES)

        wait_for(ready, timeout=timeout, interval=0.5, message=lambda: "cluster not ready\n" + self.logs_tail())

    def _api_ready(self) -> bool:
        if "api-server" not in self.components:
            return True
        try:
            with urllib.request.urlopen(f"{self.base_url}/api/v2/monitor/health", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _job_running(self, component: str) -> bool:
        rows = self.home.query(
            "SELECT COUNT(*) AS n FROM job WHERE job_type = ? AND state = 'running'", (_JOB_TYPES[component],)
        )
        return bool(rows[0]["n"])

    def check_alive(self) -> None:
        """Raise (with that component's log tail) if a component process has exited."""
        for component, proc in self.procs.items():
            if proc.poll() is not None:
                raise AirflowHarnessError(
                    f"airflow {component} exited with rc={proc.returncode}\n{file_tail(self.log_path(component))}"
                )

    def stop(self) -> list[int]:
        """Stop all components; returns PIDs that had to be SIGKILLed (idempotent)."""
        with self._lock:
            return self._stop()

    def _stop(self) -> list[int]:
        tracked = self._tracked_processes()
        roots = {proc.pid for proc in self.procs.values()}
        api = self.procs.get("api-server")
        api_pids = tree_pids(api.pid) if api else set()
        others = [m for m in tracked if m.pid not in api_pids]
        api_members = [m for m in tracked if m.pid in api_pids]
        deadline = time.monotonic() + self.grace
        # Stage 1: everything but the api-server (task runners and executors report through its
        # execution API and hang in retries once it is gone). A running task only calls on_kill()
        # on SIGTERM and goes on running, and the scheduler waits for it: after ``task_grace``
        # seconds the non-component processes (task runners, their supervisors, parsers) get SIGKILL.
        self._signal(others, signal.SIGTERM)
        self._wait(others, min(deadline, time.monotonic() + self.task_grace))
        killed = self._kill([m for m in others if m.pid not in roots])
        self._wait(others, deadline)
        # Stage 2: the api-server.
        self._signal(api_members, signal.SIGTERM)
        self._wait(api_members, max(deadline, time.monotonic() + 5))
        # Whatever is left.
        for proc in self.procs.values():
            kill_group(proc.pid, signal.SIGKILL)
        killed += self._kill(tracked)
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        stragglers = self.home.processes()  # anything forked meanwhile
        killed += kill_pids(stragglers, grace=2) if stragglers else []
        self.procs.clear()
        return sorted(set(killed))

    def _signal(self, members: list[Any], sig: int) -> None:
        """Send ``sig`` to each member: to the whole process group for a component process."""
        import psutil

        roots = {proc.pid for proc in self.procs.values()}
        for member in members:
            if member.pid in roots:
                kill_group(member.pid, sig)
            else:
                with contextlib.suppress(psutil.Error):
                    member.send_signal(sig)

    def _wait(self, members: list[Any], deadline: float) -> None:
        """Wait until no member runs any more, or ``deadline``; reaps component processes meanwhile."""
        while time.monotonic() < deadline:
            for proc in self.procs.values():
                proc.poll()
            if not any(is_running(member) for member in members):
                return
            time.sleep(0.1)

    def _kill(self, members: list[Any]) -> list[int]:
        """SIGKILL the still running ``members``; returns their PIDs."""
        import psutil

        killed: list[int] = []
        for member in members:
            with contextlib.suppress(psutil.Error):
                if is_running(member):
                    member.kill()
                    killed.append(member.pid)
        return killed

    def _tracked_processes(self) -> list[Any]:
        """The component processes, all their descendants, and every process that belongs to the home."""
        import psutil

        pids: set[int] = set(self.home.processes())
        for proc in self.procs.values():
            pids |= tree_pids(proc.pid)
        tracked: list[psutil.Process] = []
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                tracked.append(psutil.Process(pid))
        return tracked

    # -- logs -------------------------------------------------------------------------------

    def log_path(self, component: str) -> Path:
        return self.log_dir / f"{component}.log"

    def logs_tail(self, lines: int = 40) -> str:
        """The last ``lines`` of every component's log: for assertion / timeout messages."""
        return "\n".join(f"----- {c} -----\n{file_tail(self.log_path(c), lines)}" for c in self.components)

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """Text of a task's log file(s) under the home's logs folder (empty if none yet)."""
        folder = self.home.logs_folder / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        files = sorted(folder.glob(f"**/attempt={try_number}*"))
        return "\n".join(path.read_text("utf-8", "replace") for path in files if path.is_file())

    # -- waiting ----------------------------------------------------------------------------

    def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float,
        interval: float = 0.5,
        *,
        message: str | Callable[[], str] = "",
    ) -> T:
        """:func:`wait_for` that also fails fast when a component died, with log tails on timeout."""

        def checked() -> T | None:
            self.check_alive()
            return predicate()

        def describe() -> str:
            text = message() if callable(message) else message
            return f"{text}\n{self.logs_tail()}"

        return wait_for(checked, timeout=timeout, interval=interval, message=describe)

    def wait_for_dag(self, dag_id: str, timeout: float = 60) -> None:
        """Wait until the dag-processor has parsed ``dag_id`` into the DB (dag row + serialized DAG)."""

        def present() -> bool:
            rows = self.home.query(
                "SELECT d.dag_id FROM dag d JOIN serialized_dag s ON s.dag_id = d.dag_id"
                " WHERE d.dag_id = ? AND d.is_stale = 0",
                (dag_id,),
            )
            return bool(rows)

        self.wait_for(
            present,
            timeout=timeout,
            message=lambda: (
                f"DAG {dag_id!r} not parsed (a file is only parsed if it contains both 'airflow'"
                f" and 'dag'); import errors: {self._errors()}"
            ),
        )

    def _errors(self) -> str:
        try:
            return "\n".join(f"{e['filename']}:\n{e['stacktrace']}" for e in self.home.import_errors()) or "none"
        except sqlite3.Error as exc:
            return f"<cannot read import_error: {exc}>"

    def wait_for_dag_run(
        self, dag_id: str, run_id: str, *, timeout: float, states: Iterable[str] = TERMINAL_RUN_STATES
    ) -> str:
        """Wait until the run's state is one of ``states``; returns it."""
        wanted = frozenset(states)

        def reached() -> str | None:
            state = self.dag_run_state(dag_id, run_id)
            return state if state in wanted else None

        return self.wait_for(
            reached,
            timeout=timeout,
            interval=1,
            message=lambda: (
                f"run {dag_id}/{run_id}: state={self.dag_run_state(dag_id, run_id)} "
                f"tasks={self.task_states(dag_id, run_id)}"
            ),
        )

    # -- DAG runs ---------------------------------------------------------------------------

    def unpause(self, dag_id: str, *, timeout: float = 120) -> None:
        """``airflow dags unpause`` unless the DB already says it is not paused."""
        rows = self.home.query("SELECT is_paused FROM dag WHERE dag_id = ?", (dag_id,))
        if rows and not rows[0]["is_paused"]:
            return
        self.run_cli("dags", "unpause", dag_id, timeout=timeout)

    def trigger(
        self,
        dag_id: str,
        conf: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        timeout: float = 120,
    ) -> str:
        """Unpause (if needed) and ``airflow dags trigger``; returns the run id (generated when not given)."""
        self.unpause(dag_id, timeout=timeout)
        run_id = run_id or f"manual__harness_{uuid.uuid4().hex[:12]}"
        argv = ["dags", "trigger", dag_id, "--run-id", run_id]
        if conf is not None:
            argv += ["--conf", json.dumps(dict(conf))]
        self.run_cli(*argv, timeout=timeout)
        return run_id

    def trigger_many(self, dag_ids: Sequence[str], *, timeout: float = 120) -> dict[str, str]:
        """Trigger several DAGs concurrently (each CLI call costs seconds); ``{dag_id: run_id}``."""
        results: dict[str, str] = {}
        errors: list[BaseException] = []

        def one(dag_id: str) -> None:
            try:
                results[dag_id] = self.trigger(dag_id, timeout=timeout)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(dag_id,), daemon=True) for dag_id in dag_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout + 30)
        if errors:
            raise errors[0]
        return results

    def dag_run_state(self, dag_id: str, run_id: str) -> str | None:
        return self.home.dag_run_state(dag_id, run_id)

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return self.home.task_states(dag_id, run_id)

    def task_instances(self, dag_id: str | None = None, run_id: str | None = None) -> list[dict[str, Any]]:
        return self.home.task_instances(dag_id, run_id)

    def deferred_task_instances(self, dag_id: str | None = None) -> list[dict[str, Any]]:
        """Task instances currently in state ``deferred`` (with their ``trigger_id``)."""
        return [row for row in self.home.task_instances(dag_id) if row["state"] == "deferred"]

    def triggers(self) -> list[dict[str, Any]]:
        """Rows of the ``trigger`` table: id, classpath, created_date, triggerer_id (kwargs are encrypted)."""
        return self.home.query("SELECT id, classpath, created_date, triggerer_id FROM trigger ORDER BY id")

    def component_pids(self) -> dict[str, int]:
        return {component: proc.pid for component, proc in self.procs.items()}

    def executor_workers(self) -> dict[int, str]:
        """LocalExecutor worker processes under the scheduler: ``{pid: process title}``.

        The title is ``airflow worker -- LocalExecutor: <idle>`` or ``... LocalExecutor: <task>``
        while the worker runs (supervises) a task; with ``parallelism=N`` there are N workers.
        """
        import psutil

        scheduler = self.procs.get("scheduler")
        if scheduler is None:
            return {}
        workers: dict[int, str] = {}
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(scheduler.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    title = " ".join(child.cmdline()).strip()
                    if title.startswith("airflow worker") and is_running(child):
                        workers[child.pid] = title
        return workers
