"""The README's demo command: real Airflow, real supervisord, progress, summary, nothing left behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

CLI = Path(sys.executable).with_name("airflow-supervisor-async")


def leftovers() -> str:
    """Processes the demo may have started (its paths all contain 'asa-demo')."""
    found = subprocess.run(["pgrep", "-af", "asa-demo"], capture_output=True, text=True, check=False).stdout
    return "\n".join(line for line in found.splitlines() if "pgrep" not in line)


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
    home = out.split("Airflow home (SQLite): ", 1)[1].split()[0]
    assert not Path(home).exists()
    assert leftovers() == ""


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
    assert proc.returncode == 130, "".join(seen) + rest
    assert "interrupted" in rest
    assert leftovers() == "", leftovers()


def test_a_second_ctrl_c_does_not_skip_the_cleanup() -> None:
    proc = subprocess.Popen([str(CLI), "demo"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(line)
        if "program report  RUNNING" in line:
            break
    out = "".join(seen)
    home = Path(out.split("Airflow home (SQLite): ", 1)[1].split()[0])
    working_dir = Path(out.split("supervisord in ", 1)[1].split()[0])
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
    assert leftovers() == "", leftovers()
