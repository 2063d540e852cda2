"""The section models: every key supervisord reads, value types, and the errors for bad values."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from supervisor import options as supervisor_options

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
from airflow_supervisor_async.config.base import SectionModel

SECTIONS: list[type[SectionModel]] = [
    SupervisordConfiguration,
    SupervisorctlConfiguration,
    UnixHttpServerConfiguration,
    InetHttpServerConfiguration,
    ProgramConfiguration,
    GroupConfiguration,
    EventListenerConfiguration,
    FcgiProgramConfiguration,
    IncludeConfiguration,
    RpcInterfaceConfiguration,
]


def keys_read_by(function: Any) -> set[str]:
    """Option names a function of supervisor.options reads: ``get(section, 'key', ...)``, ``'%s_key' % k``."""
    source = inspect.getsource(function)
    # parser.get('include', 'files') is the [include] section, read in the middle of [supervisord]'s keys
    keys = set(re.findall(r"(?:(?<![\w.])get|getdefault)\((?:section,\s*)?'([a-z_.]+)'", source))
    keys |= {f"{channel}_{key}" for key in re.findall(r"'%s_(\w+)' % k", source) for channel in ("stdout", "stderr")}
    return keys


def fields(*models: type[BaseModel]) -> set[str]:
    return {info.alias or name for model in models for name, info in model.model_fields.items()}


def test_every_supervisord_key_is_a_field_and_nothing_else() -> None:
    server = supervisor_options.ServerOptions
    assert fields(SupervisordConfiguration) == keys_read_by(server.read_config)
    assert fields(ProgramConfiguration) == keys_read_by(server._processes_from_section)
    servers = keys_read_by(server.server_configs_from_parser) | keys_read_by(server._parse_username_and_password)
    assert fields(UnixHttpServerConfiguration, InetHttpServerConfiguration) == servers
    assert fields(SupervisorctlConfiguration) == keys_read_by(supervisor_options.ClientOptions.read_config)
    # [group:x], [eventlistener:x] and [fcgi-program:x] specifics are read in one function
    specific = (
        fields(GroupConfiguration)
        | (fields(EventListenerConfiguration) - fields(ProgramConfiguration))
        | (fields(FcgiProgramConfiguration) - fields(ProgramConfiguration))
    )
    read = keys_read_by(server.process_groups_from_parser)
    assert specific <= read
    assert read <= specific | fields(ProgramConfiguration)
    assert fields(IncludeConfiguration) == {"files"}
    assert fields(RpcInterfaceConfiguration) == {"supervisor.rpcinterface_factory"}
    assert "'supervisor.rpcinterface_factory'" in inspect.getsource(server.read_config)


def test_program_keys_are_shared_not_repeated() -> None:
    assert inspect.get_annotations(ProgramConfiguration) == {}
    for model in (EventListenerConfiguration, FcgiProgramConfiguration):
        assert fields(ProgramConfiguration) <= fields(model)
        assert not set(inspect.get_annotations(model)) & fields(ProgramConfiguration)


@pytest.mark.parametrize("model", SECTIONS)
def test_fields_are_documented_and_unset_by_default(model: type[SectionModel]) -> None:
    required = {"programs", "files", "rpcinterface_factory"}
    for name, info in model.model_fields.items():
        assert info.description, f"{model.__name__}.{name}"
        assert len(info.description) > 30, f"{model.__name__}.{name}"
        if name not in required:
            assert info.default is None, f"{model.__name__}.{name}"
            assert "Default" in info.description or "Required" in info.description, f"{model.__name__}.{name}"


def test_base_configuration() -> None:
    assert SectionModel.model_config["extra"] == "forbid"
    assert SectionModel.model_config["validate_assignment"] is True
    assert SectionModel.model_config["populate_by_name"] is True
    assert RpcInterfaceConfiguration.model_config["extra"] == "allow"


# -- value types -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "given", "stored"),
    [
        ("autostart", "yes", True),
        ("autostart", "Off", False),
        ("autostart", 1, True),
        ("autostart", "0", False),
        ("autorestart", "UNEXPECTED", "unexpected"),
        ("autorestart", "true", True),
        ("autorestart", False, False),
        ("stopsignal", "term", "TERM"),
        ("stopsignal", "SIGUSR2", "USR2"),
        ("stopsignal", 3, "QUIT"),
        ("stopsignal", "9", "KILL"),
        ("umask", "022", "022"),
        ("umask", 0o27, "027"),
        ("umask", "7", "7"),
        ("stdout_logfile_maxbytes", "50MB", "50MB"),
        ("stdout_logfile_maxbytes", 1024, "1024"),
        ("stdout_logfile_maxbytes", "10kb", "10kb"),
        ("stdout_logfile", "/var/log/x.log", Path("/var/log/x.log")),
        ("stdout_logfile", Path("%(here)s/x.log"), Path("%(here)s/x.log")),
        ("stdout_logfile", "auto", "AUTO"),
        ("stdout_logfile", "off", "NONE"),
        ("stdout_logfile", Path("NONE"), "NONE"),
        ("directory", "/srv/app/", Path("/srv/app")),
        ("exitcodes", "0, 2", [0, 2]),
        ("exitcodes", [1], [1]),
        ("command", "  spaced out  ", "spaced out"),
        ("command", "/bin/echo 50%% %(here)s %(process_num)02d %(ENV_HOME)s", None),
        ("command", "/bin/echo %%(here)s", None),
        ("command", "/bin/echo a;b#c", None),
        ("command", ";leading", None),
        ("environment", 'A="1",B=\'x "y" z\', C=%(here)s/z', {"A": "1", "B": 'x "y" z', "C": "%(here)s/z"}),
        ("environment", {"PORT": 8080, "RATIO": 0.5}, {"PORT": "8080", "RATIO": "0.5"}),
        ("environment", {"SPACES": "  kept  "}, {"SPACES": "  kept  "}),
        ("serverurl", "unix:///tmp/s.sock", None),
    ],
)
def test_program_values(field: str, given: Any, stored: Any) -> None:
    program = ProgramConfiguration.model_validate({"command": "x", field: given})
    assert getattr(program, field) == (given if stored is None else stored)
    assert type(getattr(program, field)) is type(given if stored is None else stored)


def test_other_section_values() -> None:
    assert SupervisordConfiguration(loglevel="DEBUG").loglevel == "debug"
    assert SupervisordConfiguration(environment={"A": "5%%%%"}).environment == {"A": "5%%%%"}
    assert SupervisordConfiguration(pidfile="/run/s.pid").pidfile == Path("/run/s.pid")
    assert InetHttpServerConfiguration(port=9001).port == "9001"
    assert InetHttpServerConfiguration(port=" *:9001 ").port == "*:9001"
    assert UnixHttpServerConfiguration(file="/s.sock", chmod=0o700).chmod == "0700"
    assert EventListenerConfiguration(command="x", events="process_state, TICK_5").events == ["PROCESS_STATE", "TICK_5"]
    assert GroupConfiguration(programs="a, b").programs == ["a", "b"]
    assert IncludeConfiguration(files="a/*.conf  b/*.ini").files == ["a/*.conf", "b/*.ini"]
    interface = RpcInterfaceConfiguration(rpcinterface_factory="pkg.mod:make", retries=3)
    assert interface.model_extra == {"retries": "3"}
    assert interface.model_dump(by_alias=True) == {"supervisor.rpcinterface_factory": "pkg.mod:make", "retries": "3"}
    assert RpcInterfaceConfiguration.model_validate(
        {"supervisor.rpcinterface_factory": "a:b"}
    ).rpcinterface_factory == ("a:b")


def test_fcgi_sockets() -> None:
    assert FcgiProgramConfiguration(command="x", socket="tcp://localhost:9000").socket == "tcp://localhost:9000"
    unix = FcgiProgramConfiguration(
        command="x", socket="unix://%(here)s/a.sock", socket_owner="www:www", socket_mode=0o660
    )
    assert (unix.socket_owner, unix.socket_mode) == ("www:www", "0660")


def test_assignment_is_validated() -> None:
    program = ProgramConfiguration(command="x")
    program.autostart = "no"  # type: ignore[assignment]
    assert program.autostart is False
    with pytest.raises(ValidationError, match="startsecs"):
        program.startsecs = "soon"  # type: ignore[assignment]
    with pytest.raises(ValidationError, match="process_num"):
        program.numprocs = 3


# -- bad values --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        # unknown keys and wrong types name the field and the value
        (lambda: ProgramConfiguration(command="x", autostrat=True), r"autostrat\n  Extra inputs are not permitted"),
        (lambda: ProgramConfiguration(command="x", startsecs="soon"), r"startsecs\n.*'soon'"),
        (lambda: ProgramConfiguration(command="x", startsecs=-1), r"startsecs\n.*greater than or equal to 0"),
        (lambda: ProgramConfiguration(command="x", autostart="t"), r"autostart\n.*expected true or false.*'t'"),
        (lambda: ProgramConfiguration(command="x", autorestart="sometimes"), r"autorestart\n.*'sometimes'"),
        (lambda: ProgramConfiguration(command="x", stopsignal="BOGUS"), r"stopsignal\n.*'TERM', 'HUP'"),
        (lambda: ProgramConfiguration(command="x", stopsignal=999), r"999 is not a signal number"),
        (lambda: ProgramConfiguration(command="x", umask="999"), r"umask\n.*octal mode.*'999'"),
        (lambda: ProgramConfiguration(command="x", stdout_logfile_maxbytes="lots"), r"size in bytes.*'lots'"),
        (lambda: ProgramConfiguration(command="x", exitcodes=[256]), r"exitcodes\.0\n.*less than or equal to 255"),
        (lambda: ProgramConfiguration(command="x", stdout_logfile="syslog"), r"deprecated.*stdout_syslog"),
        (lambda: ProgramConfiguration(command="x", directory=""), r"directory\n.*expected a path"),
        (lambda: SupervisordConfiguration(loglevel="verbose"), r"loglevel\n.*'critical', 'error'"),
        (lambda: InetHttpServerConfiguration(port="localhost"), r"port\n.*host:port.*'localhost'"),
        (lambda: InetHttpServerConfiguration(port=70000), r"port 1-65535"),
        (lambda: SupervisorctlConfiguration(serverurl="localhost:9001"), r"serverurl\n.*http://host:port"),
        (lambda: ProgramConfiguration(command="x", serverurl="somewhere"), r"expected AUTO or an http"),
        (lambda: UnixHttpServerConfiguration(file="/s", chown="a:b:c"), r"chown\n.*'user' or 'user:group'"),
        (lambda: EventListenerConfiguration(command="x", events=["no such"]), r"events\.0\n.*event type name"),
        (lambda: EventListenerConfiguration(command="x", events=[]), r"events\n.*at least 1 item"),
        (lambda: GroupConfiguration(programs=["a:b"]), r"programs\.0\n.*invalid name 'a:b'"),
        (lambda: IncludeConfiguration(files=["my dir/*.conf"]), r"cannot contain any"),
        # percent signs
        (lambda: ProgramConfiguration(command="date +%s"), r"command\n.*bare '%': write '%%'"),
        (lambda: ProgramConfiguration(command="echo 100%"), r"bare '%'"),
        (lambda: ProgramConfiguration(command="x", environment={"A": "5%"}), r"environment\.A\n.*bare '%'"),
        (lambda: ProgramConfiguration(command="x", stdout_logfile="/l/5%%.log"), r"'%%%%' here"),
        (lambda: ProgramConfiguration(command="x", stderr_logfile="/l/%%%%%%"), r"'%%%%' here"),
        (lambda: SupervisordConfiguration(environment={"A": "5%%"}), r"environment\.A\n.*'%%%%' here"),
        (lambda: SupervisordConfiguration(logfile="/l/5%.log"), r"logfile\n.*bare '%'"),
        # lines and comments
        (lambda: ProgramConfiguration(command="echo a\nb"), r"command\n.*single line"),
        (lambda: ProgramConfiguration(command="x", environment={"A": "1\n2"}), r"single line"),
        (lambda: ProgramConfiguration(command="x", directory="/a\r/b"), r"directory\n.*single line"),
        (lambda: ProgramConfiguration(command="echo a ;b"), r"command\n.*start of a comment"),
        (lambda: ProgramConfiguration(command="echo a\t#b"), r"start of a comment"),
        (lambda: ProgramConfiguration(command="x", environment={"A": "a ;b"}), r"start of a comment"),
        # environment values supervisord cannot read back
        (lambda: ProgramConfiguration(command="x", environment={"A": "both ' and \" inside"}), r"not both"),
        (lambda: ProgramConfiguration(command="x", environment={"A": '"quoted"'}), r"start or end with a quote"),
        (lambda: ProgramConfiguration(command="x", environment={"A-B": "1"}), r"'A-B' is not a valid variable"),
        (lambda: ProgramConfiguration(command="x", environment={"A": True}), r"environment\.A\n.*valid string"),
        (lambda: ProgramConfiguration(command="x", environment="A=1,B"), r"Unexpected end of key/value pairs"),
        # supervisord's cross-key rules
        (lambda: ProgramConfiguration(command="x", numprocs=2), r"numprocs is 2, so process_name must contain"),
        (
            lambda: ProgramConfiguration(command="x", numprocs=2, process_name="%(program_name)s"),
            r"%\(process_num\)",
        ),
        (lambda: ProgramConfiguration(command="x", process_name="a:%(process_num)d"), r"may not contain ':'"),
        (lambda: ProgramConfiguration(command="x", stopasgroup=True, killasgroup=False), r"killasgroup=true"),
        (lambda: EventListenerConfiguration(command="x", redirect_stderr=True), r"not allowed for an event listener"),
        (lambda: FcgiProgramConfiguration(command="x", socket="/tmp/x.sock"), r"tcp://host:port or unix://"),
        (lambda: FcgiProgramConfiguration(command="x", socket="unix://relative.sock"), r"unix:///absolute"),
        (lambda: FcgiProgramConfiguration(command="x", socket="tcp://h:1", socket_mode="0600"), r"unix:// socket only"),
        (lambda: FcgiProgramConfiguration(command="x", socket_backlog=0), r"socket_backlog\n.*greater than or equal"),
        (lambda: UnixHttpServerConfiguration(file="/s", username="u"), r"password\n.*set together"),
        (lambda: InetHttpServerConfiguration(port=1, password="p"), r"password\n.*set together"),
        (lambda: RpcInterfaceConfiguration(rpcinterface_factory="a:b", Retries="1"), r"'Retries': use a lowercase"),
        (lambda: RpcInterfaceConfiguration(rpcinterface_factory="a:b", hosts=["a"]), r"'hosts': expected text"),
        (lambda: RpcInterfaceConfiguration(rpcinterface_factory="a:b", note="a ;b"), r"start of a comment"),
        (lambda: RpcInterfaceConfiguration(), r"supervisor.rpcinterface_factory`?\n  Field required"),
    ],
)
def test_bad_values_are_explained(build: Any, expected: str) -> None:
    with pytest.raises(ValidationError) as info:
        build()
    assert re.search(expected, str(info.value)), str(info.value)


@pytest.mark.parametrize("name", ["a:b", "a b", "a;rm", "-a", "a/b", "$(x)", "a\tb", "", "ä"])
@pytest.mark.parametrize("kind", ["program", "group", "eventlistener", "fcgiprogram", "rpcinterface"])
def test_bad_section_names_are_named(kind: str, name: str) -> None:
    section = {
        "program": {"command": "x"},
        "group": {"programs": ["x"]},
        "eventlistener": {"command": "x", "events": ["TICK_5"]},
        "fcgiprogram": {"command": "x", "socket": "tcp://h:1"},
        "rpcinterface": {"supervisor.rpcinterface_factory": "a:b"},
    }[kind]
    with pytest.raises(ValidationError) as info:
        SupervisorConfiguration.model_validate({kind: {name: section}})
    assert f"invalid name {name!r}" in str(info.value)


def test_good_section_names() -> None:
    cfg = SupervisorConfiguration(program={name: {"command": "x"} for name in ("a", "A.b-c_d", "0x", "web-1.2")})
    assert len(cfg.program) == 4


def test_configuration_errors_from_parsing_name_field_value_and_expectation() -> None:
    with pytest.raises(ConfigurationError) as info:
        SupervisorConfiguration.from_conf("[program:a]\ncommand=x\nstopwaitsecs=ten\n")
    assert info.value.problems == [
        (
            "program.a.stopwaitsecs",
            "Input should be a valid integer, unable to parse string as an integer (got 'ten') in section [program:a]",
        )
    ]
