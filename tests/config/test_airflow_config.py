"""The Airflow-facing configuration: seed compatibility, defaults, secure endpoints, bad input, writing."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path

import pytest
from pydantic import ValidationError
from supervisor.options import ServerOptions
from supervisor.xmlrpc import SupervisorTransport

from airflow_supervisor_async import (
    AirflowConfiguration,
    ProgramConfiguration,
    SSHConfiguration,
    SupervisorAirflowConfiguration,
    SupervisorSSHAirflowConfiguration,
)

SUPERVISORD = Path(sys.executable).with_name("supervisord")


def parse_with_supervisord(cfg: SupervisorAirflowConfiguration) -> ServerOptions:
    """Write ``cfg`` (supervisord checks that its directories exist) and have supervisord's parser read it."""
    options = ServerOptions()
    options.realize(args=["-c", str(cfg.write())])
    return options


def test_seed_readme_example_constructs_and_warns_about_open_port(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("airflow_supervisor_async.config.airflow._WARNED_PORTS", set())
    with caplog.at_level(logging.WARNING):
        cfg = SupervisorAirflowConfiguration(
            airflow=AirflowConfiguration(port="*:9091"),
            working_dir="/data/airflow/supervisor",
            config_path="/data/airflow/supervisor/supervisor.conf",
            program={"test": ProgramConfiguration(command="bash -c 'sleep 14400; exit 1'")},
        )
    assert caplog.text.count("all interfaces port 9091 WITHOUT username/password") == 1
    assert cfg.resolved_config_path == Path("/data/airflow/supervisor/supervisor.conf")
    assert "[program:test]" in cfg.to_conf()
    # supervisord's parser insists the directories exist: check the same job in a temp dir
    cfg = cfg.model_copy(update={"working_dir": tmp_path, "config_path": tmp_path / "supervisor.conf"})
    options = parse_with_supervisord(cfg)
    (group,) = options.process_group_configs
    (process,) = group.process_configs
    assert process.name == "test"
    assert process.command == "bash -c 'sleep 14400; exit 1'"
    assert process.autostart is False
    assert process.stdout_logfile == str(tmp_path / "test" / "output.log")
    assert process.stderr_logfile == str(tmp_path / "test" / "error.log")
    kinds = sorted(c["family"] for c in options.server_configs)
    assert len(kinds) == 2  # the unix socket Airflow uses, plus the TCP port asked for


def test_default_endpoint_is_a_private_unix_socket(tmp_path: Path) -> None:
    cfg = SupervisorAirflowConfiguration(working_dir=tmp_path, program={"a": ProgramConfiguration(command="true")})
    endpoint = cfg.xmlrpc_endpoint()
    assert endpoint.unix_socket == tmp_path / "supervisor.sock"
    assert endpoint.port is None
    options = parse_with_supervisord(cfg)
    (server,) = options.server_configs
    assert server["file"] == str(tmp_path / "supervisor.sock")
    assert server["chmod"] == 0o700
    assert options.nodaemon is False


def test_bare_port_binds_loopback_without_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        airflow = AirflowConfiguration(port=9001, transport="tcp")
    assert airflow.port == "127.0.0.1:9001"
    assert caplog.text == ""
    cfg = SupervisorAirflowConfiguration(
        working_dir=tmp_path, airflow=airflow, program={"a": ProgramConfiguration(command="true")}
    )
    endpoint = cfg.xmlrpc_endpoint()
    assert (endpoint.host, endpoint.port, endpoint.unix_socket) == ("127.0.0.1", 9001, None)


def test_program_defaults_fill_only_unset_keys(tmp_path: Path) -> None:
    cfg = SupervisorAirflowConfiguration(
        working_dir=tmp_path,
        airflow=AirflowConfiguration(exitcodes="0,3", stopsignal="INT", stopwaitsecs=5),
        program={
            "plain": ProgramConfiguration(command="sleep 1"),
            "custom": ProgramConfiguration(command="sleep 1", autorestart=True, stopsignal="KILL"),
            "many": ProgramConfiguration(
                command="sleep 1", numprocs=2, process_name="%(program_name)s_%(process_num)d"
            ),
        },
    )
    effective = cfg.effective_configuration().program
    assert effective["plain"].autostart is False
    assert effective["plain"].autorestart is False
    assert effective["plain"].exitcodes == [0, 3]
    assert effective["plain"].stopsignal == "INT"
    assert effective["custom"].autorestart is True
    assert effective["custom"].stopsignal == "KILL"
    # user's own section values are never touched
    assert cfg.program["plain"].autostart is None
    options = parse_with_supervisord(cfg)
    logs = {p.name: p.stdout_logfile for g in options.process_group_configs for p in g.process_configs}
    assert logs["many_0"] != logs["many_1"]
    assert logs["plain"] == str(tmp_path / "plain" / "output.log")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"program": {}}, "at least one program"),
        ({"program": {"a:b": {"command": "true"}}}, "a:b"),
        ({"program": {"a": {"command": "true", "comand": "x"}}}, "comand"),
        ({"program": {"a": {"command": "true"}}, "check_interval": "soon"}, "check_interval"),
        ({"program": {"a": {"command": "true"}}, "airflow": {"port": "host:99999"}}, "99999"),
        ({"program": {"a": {"command": "true"}}, "airflow": {"transport": "tcp"}}, "no `port` is set"),
        ({"program": {"a": {"command": "true"}}, "working_dir": "/tmp/" + "x" * 120}, "longer than the 107 bytes"),
    ],
)
def test_bad_input_names_the_field_and_value(kwargs: dict[str, object], expected: str) -> None:
    with pytest.raises(ValidationError) as info:
        SupervisorAirflowConfiguration.model_validate(kwargs)
    assert expected in str(info.value)


def test_write_is_atomic_private_and_hides_the_password(tmp_path: Path) -> None:
    cfg = SupervisorAirflowConfiguration(
        working_dir=tmp_path / "wd",
        airflow=AirflowConfiguration(username="ops", password="s3cret-pass"),
        program={"a": ProgramConfiguration(command="true")},
    )
    path = cfg.write()
    assert path == tmp_path / "wd" / "supervisord.conf"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "wd").stat().st_mode) == 0o700
    assert (tmp_path / "wd" / "a").is_dir()
    text = path.read_text()
    assert "s3cret-pass" not in text
    assert "password={SHA}" in text
    assert "s3cret-pass" not in repr(cfg)
    assert "s3cret-pass" not in cfg.model_dump_json()
    hidden = [p.name for p in (tmp_path / "wd").iterdir() if p.name.startswith(".")]
    assert hidden == [".airflow-supervisor-async.json"]  # the manifest; no temp file left


def test_rendered_config_runs_a_real_supervisord_with_hashed_password(tmp_path: Path) -> None:
    """The rendered file starts supervisord, programs wait for Airflow, and the password works."""
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"asa-cfg-{os.getpid()}"
    cfg = SupervisorAirflowConfiguration(
        working_dir=workdir,
        airflow=AirflowConfiguration(username="ops", password="s3cret-pass"),
        program={"sleeper": ProgramConfiguration(command="sleep 30")},
    )
    conf = cfg.write()
    proc = subprocess.Popen(
        [str(SUPERVISORD), "-n", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:

        def proxy(password: str) -> xmlrpc.client.ServerProxy:
            transport = SupervisorTransport("ops", password, f"unix://{cfg.resolved_unix_socket}")
            return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

        deadline = time.monotonic() + 15
        while True:
            try:
                state = proxy("s3cret-pass").supervisor.getState()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert state["statename"] == "RUNNING"
        (info,) = proxy("s3cret-pass").supervisor.getAllProcessInfo()
        assert info["statename"] == "STOPPED"  # autostart is off: Airflow starts programs
        assert stat.S_IMODE(cfg.resolved_unix_socket.stat().st_mode) == 0o700
        with pytest.raises(xmlrpc.client.ProtocolError) as info_bad:
            proxy("wrong").supervisor.getState()
        assert info_bad.value.errcode == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        subprocess.run(["rm", "-rf", str(workdir)], check=False)


def test_ssh_configuration_uses_remote_paths_and_needs_a_host() -> None:
    cfg = SupervisorSSHAirflowConfiguration(
        ssh=SSHConfiguration(host="10.0.0.5", username="svc"),
        program={"feed": ProgramConfiguration(command="python feed.py")},
    )
    assert str(cfg.resolved_working_dir).startswith("/tmp/airflow-supervisor-async-svc/job-")
    endpoint = cfg.xmlrpc_endpoint()
    assert endpoint.ssh is not None
    assert endpoint.ssh.host == "10.0.0.5"
    assert endpoint.unix_socket == cfg.resolved_working_dir / "supervisor.sock"
    assert endpoint.describe().endswith("via ssh://svc@10.0.0.5:22")
    # a job file may leave the host to the DAG (SupervisorRemote(..., ssh_conn_id=...)); what connects needs one
    with pytest.raises(ValueError, match=r"no host to run supervisord on: set `ssh\.host` or `ssh\.ssh_conn_id`"):
        SSHConfiguration().require_target()


@pytest.mark.slow
def test_default_working_dir_is_stable() -> None:
    # The DAG processor, each task and the triggerer compute it in their own processes: it must not depend on
    # the process (hash seed, pid, time) nor on the order the programs are written in, only on which they are.
    probe = (
        "from airflow_supervisor_async import SupervisorAirflowConfiguration as C; "
        "print(C(program={'b': {'command': 'x'}, 'a': {'command': 'y'}}).resolved_working_dir)"
    )
    elsewhere = {
        subprocess.run(
            [sys.executable, "-c", probe],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    here = SupervisorAirflowConfiguration(program={"a": {"command": "other"}, "b": {"command": "x"}})
    assert elsewhere == {str(here.resolved_working_dir)}
    other = SupervisorAirflowConfiguration(program={"a": {"command": "y"}, "c": {"command": "x"}})
    assert other.resolved_working_dir != here.resolved_working_dir  # two jobs do not share a supervisord
