"""Only this job's supervisord is ever signalled; a hung supervisord is still stopped (SIGCONT, then SIGKILL)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from airflow_supervisor_async.client import SupervisorClient
from airflow_supervisor_async.config import SupervisorAirflowConfiguration
from airflow_supervisor_async.host import LocalHost, lifecycle
from tests.fixtures.jobs import short_tempdir
from tests.support.proc import alive


@pytest.fixture
def job_dir() -> Any:
    path = short_tempdir("asa-p-")
    yield path / "wd"
    subprocess.run(["rm", "-rf", str(path)], check=False)


def cfg_for(working_dir: Path, **program: Any) -> SupervisorAirflowConfiguration:
    return SupervisorAirflowConfiguration(
        working_dir=working_dir, job="proc-job", program={"svc": {"command": "sleep 300", **program}}
    )


async def wait_dead(pid: int, seconds: float = 20) -> bool:
    for _ in range(int(seconds * 20)):
        if not alive(pid):
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.mark.parametrize("content", ["0", "1", "-1", "²", "١٢٣", "12 34", "abc", "9" * 30, "\x00"])
async def test_pid_files_that_name_no_process_of_ours_mean_not_running(job_dir: Path, content: str) -> None:
    host, cfg = LocalHost(), cfg_for(job_dir)
    await lifecycle.write_config(host, cfg)
    (job_dir / "supervisord.pid").write_text(content + "\n", encoding="utf-8")
    assert await lifecycle.supervisord_pid(host, cfg) is None
    assert await lifecycle.stop_supervisord(host, cfg) is False
    assert await lifecycle.force_kill(host, cfg) is False


def test_pid_zero_never_signals_our_own_process_group(job_dir: Path) -> None:
    """``kill -TERM 0`` would hit the caller's whole process group: run the stop step in a group of its own."""
    script = textwrap.dedent(f"""
        import asyncio, pathlib
        from airflow_supervisor_async.config import SupervisorAirflowConfiguration
        from airflow_supervisor_async.host import LocalHost, lifecycle
        cfg = SupervisorAirflowConfiguration(
            working_dir={str(job_dir)!r}, job="proc-job", program={{"svc": {{"command": "sleep 300"}}}}
        )
        asyncio.run(lifecycle.write_config(LocalHost(), cfg))
        pathlib.Path({str(job_dir / "supervisord.pid")!r}).write_text("0")
        print("stopped:", asyncio.run(lifecycle.stop_supervisord(LocalHost(), cfg, timeout=2)))
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], start_new_session=True, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert "stopped: False" in result.stdout


async def test_a_stale_pid_of_an_unrelated_process_is_left_alone(job_dir: Path) -> None:
    host, cfg = LocalHost(), cfg_for(job_dir)
    await lifecycle.write_config(host, cfg)
    bystander = subprocess.Popen(["sleep", "60"])  # noqa: ASYNC220
    # even one that looks like supervisord, but for another config file
    lookalike = subprocess.Popen(["sh", "-c", "sleep 60", "supervisord", "-c", str(job_dir / "other.conf")])  # noqa: ASYNC220
    try:
        for process in (bystander, lookalike):
            (job_dir / "supervisord.pid").write_text(str(process.pid))
            assert await lifecycle.supervisord_pid(host, cfg) is None
            assert await lifecycle.stop_supervisord(host, cfg, timeout=2) is False
            assert await lifecycle.force_kill(host, cfg) is False
            assert process.poll() is None  # never signalled
        # start treats it as not running and starts the real one, which then takes over the pid file
        pid = await lifecycle.start_supervisord(host, cfg)
        assert pid not in (bystander.pid, lookalike.pid)
        assert await lifecycle.stop_supervisord(host, cfg) is True
    finally:
        for process in (bystander, lookalike):
            process.kill()
            process.wait()
        await lifecycle.force_kill(host, cfg)


async def _start_program(cfg: SupervisorAirflowConfiguration) -> int:
    async with SupervisorClient.from_config(cfg) as client:
        await client.start_process("svc")
        return (await client.get_process_info("svc")).pid


async def test_a_sigstopped_supervisord_is_stopped_gracefully(job_dir: Path) -> None:
    """SIGTERM alone stays pending in a stopped process; with SIGCONT supervisord stops its programs itself."""
    trap = "bash -c 'trap \"echo got-term; exit 0\" TERM; while true; do sleep 0.1; done'"
    host, cfg = LocalHost(), cfg_for(job_dir, command=trap, stopwaitsecs=20)
    await lifecycle.write_config(host, cfg)
    pid = await lifecycle.start_supervisord(host, cfg)
    program = await _start_program(cfg)
    os.kill(pid, signal.SIGSTOP)
    try:
        assert await lifecycle.supervisord_pid(host, cfg) == pid  # a stopped supervisord is still ours
        assert await lifecycle.stop_supervisord(host, cfg, timeout=15) is True
        assert await wait_dead(pid)
        assert await wait_dead(program)
        assert "got-term" in (job_dir / "svc" / "output.log").read_text()  # stopped, not killed
        cleanup = await lifecycle.remove_config(host, cfg)
        assert str(job_dir) in cleanup.removed
    finally:
        os.kill(pid, signal.SIGCONT) if alive(pid) else None
        await lifecycle.force_kill(host, cfg)


@pytest.mark.slow
async def test_what_sigterm_does_not_end_is_killed(job_dir: Path) -> None:
    """A program that ignores SIGTERM keeps supervisord waiting for stopwaitsecs: after ``timeout`` the stop
    step SIGKILLs supervisord and the program's process group, and cleanup can go on."""
    stubborn = "bash -c 'trap \"\" TERM; sleep 300 & wait; sleep 300'"
    host, cfg = LocalHost(), cfg_for(job_dir, command=stubborn, stopwaitsecs=600)
    await lifecycle.write_config(host, cfg)
    pid = await lifecycle.start_supervisord(host, cfg)
    program = await _start_program(cfg)
    pgrep = subprocess.run(["pgrep", "-P", str(program)], capture_output=True, text=True)  # noqa: ASYNC221
    grandchildren = [int(p) for p in pgrep.stdout.split()]
    try:
        assert await lifecycle.stop_supervisord(host, cfg, timeout=3) is True
        assert await wait_dead(pid)
        assert await wait_dead(program)
        assert all([await wait_dead(child) for child in grandchildren])
        assert not (job_dir / "supervisord.pid").exists()
        await lifecycle.remove_config(host, cfg)
        assert not job_dir.exists()
    finally:
        await lifecycle.force_kill(host, cfg)
