"""The outcome of one ``airflow dags test`` run, and the DAG files the tests write: one supervisord job
(``job_dag_source``) and a plain deferrable wait (the harness's own tests and the benchmarks)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tests.support.airflow.commands import ANSI, CommandResult

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

_DEFERRED_LINE = re.compile(r"Pausing task as DEFERRED\..*?\btask_id=(?P<task_id>[^\s,]+)")


@dataclass
class DagTestResult:
    """Outcome of one ``airflow dags test`` run.

    ``task_states`` maps task id (``task_id[map_index]`` for mapped tasks) to its final state read
    from the metadata DB; ``deferred_task_ids`` lists tasks whose log said "Pausing task as DEFERRED"
    (the DB keeps no trace of a deferral once the task has resumed).
    """

    dag_id: str
    command: CommandResult
    run_id: str | None
    dag_run_state: str | None
    task_states: dict[str, str | None] = field(default_factory=dict)

    @property
    def returncode(self) -> int | None:
        return self.command.returncode

    @property
    def output(self) -> str:
        return self.command.output

    @property
    def duration(self) -> float:
        return self.command.duration

    @property
    def timed_out(self) -> bool:
        return self.command.timed_out

    @property
    def succeeded(self) -> bool:
        return not self.timed_out and self.returncode == 0 and self.dag_run_state == "success"

    @property
    def deferred_task_ids(self) -> list[str]:
        found = [m.group("task_id") for m in _DEFERRED_LINE.finditer(ANSI.sub("", self.output))]
        return list(dict.fromkeys(found))

    def tail(self, lines: int = 80) -> str:
        return self.command.tail(lines)

    def describe(self, lines: int = 80) -> str:
        """Summary plus the output tail: put it in assertion messages."""
        return (
            f"dags test {self.dag_id}: run_id={self.run_id} dag_run_state={self.dag_run_state} "
            f"task_states={self.task_states} deferred={self.deferred_task_ids}\n{self.command.describe(lines)}"
        )

    def assert_success(self, tasks: Mapping[str, str] | None = None, *, lines: int = 80) -> None:
        """Assert the run succeeded and, if given, that each task in ``tasks`` ended in that state."""
        if not self.succeeded:
            raise AssertionError(f"DAG run did not succeed\n{self.describe(lines)}")
        for task_id, state in (tasks or {}).items():
            if self.task_states.get(task_id) != state:
                raise AssertionError(
                    f"task {task_id!r}: expected {state!r}, got {self.task_states.get(task_id)!r}\n"
                    f"{self.describe(lines)}"
                )


def deferrable_wait_dag_source(dag_id: str, *, seconds: float, after_task: str | None = "after") -> str:
    """A DAG whose task ``wait`` defers (``DateTimeSensorAsync``) until ``seconds`` after it starts
    running, then (optionally) a ``PythonOperator`` ``after_task``.

    The target time is rendered when the task runs, so several runs queued behind one worker slot
    each still wait the full time. (``TimeDeltaSensor(deferrable=True)`` counts from the run's
    data interval end and does not defer at all once that moment has passed; ``WaitSensor(deferrable=True)``
    ends from the trigger and fails under ``airflow dags test``.)
    """
    after = (
        f"""
    after = PythonOperator(task_id={after_task!r}, python_callable=lambda: print("harness: after ran"))
    wait >> after"""
        if after_task
        else ""
    )
    return f"""
import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.sdk import DAG

with DAG(
    {dag_id!r},
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule=None,
    catchup=False,
    is_paused_upon_creation=False,
) as dag:
    wait = DateTimeSensorAsync(
        task_id="wait",
        target_time="{{{{ (macros.datetime.utcnow() + macros.timedelta(seconds={seconds})).isoformat() }}}}+00:00",
    ){after}
"""


def job_dag_source(dag_id: str, cfg: Mapping[str, Any], *, after: str = "", **dag_args: Any) -> str:
    """Source of a DAG file ``dag_id`` with one supervisord job, as a user writes it.

    :param cfg: the job's configuration as plain data, as a YAML file would hold it (durations in seconds);
        with an ``ssh`` key it is a remote job (``SupervisorSSHAirflowConfiguration``).
    :param after: statements appended at module level, after the ``with DAG(...)`` block (``dag`` is bound).
    :param dag_args: more ``DAG(...)`` keyword arguments, plain data (e.g. ``default_args={"retries": 1}``).
    """
    model = "SupervisorSSHAirflowConfiguration" if "ssh" in cfg else "SupervisorAirflowConfiguration"
    return f"""
from datetime import datetime

from airflow.sdk import DAG

from airflow_supervisor_async import Supervisor, {model}

cfg = {model}.model_validate({dict(cfg)!r})

with DAG(dag_id={dag_id!r}, schedule=None, start_date=datetime(2024, 1, 1), catchup=False, **{dag_args!r}) as dag:
    Supervisor(dag=dag, cfg=cfg)
{after}
"""
