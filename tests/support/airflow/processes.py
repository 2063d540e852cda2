"""Finding the processes started for one AIRFLOW_HOME, and ending processes (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import contextlib
import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path


def processes_with_home(home: Path) -> list[int]:
    """PIDs of live processes started for ``home`` (this process excluded): ``AIRFLOW_HOME=<home>`` in
    their environment, or a working directory inside ``home``.

    The harness starts every Airflow process with ``cwd=<home>``; the cwd test matters because
    ``setproctitle`` (api-server, LocalExecutor workers, task runners) overwrites the memory that
    ``/proc/PID/environ`` reads. A unique temp home makes this an exact "processes this harness
    started" test -- including task runners and DAG-file parsers that Airflow moves to their own
    process groups.
    """
    import psutil

    wanted = str(home)
    found: list[int] = []
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == os.getpid():
            continue
        with contextlib.suppress(psutil.Error, OSError):
            if _belongs_to(proc, wanted) and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
    return found


def _belongs_to(proc: Any, home: str) -> bool:
    import psutil

    with contextlib.suppress(psutil.Error, OSError):
        cwd = proc.cwd()
        if cwd == home or cwd.startswith(home + os.sep):
            return True
    with contextlib.suppress(psutil.Error, OSError):
        return bool(proc.environ().get("AIRFLOW_HOME") == home)
    return False


def is_running(proc: Any) -> bool:
    """Alive and not a zombie (a zombie is dead; only its parent can reap it)."""
    import psutil

    try:
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def tree_pids(pid: int) -> set[int]:
    """``pid`` and all its descendants."""
    import psutil

    pids = {pid}
    with contextlib.suppress(psutil.Error):
        pids.update(child.pid for child in psutil.Process(pid).children(recursive=True))
    return pids


def kill_pids(pids: Iterable[int], *, grace: float) -> list[int]:
    """SIGTERM ``pids``, wait up to ``grace`` seconds, SIGKILL the rest; returns those that needed SIGKILL."""
    import psutil

    procs: list[psutil.Process] = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            procs.append(psutil.Process(pid))
    procs = [proc for proc in procs if is_running(proc)]
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    deadline = time.monotonic() + grace
    while any(is_running(proc) for proc in procs) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [proc for proc in procs if is_running(proc)]
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    deadline = time.monotonic() + 5
    while any(is_running(proc) for proc in alive) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [proc.pid for proc in alive]
