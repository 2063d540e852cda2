"""`up`, `status`, `watch`, `start`/`stop`/`restart`, `down` through the console script, on a real supervisord
(locally and over a real sshd)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.jobs import short_tempdir

CLI = Path(sys.executable).with_name("airflow-supervisor-async")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=90, check=False)


def states(config: Path) -> dict[str, dict[str, Any]]:
    result = cli("status", str(config), "--json")
    return {row["name"]: row for row in json.loads(result.stdout)}


@pytest.fixture
def job() -> Any:
    folder = short_tempdir("asa-cli-")
    config = folder / "job.yaml"
    config.write_text(
        f"working_dir: {folder}/wd\n"
        "program:\n"
        "  feed: {command: sleep 60}\n"
        "  bad: {command: \"bash -c 'sleep 4; exit 3'\"}\n"
    )
    yield config
    cli("down", str(config))
    pid = folder / "wd" / "supervisord.pid"
    if pid.exists():
        subprocess.run(["kill", "-KILL", pid.read_text().strip()], check=False)
    shutil.rmtree(folder, ignore_errors=True)


def test_up_status_start_stop_restart_down(job: Path) -> None:
    up = cli("up", str(job))
    assert up.returncode == 0, up.stderr
    assert "supervisord running (pid" in up.stdout

    status = cli("status", str(job))
    assert status.returncode == 1  # programs wait for Airflow (autostart off): STOPPED is a bad state
    assert "feed" in status.stdout
    assert "STOPPED" in status.stdout

    started = cli("start", str(job), "feed")
    assert (started.returncode, started.stdout.strip()) == (0, "feed: started")
    assert cli("start", str(job), "feed").stdout.strip() == "feed: already running"  # idempotent
    assert states(job)["feed"]["state"] == "RUNNING"
    only_feed = cli("status", str(job), "--json")
    assert json.loads(only_feed.stdout)[0]["name"] == "bad"

    pid_before = states(job)["feed"]["pid"]
    restarted = cli("restart", str(job), "feed")
    assert restarted.stdout.split() == ["feed:", "stopped", "feed:", "started"]
    assert states(job)["feed"]["pid"] != pid_before

    stopped = cli("stop", str(job))
    assert stopped.returncode == 0
    assert "bad: already stopped" in stopped.stdout
    assert states(job)["feed"]["state"] == "STOPPED"

    down = cli("down", str(job), "--remove")
    assert down.returncode == 0, down.stderr
    assert "supervisord stopped; removed" in down.stdout
    assert not (job.parent / "wd").exists()


def test_status_exit_codes(job: Path) -> None:
    assert cli("up", str(job)).returncode == 0
    started = cli("start", str(job))
    assert started.returncode == 0, started.stdout
    running = cli("status", str(job))
    assert running.returncode == 0, running.stdout  # everything RUNNING
    time.sleep(4.5)  # `bad` exits with 3, which is not an expected exit code
    status = cli("status", str(job))
    assert status.returncode == 1
    assert "exit 3" in status.stdout
    assert "<-- bad" in status.stdout
    assert states(job)["bad"]["ok"] is False
    cli("down", str(job))
    unreachable = cli("status", str(job))
    assert unreachable.returncode == 2
    assert "cannot connect to unix://" in unreachable.stderr
    assert str(job.parent / "wd" / "supervisor.sock") in unreachable.stderr


def test_unknown_program_changes_nothing(job: Path) -> None:
    assert cli("up", str(job)).returncode == 0
    result = cli("start", str(job), "feed", "nope")
    assert result.returncode == 1
    assert "unknown program(s) nope" in result.stderr
    assert states(job)["feed"]["state"] == "STOPPED"


def test_watch_prints_one_block_per_refresh(job: Path) -> None:
    assert cli("up", str(job)).returncode == 0
    result = cli("watch", str(job), "--count", "2", "--interval", "0.2")
    assert result.returncode == 0
    assert result.stdout.count("PROGRAM ") == 2
    assert result.stdout.count("unix://") == 2


@pytest.mark.ssh
def test_remote_configuration_over_real_sshd(sshd: Any) -> None:
    folder = short_tempdir("asa-clir-")
    ssh = sshd.ssh_config()
    config = folder / "remote.yaml"
    config.write_text(
        "_target_: airflow_supervisor_async.SupervisorSSHAirflowConfiguration\n"
        f"ssh: {{host: 127.0.0.1, port: {ssh.port}, username: {ssh.username}, key_file: {ssh.key_file}, "
        f"known_hosts: {ssh.known_hosts}}}\n"
        f"command_prefix: 'PATH={Path(sys.executable).parent}:$PATH'\n"
        f"working_dir: {folder}/wd\n"
        "program: {feed: {command: sleep 60}}\n"
    )
    try:
        up = cli("up", str(config))
        assert up.returncode == 0, up.stderr
        assert f"on {ssh.username}@127.0.0.1:{ssh.port}" in up.stdout
        assert cli("start", str(config)).stdout.strip() == "feed: started"
        status = cli("status", str(config))
        assert status.returncode == 0, status.stdout + status.stderr
        assert "RUNNING" in status.stdout
        down = cli("down", str(config), "--remove")
        assert down.returncode == 0, down.stderr
        assert not (folder / "wd").exists()
    finally:
        cli("down", str(config))
        shutil.rmtree(folder, ignore_errors=True)
