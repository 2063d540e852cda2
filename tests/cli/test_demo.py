"""The README's demo command: real Airflow, real supervisord, progress, summary, nothing left behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.proc import processes_using

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

CLI = Path(sys.executable).with_name("airflow-supervisor-async")


def demo_paths(out: str) -> tuple[Path, Path]:
    """The Airflow home and supervisord working dir one demo printed (each demo has its own temp dirs)."""
    home = out.split("Airflow home (SQLite): ", 1)[1].split()[0]
    working_dir = out.split("supervisord in ", 1)[1].split()[0]
    return Path(home), Path(working_dir)


def leftovers(out: str) -> str:
    """Processes left from the demo that printed ``out``: any whose command line, working directory or
    environment names its Airflow home or working dir (supervisord, its programs, Airflow). Only this demo's
    paths: a demo of another suite running on the machine is not this test's to judge."""
    return "\n".join(processes_using(*demo_paths(out)))


def test_demo_runs_the_job_and_cleans_up() -> None:
    result = subprocess.run([str(CLI), "demo"], capture_output=True, text=True, timeout=300, check=False)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for expected in (
        "step  1/10  configure-supervisor",
        "deferred: the trigger watches",
        "monitoring outcome: failed",
        "restarting flaky (restart 1)",
        "monitoring outcome: done",
        "step 10/10  unconfigure-supervisor",
        "DAG run succeeded",
    ):
        assert expected in out, out
    assert "restart-programs         success" in out
    home, working_dir = demo_paths(out)
    assert not home.exists()
    assert not working_dir.exists()
    assert leftovers(out) == ""


def test_ctrl_c_leaves_nothing_running() -> None:
    proc = subprocess.Popen([str(CLI), "demo"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 180
    for line in proc.stdout:
        seen.append(line)
        if "program report  RUNNING" in line or time.monotonic() > deadline:
            break
    assert any("RUNNING" in line for line in seen), "".join(seen)
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    rest, _ = proc.communicate(timeout=120)
    out = "".join(seen) + rest
    assert proc.returncode == 130, out
    assert "interrupted" in rest
    assert leftovers(out) == "", leftovers(out)


def test_a_second_ctrl_c_does_not_skip_the_cleanup() -> None:
    proc = subprocess.Popen([str(CLI), "demo"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(line)
        if "program report  RUNNING" in line:
            break
    out = "".join(seen)
    home, working_dir = demo_paths(out)
    assert working_dir.is_dir(), out
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)  # an impatient second Ctrl-C, while the first one's cleanup starts
    for line in proc.stdout:
        seen.append(line)
        if "interrupted: stopping everything" in line:
            proc.send_signal(signal.SIGINT)  # and one during the cleanup
            break
    rest, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, "".join(seen) + rest
    assert "Traceback" not in rest
    assert not working_dir.exists()
    assert not home.exists()
    assert leftovers(out) == "", leftovers(out)
