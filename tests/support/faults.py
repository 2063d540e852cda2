"""Helpers for fault tests: a program that proves it kept running, background runs, waiting on task states."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import re
import signal
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from tests.support.airflow import wait_for

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.support.airflow import AirflowHome

__all__ = (
    "Ticker",
    "deferred",
    "elapsed",
    "in_background",
    "kill_if_alive",
    "latest_task_instance",
    "skip_or_fail",
    "wait_for_task",
)

T = TypeVar("T")
_START = re.compile(r"^start (\d+)$")
_TICK = re.compile(r"^tick (\d+)$")


def skip_or_fail(reason: str) -> None:
    """Skip, or fail under ``CI=true`` (where a skipped fault test would hide a missing capability)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (skips are failures under CI=true)")
    pytest.skip(reason)


@dataclass
class Ticker:
    """A program that appends ``start <pid>`` once, then ``tick <n>`` every ``interval`` seconds, to a file
    outside the job's ``working_dir`` (so it outlives the cleanup), until ``release()``.

    Its file tells what a fault did to it: one ``start`` and ticks without a gap mean it ran all along,
    never restarted; a second ``start`` is a second start.
    """

    folder: Path
    interval: float = 0.2

    @property
    def path(self) -> Path:
        return self.folder / "ticks"

    @property
    def release_path(self) -> Path:
        return self.folder / "release"

    def command(self, *, child: bool = False, fail_first_after: float | None = None) -> str:
        """The program's command line; ``child`` also starts a ``sleep`` child in its process group;
        ``fail_first_after``: the first start only sleeps that long and exits 3 (a failure to restart)."""
        spawn = f'sleep 3600 & echo "child $!" >> {self.path}; ' if child else ""
        if fail_first_after is not None:
            once = self.folder / "failed-once"
            spawn += (
                f'if [ ! -e {once} ]; then touch {once}; echo "start $$" >> {self.path}; '
                f"sleep {fail_first_after}; exit 3; fi; "
            )
        return (
            f'bash -c \'{spawn}echo "start $$" >> {self.path}; i=0; while [ ! -e {self.release_path} ]; '
            f'do i=$((i+1)); echo "tick $i" >> {self.path}; sleep {self.interval}; done; echo done >> {self.path}\''
        )

    def release(self) -> None:
        self.release_path.touch()

    def lines(self) -> list[str]:
        try:
            return self.path.read_text().splitlines()
        except FileNotFoundError:
            return []

    def starts(self) -> list[int]:
        """Pids of each start, in order."""
        return [int(m.group(1)) for line in self.lines() if (m := _START.match(line))]

    def children(self) -> list[int]:
        return [int(line.split()[1]) for line in self.lines() if line.startswith("child ")]

    def ticks(self) -> list[int]:
        return [int(m.group(1)) for line in self.lines() if (m := _TICK.match(line))]

    def wait_ticking(self, timeout: float = 120) -> None:
        wait_for(lambda: len(self.ticks()) >= 2, timeout, 0.1, message=f"{self.path}: the program never ticked")

    def wait_running_for(self, seconds: float, timeout: float = 120) -> None:
        """Wait until the program has ticked for ``seconds`` (e.g. past ``startsecs``: a program that ends
        sooner counts as failed to start)."""
        wanted = int(seconds / self.interval) + 5
        wait_for(lambda: len(self.ticks()) >= wanted, timeout, 0.1, message=f"{self.path}: stopped ticking")

    def contiguous(self) -> bool:
        ticks = self.ticks()
        return ticks == list(range(1, len(ticks) + 1))

    def summary(self) -> str:
        """E.g. ``1 start, ticks 1..240 without a gap``."""
        starts, ticks = self.starts(), self.ticks()
        gapless = "without a gap" if self.contiguous() else "WITH GAPS OR RESETS"
        return f"{len(starts)} start{'s' if len(starts) != 1 else ''}, ticks 1..{len(ticks)} {gapless}"


def kill_if_alive(pids: list[int]) -> None:
    """SIGKILL what a failed test left behind (pids the test itself recorded)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def in_background(call: Callable[..., T], *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
    """Run ``call`` in a thread of its own (e.g. ``airflow dags test``) while the test injects a fault."""
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = executor.submit(call, *args, **kwargs)
    executor.shutdown(wait=False)
    return future


def latest_task_instance(home: AirflowHome, dag_id: str, task_id: str) -> dict[str, Any] | None:
    """The row of ``task_id`` in the newest run of ``dag_id`` (None before the run exists)."""
    runs = home.dag_runs(dag_id)
    if not runs:
        return None
    rows = [row for row in home.task_instances(dag_id, runs[-1]["run_id"]) if row["task_id"] == task_id]
    return rows[0] if rows else None


def wait_for_task(
    home: AirflowHome,
    dag_id: str,
    task_id: str,
    predicate: Callable[[dict[str, Any]], bool],
    *,
    timeout: float,
    what: str,
    give_up: concurrent.futures.Future[Any] | None = None,
) -> dict[str, Any]:
    """Wait until the newest run's ``task_id`` row satisfies ``predicate``; returns the row.

    ``give_up``: the background run; if it ends first, fail at once with its output.
    """

    def reached() -> dict[str, Any] | None:
        if give_up is not None and give_up.done():
            result = give_up.result()
            detail = result.describe() if hasattr(result, "describe") else repr(result)
            raise AssertionError(f"the run ended before {task_id} {what}:\n{detail}")
        row = latest_task_instance(home, dag_id, task_id)
        return row if row is not None and predicate(row) else None

    return wait_for(
        reached,
        timeout,
        0.2,
        message=lambda: f"{task_id} never {what}: {latest_task_instance(home, dag_id, task_id)}",
    )


def deferred(row: dict[str, Any]) -> bool:
    """A monitoring task handed to its trigger (``dags test`` runs the trigger with the row queued, trigger set)."""
    return row["state"] == "deferred" or (
        row["trigger_id"] is not None and row["state"] in (None, "queued", "scheduled")
    )


def elapsed(since: float) -> str:
    return f"{time.monotonic() - since:.1f} s"
