"""supervisord's own parser reads every rendered configuration and gets exactly the values the models hold.

The configurations here (``CASES``) are also the round-trip set of ``test_render_parse``. Paths use
``%(here)s`` so that one configuration works in any temporary directory. The last tests feed raw
text to supervisord to show why the models reject what they reject.
"""

from __future__ import annotations

import grp
import hashlib
import os
import platform
import pwd
import signal
from pathlib import Path
from typing import Any

import pytest
from supervisor.datatypes import (
    Automatic,
    RestartUnconditionally,
    RestartWhenExitUnexpected,
    byte_size,
    dict_of_key_value_pairs,
)
from supervisor.events import EventTypes
from supervisor.loggers import getLevelNumByDescription
from supervisor.options import ClientOptions, ServerOptions

from airflow_supervisor_async.config import SupervisorConfiguration

USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
SHA = "{SHA}" + hashlib.sha1(b"secret", usedforsecurity=False).hexdigest()
MAIN = "supervisor.rpcinterface:make_main_rpcinterface"
TEST_ENV = {"SUPERVISOR_TEST_ROOT": "/srv/test"}

# environment values that need quoting: quotes, commas, spaces, '=', backslashes, comment characters, expansions
TRICKY_ENV = {
    "QUOTED": 'say "hi" to them',
    "APOSTROPHE": "it's",
    "COMMA": "a,b,c",
    "SPACES": "  padded  value  ",
    "EQUALS": "k=v;x=y",
    "BACKSLASH": "C:\\dir\\",
    "ESCAPED": 'a\\"b',
    "HASH": "a#b;c",
    "PERCENT": "100%%",
    "HERE": "%(here)s/data",
    "FROM_ENV": "%(ENV_SUPERVISOR_TEST_ROOT)s/x",
    "EMPTY": "",
    "URL": "http://example.com/?a=1&b='2'&c=3",
    "PARENS": "(x):/+.-",
}


def _process_keys(name: str, **overrides: Any) -> dict[str, Any]:
    """Every key shared by programs, event listeners and FastCGI programs, set."""
    keys: dict[str, Any] = {
        "command": "/bin/sh -c 'echo %(program_name)s %(process_num)d of %(numprocs)d'",
        "process_name": "%(program_name)s-%(process_num)02d",
        "numprocs": 2,
        "numprocs_start": 1,
        "priority": 10,
        "autostart": False,
        "startsecs": 0,
        "startretries": 5,
        "autorestart": "unexpected",
        "exitcodes": [0, 3],
        "stopsignal": "INT",
        "stopwaitsecs": 3,
        "stopasgroup": True,
        "killasgroup": True,
        "user": USER,
        "redirect_stderr": False,
        "stdout_logfile": f"%(here)s/logs/{name}-%(process_num)d.out",
        "stdout_logfile_maxbytes": "1MB",
        "stdout_logfile_backups": 2,
        "stdout_capture_maxbytes": "64KB",
        "stdout_events_enabled": True,
        "stdout_syslog": False,
        "stderr_logfile": f"%(here)s/logs/{name}-%(process_num)d-100%%%%.err",
        "stderr_logfile_maxbytes": 1024,
        "stderr_logfile_backups": 0,
        "stderr_capture_maxbytes": "0",
        "stderr_events_enabled": False,
        "stderr_syslog": True,
        "environment": {"NAME": "%(program_name)s", "NUM": "%(process_num)d", "TRICKY": 'a "b", c=d'},
        "directory": "%(here)s",
        "umask": "027",
        "serverurl": "AUTO",
    }
    return keys | overrides


KITCHEN_SINK: dict[str, Any] = {
    "supervisord": {
        "logfile": "%(here)s/logs/supervisord.log",
        "logfile_maxbytes": "5MB",
        "logfile_backups": 3,
        "loglevel": "debug",
        "pidfile": "%(here)s/supervisord.pid",
        "umask": "022",
        "nodaemon": True,
        "silent": True,
        "minfds": 64,
        "minprocs": 32,
        "nocleanup": True,
        "childlogdir": "%(here)s/logs",
        "user": USER,
        "directory": "%(here)s",
        "strip_ansi": True,
        "environment": {"GLOBAL": "everywhere", "PCT": "5%%%%"},
        "identifier": "kitchen",
    },
    "supervisorctl": {
        "serverurl": "unix://%(here)s/supervisor.sock",
        "username": "admin",
        "password": "secret",
        "prompt": "kitchen",
        "history_file": "%(here)s/.history",
    },
    "unix_http_server": {
        "file": "%(here)s/supervisor.sock",
        "chmod": "0770",
        "chown": f"{USER}:{GROUP}",
        "username": "admin",
        "password": SHA,
    },
    "inet_http_server": {"port": "127.0.0.1:9001", "username": "admin", "password": "secret"},
    "include": {"files": ["conf.d/*.conf", "more/*.ini"]},
    "program": {
        "kitchen": _process_keys("kitchen", redirect_stderr=True),
        "plain": {"command": "/bin/sleep 1"},
    },
    "group": {"grouped": {"programs": ["kitchen", "plain"], "priority": 20}},
    "eventlistener": {
        "listener": _process_keys("listener")
        | {
            "buffer_size": 5,
            "events": ["PROCESS_STATE", "TICK_60"],
            "result_handler": "supervisor.dispatchers:default_handler",
        }
    },
    "fcgiprogram": {
        "fcgi": _process_keys("fcgi", serverurl="unix://%(here)s/supervisor.sock")
        | {
            "socket": "unix://%(here)s/%(program_name)s.sock",
            "socket_backlog": 16,
            "socket_owner": f"{USER}:{GROUP}",
            "socket_mode": "0600",
        }
    },
    "rpcinterface": {
        "supervisor": {"supervisor.rpcinterface_factory": MAIN},
        "custom": {"supervisor.rpcinterface_factory": MAIN, "retries": "3", "label": "x=1, y"},
    },
}

CASES: dict[str, dict[str, Any]] = {
    "empty": {},
    "minimal": {"program": {"a": {"command": "/bin/sleep 5"}}},
    "unix_server": {
        "unix_http_server": {"file": "%(here)s/s.sock", "chmod": 0o770, "chown": USER},
        "supervisorctl": {"serverurl": "unix://%(here)s/s.sock"},
        "program": {"a": {"command": "sleep 1"}},
    },
    "inet_server_auth": {
        "inet_http_server": {"port": "*:9001", "username": "u", "password": SHA},
        "supervisorctl": {"serverurl": "http://127.0.0.1:9001", "username": "u", "password": "secret"},
    },
    "numprocs": {
        "program": {
            "worker": {
                "command": "/bin/echo %(process_num)d of %(numprocs)d",
                "numprocs": 3,
                "numprocs_start": 2,
                "process_name": "%(program_name)s_%(process_num)02d",
                "stdout_logfile": "%(here)s/logs/%(program_name)s-%(process_num)d.log",
            }
        }
    },
    "environment": {
        "supervisord": {"environment": {"GLOBAL": "50%%%% of %(here)s", "SHARED": "from supervisord"}},
        "program": {"env": {"command": "/usr/bin/env", "environment": TRICKY_ENV | {"SHARED": "overridden"}}},
    },
    "eventlistener": {
        "eventlistener": {
            "listener": {
                "command": "/bin/cat",
                "events": "PROCESS_STATE, tick_5",
                "buffer_size": 20,
                "result_handler": "supervisor.dispatchers:default_handler",
            }
        }
    },
    "fcgi_tcp": {
        "fcgiprogram": {"web": {"command": "/bin/cat", "socket": "tcp://127.0.0.1:9002", "socket_backlog": 64}}
    },
    "fcgi_unix": {
        "fcgiprogram": {
            "web": {
                "command": "/bin/cat",
                "socket": "unix://%(here)s/%(program_name)s.sock",
                "socket_owner": USER,
                "socket_mode": 0o660,
                "numprocs": 2,
                "process_name": "web-%(process_num)d",
            }
        }
    },
    "group": {
        "program": {"a": {"command": "sleep 1"}, "b": {"command": "sleep 2"}, "alone": {"command": "sleep 3"}},
        "fcgiprogram": {"c": {"command": "/bin/cat", "socket": "tcp://127.0.0.1:9003"}},
        "group": {"g": {"programs": ["a", "c"], "priority": 5}, "h": {"programs": "b"}},
    },
    "include": {"include": {"files": "conf.d/*.conf  more/*.ini"}, "group": {"g": {"programs": ["included"]}}},
    "flags": {
        "program": {
            "on": {"command": "true", "autostart": "yes", "autorestart": True, "stopasgroup": "on", "killasgroup": 1},
            "off": {"command": "true", "autostart": False, "autorestart": "false", "stopasgroup": "off"},
            "signals": {"command": "true", "stopsignal": 1, "exitcodes": [], "priority": -5, "startsecs": 0},
        }
    },
    "logfiles": {
        "program": {
            "auto": {"command": "true", "stdout_logfile": "auto", "stderr_logfile": "AUTO"},
            "none": {"command": "true", "stdout_logfile": "NONE", "stderr_logfile": "off"},
            "path": {"command": "true", "stdout_logfile": Path("/tmp/out.log"), "redirect_stderr": True},
        }
    },
    "percent": {
        "program": {"p": {"command": "/bin/echo 100%% done %%(here)s", "stdout_logfile": "%(here)s/logs/100%%%%.log"}}
    },
    "comment_characters": {
        "program": {"p": {"command": "/bin/echo a;b#c", "environment": {"X": "a;b#c"}}},
        "supervisorctl": {"prompt": ";#ctl"},
    },
    "rpcinterface": {
        "unix_http_server": {"file": "%(here)s/s.sock"},
        "rpcinterface": {"extra": {"supervisor.rpcinterface_factory": MAIN, "retries": 3}},
    },
    "kitchen_sink": KITCHEN_SINK,
}


def build(case: str) -> SupervisorConfiguration:
    return SupervisorConfiguration.model_validate(CASES[case])


def prepare(folder: Path) -> Path:
    """The directories and the included file the configurations refer to; returns the config path."""
    (folder / "logs").mkdir(exist_ok=True)
    (folder / "conf.d").mkdir(exist_ok=True)
    (folder / "conf.d" / "extra.conf").write_text("[program:included]\ncommand=/bin/true\n")
    return folder / "supervisord.conf"


def server_options(text: str, folder: Path) -> ServerOptions:
    """Let supervisord's own parser read ``text`` as ``folder/supervisord.conf``."""
    path = prepare(folder)
    path.write_text(text)
    options = ServerOptions()
    options.usage = lambda msg: pytest.fail(f"supervisord refused the file: {msg}")  # type: ignore[method-assign]
    options.realize(args=["-c", str(path)])
    return options


def refusal(text: str, folder: Path) -> str:
    """supervisord's message when it refuses ``text`` ('' when it accepts it)."""
    path = prepare(folder)
    path.write_text(text)
    options = ServerOptions()

    def usage(msg: str) -> None:
        raise ValueError(msg)

    options.usage = usage  # type: ignore[method-assign]
    try:
        options.realize(args=["-c", str(path)])
    except ValueError as exc:
        return str(exc)
    return ""


@pytest.fixture(autouse=True)
def _test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in TEST_ENV.items():
        monkeypatch.setenv(key, value)


# -- what supervisord should see, computed from the models ------------------------------------------


def _expansions(here: Path, sup_env: dict[str, str]) -> dict[str, Any]:
    env = {f"ENV_{k}": v for k, v in {**os.environ, **sup_env}.items()}
    return {"here": str(here), "host_node_name": platform.node(), **env}


def _supervisord_env(cfg: SupervisorConfiguration, here: Path) -> dict[str, str]:
    base = _expansions(here, {})
    return {k: (v % base) % base for k, v in (cfg.supervisord.environment or {}).items()}  # expanded twice


def _logfile(value: Any, exp: dict[str, Any]) -> Any:
    if value in (None, "AUTO"):
        return Automatic
    return None if value == "NONE" else (str(value) % exp) % exp  # expanded twice


_SAME = (
    "priority",
    "autostart",
    "startsecs",
    "startretries",
    "stopwaitsecs",
    "stopasgroup",
    "killasgroup",
    "exitcodes",
    "redirect_stderr",
    "stdout_logfile_backups",
    "stderr_logfile_backups",
    "stdout_events_enabled",
    "stderr_events_enabled",
    "stdout_syslog",
    "stderr_syslog",
)
_SIZES = ("stdout_logfile_maxbytes", "stderr_logfile_maxbytes", "stdout_capture_maxbytes", "stderr_capture_maxbytes")
_RESTART = {True: RestartUnconditionally, False: False, "unexpected": RestartWhenExitUnexpected}


def expected_processes(cfg: SupervisorConfiguration, here: Path) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Process name -> (its section, the expansions supervisord uses for it)."""
    sup_env = _supervisord_env(cfg, here)
    groups = {p: g for g, group in cfg.group.items() for p in group.programs}
    result = {}
    for sections in (cfg.program, cfg.eventlistener, cfg.fcgiprogram):
        for name, section in sections.items():
            count, start = section.numprocs or 1, section.numprocs_start or 0
            for num in range(start, start + count):
                exp = _expansions(here, sup_env) | {
                    "program_name": name,
                    "group_name": groups.get(name, name),
                    "process_num": num,
                    "numprocs": count,
                }
                exp |= {f"ENV_{k}": v % exp for k, v in (section.environment or {}).items()}
                result[(section.process_name or "%(program_name)s") % exp] = (section, exp)
    return result


def check_process(process: Any, section: Any, exp: dict[str, Any], sup_env: dict[str, str]) -> None:
    """Every key the section sets arrived in supervisord's ProcessConfig as that value."""
    assert process.command == str(section.command) % exp
    assert process.environment == sup_env | {k: v % exp for k, v in (section.environment or {}).items()}
    for key in _SAME:
        if getattr(section, key) is not None:
            assert getattr(process, key) == getattr(section, key), key
    for key in _SIZES:
        if getattr(section, key) is not None:
            assert getattr(process, key) == byte_size(getattr(section, key)), key
    if section.stopsignal is not None:
        assert process.stopsignal == signal.Signals[f"SIG{section.stopsignal}"]
    if section.autorestart is not None:
        assert process.autorestart == _RESTART[section.autorestart]
    if section.umask is not None:
        assert process.umask == int(section.umask, 8)
    if section.user is not None:
        assert process.uid == pwd.getpwnam(section.user).pw_uid
    if section.directory is not None:
        assert process.directory == str(section.directory) % exp
    if section.serverurl is not None:
        assert process.serverurl == (None if section.serverurl == "AUTO" else section.serverurl % exp)
    assert process.stdout_logfile == _logfile(section.stdout_logfile, exp)
    stderr = None if section.redirect_stderr else _logfile(section.stderr_logfile, exp)
    assert process.stderr_logfile == stderr


def check_sections(cfg: SupervisorConfiguration, options: ServerOptions, here: Path) -> None:
    """Groups, pools, sockets, servers and interfaces as supervisord built them."""
    groups = {g.name: g for g in options.process_group_configs}
    for name, group in cfg.group.items():
        members = {p for p in group.programs}
        expected = {n for n, (s, e) in expected_processes(cfg, here).items() if e["program_name"] in members}
        assert {p.name for p in groups[name].process_configs} >= expected
        assert groups[name].priority == (group.priority if group.priority is not None else 999)
    for name, listener in cfg.eventlistener.items():
        pool = groups[name]
        assert set(pool.pool_events) == {getattr(EventTypes, event) for event in listener.events or []}
        assert pool.buffer_size == (listener.buffer_size or 10)
        assert pool.priority == (listener.priority if listener.priority is not None else -1)
    for name, fcgi in cfg.fcgiprogram.items():
        if any(name in g.programs for g in cfg.group.values()):
            continue  # a group member is run as a plain program
        socket = groups[name].socket_config
        assert socket.url == str(fcgi.socket).replace("%(here)s", str(here)).replace("%(program_name)s", name)
        assert socket.get_backlog() == fcgi.socket_backlog
        if fcgi.socket_mode is not None:
            assert socket.get_mode() == int(fcgi.socket_mode, 8)
    factories = {name: extras for name, _, extras in options.rpcinterface_factories}
    for name, interface in cfg.rpcinterface.items():
        assert factories[name] == interface.model_extra
    if cfg.unix_http_server is not None or cfg.inet_http_server is not None:
        assert factories.get("supervisor") == {}
    check_servers(cfg, options, here)


def check_servers(cfg: SupervisorConfiguration, options: ServerOptions, here: Path) -> None:
    servers = {c["section"]: c for c in options.server_configs}
    if (unix := cfg.unix_http_server) is not None:
        config = servers["unix_http_server"]
        assert config["file"] == str(unix.file).replace("%(here)s", str(here))
        assert config["chmod"] == int(unix.chmod or "0700", 8)
        assert (config["username"], config["password"]) == (unix.username, unix.password)
        if unix.chown:
            assert config["chown"][0] == pwd.getpwnam(unix.chown.split(":")[0]).pw_uid
    if (inet := cfg.inet_http_server) is not None:
        config = servers["inet_http_server"]
        host, _, port = str(inet.port).rpartition(":")
        assert (config["host"], config["port"]) == (host.strip("*"), int(port))
        assert (config["username"], config["password"]) == (inet.username, inet.password)


def check_supervisord_section(cfg: SupervisorConfiguration, options: ServerOptions, here: Path) -> None:
    section, exp = cfg.supervisord, _expansions(here, {})
    root = options.configroot.supervisord
    assert root.environment == _supervisord_env(cfg, here)
    for key in ("logfile_backups", "nodaemon", "silent", "minfds", "minprocs", "nocleanup", "strip_ansi"):
        if getattr(section, key) is not None:
            assert getattr(options, key) == getattr(section, key), key
    for key in ("logfile", "pidfile", "childlogdir", "directory"):
        if getattr(section, key) is not None:
            assert getattr(options, key) == str(getattr(section, key)) % exp, key
    if section.logfile_maxbytes is not None:
        assert options.logfile_maxbytes == byte_size(section.logfile_maxbytes)
    if section.umask is not None:
        assert options.umask == int(section.umask, 8)
    if section.identifier is not None:
        assert options.identifier == section.identifier
    if section.loglevel is not None:
        assert options.loglevel == getLevelNumByDescription(section.loglevel)
    if section.user is not None:
        assert options.uid == pwd.getpwnam(section.user).pw_uid


# -- the tests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
def test_supervisord_reads_every_value(case: str, tmp_path: Path) -> None:
    cfg = build(case)
    options = server_options(cfg.to_conf(), tmp_path)
    processes = {p.name: p for g in options.process_group_configs for p in g.process_configs}
    expected = expected_processes(cfg, tmp_path)
    extra = {"included"} if cfg.include is not None else set()
    assert set(processes) == set(expected) | extra
    sup_env = _supervisord_env(cfg, tmp_path)
    for name, (section, exp) in expected.items():
        check_process(processes[name], section, exp, sup_env)
    check_sections(cfg, options, tmp_path)
    check_supervisord_section(cfg, options, tmp_path)


@pytest.mark.parametrize("case", [c for c in CASES if "supervisorctl" in CASES[c]])
def test_supervisorctl_reads_its_section(case: str, tmp_path: Path) -> None:
    cfg = build(case)
    path = prepare(tmp_path)
    path.write_text(cfg.to_conf())
    options = ClientOptions()
    options.realize(args=["-c", str(path)])
    ctl = cfg.supervisorctl
    assert ctl is not None
    assert options.serverurl == (ctl.serverurl or "http://localhost:9001").replace("%(here)s", str(tmp_path))
    assert options.prompt == (ctl.prompt or "supervisor")
    assert (options.username, options.password) == (ctl.username, ctl.password)
    history = str(ctl.history_file).replace("%(here)s", str(tmp_path)) if ctl.history_file else None
    assert options.history_file == history


def test_kitchen_sink_sets_every_key_of_every_section() -> None:
    cfg = build("kitchen_sink")
    sections = [getattr(cfg, name) for name in ("supervisord", "supervisorctl", "unix_http_server", "inet_http_server")]
    sections += [cfg.include, *cfg.program.values(), *cfg.group.values(), *cfg.eventlistener.values()]
    sections += [*cfg.fcgiprogram.values(), *cfg.rpcinterface.values()]
    for section in sections:
        if section is cfg.program["plain"]:
            continue
        unset = [key for key in type(section).model_fields if getattr(section, key) is None]
        assert not unset, f"{type(section).__name__} leaves {unset} unset"


def test_kitchen_sink_details(tmp_path: Path) -> None:
    """A few values spelled out, in case the generic checks above share a mistake with the models."""
    options = server_options(build("kitchen_sink").to_conf(), tmp_path)
    processes = {p.name: p for g in options.process_group_configs for p in g.process_configs}
    assert sorted(processes) == [
        "fcgi-01",
        "fcgi-02",
        "included",
        "kitchen-01",
        "kitchen-02",
        "listener-01",
        "listener-02",
        "plain",
    ]
    kitchen = processes["kitchen-02"]
    assert kitchen.command == "/bin/sh -c 'echo kitchen 2 of 2'"
    assert kitchen.environment["TRICKY"] == 'a "b", c=d'
    assert kitchen.environment["PCT"] == "5%"
    assert kitchen.environment["NUM"] == "2"
    assert kitchen.stdout_logfile == f"{tmp_path}/logs/kitchen-2.out"
    assert processes["listener-01"].stderr_logfile == f"{tmp_path}/logs/listener-1-100%.err"
    assert kitchen.stopsignal == signal.SIGINT
    assert options.identifier == "kitchen"
    assert any(str(tmp_path / "conf.d" / "extra.conf") in info for info in options.parse_infos)
    fcgi = next(g for g in options.process_group_configs if g.name == "fcgi")
    assert fcgi.socket_config.url == f"unix://{tmp_path}/fcgi.sock"
    assert [n for n, _, _ in options.rpcinterface_factories] == ["custom", "supervisor"]


def test_environment_values_arrive_verbatim(tmp_path: Path) -> None:
    options = server_options(build("environment").to_conf(), tmp_path)
    (process,) = [p for g in options.process_group_configs for p in g.process_configs]
    env = process.environment
    assert env["QUOTED"] == 'say "hi" to them'
    assert env["APOSTROPHE"] == "it's"
    assert env["COMMA"] == "a,b,c"
    assert env["SPACES"] == "  padded  value  "
    assert env["EQUALS"] == "k=v;x=y"
    assert env["BACKSLASH"] == "C:\\dir\\"
    assert env["ESCAPED"] == 'a\\"b'
    assert env["PERCENT"] == "100%"
    assert env["HERE"] == f"{tmp_path}/data"
    assert env["FROM_ENV"] == "/srv/test/x"
    assert env["EMPTY"] == ""
    assert env["GLOBAL"] == f"50% of {tmp_path}"
    assert env["SHARED"] == "overridden"


def test_numprocs_become_processes(tmp_path: Path) -> None:
    options = server_options(build("numprocs").to_conf(), tmp_path)
    (group,) = options.process_group_configs
    assert [(p.name, p.command) for p in group.process_configs] == [
        ("worker_02", "/bin/echo 2 of 3"),
        ("worker_03", "/bin/echo 3 of 3"),
        ("worker_04", "/bin/echo 4 of 3"),
    ]
    assert group.process_configs[0].stdout_logfile == f"{tmp_path}/logs/worker-2.log"


# -- why the models reject what they reject: supervisord itself, fed raw text ----------------------------

_HEAD = "[supervisord]\nlogfile=%(here)s/logs/s.log\npidfile=%(here)s/s.pid\n"


def _program(tmp_path: Path, body: str) -> Any:
    options = server_options(_HEAD + "[program:p]\n" + body, tmp_path)
    return options.process_group_configs[0].process_configs[0]


def test_space_semicolon_and_space_hash_start_comments_even_in_quotes(tmp_path: Path) -> None:
    assert _program(tmp_path, "command=/bin/echo a ;b\n").command == "/bin/echo a"
    assert _program(tmp_path, "command=/bin/echo a\t#b\n").command == "/bin/echo a"
    assert _program(tmp_path, "command=/bin/echo a;b#c\n").command == "/bin/echo a;b#c"
    # cut inside the quotes, leaving an unclosed quotation
    assert "No closing quotation" in refusal(_HEAD + '[program:p]\ncommand=true\nenvironment=A="x ;y"\n', tmp_path)


def test_a_bare_percent_is_an_error_or_garbage(tmp_path: Path) -> None:
    assert "badly formatted" in refusal(_HEAD + "[program:p]\ncommand=echo 50%\n", tmp_path)
    assert _program(tmp_path, "command=date +%s\n").command.startswith("date +{")  # formats the expansions dict


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("command=date +%d\n", "badly formatted"),
        ("command=true\nstdout_logfile=%(here)s/50%%.log\n", "badly formatted"),
        ("command=x\nnumprocs=2\n", "%(process_num) must be present"),
        ("command=x\nstopasgroup=true\nkillasgroup=false\n", "stopasgroup"),
        ("command=x\nautostart=t\n", "not a valid boolean"),
    ],
)
def test_supervisord_refuses_what_the_models_refuse(body: str, reason: str, tmp_path: Path) -> None:
    assert reason in refusal(_HEAD + "[program:p]\n" + body, tmp_path)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (_HEAD.replace("]\n", ']\nenvironment=A="5%%"\n', 1), "badly formatted"),  # expanded twice
        (_HEAD + "[program:a:b]\ncommand=x\n", "Invalid name"),
        (_HEAD + "[program:a b]\ncommand=x\n", "Invalid name"),
        (_HEAD + "[eventlistener:e]\ncommand=x\nevents=TICK_5\nredirect_stderr=true\n", "redirect_stderr"),
        (_HEAD + "[unix_http_server]\nfile=%(here)s/s.sock\nusername=u\n", "incomplete authentication"),
        (_HEAD + "[fcgi-program:f]\ncommand=x\nsocket=tcp://127.0.0.1:9\nsocket_mode=0600\n", "socket_mode"),
    ],
)
def test_supervisord_refuses_what_the_containers_refuse(text: str, reason: str, tmp_path: Path) -> None:
    assert reason in refusal(text, tmp_path)


def test_double_percent_is_one_literal_percent_and_four_in_twice_expanded_keys(tmp_path: Path) -> None:
    process = _program(tmp_path, "command=echo 50%%\nstdout_logfile=%(here)s/logs/50%%%%.log\n")
    assert process.command == "echo 50%"
    assert process.stdout_logfile == f"{tmp_path}/logs/50%.log"


@pytest.mark.parametrize(
    ("written", "wanted"),
    [
        ('A="say \\"hi\\""', 'say "hi"'),  # backslash escapes do not work: shlex runs in non-POSIX mode
        ("A='it\\'s \"x\"'", 'it\'s "x"'),  # no way to hold both kinds of quote
        ("A='\"quoted\"'", '"quoted"'),  # leading/trailing quotes are stripped from every value
    ],
)
def test_environment_values_supervisord_cannot_take(written: str, wanted: str) -> None:
    try:
        parsed = dict_of_key_value_pairs(written)
    except ValueError:
        return
    assert parsed.get("A") != wanted
