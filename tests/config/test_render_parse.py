"""Rendering to supervisord.conf text, parsing it back, and the round trip between the two."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import Field

from airflow_supervisor_async.config import (
    ConfigurationError,
    GroupConfiguration,
    IncludeConfiguration,
    ProgramConfiguration,
    RpcInterfaceConfiguration,
    SupervisorConfiguration,
    UnixHttpServerConfiguration,
)

from .test_supervisord_accepts import CASES, MAIN, build


@pytest.mark.parametrize("case", list(CASES))
def test_round_trip(case: str) -> None:
    cfg = build(case)
    text = cfg.to_conf()
    parsed = SupervisorConfiguration.from_conf(text)
    assert parsed == cfg
    assert parsed.to_conf() == text


def test_rendered_text() -> None:
    cfg = SupervisorConfiguration(
        supervisord={"nodaemon": True, "logfile": Path("/var/log/s.log")},
        program={
            "web": ProgramConfiguration(
                command="python -m http.server",
                autostart=False,
                exitcodes=[0, 2],
                environment={"A": "x y", "B": 'say "hi" now', "C": "a,b=c"},
                stdout_logfile="%(here)s/web.log",
            )
        },
        eventlistener={"ev": {"command": "cat", "events": ["PROCESS_STATE", "TICK_5"]}},
        group={"g": GroupConfiguration(programs=["web"], priority=1)},
        include=IncludeConfiguration(files=["conf.d/*.conf", "more/*.ini"]),
    )
    assert cfg.to_conf() == (
        "[supervisord]\n"
        "logfile=/var/log/s.log\n"
        "nodaemon=true\n"
        "\n"
        "[include]\n"
        "files=conf.d/*.conf more/*.ini\n"
        "\n"
        "[program:web]\n"
        "command=python -m http.server\n"
        "autostart=false\n"
        "exitcodes=0,2\n"
        "stdout_logfile=%(here)s/web.log\n"
        'environment=A="x y",B=\'say "hi" now\',C="a,b=c"\n'
        "\n"
        "[group:g]\n"
        "programs=web\n"
        "priority=1\n"
        "\n"
        "[eventlistener:ev]\n"
        "command=cat\n"
        "events=PROCESS_STATE,TICK_5\n"
    )


def test_unset_keys_are_not_rendered() -> None:
    text = SupervisorConfiguration(program={"a": {"command": "true"}}).to_conf()
    assert text == "[supervisord]\n\n[program:a]\ncommand=true\n"


def test_standard_rpcinterface_is_added_at_render_time_only() -> None:
    cfg = SupervisorConfiguration(unix_http_server=UnixHttpServerConfiguration(file="/tmp/s.sock"))
    before = cfg.model_dump()
    text = cfg.to_conf()
    assert f"[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory={MAIN}\n" in text
    assert cfg.rpcinterface == {}
    assert cfg.model_dump() == before


def test_standard_rpcinterface_needs_a_server() -> None:
    assert "rpcinterface" not in SupervisorConfiguration(program={"a": {"command": "true"}}).to_conf()


def test_given_rpcinterface_is_rendered_once() -> None:
    custom = RpcInterfaceConfiguration.model_validate({"supervisor.rpcinterface_factory": MAIN, "retries": "3"})
    cfg = SupervisorConfiguration(unix_http_server={"file": "/tmp/s.sock"}, rpcinterface={"supervisor": custom})
    text = cfg.to_conf()
    assert text.count("[rpcinterface:supervisor]") == 1
    assert "retries=3\n" in text
    plain = SupervisorConfiguration(
        inet_http_server={"port": "127.0.0.1:9001"},
        rpcinterface={"supervisor": {"rpcinterface_factory": MAIN}},
    )
    assert plain.to_conf().count("[rpcinterface:supervisor]") == 1


def test_incomplete_configuration_is_not_rendered() -> None:
    cfg = SupervisorConfiguration(
        program={"a": {"autostart": False}},
        eventlistener={"e": {"command": "cat"}},
        fcgiprogram={"f": {"command": "cat"}},
        group={"g": {"programs": ["a", "nope"]}},
        unix_http_server={"chmod": "0700"},
    )
    with pytest.raises(ConfigurationError) as info:
        cfg.to_conf()
    text = str(info.value)
    for expected in (
        "[program:a]: command is required",
        "[eventlistener:e]: events is required",
        "[fcgi-program:f]: socket is required",
        "[group:g]: programs: no [program:nope] or [fcgi-program:nope]",
        "[unix_http_server]: file is required",
    ):
        assert expected in text


# -- parsing -------------------------------------------------------------------------------------------


def _sample() -> str:
    script = Path(sys.executable).with_name("echo_supervisord_conf")
    return subprocess.run([str(script)], capture_output=True, text=True, check=True).stdout


def test_echo_supervisord_conf_with_every_section_and_key_uncommented() -> None:
    # uncomment every ';[section]' and ';key=value' line of the sample
    text = re.sub(r"(?m)^;(?=\[|[a-z][\w.]*\s*=)", "", _sample())
    assert "\n[program:theprogramname]\n" in text
    cfg = SupervisorConfiguration.from_conf(text)
    assert cfg.unix_http_server == UnixHttpServerConfiguration(
        file="/tmp/supervisor.sock", chmod="0700", chown="nobody:nogroup", username="user", password="123"
    )
    assert cfg.inet_http_server is not None
    assert cfg.inet_http_server.port == "127.0.0.1:9001"
    assert cfg.supervisord.logfile_maxbytes == "50MB"
    assert cfg.supervisord.environment == {"KEY": "value"}
    assert cfg.supervisorctl is not None
    assert cfg.supervisorctl.serverurl == "http://127.0.0.1:9001"  # the second serverurl wins, as in supervisord
    assert cfg.supervisorctl.history_file == Path("~/.sc_history")
    program = cfg.program["theprogramname"]
    assert program.command == "/bin/cat"
    assert program.stopsignal == "QUIT"
    assert program.environment == {"A": "1", "B": "2"}
    assert program.stdout_logfile == Path("/a/path")
    assert program.redirect_stderr is True
    assert cfg.eventlistener["theeventlistenername"].events == ["EVENT"]
    assert cfg.eventlistener["theeventlistenername"].priority == -1
    assert cfg.group["thegroupname"].programs == ["progname1", "progname2"]
    assert cfg.include == IncludeConfiguration(files=["relative/directory/*.ini"])
    assert cfg.rpcinterface == {}  # the standard interface is implied
    assert SupervisorConfiguration.from_conf(cfg.to_conf()) == cfg


def test_echo_supervisord_conf_as_shipped() -> None:
    text = _sample().replace(";[program:theprogramname]", "[program:theprogramname]")
    text = text.replace(";command=/bin/cat", "command=/bin/cat")
    cfg = SupervisorConfiguration.from_conf(text)
    assert cfg.unix_http_server is not None
    assert cfg.unix_http_server.file == Path("/tmp/supervisor.sock")
    assert cfg.supervisord.minfds == 1024
    assert cfg.supervisord.nodaemon is False
    assert cfg.program["theprogramname"].command == "/bin/cat"


HAND_WRITTEN = """\
; production supervisord.conf
[supervisord]
logfile = /var/log/supervisor/supervisord.log   ; main log
LogLevel = WARN
nodaemon = yes
environment =
    LANG="en_US.UTF-8",
    PATH="/opt/app/bin:%(ENV_PATH)s"

# programs
[program:api]
command = /opt/app/bin/gunicorn -w 4 app:wsgi   # four workers
directory = %(here)s/app
environment = DJANGO_SETTINGS=app.settings, SECRET='x=1,y'
autorestart = Unexpected
stopsignal = sigquit
exitcodes = 0, 2
stdout_logfile = /var/log/app/%(program_name)s.log
stdout_logfile_maxbytes = 10mb
umask = 002

[program:worker]
command = /opt/app/bin/worker --queue %(process_num)d
process_name = worker-%(process_num)s
numprocs = 4
stopasgroup = true

[fcgi-program:php]
command = /usr/bin/php-cgi
socket = unix:///run/php.sock
socket_mode = 0660

[group:app]
programs = api,
    worker

[eventlistener:memmon]
command = memmon -a 200MB
events = TICK_60

[inet_http_server]
port = *:9001
username = admin
password = {SHA}e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4
"""


def test_hand_written_configuration() -> None:
    cfg = SupervisorConfiguration.from_conf(HAND_WRITTEN)
    assert cfg.supervisord.loglevel == "warn"
    assert cfg.supervisord.nodaemon is True
    assert cfg.supervisord.environment == {"LANG": "en_US.UTF-8", "PATH": "/opt/app/bin:%(ENV_PATH)s"}
    api = cfg.program["api"]
    assert api.command == "/opt/app/bin/gunicorn -w 4 app:wsgi"
    assert api.directory == Path("%(here)s/app")
    assert api.environment == {"DJANGO_SETTINGS": "app.settings", "SECRET": "x=1,y"}
    assert api.autorestart == "unexpected"
    assert api.stopsignal == "QUIT"
    assert api.exitcodes == [0, 2]
    assert api.umask == "002"
    assert cfg.program["worker"].numprocs == 4
    assert cfg.fcgiprogram["php"].socket == "unix:///run/php.sock"
    assert cfg.group["app"].programs == ["api", "worker"]
    assert cfg.eventlistener["memmon"].events == ["TICK_60"]
    assert cfg.inet_http_server is not None
    assert cfg.inet_http_server.port == "*:9001"
    assert SupervisorConfiguration.from_conf(cfg.to_conf()) == cfg


def test_from_conf_file(tmp_path: Path) -> None:
    path = tmp_path / "supervisord.conf"
    path.write_text(HAND_WRITTEN)
    assert SupervisorConfiguration.from_conf_file(path) == SupervisorConfiguration.from_conf(HAND_WRITTEN)
    assert SupervisorConfiguration.from_conf_file(str(path)) == SupervisorConfiguration.from_conf(HAND_WRITTEN)
    path.write_text("[program:a]\ncomand=x\n")
    with pytest.raises(ConfigurationError, match=re.escape(str(path))):
        SupervisorConfiguration.from_conf_file(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[mystery:x]\nkey=1\n", r"\[mystery:x\]: unknown section"),
        ("[programs:x]\ncommand=1\n", r"\[programs:x\]: unknown section"),
        ("[ctlplugin:x]\nsupervisor.ctl_factory=a:b\n", r"\[ctlplugin:x\]: unknown section"),
        ("[supervisord]\nlogfiles=/x\n", r"unknown key 'logfiles'.* in section \[supervisord\]"),
        ("[program:a]\ncommand=x\ncomand=y\n", r"unknown key 'comand'.* in section \[program:a\]"),
        (
            "[fcgi-program:f]\ncommand=x\nsocket=tcp://h:1\nsokcet_mode=1\n",
            r"unknown key 'sokcet_mode'.* in section \[fcgi-program:f\]",
        ),
        ("[program:a]\ncommand=x\nstartsecs=soon\n", r"program\.a\.startsecs: .*'soon'.* in section \[program:a\]"),
        ("[program:a]\ncommand=x\nautostart=maybe\n", r"autostart: expected true or false.*'maybe'"),
        ("[program:a:b]\ncommand=x\n", r"invalid name 'a:b'"),
        ("[program:a]\nautostart=false\n", r"\[program:a\]: command is required"),
        ("[group:g]\nprograms=nope\n", r"\[group:g\]: programs: no \[program:nope\]"),
        ("[rpcinterface:x]\nrpcinterface_factory=a:b\n", r"the key is supervisor.rpcinterface_factory"),
        ("[DEFAULT]\nuser=me\n[program:a]\ncommand=x\n", r"\[DEFAULT\]: user"),
        ("[program:a]\ncommand x\n", r"\(file\): .*parsing errors"),
        ("[program:a]\ncommand=x\n[fcgi-program:a]\ncommand=x\nsocket=tcp://h:1\n", r"also an \[fcgi-program:a\]"),
    ],
)
def test_parse_errors_name_section_and_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigurationError, match=expected):
        SupervisorConfiguration.from_conf(text)


def test_passwords_are_not_echoed_in_parse_errors() -> None:
    with pytest.raises(ConfigurationError) as info:
        SupervisorConfiguration.from_conf("[inet_http_server]\nport=9001\npassword=hunter2\n")
    assert "username and password must be set together" in str(info.value)
    assert "hunter2" not in str(info.value)


class ExtendedConfiguration(SupervisorConfiguration):
    """What another module does: add fields of its own, override nothing."""

    note: str = Field(default="not rendered", description="A field that is not a supervisord section.")


def test_subclasses_parse_to_themselves_and_render_only_sections() -> None:
    cfg = ExtendedConfiguration(note="hello", program={"a": {"command": "true"}})
    assert "hello" not in cfg.to_conf()
    parsed = ExtendedConfiguration.from_conf(cfg.to_conf())
    assert type(parsed) is ExtendedConfiguration
    assert parsed == cfg.model_copy(update={"note": "not rendered"})
