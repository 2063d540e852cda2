"""The same rules over a real sshd: ownership and symlinks checked with lstat over SFTP, no ``rm -rf``, pid files
checked with ``ps``, and a clear error for a host without the SFTP subsystem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_supervisor_async.config import SupervisorSSHAirflowConfiguration
from airflow_supervisor_async.host import HostCommandError, UnsafePathError, lifecycle
from airflow_supervisor_async.host.ssh import SSHHost
from tests.fixtures.jobs import short_tempdir
from tests.fixtures.users import OTHER_UID, other_user_dir

pytestmark = pytest.mark.ssh


@pytest.fixture
def remote_dir() -> Any:
    path = short_tempdir("asa-r-")
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


def remote_cfg(sshd: Any, working_dir: Path, **options: Any) -> SupervisorSSHAirflowConfiguration:
    return SupervisorSSHAirflowConfiguration(
        ssh=sshd.ssh_config(), command_prefix=f"PATH={Path(sys.executable).parent}:$PATH", job="remote-job",
        working_dir=working_dir, program={"svc": {"command": "sleep 60"}}, **options,
    )  # fmt: skip


@pytest.mark.slow
async def test_remote_cleanup_removes_only_what_the_job_created(sshd: Any, remote_dir: Path) -> None:
    user_folder = remote_dir / "project"
    user_folder.mkdir(mode=0o700)
    (user_folder / "results.csv").write_text("precious")
    outside = remote_dir / "outside"
    outside.mkdir()
    (outside / "data.txt").write_text("not the job's")
    cfg = remote_cfg(sshd, user_folder)
    host = SSHHost(cfg.ssh, command_prefix=cfg.command_prefix)
    try:
        with pytest.raises(UnsafePathError, match=r"has no \.airflow-supervisor-async\.json"):
            await lifecycle.remove_config(host, cfg)
        assert (user_folder / "results.csv").read_text() == "precious"

        await lifecycle.write_config(host, cfg)
        (user_folder / "svc" / "link").symlink_to(outside)
        (user_folder / "svc" / "output.log").write_text("log")
        pid = await lifecycle.start_supervisord(host, cfg)
        assert await lifecycle.stop_supervisord(host, cfg) is True
        cleanup = await lifecycle.remove_config(host, cfg)
        assert sorted(p.name for p in user_folder.iterdir()) == ["results.csv"]  # the folder was there before
        assert (outside / "data.txt").read_text() == "not the job's"  # the link went, not its target
        assert str(user_folder / "svc") in cleanup.removed
        assert pid > 1
    finally:
        await lifecycle.force_kill(host, cfg)
        await host.close()


async def test_remote_folder_of_another_user_or_writable_by_others_is_refused(sshd: Any, scratch: Path) -> None:
    theirs = other_user_dir(scratch / "theirs", mode=0o700)
    open_folder = scratch / "open"
    open_folder.mkdir(mode=0o777)
    open_folder.chmod(0o777)
    link = scratch / "link"
    link.symlink_to(open_folder)
    host = SSHHost(sshd.ssh_config())
    try:
        for folder, expected in (
            (theirs, f"belongs to uid {OTHER_UID}"),
            (open_folder, "writable by group and others \\(mode 0777\\)"),
            (link, "is a symlink"),
        ):
            with pytest.raises(UnsafePathError, match=expected):
                await lifecycle.write_config(host, remote_cfg(sshd, folder))
        assert list(open_folder.iterdir()) == []
    finally:
        await host.close()


async def test_remote_stale_pid_is_never_signalled(sshd: Any, remote_dir: Path) -> None:
    cfg = remote_cfg(sshd, remote_dir / "wd")
    host = SSHHost(cfg.ssh, command_prefix=cfg.command_prefix)
    bystander = subprocess.Popen(["sleep", "60"])  # noqa: ASYNC220
    try:
        await lifecycle.write_config(host, cfg)
        for content in (str(bystander.pid), "0", "²"):
            (remote_dir / "wd" / "supervisord.pid").write_text(content)
            assert await lifecycle.supervisord_pid(host, cfg) is None  # checked with ps on the remote side
            assert await lifecycle.stop_supervisord(host, cfg, timeout=2) is False
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
        await host.close()


async def test_host_without_sftp_says_so_and_writes_nothing(sshd_without_sftp: Any, remote_dir: Path) -> None:
    cfg = remote_cfg(sshd_without_sftp, remote_dir / "wd")
    host = SSHHost(cfg.ssh, command_prefix=cfg.command_prefix)
    try:
        with pytest.raises(HostCommandError, match=r"the SFTP subsystem is not available on .*127\.0\.0\.1") as info:
            await lifecycle.write_config(host, cfg)
        assert "Subsystem sftp" in str(info.value)  # says what to fix
        assert not (remote_dir / "wd").exists()
        result = await host.run(["true"])  # commands still work on that host
        assert result.returncode == 0
    finally:
        await host.close()
