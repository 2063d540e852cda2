"""``SupervisorClient``: supervisord's XML-RPC API as typed async methods.

Use it as an async context manager::

    async with SupervisorClient.from_unix_socket("/run/app/supervisor.sock") as client:
        for info in await client.get_all_process_info():
            print(info.full_name, info.state.name)

Every call opens its own connection (a unix socket, TCP, or one channel of the pooled SSH connection;
see ``transports``) and closes it with the answer, so a client holds nothing between calls and any
number of calls may run concurrently. Every call has a total deadline: ``connect_timeout`` seconds to
get a connection (waiting for a free slot and, over SSH, for the pooled connection included), then
``read_timeout`` seconds for the whole answer -- a server that answers slowly, drips bytes or never
answers fails with ``SupervisorTimeoutError`` after at most ``connect_timeout + read_timeout``.
Answers larger than ``max_response_bytes`` are cut off while streaming. A cancelled call closes its
connection at once.
"""

from __future__ import annotations

import asyncio
import base64
import signal as _signal
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Unpack
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, SecretStr, ValidationError

from ..errors import (
    SupervisorConnectionError,
    SupervisorError,
    SupervisorFault,
    SupervisorProtocolError,
    SupervisorTimeoutError,
)
from .http import HTTPExchange, post
from .models import LogTail, ProcessInfo, ProcessStatus, ReloadResult, SupervisorState
from .transports import SSHTransport, TCPTransport, Transport, UnixSocketTransport
from .xmlrpc import decode_response_async, encode_request

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from types import TracebackType

    from ..config.endpoint import XmlRpcEndpoint
    from ..config.ssh import SSHConfiguration
    from ..ssh import SSHConnectionPool

__all__ = ("DEFAULT_MAX_RESPONSE_BYTES", "ClientOptions", "SupervisorClient")

#: Default cap on the size of one response body: 16 MiB.
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024

M = TypeVar("M", bound=BaseModel)
Call = tuple[Any, ...]


class ClientOptions(TypedDict, total=False):
    """Options every constructor accepts (see ``SupervisorClient``)."""

    username: str | None
    password: str | SecretStr | None
    connect_timeout: float
    read_timeout: float
    max_response_bytes: int


def _signal_name(sig: str | int | _signal.Signals) -> str:
    if isinstance(sig, _signal.Signals):
        return sig.name.removeprefix("SIG")
    return str(sig)


class SupervisorClient:
    """Async client of one supervisord's XML-RPC interface.

    Build it with ``from_endpoint``, ``from_config``, ``from_url``, ``from_unix_socket`` or ``from_ssh``.

    :param transport: how to reach supervisord.
    :param username: HTTP basic-auth user (supervisord's ``username``), or None.
    :param password: HTTP basic-auth password; never logged nor put in messages.
    :param connect_timeout: seconds to get a connection for a call: a free slot (see ``transports``), the
        connect itself, and over SSH the pooled SSH connection if it must be opened, and the channel. Default 10.
    :param read_timeout: seconds from sending the request to the end of the answer, however the server
        sends it. Default 60 (``startProcess``/``stopProcess`` with ``wait=True`` answer only when done).
        Per-call override: the ``read_timeout`` argument of ``call`` and of the waiting methods.
    :param max_response_bytes: largest accepted response body, in bytes. Default 16 MiB.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        username: str | None = None,
        password: str | SecretStr | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("connect_timeout and read_timeout must be positive (seconds)")
        if max_response_bytes <= 0:
            raise ValueError("max_response_bytes must be positive")
        self.transport = transport
        self.username = username
        secret = password.get_secret_value() if isinstance(password, SecretStr) else password
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.max_response_bytes = int(max_response_bytes)
        self._where = transport.describe()
        self._headers = [("Host", transport.host_header), ("Content-Type", "text/xml")]
        if username:  # supervisord checks basic auth only when it has a username configured
            token = base64.b64encode(f"{username}:{secret or ''}".encode()).decode("ascii")
            self._headers.append(("Authorization", f"Basic {token}"))
        self._head: tuple[int, Any] = (-1, None)  # (body length, request head) of the last call: polls repeat it

    # -- constructors --------------------------------------------------------------------------------
    @classmethod
    def from_endpoint(
        cls, endpoint: XmlRpcEndpoint, *, pool: SSHConnectionPool | None = None, **options: Unpack[ClientOptions]
    ) -> SupervisorClient:
        """A client for an ``XmlRpcEndpoint`` (unix socket or TCP; through SSH when ``endpoint.ssh`` is set).

        Credentials are the endpoint's ``username``/``password`` unless given in ``options``;
        ``endpoint.conn_id`` is not read here (``hooks.SupervisorHook`` resolves it first).

        :param pool: SSH connection pool for an SSH endpoint; default: the running event loop's.
        """
        options.setdefault("username", endpoint.username)
        options.setdefault("password", endpoint.password)
        socket_path = str(endpoint.unix_socket) if endpoint.unix_socket is not None else None
        if endpoint.ssh is not None:
            return cls.from_ssh(
                endpoint.ssh,
                unix_socket=socket_path,
                host=endpoint.host,
                port=endpoint.port,
                rpcpath=endpoint.rpcpath,
                pool=pool,
                **options,
            )
        if socket_path is not None:
            return cls.from_unix_socket(socket_path, rpcpath=endpoint.rpcpath, **options)
        return cls(TCPTransport(endpoint.host, int(endpoint.port or 0), endpoint.rpcpath), **options)

    @classmethod
    def from_config(cls, cfg: Any, **options: Unpack[ClientOptions]) -> SupervisorClient:
        """A client for a configuration object with an ``xmlrpc_endpoint()`` method
        (``SupervisorAirflowConfiguration`` and its SSH variant)."""
        return cls.from_endpoint(cfg.xmlrpc_endpoint(), **options)

    @classmethod
    def from_url(cls, url: str, **options: Unpack[ClientOptions]) -> SupervisorClient:
        """A client for ``http://host:port[/RPC2]`` or ``unix:///path/to/supervisor.sock``
        (supervisorctl's ``serverurl`` forms). Credentials in the URL (``http://user:pw@host``) are accepted.
        """
        parsed = urlsplit(url)
        if parsed.scheme == "unix":
            return cls.from_unix_socket(unquote(parsed.path), **options)
        try:
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
        except ValueError:
            port = 0
        if parsed.scheme not in ("http", "https") or not parsed.hostname or not port:
            shown = f"{parsed.scheme}://{parsed.hostname or ''}{parsed.path}"  # never the password
            raise ValueError(f"unsupported supervisord URL {shown}: use http://host:port or unix:///path")
        if parsed.username is not None:
            options.setdefault("username", unquote(parsed.username))
        if parsed.password is not None:
            options.setdefault("password", unquote(parsed.password))
        rpcpath = parsed.path if parsed.path not in ("", "/") else "/RPC2"
        return cls(TCPTransport(parsed.hostname, port, rpcpath, scheme=parsed.scheme), **options)

    @classmethod
    def from_unix_socket(
        cls, path: str | Path, *, rpcpath: str = "/RPC2", **options: Unpack[ClientOptions]
    ) -> SupervisorClient:
        """A client for supervisord's ``unix_http_server`` socket at ``path``."""
        return cls(UnixSocketTransport(str(path), rpcpath), **options)

    @classmethod
    def from_ssh(
        cls,
        ssh: SSHConfiguration,
        *,
        unix_socket: str | Path | None = None,
        port: int | None = None,
        host: str = "127.0.0.1",
        rpcpath: str = "/RPC2",
        pool: SSHConnectionPool | None = None,
        **options: Unpack[ClientOptions],
    ) -> SupervisorClient:
        """A client for a supervisord on another host, through the pooled SSH connection for ``ssh``.

        :param unix_socket: path of supervisord's socket on the remote host; or
        :param port: its TCP port, on ``host`` as seen from the remote host (default ``127.0.0.1``).
        :param pool: SSH connection pool; default: the running event loop's (``ssh.get_pool()``).
        """
        transport = SSHTransport(
            ssh,
            unix_socket=str(unix_socket) if unix_socket is not None else None,
            host=host,
            port=port,
            rpcpath=rpcpath,
            pool=pool,
        )
        return cls(transport, **options)

    # -- lifecycle -----------------------------------------------------------------------------------
    def describe(self) -> str:
        """The address, without secrets."""
        return self._where

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._where!r})"

    async def __aenter__(self) -> SupervisorClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Release the lease on the pooled SSH connection (nothing else is held between calls). Idempotent;
        the client can be used again afterwards."""
        await self.transport.close()

    # -- the call machinery --------------------------------------------------------------------------
    async def _exchange(self, method: str, body: bytes, read_timeout: float) -> bytes:
        """POST ``body`` on a new connection; the answer's body. Bounded by ``connect_timeout + read_timeout``."""
        transport = self.transport
        connected = False
        try:
            async with asyncio.timeout(self.connect_timeout) as deadline, transport.slots():
                # built only now: a call waiting for a slot holds as little as possible
                exchange = HTTPExchange(
                    method,
                    self._where,
                    max_body=self.max_response_bytes,
                    quickack=transport.quickack,
                    username=self.username,
                )
                length, head = self._head
                if length != len(body):
                    self._head = len(body), (head := post(transport.rpcpath, self._headers, len(body)))
                answered = exchange.done
                stream = await transport.open(exchange)
                connected = True
                deadline.reschedule(asyncio.get_running_loop().time() + read_timeout)
                try:
                    stream.write(exchange.frame(head, body))
                    return await answered
                finally:
                    if not deadline.expired():
                        deadline.reschedule(None)  # the answer is in: closing must not turn it into a timeout
                    if not answered.done() or answered.cancelled() or answered.exception() is not None:
                        answered.cancel()  # what the aborted connection reports now is nobody's business
                        stream.abort()
                    else:
                        stream.close()
                    # a closed socket is released in the next loop step: keep the slot until then, so open
                    # descriptors never exceed the limit
                    await asyncio.sleep(0)
        except TimeoutError:
            if not connected:
                raise SupervisorTimeoutError(
                    f"{method}: cannot connect to {self._where} within {self.connect_timeout:g} s"
                ) from None
            raise SupervisorTimeoutError(
                f"{method}: no complete answer from {self._where} within {read_timeout:g} s"
            ) from None
        except SupervisorConnectionError as exc:
            better = transport.explain(exc) if connected else None  # the connection broke during the call
            if better:
                raise SupervisorConnectionError(f"{method}: {self._where}: {better}") from None
            raise
        except SupervisorError:
            raise
        except Exception as exc:  # opening the connection or channel failed: OSError, asyncssh.Error
            reason = transport.explain(exc) or f"{type(exc).__name__}: {exc}"
            raise SupervisorConnectionError(f"{method}: cannot connect to {self._where}: {reason}") from None

    async def call(self, method: str, *params: Any, read_timeout: float | None = None) -> Any:
        """Call any XML-RPC ``method`` (e.g. ``"supervisor.getState"``) and return its decoded value.

        :param read_timeout: seconds for the whole answer of this call; default the client's ``read_timeout``.
        :raises SupervisorFault: (its subclass for the code) when supervisord answers with a fault.
        :raises SupervisorTransportError: (a subclass) when there is no usable answer in time.
        """
        data = await self._exchange(method, encode_request(method, params), read_timeout or self.read_timeout)
        return await decode_response_async(data, method, self._where)

    def _typed(self, model: type[M], value: Any, method: str) -> M:
        try:
            return model.model_validate(value)
        except ValidationError as exc:
            raise SupervisorProtocolError(
                f"{method}: unexpected answer from {self.describe()}: {exc.errors(include_url=False)[:3]}"
            ) from None

    def _typed_list(self, model: type[M], value: Any, method: str) -> list[M]:
        if not isinstance(value, list):
            raise SupervisorProtocolError(
                f"{method}: expected a list from {self.describe()}, got {type(value).__name__}"
            )
        return [self._typed(model, item, method) for item in value]

    async def multicall(self, calls: Sequence[Call]) -> list[Any]:
        """Run several calls in one round trip (``system.multicall``), in order.

        :param calls: tuples ``(method, *params)``, e.g. ``[("supervisor.getState",),
            ("supervisor.getProcessInfo", "web")]``.
        :returns: one entry per call: its raw decoded value, or a ``SupervisorFault`` instance (the subclass
            for the code) for a call that failed. Faults are returned, not raised.
        """
        methods = [str(call[0]) for call in calls]
        payload = [
            {"methodName": method, "params": list(call[1:])} for method, call in zip(methods, calls, strict=True)
        ]
        results = await self.call("system.multicall", payload)
        if not isinstance(results, list) or len(results) != len(payload):
            raise SupervisorProtocolError(f"system.multicall: {self.describe()} answered {len(payload)} calls wrongly")
        where = self.describe()
        out: list[Any] = []
        for method, result in zip(methods, results, strict=True):
            if isinstance(result, dict) and set(result) == {"faultCode", "faultString"}:
                out.append(
                    SupervisorFault.from_code(int(result["faultCode"]), str(result["faultString"]), method, where)
                )
            else:
                out.append(result)
        return out

    # -- supervisord: status and control -------------------------------------------------------------
    async def get_api_version(self) -> str:
        """Version of supervisord's XML-RPC API (``supervisor.getAPIVersion``), e.g. ``"3.0"``."""
        return str(await self.call("supervisor.getAPIVersion"))

    async def get_supervisor_version(self) -> str:
        """supervisord's version (``supervisor.getSupervisorVersion``), e.g. ``"4.3.0"``."""
        return str(await self.call("supervisor.getSupervisorVersion"))

    async def get_identification(self) -> str:
        """supervisord's ``identifier`` option (``supervisor.getIdentification``); default ``"supervisor"``."""
        return str(await self.call("supervisor.getIdentification"))

    async def get_state(self) -> SupervisorState:
        """supervisord's own state (``supervisor.getState``): RUNNING, RESTARTING, SHUTDOWN or FATAL."""
        return self._typed(SupervisorState, await self.call("supervisor.getState"), "supervisor.getState")

    async def get_pid(self) -> int:
        """PID of supervisord (``supervisor.getPID``)."""
        return int(await self.call("supervisor.getPID"))

    async def read_log(self, offset: int, length: int) -> str:
        """Read ``length`` bytes of supervisord's main log from byte ``offset`` (``supervisor.readLog``).

        A negative ``offset`` counts from the end (with ``length`` 0). Raises ``NoFileFault`` without a log file.
        """
        return str(await self.call("supervisor.readLog", int(offset), int(length)))

    async def clear_log(self) -> bool:
        """Clear supervisord's main log (``supervisor.clearLog``). True unless it raises."""
        return bool(await self.call("supervisor.clearLog"))

    async def shutdown(self) -> bool:
        """Shut supervisord down (``supervisor.shutdown``); it stops every program first. Returns at once."""
        return bool(await self.call("supervisor.shutdown"))

    async def restart(self) -> bool:
        """Restart supervisord in place (``supervisor.restart``): stop all programs, re-read the
        configuration, start again. Returns at once; calls fail briefly while it restarts."""
        return bool(await self.call("supervisor.restart"))

    async def reload_config(self) -> ReloadResult:
        """Re-read the configuration file (``supervisor.reloadConfig``) without applying it.

        Apply with ``add_process_group``/``remove_process_group`` (like ``supervisorctl update``).
        Raises ``CantRereadFault`` if the file is invalid.
        """
        value = await self.call("supervisor.reloadConfig")
        try:
            added, changed, removed = value[0]
        except (TypeError, ValueError, IndexError, KeyError):
            raise SupervisorProtocolError(f"supervisor.reloadConfig: unexpected answer {value!r:.200}") from None
        return ReloadResult(added=added, changed=changed, removed=removed)

    async def add_process_group(self, name: str) -> bool:
        """Activate the group ``name`` from the re-read configuration (``supervisor.addProcessGroup``).

        Raises ``AlreadyAddedFault`` if active, ``BadNameFault`` if not in the configuration.
        """
        return bool(await self.call("supervisor.addProcessGroup", name))

    async def remove_process_group(self, name: str) -> bool:
        """Remove the stopped group ``name`` (``supervisor.removeProcessGroup``).

        Raises ``StillRunningFault`` while a process of it runs, ``BadNameFault`` if unknown.
        """
        return bool(await self.call("supervisor.removeProcessGroup", name))

    # -- processes ----------------------------------------------------------------------------------
    async def get_process_info(self, name: str) -> ProcessInfo:
        """State of the process ``name`` (``name`` or ``group:name``) (``supervisor.getProcessInfo``).

        Raises ``BadNameFault`` if there is no such process.
        """
        value = await self.call("supervisor.getProcessInfo", name)
        return self._typed(ProcessInfo, value, "supervisor.getProcessInfo")

    async def get_all_process_info(self) -> list[ProcessInfo]:
        """State of every process, sorted by group and name (``supervisor.getAllProcessInfo``)."""
        value = await self.call("supervisor.getAllProcessInfo")
        return self._typed_list(ProcessInfo, value, "supervisor.getAllProcessInfo")

    async def get_all_config_info(self) -> list[dict[str, Any]]:
        """Configuration of every process, as supervisord reports it (``supervisor.getAllConfigInfo``)."""
        return list(await self.call("supervisor.getAllConfigInfo"))

    async def start_process(self, name: str, wait: bool = True, *, read_timeout: float | None = None) -> bool:
        """Start the process ``name`` (``supervisor.startProcess``).

        :param wait: answer only once it is RUNNING (after its ``startsecs``) or failed. Default True.
        :param read_timeout: seconds to wait for the answer; default the client's ``read_timeout``.
        :raises AlreadyStartedFault: it runs already.
        :raises SpawnErrorFault: it could not be spawned. ``AbnormalTerminationFault``: it exited too soon.
        :raises BadNameFault: no such process.
        """
        return bool(await self.call("supervisor.startProcess", name, bool(wait), read_timeout=read_timeout))

    async def start_process_group(
        self, name: str, wait: bool = True, *, read_timeout: float | None = None
    ) -> list[ProcessStatus]:
        """Start every process of group ``name`` (``supervisor.startProcessGroup``); per-process results."""
        value = await self.call("supervisor.startProcessGroup", name, bool(wait), read_timeout=read_timeout)
        return self._typed_list(ProcessStatus, value, "supervisor.startProcessGroup")

    async def start_all_processes(self, wait: bool = True, *, read_timeout: float | None = None) -> list[ProcessStatus]:
        """Start every stopped process (``supervisor.startAllProcesses``); per-process results."""
        value = await self.call("supervisor.startAllProcesses", bool(wait), read_timeout=read_timeout)
        return self._typed_list(ProcessStatus, value, "supervisor.startAllProcesses")

    async def stop_process(self, name: str, wait: bool = True, *, read_timeout: float | None = None) -> bool:
        """Stop the process ``name`` (``supervisor.stopProcess``).

        :param wait: answer only once it stopped (up to its ``stopwaitsecs``, then SIGKILL). Default True.
        :param read_timeout: seconds to wait for the answer; default the client's ``read_timeout``.
        :raises NotRunningFault: it is not running. ``BadNameFault``: no such process.
        """
        return bool(await self.call("supervisor.stopProcess", name, bool(wait), read_timeout=read_timeout))

    async def stop_process_group(
        self, name: str, wait: bool = True, *, read_timeout: float | None = None
    ) -> list[ProcessStatus]:
        """Stop every process of group ``name`` (``supervisor.stopProcessGroup``); per-process results."""
        value = await self.call("supervisor.stopProcessGroup", name, bool(wait), read_timeout=read_timeout)
        return self._typed_list(ProcessStatus, value, "supervisor.stopProcessGroup")

    async def stop_all_processes(self, wait: bool = True, *, read_timeout: float | None = None) -> list[ProcessStatus]:
        """Stop every running process (``supervisor.stopAllProcesses``); per-process results."""
        value = await self.call("supervisor.stopAllProcesses", bool(wait), read_timeout=read_timeout)
        return self._typed_list(ProcessStatus, value, "supervisor.stopAllProcesses")

    async def signal_process(self, name: str, signal: str | int | _signal.Signals) -> bool:
        """Send ``signal`` to the process ``name`` (``supervisor.signalProcess``).

        ``signal`` is a name (``"HUP"``), a number (``1``) or a ``signal.Signals`` (``signal.SIGHUP``).
        Raises ``BadSignalFault`` for an unknown signal, ``NotRunningFault`` if it does not run.
        """
        return bool(await self.call("supervisor.signalProcess", name, _signal_name(signal)))

    async def signal_process_group(self, name: str, signal: str | int | _signal.Signals) -> list[ProcessStatus]:
        """Send ``signal`` to every process of group ``name`` (``supervisor.signalProcessGroup``)."""
        value = await self.call("supervisor.signalProcessGroup", name, _signal_name(signal))
        return self._typed_list(ProcessStatus, value, "supervisor.signalProcessGroup")

    async def signal_all_processes(self, signal: str | int | _signal.Signals) -> list[ProcessStatus]:
        """Send ``signal`` to every running process (``supervisor.signalAllProcesses``)."""
        value = await self.call("supervisor.signalAllProcesses", _signal_name(signal))
        return self._typed_list(ProcessStatus, value, "supervisor.signalAllProcesses")

    async def send_process_stdin(self, name: str, chars: str | bytes) -> bool:
        """Write ``chars`` to the stdin of the process ``name`` (``supervisor.sendProcessStdin``).

        ``bytes`` must be UTF-8 (XML-RPC strings are text). Raises ``NotRunningFault`` if it does not run,
        ``NoFileFault`` if it closed its stdin.
        """
        text = chars.decode("utf-8") if isinstance(chars, bytes) else chars
        return bool(await self.call("supervisor.sendProcessStdin", name, text))

    async def send_remote_comm_event(self, type: str, data: str) -> bool:
        """Emit a ``REMOTE_COMMUNICATION`` event to event listeners (``supervisor.sendRemoteCommEvent``)."""
        return bool(await self.call("supervisor.sendRemoteCommEvent", type, data))

    # -- logs -----------------------------------------------------------------------------------------
    async def read_process_stdout_log(self, name: str, offset: int, length: int) -> str:
        """Read ``length`` bytes of the process' stdout log from byte ``offset``
        (``supervisor.readProcessStdoutLog``). Negative ``offset`` (with ``length`` 0) reads the last bytes."""
        return str(await self.call("supervisor.readProcessStdoutLog", name, int(offset), int(length)))

    async def read_process_stderr_log(self, name: str, offset: int, length: int) -> str:
        """Like ``read_process_stdout_log`` for stderr (``supervisor.readProcessStderrLog``)."""
        return str(await self.call("supervisor.readProcessStderrLog", name, int(offset), int(length)))

    async def tail_process_stdout_log(self, name: str, offset: int, length: int) -> LogTail:
        """Up to ``length`` bytes of the end of the process' stdout log, starting at byte ``offset`` at the
        earliest (``supervisor.tailProcessStdoutLog``). ``offset=0`` gives the last ``length`` bytes; pass
        the returned ``offset`` back to follow the log."""
        return self._tail(await self.call("supervisor.tailProcessStdoutLog", name, int(offset), int(length)))

    async def tail_process_stderr_log(self, name: str, offset: int, length: int) -> LogTail:
        """Like ``tail_process_stdout_log`` for stderr (``supervisor.tailProcessStderrLog``)."""
        return self._tail(await self.call("supervisor.tailProcessStderrLog", name, int(offset), int(length)))

    def _tail(self, value: Any) -> LogTail:
        try:
            text, offset, overflow = value
        except (TypeError, ValueError):
            raise SupervisorProtocolError(f"tail: unexpected answer {value!r:.200} from {self.describe()}") from None
        return self._typed(LogTail, {"text": text, "offset": offset, "overflow": overflow}, "tail")

    async def clear_process_logs(self, name: str) -> bool:
        """Empty the stdout and stderr logs of the process ``name`` (``supervisor.clearProcessLogs``)."""
        return bool(await self.call("supervisor.clearProcessLogs", name))

    async def clear_all_process_logs(self) -> list[ProcessStatus]:
        """Empty every process' logs (``supervisor.clearAllProcessLogs``); per-process results."""
        value = await self.call("supervisor.clearAllProcessLogs")
        return self._typed_list(ProcessStatus, value, "supervisor.clearAllProcessLogs")

    # -- introspection --------------------------------------------------------------------------------
    async def list_methods(self) -> list[str]:
        """Every XML-RPC method the server offers (``system.listMethods``)."""
        return [str(name) for name in await self.call("system.listMethods")]
