"""Every section model rendered, accepted by supervisord's own parser, and parsed back unchanged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from supervisor.options import ServerOptions

from airflow_supervisor_async.config import (
    ConfigurationError,
    EventListenerConfiguration,
    FcgiProgramConfiguration,
    GroupConfiguration,
    IncludeConfiguration,
    InetHttpServerConfiguration,
    ProgramConfiguration,
    RpcInterfaceConfiguration,
    SupervisorConfiguration,
    SupervisorctlConfiguration,
    SupervisordConfiguration,
    UnixHttpServerConfiguration,
)


def supervisord_reads(cfg: SupervisorConfiguration, folder: Path) -> ServerOptions:
    """Render ``cfg`` into ``folder`` and let supervisord's own parser load it."""
    conf = folder / "supervisord.conf"
    conf.write_text(cfg.to_conf())
    options = ServerOptions()
    options.realize(args=["-c", str(conf)])
    return options


def processes(options: ServerOptions) -> dict[str, Any]:
    return {p.name: p for group in options.process_group_configs for p in group.process_configs}


def kitchen_sink(folder: Path) -> SupervisorConfiguration:
    """Every key of every section set to a valid value."""
    logs = folder / "logs"
    logs.mkdir(exist_ok=True)
    (folder / "conf.d").mkdir(exist_ok=True)
    (folder / "conf.d" / "extra.conf").write_text("[program:included]\ncommand=sleep 5\n")
    process_keys: dict[str, Any] = {
        "numprocs": 2,
        "numprocs_start": 3,
        "priority": 50,
        "autostart": False,
        "startsecs": 2,
        "startretries": 4,
        "autorestart": "unexpected",
        "exitcodes": [0, 2],
        "stopsignal": "INT",
        "stopwaitsecs": 7,
        "stopasgroup": True,
        "killasgroup": True,
        "redirect_stderr": False,
        "stdout_logfile": str(logs / "%(program_name)s-%(process_num)d.out"),
        "stdout_logfile_maxbytes": "1MB",
        "stdout_logfile_backups": 2,
        "stdout_capture_maxbytes": "64KB",
        "stdout_events_enabled": True,
        "stdout_syslog": False,
        "stderr_logfile": str(logs / "%(program_name)s-%(process_num)d.err"),
        "stderr_logfile_maxbytes": 2048,
        "stderr_logfile_backups": 1,
        "stderr_capture_maxbytes": "1KB",
        "stderr_events_enabled": False,
        "stderr_syslog": False,
        "environment": {"QUOTED": 'say "hi", then leave', "EQ": "a=b,c=d", "HERE": "%(here)s/data", "PCT": "100%%"},
        "directory": str(folder),
        "umask": "022",
        "serverurl": "AUTO",
    }
    return SupervisorConfiguration(
        supervisord=SupervisordConfiguration(
            logfile=str(folder / "supervisord.log"),
            logfile_maxbytes="5MB",
            logfile_backups=3,
            loglevel="debug",
            pidfile=str(folder / "supervisord.pid"),
            umask="027",
            nodaemon=True,
            silent=True,
            minfds=64,
            minprocs=20,
            nocleanup=True,
            childlogdir=str(logs),
            directory=str(folder),
            strip_ansi=True,
            environment={"GLOBAL": "one two", "OTHER": "x"},
            identifier="sink",
        ),
        supervisorctl=SupervisorctlConfiguration(
            serverurl=f"unix://{folder}/s.sock",
            username="ops",
            password="pw",
            prompt="sink",
            history_file=str(folder / "h"),
        ),
        unix_http_server=UnixHttpServerConfiguration(
            file=str(folder / "s.sock"), chmod="0700", username="ops", password="{SHA}" + "a" * 40
        ),
        inet_http_server=InetHttpServerConfiguration(port="127.0.0.1:59001", username="ops", password="pw"),
        include=IncludeConfiguration(files=["conf.d/*.conf"]),
        program={
            "worker": ProgramConfiguration(
                command="python -c 'import sys; print(sys.argv)' --flag=1 \"two words\"",
                process_name="%(program_name)s_%(process_num)02d",
                **process_keys,
            ),
            "single": ProgramConfiguration(command="sleep 1", user="root"),
        },
        group={"pool": GroupConfiguration(programs=["worker", "single"], priority=10)},
        eventlistener={
            "listener": EventListenerConfiguration(
                command="cat",
                buffer_size=20,
                events=["PROCESS_STATE", "TICK_60"],
                result_handler="supervisor.dispatchers:default_handler",
                process_name="%(program_name)s_%(process_num)d",
                **{
                    k: v
                    for k, v in process_keys.items()
                    if k not in ("stdout_capture_maxbytes", "stdout_events_enabled")
                },
            )
        },
        fcgiprogram={
            "web": FcgiProgramConfiguration(
                command="cat",
                socket=f"unix://{folder}/fcgi.sock",
                socket_backlog=16,
                socket_owner="root",
                socket_mode="0600",
                process_name="%(program_name)s_%(process_num)d",
                **process_keys,
            )
        },
        rpcinterface={
            "supervisor": RpcInterfaceConfiguration(
                rpcinterface_factory="supervisor.rpcinterface:make_main_rpcinterface"
            ),
            "extra": RpcInterfaceConfiguration.model_validate(
                {"supervisor.rpcinterface_factory": "supervisor.rpcinterface:make_main_rpcinterface", "flavor": "x"}
            ),
        },
    )


def test_kitchen_sink_is_accepted_by_supervisord(tmp_path: Path) -> None:
    cfg = kitchen_sink(tmp_path)
    options = supervisord_reads(cfg, tmp_path)
    procs = processes(options)
    assert {"worker_03", "worker_04", "single", "listener_3", "listener_4", "web_3", "web_4", "included"} <= set(procs)
    worker = procs["worker_03"]
    assert worker.command == "python -c 'import sys; print(sys.argv)' --flag=1 \"two words\""
    assert worker.environment == {
        "QUOTED": 'say "hi", then leave',
        "EQ": "a=b,c=d",
        "HERE": f"{tmp_path}/data",
        "PCT": "100%",
        "GLOBAL": "one two",
        "OTHER": "x",
    }  # supervisord's own merged in
    assert (worker.startsecs, worker.startretries, worker.exitcodes, worker.stopwaitsecs) == (2, 4, [0, 2], 7)
    assert worker.stdout_logfile == f"{tmp_path}/logs/worker-3.out"
    assert worker.stdout_logfile_maxbytes == 1024 * 1024
    assert worker.umask == 0o22
    groups = {g.name: g for g in options.process_group_configs}
    assert groups["listener"].buffer_size == 20
    assert sorted(e.__name__ for e in groups["listener"].pool_events) == ["ProcessStateEvent", "Tick60Event"]
    assert str(groups["web"].socket_config) == f"unix://{tmp_path}/fcgi.sock"
    assert options.identifier == "sink"
    assert {c["family"] for c in options.server_configs} == {1, 2}  # AF_UNIX and AF_INET
    assert len(options.rpcinterface_factories) == 2


def test_kitchen_sink_round_trips(tmp_path: Path) -> None:
    cfg = kitchen_sink(tmp_path)
    assert SupervisorConfiguration.from_conf(cfg.to_conf()) == cfg


@pytest.mark.parametrize(
    "program",
    [
        ProgramConfiguration(command="sleep 1"),
        ProgramConfiguration(command="bash -c 'echo \"$HOME\"; exit 3'", exitcodes=[3]),
        ProgramConfiguration(command="date +%%s", environment={"A": "x,y", "B": "it's"}),
        ProgramConfiguration(command="sleep 1", environment={"EMPTY": "", "SPACES": "a b  c"}),
        ProgramConfiguration(command="%(here)s/run.sh", directory="%(here)s"),
        ProgramConfiguration(command="sleep 1", numprocs=3, process_name="p%(process_num)d", autorestart=True),
        ProgramConfiguration(command="sleep 1", stopsignal="SIGKILL", autorestart=False, redirect_stderr=True),
    ],
)
def test_programs_render_parse_and_load(program: ProgramConfiguration, tmp_path: Path) -> None:
    cfg = SupervisorConfiguration(program={"job": program})
    assert SupervisorConfiguration.from_conf(cfg.to_conf()) == cfg
    options = supervisord_reads(cfg, tmp_path)
    assert processes(options)  # supervisord built processes from it


def test_echo_supervisord_conf_sample_parses() -> None:
    sample = subprocess.run(
        [str(Path(sys.executable).with_name("echo_supervisord_conf"))], capture_output=True, text=True, check=True
    ).stdout
    sample = sample.replace(";[program:theprogramname]", "[program:theprogramname]").replace(
        ";command=/bin/cat", "command=/bin/cat"
    )
    cfg = SupervisorConfiguration.from_conf(sample)
    assert cfg.unix_http_server is not None
    assert cfg.unix_http_server.file == "/tmp/supervisor.sock"
    assert cfg.supervisord.logfile_maxbytes == "50MB"
    assert cfg.program["theprogramname"].command == "/bin/cat"
    assert SupervisorConfiguration.from_conf(cfg.to_conf()) == cfg


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: ProgramConfiguration(command="x", autostrat=True), "autostrat"),
        (lambda: ProgramConfiguration(command="x", startsecs="soon"), "startsecs"),
        (lambda: SupervisorConfiguration(program={"a:b": {"command": "x"}}), "a:b"),
        (lambda: SupervisorConfiguration(program={"a b": {"command": "x"}}), "a b"),
        (lambda: SupervisorConfiguration(program={"a;rm": {"command": "x"}}), "a;rm"),
        (lambda: ProgramConfiguration(command="date +%s"), "bare '%'"),
        (lambda: ProgramConfiguration(command="echo a\nb"), "single line"),
        (lambda: ProgramConfiguration(command="echo a ;b"), "comment"),
        (lambda: ProgramConfiguration(command="x", numprocs=2), "process_num"),
        (lambda: ProgramConfiguration(command="x", environment={"A": "both ' and \""}), "both"),
        (lambda: ProgramConfiguration(command="x", stopsignal="BOGUS"), "stopsignal"),
        (lambda: ProgramConfiguration(command="x", umask="999"), "octal"),
        (lambda: ProgramConfiguration(command="x", stdout_logfile_maxbytes="lots"), "size in bytes"),
    ],
)
def test_bad_values_are_explained(build: Any, expected: str) -> None:
    with pytest.raises(ValueError) as info:  # noqa: PT011 -- the message is checked below
        build()
    assert expected in str(info.value)


def test_parse_errors_name_section_and_key() -> None:
    with pytest.raises(ConfigurationError, match=r"\[mystery:x\]: unknown section"):
        SupervisorConfiguration.from_conf("[mystery:x]\nkey=1\n")
    with pytest.raises(ConfigurationError, match=r"program\.a\.comand: unknown key 'comand'"):
        SupervisorConfiguration.from_conf("[program:a]\ncomand=sleep 1\n")
