"""Host-side steps on a real supervisord, locally and over a real sshd: idempotent, atomic, quoted."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_supervisor_async.config import SupervisorAirflowConfiguration, SupervisorSSHAirflowConfiguration
from airflow_supervisor_async.host import HostCommandError, LocalHost, lifecycle
from airflow_supervisor_async.host.ssh import SSHHost
from tests.fixtures.jobs import short_tempdir
from tests.support.proc import alive


@pytest.fixture
def working_dir() -> Any:
    path = short_tempdir("asa-host-")
    path.rmdir()
    yield path
    pid = path / "supervisord.pid"
    if pid.exists():
        os.system(f"kill -9 {pid.read_text().strip()} 2>/dev/null")
    shutil.rmtree(path, ignore_errors=True)


def local_cfg(working_dir: Path, **options: Any) -> SupervisorAirflowConfiguration:
    return SupervisorAirflowConfiguration(
        working_dir=working_dir, program={"sleeper": {"command": "sleep 60"}}, **options
    )


async def test_every_local_step_is_idempotent(working_dir: Path) -> None:
    host, cfg = LocalHost(), local_cfg(working_dir)
    assert await lifecycle.supervisord_pid(host, cfg) is None
    path = await lifecycle.write_config(host, cfg)
    assert await lifecycle.write_config(host, cfg) == path  # rewriting is fine
    assert stat.S_IMODE(working_dir.stat().st_mode) == 0o700
    pid = await lifecycle.start_supervisord(host, cfg)
    assert await lifecycle.start_supervisord(host, cfg) == pid  # already running: same daemon
    with pytest.raises(HostCommandError, match="still runs"):
        await lifecycle.remove_config(host, cfg)  # never pulls the config from under a running daemon
    assert working_dir.exists()
    assert await lifecycle.stop_supervisord(host, cfg) is True
    assert await lifecycle.stop_supervisord(host, cfg) is False  # stopping what is stopped
    assert await lifecycle.force_kill(host, cfg) is False
    await lifecycle.remove_config(host, cfg)
    await lifecycle.remove_config(host, cfg)  # removing what is gone
    assert not working_dir.exists()


async def test_start_without_config_and_port_conflict_are_clear(working_dir: Path) -> None:
    host = LocalHost()
    cfg = local_cfg(working_dir)
    with pytest.raises(HostCommandError, match="write it first"):
        await lifecycle.start_supervisord(host, cfg)
    first = local_cfg(working_dir)
    await lifecycle.write_config(host, first)
    await lifecycle.start_supervisord(host, first)
    other_dir = short_tempdir("asa-host2-")
    try:
        # a second supervisord on the same socket path must fail loudly, not silently share it
        clash = SupervisorAirflowConfiguration(
            working_dir=other_dir, airflow={"unix_socket": first.resolved_unix_socket},
            program={"x": {"command": "sleep 1"}},
        )  # fmt: skip
        await lifecycle.write_config(host, clash)
        with pytest.raises(HostCommandError, match="failed to start"):
            await lifecycle.start_supervisord(host, clash)
    finally:
        await lifecycle.force_kill(host, first)
        shutil.rmtree(other_dir, ignore_errors=True)


async def test_force_kill_takes_the_programs_down_too(working_dir: Path) -> None:
    host, cfg = LocalHost(), local_cfg(working_dir)
    await lifecycle.write_config(host, cfg)
    await lifecycle.start_supervisord(host, cfg)
    from airflow_supervisor_async.client import SupervisorClient

    async with SupervisorClient.from_config(cfg) as client:
        await client.start_process("sleeper")
        child = (await client.get_process_info("sleeper")).pid
    assert await lifecycle.force_kill(host, cfg) is True
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail(f"program pid {child} survived force-kill")


@pytest.mark.ssh
async def test_ssh_host_writes_atomically_and_quotes_every_argument(sshd: Any, working_dir: Path) -> None:
    host = SSHHost(sshd.ssh_config())
    try:
        tricky = 'it\'s a "file"; echo INJECTED $(id) `id` &&'
        result = await host.run(["printf", "%s", tricky])
        assert (result.returncode, result.stdout) == (0, tricky)  # arrived as one literal argument
        target = working_dir / "secret.conf"
        assert await host.make_dir(working_dir) is True
        assert await host.make_dir(working_dir) is False
        await host.write_file(target, "password={SHA}abc\n", mode=0o600)
        await host.write_file(target, "password={SHA}def\n", mode=0o600)
        assert target.read_text() == "password={SHA}def\n"
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert [p.name for p in working_dir.iterdir()] == ["secret.conf"]  # no temp file left
        assert await host.read_file(working_dir / "missing") is None
        await host.remove_file(target)
        assert await host.remove_dir(working_dir) is True
        assert not working_dir.exists()
    finally:
        await host.close()


@pytest.mark.slow
@pytest.mark.ssh
async def test_remote_lifecycle_over_real_sshd(sshd: Any, working_dir: Path) -> None:
    cfg = SupervisorSSHAirflowConfiguration(
        ssh=sshd.ssh_config(), command_prefix=f"PATH={Path(sys.executable).parent}:$PATH",
        working_dir=working_dir, program={"sleeper": {"command": "sleep 60"}},
    )  # fmt: skip
    host = SSHHost(cfg.ssh, command_prefix=cfg.command_prefix)
    try:
        await lifecycle.write_config(host, cfg)
        pid = await lifecycle.start_supervisord(host, cfg)
        assert await lifecycle.start_supervisord(host, cfg) == pid
        from airflow_supervisor_async.client import SupervisorClient

        async with SupervisorClient.from_config(cfg) as client:  # XML-RPC through the SSH tunnel
            assert (await client.get_state()).statename == "RUNNING"
        assert await lifecycle.stop_supervisord(host, cfg) is True
        await lifecycle.remove_config(host, cfg)
        assert not working_dir.exists()
    finally:
        await lifecycle.force_kill(host, cfg)
        await host.close()


@pytest.mark.slow
async def test_stop_after_a_killed_supervisord_kills_only_the_groups_it_left(working_dir: Path) -> None:
    """supervisord SIGKILLed: its programs (and their children) run on, orphaned. The stop step finds them by the
    job's server URL in their environment and kills their process groups -- and nothing else."""
    from airflow_supervisor_async.client import SupervisorClient

    host = LocalHost()
    cfg = SupervisorAirflowConfiguration(
        working_dir=working_dir,
        program={"parent": {"command": "bash -c 'sleep 300 & echo $! > child.pid; wait'"}},
    )
    await lifecycle.write_config(host, cfg)
    pid = await lifecycle.start_supervisord(host, cfg)
    async with SupervisorClient.from_endpoint(cfg.xmlrpc_endpoint()) as client:
        await client.start_process("parent", wait=True)
        program = (await client.get_process_info("parent")).pid
    child_pid_file = working_dir / "parent" / "child.pid"
    for _ in range(100):
        if child_pid_file.exists() and child_pid_file.read_text().strip():
            break
        await asyncio.sleep(0.05)
    child = int(child_pid_file.read_text())
    bystander = await asyncio.create_subprocess_exec("sleep", "300", start_new_session=True)  # not the job's
    try:
        os.kill(pid, 9)
        await asyncio.sleep(0.2)
        assert await lifecycle.dead_supervisord(host, cfg) == pid
        assert await lifecycle.orphaned_programs(host, cfg) == {program: "parent"}

        assert await lifecycle.stop_supervisord(host, cfg) is False  # it was not running...
        for _ in range(100):  # ...but what it left is killed, the child too (same process group)
            if not any(alive(p) for p in (program, child)):
                break
            await asyncio.sleep(0.05)
        assert not alive(program)
        assert not alive(child)
        assert bystander.returncode is None
        assert not cfg.resolved_pidfile.exists()  # the stale pid file is gone: a second stop does nothing
        assert await lifecycle.dead_supervisord(host, cfg) is None
    finally:
        bystander.kill()
        await bystander.wait()


async def test_orphans_are_only_processes_of_ours(working_dir: Path) -> None:
    """Another user's process group leader that carries this job's server URL (copied, or by design) is never
    taken for an orphaned program: the teardown runs as root on some hosts and must not kill it."""
    from tests.fixtures.users import OTHER_UID, require_root

    require_root()
    cfg = SupervisorAirflowConfiguration(working_dir=working_dir, program={"parent": {"command": "sleep 300"}})
    env = {
        **os.environ,
        "SUPERVISOR_SERVER_URL": f"unix://{cfg.resolved_unix_socket}",
        "SUPERVISOR_PROCESS_NAME": "parent",
    }
    other = await asyncio.create_subprocess_exec(
        "setpriv", f"--reuid={OTHER_UID}", f"--regid={OTHER_UID}", "--clear-groups", "sleep", "300",
        env=env, start_new_session=True,
    )  # fmt: skip
    ours = await asyncio.create_subprocess_exec("sleep", "300", env=env, start_new_session=True)
    try:
        for _ in range(100):  # until setpriv has switched user and exec'd sleep
            if os.stat(f"/proc/{other.pid}").st_uid == OTHER_UID and b"sleep" in _cmdline(other.pid):
                break
            await asyncio.sleep(0.05)
        found = await lifecycle.orphaned_programs(LocalHost(), cfg)
        assert found == {ours.pid: "parent"}  # ours is found (the test can fail), the other user's is not
    finally:
        for proc in (other, ours):
            proc.kill()
            await proc.wait()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""
