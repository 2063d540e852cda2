"""Constructors, models, errors and the XML-RPC codec; the package imports without Airflow."""

from __future__ import annotations

import pickle
import subprocess
import sys
import xmlrpc.client
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from airflow_supervisor_async.client import (
    BadNameFault,
    NotRunningFault,
    ProcessInfo,
    ProcessState,
    SSHTransport,
    SupervisorClient,
    SupervisorConnectionError,
    SupervisorError,
    SupervisorFault,
    SupervisorProtocolError,
    TCPTransport,
    UnixSocketTransport,
)
from airflow_supervisor_async.client.errors import Faults
from airflow_supervisor_async.client.xmlrpc import decode_response, decode_response_async, encode_request
from airflow_supervisor_async.config.endpoint import XmlRpcEndpoint
from airflow_supervisor_async.config.ssh import SSHConfiguration

REPO = Path(__file__).resolve().parents[2]


def test_client_ssh_host_config_import_without_airflow() -> None:
    code = (
        "import sys; sys.modules['airflow'] = None\n"
        "import airflow_supervisor_async.client as c\n"
        "import airflow_supervisor_async.config, airflow_supervisor_async.host, airflow_supervisor_async.ssh\n"
        "import airflow_supervisor_async.hooks.ssh  # what the CLI uses: Airflow only when a connection is read\n"
        "assert c.SupervisorClient and c.get_pool\n"
        "assert not [m for m in sys.modules if m.startswith('airflow.')], 'airflow was imported'\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_constructors() -> None:
    tcp = SupervisorClient.from_url("http://127.0.0.1:9001")
    assert isinstance(tcp.transport, TCPTransport)
    assert tcp.transport.url == "http://127.0.0.1:9001/RPC2"
    assert tcp.describe() == "http://127.0.0.1:9001"
    custom = SupervisorClient.from_url("http://user:secret@[::1]:9002/custom", read_timeout=5)
    assert custom.transport.url == "http://[::1]:9002/custom"
    assert custom.username == "user"
    assert "secret" not in custom.describe() + repr(custom)
    assert custom.read_timeout == 5
    unix = SupervisorClient.from_url("unix:///run/x/supervisor.sock")
    assert isinstance(unix.transport, UnixSocketTransport)
    assert unix.describe() == "unix:///run/x/supervisor.sock"
    with pytest.raises(ValueError, match="unsupported supervisord URL"):
        SupervisorClient.from_url("ftp://u:hidden@host/")
    with pytest.raises(ValueError, match="positive"):
        SupervisorClient.from_url("http://127.0.0.1:9001", read_timeout=0)

    endpoint = XmlRpcEndpoint(port=9003, username="u", password="p")
    from_tcp = SupervisorClient.from_endpoint(endpoint)
    assert from_tcp.transport.url == "http://127.0.0.1:9003/RPC2"
    assert from_tcp.username == "u"
    assert ("Authorization", "Basic dTpw") in from_tcp._headers  # u:p
    from_unix = SupervisorClient.from_endpoint(XmlRpcEndpoint(unix_socket=Path("/tmp/s.sock"), rpcpath="/RPC3"))
    assert isinstance(from_unix.transport, UnixSocketTransport)
    assert from_unix.transport.rpcpath == "/RPC3"
    ssh = SSHConfiguration(host="remote.example", username="deploy")
    via_ssh = SupervisorClient.from_endpoint(XmlRpcEndpoint(unix_socket=Path("/srv/s.sock"), ssh=ssh))
    assert isinstance(via_ssh.transport, SSHTransport)
    assert via_ssh.describe() == "unix:///srv/s.sock via ssh://deploy@remote.example:22"
    via_ssh_tcp = SupervisorClient.from_ssh(ssh, port=9001)
    assert via_ssh_tcp.describe() == "http://127.0.0.1:9001 via ssh://deploy@remote.example:22"
    with pytest.raises(ValueError, match="exactly one"):
        SupervisorClient.from_ssh(ssh)

    class Config:
        def xmlrpc_endpoint(self) -> XmlRpcEndpoint:
            return endpoint

    from_config = SupervisorClient.from_config(Config(), connect_timeout=2)
    assert from_config.transport.url == "http://127.0.0.1:9003/RPC2"
    assert from_config.connect_timeout == 2


def test_process_state_helpers() -> None:
    running = {s for s in ProcessState if s.is_running}
    assert running == {ProcessState.STARTING, ProcessState.RUNNING, ProcessState.BACKOFF}
    assert {s for s in ProcessState if s.is_terminal_failure} == {ProcessState.FATAL, ProcessState.UNKNOWN}
    assert {s for s in ProcessState if s.is_terminal} == {ProcessState.STOPPED, ProcessState.EXITED, ProcessState.FATAL}
    assert ProcessState.STOPPING.is_signallable
    assert not ProcessState.STOPPING.is_running
    assert ProcessState(12345) is ProcessState.UNKNOWN  # a state code this client does not know

    from supervisor.states import ProcessStates

    assert {s.name: s.value for s in ProcessState} == {
        name: value for name, value in vars(ProcessStates).items() if name.isupper()
    }


def test_process_info_model() -> None:
    raw = {
        "name": "web_01",
        "group": "web",
        "description": "pid 10, uptime 0:00:05",
        "start": 100,
        "stop": 0,
        "now": 105,
        "state": 20,
        "statename": "RUNNING",
        "spawnerr": "",
        "exitstatus": 0,
        "logfile": "/l",
        "stdout_logfile": "/l",
        "stderr_logfile": "",
        "pid": 10,
        "added_in_a_future_version": True,
    }
    info = ProcessInfo.model_validate(raw)
    assert info.state is ProcessState.RUNNING
    assert info.full_name == "web:web_01"
    assert info.uptime == 5
    with pytest.raises(Exception, match="frozen"):
        info.pid = 3  # type: ignore[misc]


def test_errors_pickle_and_hierarchy() -> None:
    fault = SupervisorFault.from_code(Faults.NOT_RUNNING, "NOT_RUNNING: web", "supervisor.stopProcess", "unix:///s")
    assert isinstance(fault, NotRunningFault)
    assert fault.code == Faults.NOT_RUNNING
    copy = pickle.loads(pickle.dumps(fault))
    assert type(copy) is NotRunningFault
    assert (copy.code, copy.text, copy.method, copy.where) == (
        70,
        "NOT_RUNNING: web",
        "supervisor.stopProcess",
        "unix:///s",
    )
    assert str(copy) == "supervisor.stopProcess: NOT_RUNNING: web (fault 70 at unix:///s)"
    refused = SupervisorConnectionError("cannot connect to x")
    assert isinstance(refused, SupervisorError)
    assert isinstance(refused, ConnectionError)
    assert str(pickle.loads(pickle.dumps(refused))) == "cannot connect to x"
    protocol = pickle.loads(pickle.dumps(SupervisorProtocolError("bad", status=502)))
    assert (str(protocol), protocol.status) == ("bad", 502)


VALUES: list[Any] = [
    1,
    -2147483648,
    "plain",
    "",
    "a & b < c > 'd' \"e\"",
    "ünïcødé ✓",
    True,
    False,
    1.5,
    [],
    {},
    [1, "two", [3.0, {"four": [False]}]],
    {"name": "x", "nested": {"": ""}, "list": [{"a": 1}, {"b": 2}]},
    b"\x00\x01binary\xff",
    datetime(2024, 5, 6, 7, 8, 9),
    None,
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
async def test_decoder_agrees_with_stdlib(value: Any) -> None:
    body = xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode()
    expected = xmlrpc.client.loads(body, use_builtin_types=True)[0][0]
    assert decode_response(body, "m") == expected
    padded = body.replace(b"</methodResponse>", b" " * 300_000 + b"</methodResponse>")  # takes the sliced path
    assert await decode_response_async(padded, "m") == expected


def test_decoder_handles_pretty_printed_and_untyped_values() -> None:
    body = b"""<?xml version="1.0"?>
    <methodResponse>
      <params>
        <param>
          <value>
            <struct>
              <member><name>untyped</name><value>text</value></member>
              <member><name>i8</name><value><i8>9000000000</i8></value></member>
              <member><name>empty</name><value></value></member>
            </struct>
          </value>
        </param>
      </params>
    </methodResponse>"""
    assert decode_response(body, "m") == {"untyped": "text", "i8": 9000000000, "empty": ""}


def test_decoder_faults_and_garbage() -> None:
    fault = xmlrpc.client.dumps(xmlrpc.client.Fault(10, "BAD_NAME: x")).encode()
    with pytest.raises(BadNameFault):
        decode_response(fault, "supervisor.getProcessInfo")
    weird_fault = fault.replace(b"<int>10</int>", b"<string>ten</string>")
    with pytest.raises(SupervisorProtocolError):
        decode_response(weird_fault, "m")
    deep = b"<?xml version='1.0'?><methodResponse><params><param><value>" + b"<array><data><value>" * 5000
    deep += b"1" + b"</value></data></array>" * 5000 + b"</value></param></params></methodResponse>"
    with pytest.raises(SupervisorProtocolError, match="nested deeper than 100 levels"):
        decode_response(deep, "m")
    entity = b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><methodResponse/>"
    with pytest.raises(SupervisorProtocolError, match="DOCTYPE"):
        decode_response(entity, "m")


def test_encode_request() -> None:
    body = encode_request("supervisor.startProcess", ("web", True))
    assert xmlrpc.client.loads(body) == (("web", True), "supervisor.startProcess")
