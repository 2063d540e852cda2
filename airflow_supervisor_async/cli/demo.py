"""``demo``: a supervised job driven by real Airflow, from nothing, in one command.

Creates a throwaway Airflow home on SQLite, writes a DAG with two programs (one finishes, one fails
once and is restarted), runs it with ``airflow dags test`` (the trigger runs inline, as on a
triggerer), shows each step and program state as it happens, prints a summary, and removes
everything it created. Ctrl-C at any moment leaves no supervisord or program running.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..decisions import STEPS as STEPS_AND_ATTRIBUTES

if TYPE_CHECKING:
    import argparse

__all__ = ("register", "run_demo")

DAG_ID = "demo_supervisor"
STEPS = tuple(step for step, _ in STEPS_AND_ATTRIBUTES)

DAG_SOURCE = """
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_supervisor_async import ProgramConfiguration, Supervisor, SupervisorAirflowConfiguration

cfg = SupervisorAirflowConfiguration(
    working_dir={working_dir!r},
    check_interval=timedelta(seconds=1),
    program={{
        # finishes after a few seconds
        "report": ProgramConfiguration(command="bash -c 'for i in 1 2 3 4; do echo working $i; sleep 1; done'"),
        # fails on its first run (exit 3), succeeds once restarted
        "flaky": ProgramConfiguration(
            command="bash -c 'sleep 3; if [ -e tried ]; then echo recovered; exit 0; fi; "
            "touch tried; echo first run failed >&2; exit 3'"
        ),
    }},
)

with DAG(dag_id={dag_id!r}, schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as dag:
    Supervisor(dag=dag, cfg=cfg)
"""

_STARTING = re.compile(r"\[DAG TEST\] starting task_id=" + DAG_ID + r"-(?P<step>[a-z-]+)")
_NOTES = (
    (re.compile(r"Pausing task as DEFERRED"), "deferred: the trigger watches the programs, no worker slot held"),
    (re.compile(r"monitoring outcome (\w+)"), "monitoring outcome: {0}"),
    (re.compile(r"restarting (\S+) \(restart (\d+)"), "restarting {0} (restart {1})"),
    (re.compile(r"first run failed"), "flaky's stderr reached the task log: 'first run failed'"),
)


def _airflow_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
            "NO_COLOR": "1",
        }
    )
    return env


def _say(message: str, started: float) -> None:
    print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)


class _ProgramWatcher(threading.Thread):
    """Print program state changes as they happen, straight from supervisord's XML-RPC interface."""

    def __init__(self, socket: Path, started: float) -> None:
        super().__init__(daemon=True)
        self.socket, self.started, self.stop = socket, started, threading.Event()

    def run(self) -> None:
        asyncio.run(self._watch())

    async def _watch(self) -> None:
        from ..client import ProcessState, SupervisorClient, SupervisorError
        from ..host import lifecycle  # noqa: F401  (imported here, while Airflow starts, not during the cleanup)

        last: dict[str, str] = {}
        async with SupervisorClient.from_unix_socket(str(self.socket), connect_timeout=1, read_timeout=2) as client:
            while not self.stop.is_set():
                try:
                    infos = await client.get_all_process_info() if self.socket.exists() else []
                except SupervisorError:
                    infos = []
                for info in infos:
                    state = info.statename + (f" (exit {info.exitstatus})" if info.state is ProcessState.EXITED else "")
                    if last.get(info.name) != state:
                        last[info.name] = state
                        _say(f"    program {info.name:<7} {state}", self.started)
                await asyncio.sleep(0.3)


def _task_states(home: Path) -> dict[str, str]:
    with sqlite3.connect(f"file:{home}/airflow.db?mode=ro", uri=True) as db:
        rows = db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ?", (DAG_ID,)).fetchall()
    return {task.removeprefix(f"{DAG_ID}-"): state or "none" for task, state in rows}


def _cleanup(proc: subprocess.Popen[str] | None, working_dir: Path, home: Path, *, keep_home: bool) -> None:
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    from ..config import ProgramConfiguration, SupervisorAirflowConfiguration
    from ..host import LocalHost, lifecycle

    cfg = SupervisorAirflowConfiguration(working_dir=working_dir, program={"report": ProgramConfiguration(command="x")})
    asyncio.run(lifecycle.force_kill(LocalHost(), cfg))  # supervisord and its programs' process groups
    shutil.rmtree(working_dir, ignore_errors=True)
    if not keep_home:
        shutil.rmtree(home, ignore_errors=True)


def _follow(proc: subprocess.Popen[str], started: float, log: list[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        log.append(line)
        if match := _STARTING.search(line):
            step = match["step"]
            number = STEPS.index(step) + 1 if step in STEPS else "?"
            _say(f"step {number:>2}/10  {step}", started)
            continue
        for pattern, text in _NOTES:
            if found := pattern.search(line):
                _say(f"    {text.format(*found.groups())}", started)


class _CtrlC:
    """SIGINT handler: the first Ctrl-C interrupts the demo, later ones cannot interrupt its cleanup."""

    def __init__(self) -> None:
        self.cleaning = False

    def __call__(self, signum: int, frame: object) -> None:
        if not self.cleaning:
            self.cleaning = True
            raise KeyboardInterrupt
        print("still cleaning up: supervisord, its programs and the temp folders go first", file=sys.stderr)


def run_demo(keep: bool = False) -> int:
    """Run the demo; returns 0 when the DAG run succeeded."""
    airflow = Path(sys.executable).with_name("airflow")
    if not airflow.exists():
        print("the demo needs Airflow: pip install 'airflow-supervisor-async[airflow]'", file=sys.stderr)
        return 2
    ctrl_c = _CtrlC()
    previous = signal.signal(signal.SIGINT, ctrl_c)
    try:
        return _run_demo(airflow, keep, ctrl_c)
    finally:
        signal.signal(signal.SIGINT, previous)


def _run_demo(airflow: Path, keep: bool, ctrl_c: _CtrlC) -> int:
    started = time.monotonic()
    home = Path(tempfile.mkdtemp(prefix="asa-demo-home-"))
    working_dir = Path(tempfile.mkdtemp(prefix="asa-demo-", dir="/tmp"))
    working_dir.rmdir()  # the DAG's first step creates it (mode 0700)
    env, proc, watcher = _airflow_env(home), None, None
    log: list[str] = []
    try:
        _say(f"Airflow home (SQLite): {home}", started)
        subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True, timeout=600)
        (home / "dags").mkdir()
        (home / "dags" / f"{DAG_ID}.py").write_text(DAG_SOURCE.format(working_dir=str(working_dir), dag_id=DAG_ID))
        _say(
            f"DAG {DAG_ID}: programs 'report' (finishes) and 'flaky' (fails once); supervisord in {working_dir}",
            started,
        )
        watcher = _ProgramWatcher(working_dir / "supervisor.sock", started)
        watcher.start()
        proc = subprocess.Popen(
            [str(airflow), "dags", "test", DAG_ID], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
        _follow(proc, started, log)
        code = proc.wait()
        states = _task_states(home)
        ok = code == 0 and all(states.get(s) == "success" for s in ("check-programs", "unconfigure-supervisor"))
        print("\nsummary")
        for step in STEPS:
            print(f"  {step:<24} {states.get(step, '-')}")
        _say(f"DAG run {'succeeded' if ok else 'FAILED'}; supervisord stopped and its files removed", started)
        if not ok:
            print("".join(log[-60:]), file=sys.stderr)
        return 0 if ok else 1
    except KeyboardInterrupt:
        _say("interrupted: stopping everything", started)
        return 130
    finally:
        ctrl_c.cleaning = True  # from here on Ctrl-C only says that the cleanup is running
        if watcher is not None:
            watcher.stop.set()
        _cleanup(proc, working_dir, home, keep_home=keep)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``demo``."""
    demo = subparsers.add_parser("demo", help="run a supervised job with real Airflow in a throwaway home")
    demo.add_argument("--keep-home", action="store_true", help="keep the Airflow home for inspection")
    demo.set_defaults(handler=lambda args: run_demo(keep=args.keep_home))
