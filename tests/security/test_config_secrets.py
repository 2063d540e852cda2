"""Passwords in the configuration: hashed where supervisord takes a hash, every rendered file 0600, never echoed
in an error, never silently dropped."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError
from supervisor.xmlrpc import SupervisorTransport

from airflow_supervisor_async.config import (
    AirflowConfiguration,
    ConfigurationError,
    InetHttpServerConfiguration,
    SupervisorAirflowConfiguration,
    SupervisorConfiguration,
    SupervisorctlConfiguration,
    UnixHttpServerConfiguration,
)
from tests.fixtures.jobs import short_tempdir

SECRET = "Pa%w0rd;#\x7f x"
SHA = "{SHA}" + hashlib.sha1(SECRET.encode(), usedforsecurity=False).hexdigest()


def test_server_section_passwords_are_hashed_at_once() -> None:
    for section in (
        UnixHttpServerConfiguration(file="/tmp/s.sock", username="ops", password=SECRET),
        InetHttpServerConfiguration(port=9001, username="ops", password=SECRET),
    ):
        assert section.password == SHA
        assert SECRET not in repr(section)
    assert InetHttpServerConfiguration(port=9001, username="ops", password=SHA).password == SHA  # kept
    assert UnixHttpServerConfiguration(file="/s", username="u", password=123456).password.startswith("{SHA}")
    with pytest.raises(ValidationError, match="40 hex digits"):
        InetHttpServerConfiguration(port=9001, username="ops", password="{SHA}abc")


def test_supervisorctl_password_is_cleartext_but_never_a_digest() -> None:
    assert SupervisorctlConfiguration(username="ops", password="pw").password == "pw"
    with pytest.raises(ValidationError, match="can never log in"):
        SupervisorctlConfiguration(username="ops", password=SHA)


def test_hashed_section_password_logs_in_on_a_real_supervisord() -> None:
    """supervisord accepts the digest we write: the cleartext logs in, a wrong password gets 401."""
    wd = short_tempdir("asa-sec-")
    cfg = SupervisorAirflowConfiguration(
        working_dir=wd / "job",
        unix_http_server={"username": "ops", "password": SECRET},
        program={"sleeper": {"command": "sleep 30"}},
    )
    conf = cfg.write()
    text = conf.read_text()
    assert SECRET not in text
    assert "Pa%w0rd" not in text
    assert f"password={SHA}" in text
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("supervisord")), "-n", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def state(password: str) -> Any:
            transport = SupervisorTransport("ops", password, f"unix://{cfg.resolved_unix_socket}")
            return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor.getState()

        deadline = time.monotonic() + 15
        while not cfg.resolved_unix_socket.exists():
            assert time.monotonic() < deadline, "supervisord did not create its socket"
            time.sleep(0.05)
        while True:
            try:
                assert state(SECRET)["statename"] == "RUNNING"
                break
            except (OSError, xmlrpc.client.Fault):
                assert time.monotonic() < deadline
                time.sleep(0.05)
        with pytest.raises(xmlrpc.client.ProtocolError) as refused:
            state("wrong")
        assert refused.value.errcode == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        subprocess.run(["rm", "-rf", str(wd)], check=False)


def test_every_rendered_config_is_private(tmp_path: Path) -> None:
    cfg = SupervisorAirflowConfiguration(working_dir=tmp_path / "wd", program={"a": {"command": "true"}})
    assert cfg.config_file_mode() == 0o600  # no password at all: still 0600 (the file says what runs as you)
    path = cfg.write()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # the CLI's render -o too
    yaml = tmp_path / "job.yaml"
    yaml.write_text(json.dumps({"working_dir": str(tmp_path / "wd2"), "program": {"a": {"command": "true"}}}))
    out = tmp_path / "rendered.conf"
    cli = Path(sys.executable).with_name("airflow-supervisor-async")
    subprocess.run([str(cli), "render", str(yaml), "-o", str(out)], check=True, capture_output=True)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "options",
    [
        {"supervisorctl": {"username": "ops", "password": "Pa%w0rd"}},  # the '%' check
        {"supervisorctl": {"username": "ops", "password": "Pa\nw0rd"}},
        {"supervisorctl": {"username": "ops", "password": "Pa\x01w0rd"}},
        {"airflow": {"username": "ops", "password": ["Pa%w0rd"]}},
        {"airflow": {"password": "Pa%w0rd"}},  # password without username
        {"unix_http_server": {"username": "ops", "password": {"Pa%w0rd": 1}}},
        {"inet_http_server": {"port": 9001, "password": "Pa%w0rd"}},  # without username
        {"airflow": {"username": "ops", "password": "{SHA}Pa%w0rd"}},
    ],
)
def test_errors_never_repeat_a_secret(options: dict[str, Any]) -> None:
    data = {"working_dir": "/tmp/asa-s", "program": {"a": {"command": "true"}}, **options}
    with pytest.raises(ValidationError) as raw:  # what a DAG file's import error shows
        SupervisorAirflowConfiguration.model_validate(data)
    with pytest.raises(ConfigurationError) as loaded:  # what the CLI and load() show
        SupervisorAirflowConfiguration.load(json.dumps(data) + "\n")
    for text in (str(raw.value), str(loaded.value)):
        assert "Pa" not in text.replace("Path", "").replace("Password", "").replace("Pass", ""), text
        assert "password" in text.lower()  # the field is named
    with pytest.raises(ValidationError) as plain:
        SupervisorConfiguration.model_validate({k: v for k, v in options.items() if k != "airflow"} or {"x": 1})
    assert "Pa%w0rd" not in str(plain.value)


def test_airflow_password_is_never_a_digest_and_never_shown() -> None:
    cfg = SupervisorAirflowConfiguration(
        working_dir="/tmp/asa-s",
        airflow=AirflowConfiguration(username="ops", password=SECRET),
        program={"a": {"command": "true"}},
    )
    for shown in (repr(cfg), cfg.model_dump_json(), cfg.to_conf()):
        assert SECRET not in shown
    assert f"password={SHA}" in cfg.to_conf()
    with pytest.raises(ValidationError, match="not a '\\{SHA\\}' digest"):
        AirflowConfiguration(username="ops", password=SHA)


def test_no_silent_drop_of_half_credentials_from_a_connection() -> None:
    """Credentials read from xmlrpc_conn_id that lack a login are refused at render, not dropped."""
    cfg = SupervisorAirflowConfiguration(
        working_dir="/tmp/asa-s", airflow={"xmlrpc_conn_id": "rpc"}, program={"a": {"command": "true"}}
    )
    half = cfg.model_copy(update={"airflow": cfg.airflow.model_copy(update={"password": SecretStr("x")})})
    with pytest.raises(ValueError, match="the connection has no login"):
        half.to_conf()
    assert os.environ.get("AIRFLOW_CONN_RPC") is None
