"""The blocking API scripts used with airflow-supervisor: the job's start/running/stop/kill/remove and a sync
client, on a real supervisord -- locally and on a "remote" host through a real sshd."""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_supervisor_async import (
    ProgramConfiguration,
    SupervisorAirflowConfiguration,
    SupervisorSSHAirflowConfiguration,
    SupervisorSyncClient,
)
from airflow_supervisor_async.client import ProcessState
from airflow_supervisor_async.host import HostCommandError, lifecycle, make_host
from airflow_supervisor_async.sync import run_sync
from tests.fixtures.jobs import short_tempdir

PROGRAMS = {"steady": ProgramConfiguration(command="sleep 30"), "quick": ProgramConfiguration(command="true")}


@pytest.fixture
def working_dir() -> Any:
    path = short_tempdir("asa-sync-")
    path.rmdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def wait_for(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


def test_job_controls_and_sync_client(working_dir: Path) -> None:
    cfg = SupervisorAirflowConfiguration(working_dir=working_dir, program=PROGRAMS, airflow={"startsecs": 0})
    with pytest.raises(HostCommandError, match="write it first"):
        cfg.start()
    cfg.write()
    pid = cfg.start()
    try:
        client = SupervisorSyncClient(cfg, read_timeout=30)
        assert client.get_pid() == pid
        assert client.startProcess("steady") is True  # supervisord's own method name
        client.start_process("quick")
        wait_for(lambda: client.get_process_info("quick").state == ProcessState.EXITED)
        assert client.get_process_info("steady").state == ProcessState.RUNNING
        with pytest.raises(AttributeError, match="has no method 'no_such_method'"):
            _ = client.no_such_method
        with pytest.raises(HostCommandError, match="stop it before removing"):
            cfg.remove()  # never while supervisord runs
        assert cfg.kill() is True
        assert not cfg.running()
        assert cfg.stop() is False  # nothing left to stop
    finally:
        cfg.kill()
    cfg.remove()
    assert not working_dir.exists()


async def test_blocking_calls_refuse_to_run_inside_an_event_loop(working_dir: Path) -> None:
    cfg = SupervisorAirflowConfiguration(working_dir=working_dir, program=PROGRAMS)
    with pytest.raises(RuntimeError, match="inside a running event loop would stall it"):
        cfg.running()
    with pytest.raises(RuntimeError, match="await the async API"):
        SupervisorSyncClient(cfg).get_state()
    await asyncio.sleep(0)


@pytest.mark.slow
@pytest.mark.ssh
def test_job_controls_over_ssh(sshd: Any, working_dir: Path) -> None:
    cfg = SupervisorSSHAirflowConfiguration(
        ssh=sshd.ssh_config(),
        command_prefix=f"PATH={Path(sys.executable).parent}:$PATH",
        working_dir=working_dir,
        program=PROGRAMS,
    )

    async def upload() -> None:
        host = make_host(cfg)
        try:
            await lifecycle.write_config(host, cfg)
        finally:
            await host.close()

    run_sync(upload)
    pid = cfg.start()
    try:
        client = SupervisorSyncClient(cfg)
        assert client.get_pid() == pid  # through the SSH connection to the remote unix socket
        assert cfg.running()
        assert cfg.stop() is True
        assert not cfg.running()
    finally:
        cfg.kill()
    cfg.remove()
    assert not working_dir.exists()


def test_ssh_job_without_a_host_says_so_when_it_connects(working_dir: Path) -> None:
    cfg = SupervisorSSHAirflowConfiguration(working_dir=working_dir, program=PROGRAMS)
    with pytest.raises(ValueError, match="no host to run supervisord on"):
        cfg.running()
