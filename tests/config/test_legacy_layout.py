"""airflow-supervisor's job layout (top-level ``port``, ``password``, ``ssh_operator_args``, ...): every key is
moved to its place with a warning naming the new key, dropped with a warning saying what replaces it,
or refused when its meaning would change -- never reinterpreted silently."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from airflow_supervisor_async import (
    ConfigurationError,
    LegacyLayoutWarning,
    SupervisorAirflowConfiguration,
    SupervisorSSHAirflowConfiguration,
)

PROGRAM = {"program": {"feed": {"command": "python feed.py"}}}


def load(cls: type[SupervisorAirflowConfiguration], **data: Any) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfg = cls.model_validate({**PROGRAM, **data})
    return cfg, [str(w.message) for w in caught if w.category is LegacyLayoutWarning]


@pytest.mark.parametrize(
    ("key", "value", "path", "expected"),
    [
        ("port", "127.0.0.1:9001", ("airflow", "port"), "127.0.0.1:9001"),
        ("port", 9001, ("airflow", "port"), "*:9001"),  # the seed's meaning of a bare number: all interfaces
        ("rpcpath", "/RPC3", ("airflow", "rpcpath"), "/RPC3"),
        ("startsecs", 5, ("airflow", "startsecs"), 5),
        ("startretries", 2, ("airflow", "startretries"), 2),
        ("exitcodes", "0,3", ("airflow", "exitcodes"), [0, 3]),
        ("stopsignal", "INT", ("airflow", "stopsignal"), "INT"),
        ("stopwaitsecs", 7, ("airflow", "stopwaitsecs"), 7),
        ("stopasgroup", False, ("airflow", "stopasgroup"), False),
        ("killasgroup", True, ("airflow", "killasgroup"), True),  # false needs stopasgroup false too
        ("host", "supervisor.internal", ("airflow", "host"), "supervisor.internal"),
    ],
)
def test_top_level_keys_move_under_airflow_with_a_warning(
    key: str, value: Any, path: tuple[str, str], expected: Any
) -> None:
    cfg, warned = load(SupervisorAirflowConfiguration, **{key: value})
    assert getattr(getattr(cfg, path[0]), path[1]) == expected
    new = ".".join(path)
    assert warned == [f"airflow-supervisor layout: `{key}` is read as `{new}`; write `{new}` instead"]


def test_password_moves_with_its_username_and_never_appears_in_messages() -> None:
    cfg, warned = load(SupervisorAirflowConfiguration, username="svc", password="hunter2")
    assert cfg.airflow.password.get_secret_value() == "hunter2"
    assert not any("hunter2" in message for message in warned)
    with pytest.raises(ValueError, match="supervisord refuses a password without a username") as info:
        load(SupervisorAirflowConfiguration, password="hunter2")
    assert "hunter2" not in str(info.value)


def test_a_key_given_in_both_places_must_agree() -> None:
    cfg, _ = load(SupervisorAirflowConfiguration, port="127.0.0.1:9001", airflow={"port": "127.0.0.1:9001"})
    assert cfg.airflow.port == "127.0.0.1:9001"
    with pytest.raises(ValueError, match=r"`port` .* and `airflow\.port` are both set, to different values"):
        load(SupervisorAirflowConfiguration, port="127.0.0.1:9001", airflow={"port": "127.0.0.1:9002"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"protocol": "http"}, "`protocol` is dropped: the client speaks HTTP"),
        ({"rpcinterface_factory": "supervisor.rpcinterface:make_main_rpcinterface"}, "is always configured"),
        ({"local_or_remote": "local"}, "`local_or_remote` is dropped: the configuration class says"),
        ({"command_timeout": 60}, "`command_timeout` is dropped: each step has its own deadline"),
        ({"forward_logs": True}, "`forward_logs` is dropped: the last `log_tail_bytes`"),
        ({"log_chunk_size": 1024}, "`log_chunk_size` is dropped: see `log_tail_bytes`"),
    ],
)
def test_keys_without_a_place_are_dropped_saying_what_replaces_them(data: dict[str, Any], message: str) -> None:
    cfg, warned = load(SupervisorAirflowConfiguration, **data)
    assert len(warned) == 1
    assert message in warned[0]
    assert cfg == SupervisorAirflowConfiguration.model_validate(PROGRAM)


def test_a_custom_rpcinterface_factory_moves_to_its_section() -> None:
    cfg, warned = load(SupervisorAirflowConfiguration, rpcinterface_factory="mypkg.rpc:make")
    assert cfg.rpcinterface["supervisor"].rpcinterface_factory == "mypkg.rpc:make"
    assert "rpcinterface.supervisor.rpcinterface_factory" in warned[0]


@pytest.mark.parametrize(
    ("cls", "data", "message"),
    [
        (SupervisorAirflowConfiguration, {"protocol": "https"}, "supervisord's XML-RPC speaks http only"),
        (SupervisorAirflowConfiguration, {"local_or_remote": "remote"}, "does not match this local configuration"),
        (SupervisorSSHAirflowConfiguration, {"local_or_remote": "local"}, "does not match this remote configuration"),
        (
            SupervisorAirflowConfiguration,
            {"ssh_operator_args": {"cmd_timeout": 5}},
            "ssh_operator_args\n  Extra inputs",
        ),
    ],
)
def test_values_that_would_change_meaning_are_refused(
    cls: type[SupervisorAirflowConfiguration], data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        load(cls, **data)


def test_ssh_layout_moves_host_and_ssh_operator_args() -> None:
    cfg, warned = load(
        SupervisorSSHAirflowConfiguration,
        host="feed-1.internal",
        command_prefix="source venv/bin/activate &&",
        ssh_operator_args={
            "ssh_conn_id": "feed_host",
            "conn_timeout": 20,
            "cmd_timeout": 63,
            "environment": {"MODE": "prod"},
            "get_pty": True,
            "retries": 2,
        },
    )
    assert (cfg.ssh.host, cfg.ssh.ssh_conn_id, cfg.ssh.connect_timeout) == ("feed-1.internal", "feed_host", 20)
    assert cfg.command_prefix == "source venv/bin/activate &&"  # a field here too: stays
    assert cfg.supervisord.environment == {"MODE": "prod"}
    assert "`host` is read as `ssh.host`" in warned[0]
    expected = {
        "ssh_operator_args.ssh_conn_id": "is read as `ssh.ssh_conn_id`",
        "ssh_operator_args.conn_timeout": "is read as `ssh.connect_timeout`",
        "ssh_operator_args.cmd_timeout": "is dropped: each remote command has its own deadline",
        "ssh_operator_args.environment": "is read as `supervisord.environment`",
        "ssh_operator_args.get_pty": "is dropped: remote commands never need a terminal",
        "ssh_operator_args.retries": "is dropped: pass Airflow task arguments to Supervisor(...)",
    }
    for key, text in expected.items():
        assert any(f"`{key}` {text}" in message for message in warned), (key, warned)


def test_older_top_level_ssh_keys_move_too() -> None:
    cfg, warned = load(SupervisorSSHAirflowConfiguration, remote_host="feed-2", ssh_conn_id="feed", cmd_timeout=60)
    assert (cfg.ssh.host, cfg.ssh.ssh_conn_id) == ("feed-2", "feed")
    assert len(warned) == 3


def test_ssh_job_without_a_host_loads_and_new_layout_is_silent() -> None:
    cfg, warned = load(SupervisorSSHAirflowConfiguration, working_dir="/srv/feed", ssh={"username": "svc"})
    assert cfg.ssh.host is None
    assert warned == []
    with pytest.raises(ValueError, match=r"no host to run supervisord on"):
        cfg.ssh.require_target()


def test_loading_a_seed_file_reports_through_configuration_error() -> None:
    text = "program: {feed: {command: x}}\nprotocol: https\npassword: hunter2\nusername: svc\n"
    with pytest.raises(ConfigurationError, match="protocol: supervisord's XML-RPC speaks http only") as info:
        SupervisorAirflowConfiguration.load(text)
    assert "hunter2" not in str(info.value)
