"""Running a command in its own process group with a hard timeout, and tails of its output or a log file."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.airflow.waiting import AirflowHarnessError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def airflow_executable() -> str:
    """The ``airflow`` script of the running interpreter's environment (the venv), else from PATH."""
    candidate = Path(sys.executable).parent / "airflow"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("airflow")
    if found is None:
        raise AirflowHarnessError("no `airflow` executable next to sys.executable or on PATH")
    return found


def output_tail(text: str, lines: int = 80) -> str:
    """The last ``lines`` lines of ``text`` (ANSI colours removed)."""
    kept = ANSI.sub("", text).splitlines()[-lines:]
    return "\n".join(kept)


def file_tail(path: Path, lines: int = 80) -> str:
    """The last ``lines`` lines of a (log) file; a placeholder when it does not exist."""
    try:
        data = path.read_bytes()[-256 * 1024 :]
    except FileNotFoundError:
        return f"<{path} does not exist>"
    return output_tail(data.decode("utf-8", "replace"), lines)


@dataclass
class CommandResult:
    """One finished (or killed) CLI call."""

    argv: list[str]
    returncode: int | None
    output: str
    duration: float
    timed_out: bool

    def tail(self, lines: int = 80) -> str:
        return output_tail(self.output, lines)

    def describe(self, lines: int = 80) -> str:
        status = "TIMED OUT" if self.timed_out else f"rc={self.returncode}"
        return f"$ {' '.join(self.argv)}  [{status}, {self.duration:.1f}s]\n{self.tail(lines)}"


def kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def run_command(
    argv: Sequence[str], *, env: Mapping[str, str], timeout: float, cwd: Path | None = None
) -> CommandResult:
    """Run ``argv`` in its own session with a hard timeout; stdout+stderr combined.

    On timeout the whole process group gets SIGTERM, then SIGKILL after 5 s.
    """
    started = time.monotonic()
    proc = subprocess.Popen(
        list(argv),
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(proc.pid, signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            kill_group(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
    finally:
        # Anything the command left behind in its group is ours to end.
        kill_group(proc.pid, signal.SIGKILL)
    return CommandResult(
        argv=list(argv),
        returncode=None if timed_out else proc.returncode,
        output=out.decode("utf-8", "replace"),
        duration=time.monotonic() - started,
        timed_out=timed_out,
    )
