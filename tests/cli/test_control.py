"""`up`, `status`, `watch`, `start`/`stop`/`restart`, `down` through the console script, on a real supervisord
(locally and over a real sshd)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.fixtures.jobs import short_tempdir
from tests.fixtures.supervisord import kill_tree
from tests.support.proc import alive

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

CLI = Path(sys.executable).with_name("airflow-supervisor-async")
# `bad` runs until its flag file exists, then exits with 3 (not an expected exit code)
PROGRAMS = (
    "  feed: {command: sleep 60}\n"
    "  bad: {command: \"bash -c 'while [ ! -e %(folder)s/flag ]; do sleep 0.1; done; exit 3'\"}\n"
)


def cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [str(CLI), *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=90, check=False, env=env)


def states(config: Path) -> dict[str, dict[str, Any]]:
    result = cli("status", config, "--json")
    assert result.returncode in (0, 1), result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def kill_supervisord(working_dir: Path) -> None:
    """Whatever a test did: supervisord and its programs are gone afterwards."""
    pidfile = working_dir / "supervisord.pid"
    if pidfile.exists() and pidfile.read_text().strip().isdigit():
        kill_tree(int(pidfile.read_text()))


@pytest.fixture
def make_job() -> Iterator[Callable[..., Path]]:
    """Factory: a YAML configuration in a short temp dir (``working_dir`` is ``<dir>/wd``)."""
    folders: list[Path] = []

    def make(programs: str = PROGRAMS, head: str = "") -> Path:
        folder = short_tempdir("asa-cli-")
        folders.append(folder)
        config = folder / "job.yaml"
        config.write_text(f"{head}working_dir: {folder}/wd\nprogram:\n" + programs % {"folder": folder})
        return config

    yield make
    for folder in folders:
        kill_supervisord(folder / "wd")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def job(make_job: Callable[..., Path]) -> Path:
    return make_job(head="airflow: {startsecs: 0}\n")  # RUNNING at once: `start` answers sooner


@pytest.mark.slow
def test_up_start_stop_restart_named_and_all_then_down(job: Path) -> None:
    up = cli("up", job, "--no-start")
    assert up.returncode == 0, up.stderr
    assert f"wrote {job.parent}/wd/supervisord.conf on " in up.stdout
    assert "supervisord started (pid" in up.stdout
    assert "programs not started (--no-start); start them with `airflow-supervisor-async start CONFIG`" in up.stdout
    again_up = cli("up", job, "--no-start")
    assert "already running" in again_up.stdout  # idempotent
    assert "reloaded: configuration unchanged" in again_up.stdout

    status = cli("status", job)
    assert status.returncode == 1  # programs wait for Airflow (autostart off): STOPPED is a bad state
    lines = status.stdout.splitlines()
    assert lines[0].split() == ["PROGRAM", "STATE", "PID", "UPTIME/EXIT", "DESCRIPTION"]
    assert [line.split()[:2] for line in lines[1:]] == [["bad", "STOPPED"], ["feed", "STOPPED"]]
    assert all(line.endswith("<-- bad") for line in lines[1:])

    started = cli("start", job, "feed")
    assert (started.returncode, started.stdout.strip()) == (0, "feed: started")
    again = cli("start", job, "feed")
    assert (again.returncode, again.stdout.strip()) == (0, "feed: already running")  # idempotent
    first = states(job)
    assert (first["feed"]["state"], first["bad"]["state"]) == ("RUNNING", "STOPPED")

    restarted = cli("restart", job, "feed")
    assert restarted.stdout.splitlines() == ["feed: stopped", "feed: started"]
    assert states(job)["feed"]["pid"] not in (None, first["feed"]["pid"])

    everything = cli("restart", job)
    assert everything.returncode == 0, everything.stdout
    assert everything.stdout.splitlines() == ["bad: already stopped", "bad: started", "feed: stopped", "feed: started"]
    assert {row["state"] for row in states(job).values()} == {"RUNNING"}

    stopped = cli("stop", job)
    assert (stopped.returncode, stopped.stdout.splitlines()) == (0, ["bad: stopped", "feed: stopped"])
    assert cli("stop", job, "bad").stdout.strip() == "bad: already stopped"
    assert {row["state"] for row in states(job).values()} == {"STOPPED"}

    pid = int((job.parent / "wd" / "supervisord.pid").read_text())
    assert alive(pid)
    down = cli("down", job, "--remove")
    assert down.returncode == 0, down.stderr
    assert f"supervisord stopped on localhost; removed {job.parent}/wd" in down.stdout
    assert not (job.parent / "wd").exists()
    assert not alive(pid)
    assert cli("down", job).stdout.strip() == "supervisord was not running"


@pytest.mark.slow
def test_up_starts_the_programs_and_applies_a_changed_configuration(job: Path) -> None:
    up = cli("up", job)
    assert up.returncode == 0, up.stdout + up.stderr
    assert up.stdout.splitlines()[1:] == [
        f"supervisord started (pid {int((job.parent / 'wd' / 'supervisord.pid').read_text())})",
        "bad: started",
        "feed: started",
    ]
    assert {row["state"] for row in states(job).values()} == {"RUNNING"}  # `status` right after `up` is good
    feed_pid = states(job)["feed"]["pid"]

    # a program added, one changed, one removed: applied like `supervisorctl update`, the rest untouched
    job.write_text(
        job.read_text().replace("sleep 60", "sleep 61").replace("  bad:", "  extra: {command: sleep 30}\n  gone:")
    )
    changed = cli("up", job)
    assert changed.returncode == 0, changed.stdout + changed.stderr
    reload_line = next(line for line in changed.stdout.splitlines() if "reloaded:" in line)
    assert reload_line.endswith(
        "reloaded: bad: removed (stopped); feed: changed (stopped and reloaded); extra: added; gone: added"
    )
    rows = states(job)
    assert set(rows) == {"extra", "feed", "gone"}
    assert {row["state"] for row in rows.values()} == {"RUNNING"}
    assert rows["feed"]["pid"] != feed_pid
    unchanged = cli("up", job)
    assert "reloaded: configuration unchanged" in unchanged.stdout
    assert states(job)["extra"]["pid"] == rows["extra"]["pid"]


@pytest.mark.slow
def test_user_mistakes_on_up_are_one_line_naming_the_field(make_job: Callable[..., Path], tmp_path: Path) -> None:
    config = make_job()
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    unwritable = cli("up", config, "--set", f"working_dir={not_a_dir}")
    assert unwritable.returncode == 1
    assert unwritable.stderr.splitlines() == [
        f"{config}: working_dir {not_a_dir} on localhost exists and is not a folder; choose another path"
    ]
    assert not_a_dir.read_text() == ""

    before_up = cli("status", config)
    assert before_up.returncode == 2
    assert before_up.stderr.strip().endswith(f"is supervisord running? try `airflow-supervisor-async up {config}`")
    assert len(before_up.stderr.splitlines()) == 1


@pytest.mark.slow
def test_ctrl_c_during_a_command_is_one_line_and_exit_130(make_job: Callable[..., Path]) -> None:
    config = make_job("  feed: {command: sleep 60}\n")
    (config.parent / "wd").mkdir()
    with socket.socket(socket.AF_UNIX) as server:  # a supervisord that accepts and never answers
        server.bind(str(config.parent / "wd" / "supervisor.sock"))
        server.listen()
        server.settimeout(60)
        proc = subprocess.Popen(
            [str(CLI), "status", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            connection, _ = server.accept()  # the command is past its imports, waiting for the answer
            with connection:
                proc.send_signal(signal.SIGINT)
                _, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
    assert (proc.returncode, err) == (130, "interrupted\n")


@pytest.mark.slow
def test_status_exit_codes(job: Path) -> None:
    assert cli("up", job, "--no-start").returncode == 0
    assert cli("start", job).returncode == 0
    running = cli("status", job)
    assert running.returncode == 0, running.stdout  # everything RUNNING
    assert "<-- bad" not in running.stdout
    assert all(line.split()[3].startswith("0:00:") for line in running.stdout.splitlines()[1:])  # uptimes

    (job.parent / "flag").touch()  # `bad` exits with 3
    deadline = time.monotonic() + 15
    while states(job)["bad"]["state"] != "EXITED":
        assert time.monotonic() < deadline, "bad did not exit"
        time.sleep(0.2)
    status = cli("status", job)
    assert status.returncode == 1
    bad_line = next(line for line in status.stdout.splitlines() if line.startswith("bad "))
    assert "exit 3" in bad_line
    assert bad_line.endswith("<-- bad")
    rows = states(job)
    assert (rows["bad"]["exitstatus"], rows["bad"]["ok"], rows["feed"]["ok"]) == (3, False, True)
    # the same state is good when the configuration expects exit code 3
    assert cli("status", job, "--set", "program.bad.exitcodes=0,3").returncode == 0
    # a program of the configuration that the running supervisord does not know is bad
    missing = cli(
        "status", job, "--json", "--set", "program.extra.command=sleep 1", "--set", "program.bad.exitcodes=[3]"
    )
    assert missing.returncode == 1
    assert [(row["name"], row["ok"]) for row in json.loads(missing.stdout)] == [
        ("bad", True),
        ("feed", True),
        ("extra", False),
    ]
    assert json.loads(missing.stdout)[2]["state"] == "MISSING"

    assert cli("down", job).returncode == 0
    unreachable = cli("status", job)
    assert unreachable.returncode == 2
    assert unreachable.stdout == ""
    assert f"cannot connect to unix://{job.parent}/wd/supervisor.sock" in unreachable.stderr
    assert unreachable.stderr.startswith("error: ")
    assert len(unreachable.stderr.strip().splitlines()) == 1  # no traceback


@pytest.mark.slow
def test_unknown_program_and_bad_configuration_change_nothing(job: Path) -> None:
    assert cli("up", job).returncode == 0
    assert cli("start", job, "feed").returncode == 0
    result = cli("stop", job, "feed", "nope", "other")
    assert result.returncode == 1
    assert "unknown program(s) nope, other; the configuration has feed, bad" in result.stderr
    assert result.stdout == ""
    assert states(job)["feed"]["state"] == "RUNNING"

    invalid = cli("stop", job, "--set", "program.feed.startsecs=-1")
    assert invalid.returncode == 1
    assert "program.feed.startsecs" in invalid.stderr
    assert "Traceback" not in invalid.stderr
    assert states(job)["feed"]["state"] == "RUNNING"


@pytest.mark.slow
def test_failed_start_is_reported_and_the_others_still_start(make_job: Callable[..., Path]) -> None:
    config = make_job("  boom: {command: '%(folder)s/missing'}\n  feed: {command: sleep 60}\n")
    assert cli("up", config, "--no-start").returncode == 0
    result = cli("start", config)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"boom: failed to start (NO_FILE: can't find command '{config.parent}/missing')",
        "feed: started",
        "boom: now STOPPED Not started",
    ]
    assert {name: row["state"] for name, row in states(config).items()} == {"boom": "STOPPED", "feed": "RUNNING"}


@pytest.mark.slow
def test_watch_prints_one_block_per_refresh(job: Path) -> None:
    before_up = cli("watch", job, "--count", "1", "--interval", "0.2")
    assert before_up.returncode == 0
    assert "supervisord unreachable: " in before_up.stdout

    assert cli("up", job, "--no-start").returncode == 0
    started = time.monotonic()
    result = cli("watch", job, "--count", "2", "--interval", "0.2")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started >= 0.2
    blocks = result.stdout.strip().split("\n\n")
    assert len(blocks) == 2
    for block in blocks:
        header, table, *rows = block.splitlines()
        assert f"unix://{job.parent}/wd/supervisor.sock  (every 0.2 s" in header
        assert table.startswith("PROGRAM ")
        assert [row.split()[:2] for row in rows] == [["bad", "STOPPED"], ["feed", "STOPPED"]]
    assert "\x1b[" not in result.stdout  # no clear-screen when stdout is not a TTY

    with subprocess.Popen([str(CLI), "watch", str(job), "--interval", "30"], stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        assert "(every 30 s, Ctrl-C to quit)" in proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0  # Ctrl-C ends watch normally

    refused = cli("watch", job, "--interval", "0")
    assert refused.returncode == 2  # argparse
    assert "expected a number above 0" in refused.stderr


@pytest.mark.slow
@pytest.mark.airflow
def test_xmlrpc_credentials_from_an_airflow_connection(make_job: Callable[..., Path]) -> None:
    if importlib.util.find_spec("airflow") is None:
        pytest.skip("apache-airflow is not installed")
    config = make_job("  feed: {command: sleep 60}\n", head="airflow: {xmlrpc_conn_id: asa_xrpc}\n")
    env = {**os.environ, "AIRFLOW_HOME": str(config.parent / "airflow")}
    good = {**env, "AIRFLOW_CONN_ASA_XRPC": json.dumps({"conn_type": "generic", "login": "op", "password": "pw-one1"})}
    wrong = {**env, "AIRFLOW_CONN_ASA_XRPC": json.dumps({"conn_type": "generic", "login": "op", "password": "pw-two2"})}

    assert cli("up", config, "--no-start", env=good).returncode == 0
    assert "password={SHA}" in (config.parent / "wd" / "supervisord.conf").read_text()  # `up` wrote the credentials
    started = cli("start", config, env=good)
    assert started.stdout == "feed: started\n", started.stderr  # nothing of Airflow's logging on stdout
    status = cli("status", config, "--json", env=good)
    assert status.returncode == 0, status.stderr
    assert [row["state"] for row in json.loads(status.stdout)] == ["RUNNING"]
    refused = cli("status", config, env=wrong)
    assert refused.returncode == 2
    assert "refused the XML-RPC credentials (user 'op')" in refused.stderr
    assert "pw-two2" not in refused.stderr
    missing = cli("status", config, env=env)
    assert missing.returncode == 1
    assert "airflow.xmlrpc_conn_id" in missing.stderr
    assert "asa_xrpc" in missing.stderr


WITHOUT_AIRFLOW = """
import sys

class NoAirflow:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "airflow":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoAirflow())
from airflow_supervisor_async.cli.main import main
code = main(sys.argv[1:])
assert not [name for name in sys.modules if name.split(".")[0] == "airflow"], "Airflow was imported"
sys.exit(code)
"""


def cli_without_airflow(*args: str | Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", WITHOUT_AIRFLOW, *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=90, check=False)


@pytest.mark.slow
def test_works_without_airflow(make_job: Callable[..., Path]) -> None:
    config = make_job("  feed: {command: sleep 60}\n")
    up = cli_without_airflow("up", config, "--no-start")
    assert up.returncode == 0, up.stderr
    status = cli_without_airflow("status", config)
    assert status.returncode == 1, status.stderr  # STOPPED: bad, but supervisord answered
    assert status.stdout.splitlines()[1].split()[:2] == ["feed", "STOPPED"]
    needs = cli_without_airflow("status", config, "--set", "airflow.xmlrpc_conn_id=asa_xrpc")
    assert needs.returncode == 1
    assert "airflow.xmlrpc_conn_id: reading connection 'asa_xrpc' needs apache-airflow" in needs.stderr


@pytest.mark.slow
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
    where = f"{ssh.username}@127.0.0.1:{ssh.port}"
    try:
        up = cli("up", config)
        assert up.returncode == 0, up.stderr
        assert f"wrote {folder}/wd/supervisord.conf on {where}" in up.stdout
        assert up.stdout.splitlines()[-1] == "feed: started"  # `up` starts the programs
        assert cli("start", config).stdout.strip() == "feed: already running"
        status = cli("status", config)
        assert status.returncode == 0, status.stdout + status.stderr
        assert status.stdout.splitlines()[1].split()[:2] == ["feed", "RUNNING"]
        down = cli("down", config, "--remove")
        assert down.returncode == 0, down.stderr
        assert f"supervisord stopped on {where}; removed {folder}/wd" in down.stdout
        assert not (folder / "wd").exists()
        unreachable = cli("status", config)
        assert unreachable.returncode == 2
        assert f"unix://{folder}/wd/supervisor.sock via ssh://{where}" in unreachable.stderr
    finally:
        kill_supervisord(folder / "wd")
        shutil.rmtree(folder, ignore_errors=True)
