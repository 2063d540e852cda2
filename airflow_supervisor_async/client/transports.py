"""How the HTTP client reaches supervisord: TCP, a unix socket, or an SSH tunnel.

Each transport hands the client an aiohttp connector and the request URL.

**TCP and the 40 ms trap.** supervisord (medusa) writes each HTTP response in several small sends
and leaves Nagle on. On a kept-alive TCP connection the client's kernel delays its ACK (it is in
"ping-pong" mode after the first exchanges), supervisord's kernel holds the next send until that ACK
comes, and every call costs ~43 ms (23 calls/s, measured). Two ways out, both measured on loopback
with 20 programs: a new connection per request (``Connection: close``; fresh sockets start in quick-ACK
mode): 0.9 ms/call; or keep the connection and set ``TCP_QUICKACK`` on our socket each time data
arrives, which makes the kernel ACK at once: 0.7 ms/call, no connection churn and no TIME_WAIT
sockets piling up under heavy polling. ``tcp_mode="auto"`` (the default) uses the second on Linux
and falls back to the first where ``TCP_QUICKACK`` does not exist. Unix sockets have neither Nagle
nor delayed ACKs: kept alive as is.

**SSH.** See ``SSHTransport``: the HTTP client talks to a private unix socket (in a fresh 0700 temp
directory) that asyncssh forwards, channel by channel, over the pooled SSH connection to the remote
supervisord's unix socket (or loopback port). No TCP port is ever opened on this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
from aiohttp.client_proto import ResponseHandler

if TYPE_CHECKING:
    from ..config.ssh import SSHConfiguration
    from .ssh_pool import SSHConnectionPool, SSHLease

__all__ = ("SSHTransport", "TCPTransport", "TcpMode", "Transport", "UnixSocketTransport")

TcpMode = Literal["auto", "quickack", "close"]
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


class Transport(ABC):
    """Where the HTTP requests go. One transport belongs to one client."""

    #: HTTP path of supervisord's XML-RPC handler.
    rpcpath: str = "/RPC2"

    @abstractmethod
    def describe(self) -> str:
        """Address for messages and logs, without secrets."""

    @property
    @abstractmethod
    def url(self) -> str:
        """The URL requests are posted to."""

    async def prepare(self) -> object:
        """Make the transport ready for a call; return a token that changes when connectors must be rebuilt.

        Called before every call: cheap when nothing changed. May raise ``SupervisorError`` subclasses.
        """
        return None

    @abstractmethod
    def connector(self, token: object, limit: int) -> aiohttp.BaseConnector:
        """A new aiohttp connector (created inside the running event loop) for ``token``."""

    async def explain_failure(self, exc: BaseException) -> str | None:
        """A better reason for a failed call than the HTTP library's, if the transport can find one."""
        return None

    async def close(self) -> None:  # noqa: B027 (optional hook: most transports hold nothing)
        """Release what the transport holds (pooled SSH connections)."""


class _QuickAckResponseHandler(ResponseHandler):
    """aiohttp's response protocol that ACKs every received segment at once (``TCP_QUICKACK``)."""

    _sock: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            self._sock = sock

    def data_received(self, data: bytes) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):  # the socket may be closing; ACK timing is only an optimisation
                self._sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        super().data_received(data)


def tcp_connector(limit: int, mode: TcpMode) -> aiohttp.TCPConnector:
    """A TCP connector that does not fall into the Nagle/delayed-ACK trap (see the module docstring)."""
    if mode == "auto":
        mode = "quickack" if _QUICKACK is not None else "close"
    if mode == "close":
        return aiohttp.TCPConnector(limit=limit, force_close=True)
    if _QUICKACK is None:
        raise ValueError("tcp_mode='quickack' needs TCP_QUICKACK (Linux)")
    connector = aiohttp.TCPConnector(limit=limit)
    if not hasattr(connector, "_factory"):  # aiohttp changed its internals: be correct rather than fast
        return aiohttp.TCPConnector(limit=limit, force_close=True)
    connector._factory = functools.partial(_QuickAckResponseHandler, loop=asyncio.get_running_loop())  # type: ignore[assignment]
    return connector


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class TCPTransport(Transport):
    """HTTP over TCP to supervisord's ``inet_http_server``.

    :param host: host name or address.
    :param port: TCP port.
    :param rpcpath: XML-RPC path. Default ``/RPC2``.
    :param scheme: ``http`` (supervisord has no TLS; ``https`` only behind a TLS proxy).
    :param tcp_mode: ``auto`` (default), ``quickack`` or ``close``; see the module docstring.
    """

    def __init__(
        self, host: str, port: int, rpcpath: str = "/RPC2", *, scheme: str = "http", tcp_mode: TcpMode = "auto"
    ) -> None:
        self.host = host
        self.port = int(port)
        self.rpcpath = rpcpath
        self.scheme = scheme
        self.tcp_mode: TcpMode = tcp_mode

    def describe(self) -> str:
        return f"{self.scheme}://{_host_for_url(self.host)}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.describe()}{self.rpcpath}"

    def connector(self, token: object, limit: int) -> aiohttp.BaseConnector:
        return tcp_connector(limit, self.tcp_mode)


class UnixSocketTransport(Transport):
    """HTTP over supervisord's ``unix_http_server`` socket.

    :param path: path of the socket.
    :param rpcpath: XML-RPC path. Default ``/RPC2``.
    """

    def __init__(self, path: str, rpcpath: str = "/RPC2") -> None:
        self.path = str(path)
        self.rpcpath = rpcpath

    def describe(self) -> str:
        return f"unix://{self.path}"

    @property
    def url(self) -> str:
        return f"http://localhost{self.rpcpath}"

    def connector(self, token: object, limit: int) -> aiohttp.BaseConnector:
        return aiohttp.UnixConnector(path=self.path, limit=limit)


class SSHTransport(Transport):
    """HTTP through an SSH connection to a supervisord on another host.

    How: the SSH connection comes from the per-event-loop pool (one per host, port and user, shared
    by every client and trigger of the loop). For each remote destination the pooled connection
    keeps one asyncssh local forwarder (``forward_local_path`` to a remote unix socket,
    ``forward_local_path_to_port`` to a remote loopback port) listening on a private unix socket in
    a fresh 0700 temp directory. The HTTP client connects to that socket with aiohttp's
    ``UnixConnector``; each accepted connection becomes one SSH channel. Why this way: it uses only
    public APIs of aiohttp and asyncssh, costs one local socket hop (~tens of microseconds) and
    never opens a TCP port on this machine, so other local users cannot ride the tunnel.

    Kept-alive HTTP connections map to long-lived channels, which is fast for a remote unix socket.
    For a remote *TCP* port the remote sshd is the TCP client of supervisord and we cannot set its
    socket options, so each request uses a new channel (``Connection: close``) to avoid the 40 ms
    Nagle/delayed-ACK stall on the remote loopback connection.

    After a drop the next call reconnects (the token returned by ``prepare`` changes and the client
    rebuilds its connector).

    :param ssh: how to reach the remote host.
    :param unix_socket: remote path of supervisord's socket; or
    :param port: remote TCP port of supervisord (on ``host``, default ``127.0.0.1``, as seen from the
        remote host).
    :param pool: the SSH connection pool; default: the running event loop's.
    """

    def __init__(
        self,
        ssh: SSHConfiguration,
        *,
        unix_socket: str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        rpcpath: str = "/RPC2",
        pool: SSHConnectionPool | None = None,
    ) -> None:
        if (unix_socket is None) == (port is None):
            raise ValueError("SSHTransport: give exactly one of `unix_socket` or `port`")
        self.ssh = ssh
        self.unix_socket = str(unix_socket) if unix_socket is not None else None
        self.host = host
        self.port = port
        self.rpcpath = rpcpath
        self._pool = pool
        self._lease: SSHLease | None = None
        self._lease_loop: asyncio.AbstractEventLoop | None = None
        self._lease_lock = asyncio.Lock()

    @property
    def destination(self) -> str | tuple[str, int]:
        """The remote address: a socket path, or ``(host, port)``."""
        return self.unix_socket if self.unix_socket is not None else (self.host, int(self.port or 0))

    def describe(self) -> str:
        ssh = self.ssh
        user = f"{ssh.username}@" if ssh.username else ""
        via = f"ssh://{user}{ssh.host}:{ssh.port}" if ssh.host else f"ssh conn_id={ssh.ssh_conn_id}"
        where = f"unix://{self.unix_socket}" if self.unix_socket else f"http://{_host_for_url(self.host)}:{self.port}"
        return f"{where} via {via}"

    @property
    def url(self) -> str:
        return f"http://localhost{self.rpcpath}"

    async def lease(self) -> SSHLease:
        """This transport's lease on the pooled SSH connection (taken on first use, kept until ``close``)."""
        loop = asyncio.get_running_loop()
        if self._lease is not None and self._lease_loop is loop:
            return self._lease
        if self._lease_loop is not loop:  # first use, or the old loop is gone (pools are per loop)
            self._lease, self._lease_loop, self._lease_lock = None, loop, asyncio.Lock()
        async with self._lease_lock:
            if self._lease is None:
                from .ssh_pool import get_pool

                self._lease = (self._pool or get_pool()).lease(self.ssh)
        return self._lease

    async def prepare(self) -> object:
        lease = await self.lease()
        return await lease.local_path(self.destination)

    def connector(self, token: object, limit: int) -> aiohttp.BaseConnector:
        return aiohttp.UnixConnector(path=str(token), limit=limit, force_close=self.unix_socket is None)

    async def explain_failure(self, exc: BaseException) -> str | None:
        if self._lease is None:
            return None
        return await self._lease.explain_failure(self.destination)

    async def close(self) -> None:
        lease, self._lease = self._lease, None
        if lease is not None and self._lease_loop is asyncio.get_running_loop():
            await lease.release()
