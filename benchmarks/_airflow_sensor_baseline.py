"""Baseline: what one monitored job costs when the monitor is a poke-mode sensor vs a deferred one.

Starts a real four-process Airflow (api-server, scheduler with the LocalExecutor, dag-processor,
triggerer; SQLite, loopback only) in a temp AIRFLOW_HOME and triggers two DAGs at once:

- ``baseline_poke``: ``PythonSensor(mode="poke", poke_interval=5)`` that never succeeds -- the
  older design: the task holds a LocalExecutor worker slot and keeps a task process alive;
- ``baseline_deferred``: ``DateTimeSensorAsync`` -- the task defers; its wait runs as a trigger
  in the (shared) triggerer.

For ``--seconds`` it samples, every ``--interval`` seconds, the processes serving each task (the
LocalExecutor worker whose title names the task instance id -- it supervises the task -- and that
worker's children, the task runner) and their memory from ``/proc/PID/status`` (VmRSS) and
``/proc/PID/smaps_rollup`` (PSS: shared pages split among sharers, since workers are forks).
Prints a markdown table; everything is stopped afterwards.

    .venv/bin/python benchmarks/_airflow_sensor_baseline.py [--seconds 60] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.support.airflow import AirflowCluster, AirflowHome  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterable

POKE_DAG_ID = "baseline_poke"
DEFERRED_DAG_ID = "baseline_deferred"
TASK_ID = "sense"
MIB = 1024 * 1024

_DAGS = """
import pendulum
from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG

_ARGS = dict(start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None, is_paused_upon_creation=False)

with DAG({poke!r}, **_ARGS):
    PythonSensor(
        task_id={task!r}, python_callable=lambda: False, mode="poke", poke_interval=5, timeout={timeout}, soft_fail=True
    )

with DAG({deferred!r}, **_ARGS):
    DateTimeSensorAsync(
        task_id={task!r},
        target_time="{{{{ (macros.datetime.utcnow() + macros.timedelta(seconds={timeout})).isoformat() }}}}+00:00",
    )
"""


@dataclass
class ProcessMemory:
    pid: int
    role: str
    title: str
    rss_mib: float
    pss_mib: float | None


@dataclass
class ModeCost:
    """One sensor mode: per-sample totals over the processes serving its task."""

    mode: str
    samples: int = 0
    process_counts: list[int] = field(default_factory=list)
    rss_totals: list[float] = field(default_factory=list)
    pss_totals: list[float] = field(default_factory=list)
    runner_rss: list[float] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    last: list[ProcessMemory] = field(default_factory=list)

    def add(self, state: str, procs: list[ProcessMemory]) -> None:
        self.samples += 1
        self.states.append(state)
        self.process_counts.append(len(procs))
        self.rss_totals.append(sum(p.rss_mib for p in procs))
        self.pss_totals.append(sum(p.pss_mib or 0.0 for p in procs))
        self.runner_rss.append(sum(p.rss_mib for p in procs if p.role == "task runner"))
        self.last = procs

    def summary(self) -> dict[str, Any]:
        def med(values: list[float]) -> float:
            return round(statistics.median(values), 1) if values else 0.0

        return {
            "mode": self.mode,
            "samples": self.samples,
            "states": sorted(set(self.states)),
            "task_processes": max(self.process_counts, default=0),
            "rss_mib_median": med(self.rss_totals),
            "rss_mib_max": round(max(self.rss_totals, default=0.0), 1),
            "pss_mib_median": med(self.pss_totals),
            "task_runner_rss_mib_median": med(self.runner_rss),
            "processes": [asdict(p) for p in self.last],
        }


# --------------------------------------------------------------------------------------------
# /proc


def _proc_kib(path: Path, key: str) -> int | None:
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def process_memory(pid: int, role: str, title: str) -> ProcessMemory | None:
    """VmRSS and PSS of ``pid`` in MiB, or None if it is gone."""
    rss = _proc_kib(Path(f"/proc/{pid}/status"), "VmRSS")
    if rss is None:
        return None
    pss = _proc_kib(Path(f"/proc/{pid}/smaps_rollup"), "Pss")
    return ProcessMemory(pid, role, title, round(rss / 1024, 1), None if pss is None else round(pss / 1024, 1))


def task_processes(cluster: AirflowCluster, ti_id: str) -> list[ProcessMemory]:
    """The LocalExecutor worker running task instance ``ti_id`` (title names the TI id) + its descendants."""
    import psutil

    with contextlib.suppress(ValueError):
        ti_id = str(uuid.UUID(ti_id))  # the DB stores 32 hex digits, process titles the dashed form
    found: list[ProcessMemory] = []
    for pid, title in cluster.executor_workers().items():
        if ti_id not in title or "LocalExecutor:" not in title:
            continue
        entries = [(pid, "executor worker (supervisor)", title)]
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    entries.append((child.pid, "task runner", " ".join(child.cmdline()).strip()))
        found += [m for m in (process_memory(*entry) for entry in entries) if m is not None]
    return found


def group_memory(pids: Iterable[int], role: str) -> list[ProcessMemory]:
    import psutil

    found: list[ProcessMemory] = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            for member in [proc, *proc.children(recursive=True)]:
                memory = process_memory(member.pid, role, " ".join(member.cmdline()).strip())
                if memory is not None:
                    found.append(memory)
    return found


# --------------------------------------------------------------------------------------------
# the measurement


def _ti(cluster: AirflowCluster, dag_id: str, run_id: str) -> dict[str, Any]:
    rows = cluster.task_instances(dag_id, run_id)
    return rows[0] if rows else {}


def measure(seconds: float = 60, interval: float = 5, *, keep_home: bool = False) -> dict[str, Any]:
    """Run the baseline; returns a JSON-able report (see :func:`markdown`)."""
    base = Path(tempfile.mkdtemp(prefix="airflow-sensor-baseline-"))
    try:
        home = AirflowHome.create(base / "home")
        timeout = int(seconds + 180)
        home.write_dag(
            "baseline", _DAGS.format(poke=POKE_DAG_ID, deferred=DEFERRED_DAG_ID, task=TASK_ID, timeout=timeout)
        )
        with AirflowCluster(home, settings={"AIRFLOW__CORE__PARALLELISM": "2"}) as cluster:
            return _measure_on(cluster, seconds, interval) | {
                "migrate_seconds": round(home.migrate_seconds or 0, 1),
                "cluster_start_seconds": round(cluster.start_seconds or 0, 1),
            }
    finally:
        if not keep_home:
            shutil.rmtree(base, ignore_errors=True)


def _measure_on(cluster: AirflowCluster, seconds: float, interval: float) -> dict[str, Any]:
    for dag_id in (POKE_DAG_ID, DEFERRED_DAG_ID):
        cluster.wait_for_dag(dag_id, timeout=90)
    runs = cluster.trigger_many([POKE_DAG_ID, DEFERRED_DAG_ID])
    cluster.wait_for(
        lambda: (
            _ti(cluster, POKE_DAG_ID, runs[POKE_DAG_ID]).get("state") == "running"
            and _ti(cluster, DEFERRED_DAG_ID, runs[DEFERRED_DAG_ID]).get("state") == "deferred"
        ),
        timeout=120,
        message="poke sensor not running / deferred sensor not deferred",
    )
    costs = {dag_id: ModeCost(mode) for dag_id, mode in ((POKE_DAG_ID, "poke"), (DEFERRED_DAG_ID, "deferred"))}
    shared: dict[str, list[float]] = {"triggerer": [], "idle executor workers": []}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for dag_id, cost in costs.items():
            ti = _ti(cluster, dag_id, runs[dag_id])
            cost.add(str(ti.get("state")), task_processes(cluster, str(ti.get("id"))))
        triggerer = group_memory([cluster.component_pids()["triggerer"]], "triggerer")
        idle = [pid for pid, title in cluster.executor_workers().items() if title.endswith("<idle>")]
        shared["triggerer"].append(sum(p.rss_mib for p in triggerer))
        shared["idle executor workers"].append(sum(p.rss_mib for p in group_memory(idle, "idle worker")))
        time.sleep(interval)
    return {
        "seconds": seconds,
        "modes": [cost.summary() for cost in costs.values()],
        "shared_rss_mib_median": {k: round(statistics.median(v), 1) if v else 0.0 for k, v in shared.items()},
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Airflow task-process cost per monitored job ({report['seconds']:.0f} s, LocalExecutor, parallelism=2)",
        "",
        "| sensor | TI state | worker slots held | task processes | RSS MiB (sum) | PSS MiB (sum) "
        "| task runner RSS MiB |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    labels = {"poke": 'PythonSensor(mode="poke", poke_interval=5)', "deferred": "DateTimeSensorAsync (deferred)"}
    for mode in report["modes"]:
        held = 1 if mode["task_processes"] else 0
        lines.append(
            f"| {labels[mode['mode']]} | {'/'.join(mode['states'])} | {held} | {mode['task_processes']} "
            f"| {mode['rss_mib_median']} | {mode['pss_mib_median']} | {mode['task_runner_rss_mib_median']} |"
        )
    shared = report["shared_rss_mib_median"]
    lines += [
        "",
        f"Shared, not per job: triggerer (all deferred tasks) {shared['triggerer']} MiB RSS; "
        f"idle pre-forked LocalExecutor worker(s) {shared['idle executor workers']} MiB RSS.",
        f"airflow db migrate {report.get('migrate_seconds')} s; cluster start {report.get('cluster_start_seconds')} s.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="how long to sample (default 60)")
    parser.add_argument("--interval", type=float, default=5, help="seconds between samples (default 5)")
    parser.add_argument("--json", action="store_true", help="print the JSON report too")
    parser.add_argument("--keep-home", action="store_true", help="keep the temp AIRFLOW_HOME (logs) afterwards")
    args = parser.parse_args(argv)
    report = measure(args.seconds, args.interval, keep_home=args.keep_home)
    print(markdown(report))
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
